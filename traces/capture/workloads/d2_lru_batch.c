/* D2: freshly faulted pages still sit in the per-CPU LRU batch (lru clear, +1 reference)
 * when fork() write-protects them. The parent stays on CPU 0 and its children run on CPU 1,
 * because an exiting child drains the batch of the CPU it exits on. */
#include "usercheck.h"
#include <sched.h>

static void run_on_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) uc_line("scenario=d2 warning=affinity errno=%d", errno);
}

static char *region;

static void child_writes(void *arg)
{
    (void)arg;
    run_on_cpu(1);
    for (int i = 4; i < 8; i++) uc_write("d2_child_writes_batched", uc_page(region, i), 0x70 + i);
}

static void child_idle(void *arg) { (void)arg; run_on_cpu(1); }

int main(void)
{
    uc_scenario = "d2";
    uc_guard(60);
    run_on_cpu(0);
    /* Each round faults in fresh pages, so the first write after the child's exit finds
     * its page still batched; that write's lru_add_drain() empties the batch for the rest. */
    for (int round = 0; round < 4; round++) {
        region = uc_map(8 * PAGE_SIZE_4K);
        uc_phase("populate_then_fork_at_once");
        for (int i = 0; i < 8; i++) *(volatile char *)uc_page(region, i) = (char)i;
        uc_wait(uc_fork(child_idle, NULL));
        uc_write("d2_parent_writes_batched_child_gone", uc_page(region, 7), 0x60 + round);
        uc_write("d2_parent_writes_after_drain", uc_page(region, 0), 0x64 + round);
    }

    uc_phase("child_writes");
    uc_wait(uc_fork(child_writes, NULL));
    for (int i = 4; i < 8; i++) uc_write("d2_parent_writes_after_child_copied", uc_page(region, i), 0x68 + i);
    uc_phase("done");
    return 0;
}
