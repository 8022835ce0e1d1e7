/* D3/D6: pages in the swap cache. Needs root: when no swap is active the workload makes a
 * 32 MiB swapfile under /var/tmp, and swapoff + unlink it on exit (also on signals). */
#include "usercheck.h"
#include <sys/swap.h>

static char swapfile[128];

static void drop_swapfile(void)
{
    if (!swapfile[0]) return;
    if (swapoff(swapfile) < 0) uc_line("scenario=d3 warning=swapoff errno=%d", errno);
    unlink(swapfile);
    swapfile[0] = 0;
}

static int swap_active(void)
{
    char buf[4096];
    if (uc_read_file("/proc/swaps", buf, sizeof buf) < 0) return 0;
    return strchr(buf, '\n') != NULL; /* a header line and at least one entry */
}

static void make_swapfile(void)
{
    if (swap_active()) return;
    snprintf(swapfile, sizeof swapfile, "/var/tmp/tracecheck-d3-swap.%d", (int)getpid());
    uc_extra_cleanup = drop_swapfile;
    int fd = open(swapfile, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) { swapfile[0] = 0; uc_die("swapfile"); }
    static char zero[1 << 16];
    for (int i = 0; i < 512; i++) if (write(fd, zero, sizeof zero) != sizeof zero) uc_die("swapfile write");
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execlp("mkswap", "mkswap", swapfile, (char *)NULL);
        _exit(127);
    }
    if (uc_wait(pid) != 0) uc_die("mkswap");
    if (swapon(swapfile, 0) < 0) uc_die("swapon");
}

/* MADV_PAGEOUT writes an exclusive page out; wait until pagemap shows the swap entry. */
static void page_out(char *page)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        if (madvise(page, PAGE_SIZE_4K, MADV_PAGEOUT) < 0) uc_die("madvise_pageout");
        struct uc_snap s = uc_look(page);
        if (!s.present && s.swapped) return;
        usleep(20000);
    }
    uc_die("pageout_timeout");
}

static char *region;

static void child_swapin_then_write(void *arg)
{
    (void)arg;
    uc_read("d3_child_reads_swapped_shared", uc_page(region, 2));
    uc_write("d3_child_writes_swapcache_swapcount1", uc_page(region, 2), 0x91);
}

int main(void)
{
    uc_scenario = "d3";
    uc_guard(90);
    if (geteuid() != 0) { uc_line("scenario=d3 error=needs-root"); return 3; }
    make_swapfile();
    region = uc_map(4 * PAGE_SIZE_4K);
    uc_phase("populate");
    for (int i = 0; i < 4; i++) uc_write("d3_populate", uc_page(region, i), 0x80 + i);

    uc_phase("swapcount0_read_then_write");
    page_out(uc_page(region, 0));
    uc_read("d3_read_swapin", uc_page(region, 0));
    uc_write("d3_write_swapcache_swapcount0", uc_page(region, 0), 0x81);

    uc_phase("swapcount0_fork_then_write");
    page_out(uc_page(region, 1));
    uc_read("d3_read_swapin_before_fork", uc_page(region, 1));
    pid_t c = fork();
    if (c == 0) _exit(0);
    uc_wait(c);
    uc_write("d3_write_swapcache_after_child_exit", uc_page(region, 1), 0x82);

    uc_phase("swapcount1");
    page_out(uc_page(region, 2));
    uc_wait(uc_fork(child_swapin_then_write, NULL));
    uc_write("d3_parent_writes_swapped", uc_page(region, 2), 0x92);

    uc_phase("swapin_write_direct");
    page_out(uc_page(region, 3));
    uc_write("d3_write_swapped_exclusive", uc_page(region, 3), 0x93);
    uc_phase("done");
    return 0;
}
