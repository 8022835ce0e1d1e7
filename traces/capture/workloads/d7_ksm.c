/* D7: KSM pages. Six identical pages are merged by ksmd and written one by one; on 6.18 a
 * KSM page is never reused, even by its last mapper. Needs root: sets the KSM knobs and
 * restores them on exit (also on signals). */
#include "usercheck.h"

#define KSM "/sys/kernel/mm/ksm/"

static int merged(char *region, int n)
{
    for (int i = 0; i < n; i++) {
        struct uc_snap s = uc_look(uc_page(region, i));
        if (!s.kvalid || !(s.kflags >> 21 & 1)) return 0;
    }
    return 1;
}

int main(void)
{
    uc_scenario = "d7";
    uc_guard(90);
    if (geteuid() != 0) { uc_line("scenario=d7 error=needs-root"); return 3; }
    enum { SAME = 6, TOTAL = 8 };
    char *region = uc_map(TOTAL * PAGE_SIZE_4K);
    uc_phase("populate");
    for (int i = 0; i < TOTAL; i++) {
        memset(uc_page(region, i), i < SAME ? 0x5a : 0x30 + i, PAGE_SIZE_4K);
        uc_write("d7_populate", uc_page(region, i), i < SAME ? 0x5a : 0x30 + i);
    }
    if (madvise(region, TOTAL * PAGE_SIZE_4K, MADV_MERGEABLE) < 0) uc_die("madvise_mergeable");
    if (uc_set_knob(KSM "pages_to_scan", "1000") < 0 || uc_set_knob(KSM "sleep_millisecs", "20") < 0 ||
        uc_set_knob(KSM "run", "1") < 0)
        uc_die("ksm_knobs");
    uc_phase("wait_for_merge");
    int waited = 0;
    while (!merged(region, SAME)) {
        if (++waited > 1500) uc_die("merge_timeout");
        usleep(20000);
    }
    uc_write_file(KSM "run", "0"); /* no further scans while writing; restored to the saved value on exit */
    uc_phase("write_merged");
    for (int i = 0; i < SAME; i++) uc_write("d7_write_ksm", uc_page(region, i), 0xa0 + i);
    uc_write("d7_write_unique", uc_page(region, SAME), 0xb0);
    uc_phase("done");
    return 0;
}
