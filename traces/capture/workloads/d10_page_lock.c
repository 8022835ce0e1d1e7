/* D10: write faults while another thread of the process has reclaim lock the same pages
 * (MADV_PAGEOUT isolates and locks each folio; with no swap it puts them back). The race
 * is real: each labelled write records what pagemap saw, whichever way it went. */
#include "usercheck.h"
#include <pthread.h>

enum { PAGES = 64, ROUNDS = 4 };
static char *region;
static volatile int stop;

static void *reclaimer(void *arg)
{
    (void)arg;
    while (!stop) madvise(region, PAGES * PAGE_SIZE_4K, MADV_PAGEOUT);
    return NULL;
}

static void child_idle(void *arg) { (void)arg; }

int main(void)
{
    uc_scenario = "d10";
    uc_guard(60);
    region = uc_map(PAGES * PAGE_SIZE_4K);
    uc_phase("populate");
    for (int i = 0; i < PAGES; i++) *(volatile char *)uc_page(region, i) = (char)i;
    pthread_t t;
    if (pthread_create(&t, NULL, reclaimer, NULL) != 0) uc_die("pthread_create");
    for (int round = 0; round < ROUNDS; round++) {
        char phase[32];
        snprintf(phase, sizeof phase, "round%d", round);
        uc_phase(phase);
        uc_wait(uc_fork(child_idle, NULL)); /* every PTE read-only again, mapcount 1 */
        for (int i = 0; i < PAGES; i++) uc_write("d10_write_while_reclaim_runs", uc_page(region, i), 0xc0 + round);
    }
    stop = 1;
    pthread_join(t, NULL);
    uc_phase("done");
    return 0;
}
