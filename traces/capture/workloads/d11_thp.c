/* D11: transparent huge pages. A PMD-mapped THP shared by fork, then written by both sides;
 * and a PTE-mapped THP in a single process (the PMD split by mprotect), written after the
 * child that shared it has gone. */
#include "usercheck.h"

#define HPAGE (2UL << 20)

static char *thp_region(void)
{
    char *raw = uc_map(3 * HPAGE);
    char *aligned = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1));
    if (madvise(aligned, HPAGE, MADV_HUGEPAGE) < 0) uc_die("madvise_hugepage");
    return aligned;
}

static int is_thp(char *p)
{
    struct uc_snap s = uc_look(p);
    return s.kvalid && (s.kflags >> 22 & 1);
}

static char *shared_thp, *split_thp;

static void child_writes(void *arg)
{
    (void)arg;
    uc_write("d11_child_writes_pmd_shared", shared_thp + 64 * PAGE_SIZE_4K, 0xe1);
    uc_write("d11_child_writes_pte_shared", shared_thp + 65 * PAGE_SIZE_4K, 0xe2);
}

static void child_idle(void *arg) { (void)arg; }

int main(void)
{
    uc_scenario = "d11";
    uc_guard(60);
    shared_thp = thp_region();
    split_thp = thp_region();
    uc_phase("populate");
    uc_write("d11_populate_thp", shared_thp, 0xd0);
    uc_write("d11_populate_thp", split_thp, 0xd1);
    if (!is_thp(shared_thp) || !is_thp(split_thp)) uc_line("scenario=d11 warning=no-thp");

    uc_phase("pmd_shared");
    pid_t c = uc_fork(child_writes, NULL);
    uc_write("d11_parent_writes_pmd_shared", shared_thp + 1 * PAGE_SIZE_4K, 0xd2);
    uc_write("d11_parent_writes_pte_mapped", shared_thp + 2 * PAGE_SIZE_4K, 0xd3);
    uc_wait(c);
    uc_phase("after_child_exit");
    uc_write("d11_parent_writes_pte_mapped_alone", shared_thp + 3 * PAGE_SIZE_4K, 0xd4);

    uc_phase("pte_mapped_single_process");
    /* mprotect on one 4K page splits the PMD mapping; the folio stays whole. */
    if (mprotect(split_thp + 7 * PAGE_SIZE_4K, PAGE_SIZE_4K, PROT_READ) < 0) uc_die("mprotect");
    if (mprotect(split_thp + 7 * PAGE_SIZE_4K, PAGE_SIZE_4K, PROT_READ | PROT_WRITE) < 0) uc_die("mprotect");
    uc_wait(uc_fork(child_idle, NULL));
    for (int i = 8; i < 12; i++) uc_write("d11_write_pte_mapped_thp_alone", split_thp + i * PAGE_SIZE_4K, 0xf0 + i);
    uc_phase("done");
    return 0;
}
