/* D1: a page referenced by a pipe (vmsplice). After fork and the child's exit the parent
 * maps it alone, but the pipe still holds a reference: refcount > mapcount. */
#include "usercheck.h"
#include <sys/uio.h>

static char *region;

static void child_writes(void *arg)
{
    (void)arg;
    uc_write("d1_child_writes_spliced", uc_page(region, 0), 0x61);
}

static void child_idle(void *arg) { (void)arg; }

int main(void)
{
    uc_scenario = "d1";
    uc_guard(60);
    region = uc_map(3 * PAGE_SIZE_4K);
    uc_phase("populate");
    for (int i = 0; i < 3; i++) uc_write("d1_populate", uc_page(region, i), 0x10 + i);

    uc_phase("vmsplice");
    int p[2];
    if (pipe(p) < 0) uc_die("pipe");
    for (int i = 0; i < 2; i++) {
        struct iovec iov = { uc_page(region, i), PAGE_SIZE_4K };
        if (vmsplice(p[1], &iov, 1, 0) != (ssize_t)PAGE_SIZE_4K) uc_die("vmsplice");
    }
    uc_write("d1_write_spliced_unshared", uc_page(region, 0), 0x20);

    uc_phase("fork_child_writes");
    uc_wait(uc_fork(child_writes, NULL));
    uc_write("d1_parent_writes_spliced_after_child", uc_page(region, 0), 0x21);

    uc_phase("fork_child_idle");
    uc_wait(uc_fork(child_idle, NULL));
    uc_write("d1_parent_writes_spliced_child_gone", uc_page(region, 1), 0x22);
    uc_write("d1_parent_writes_unspliced_child_gone", uc_page(region, 2), 0x23);

    uc_phase("drain_pipe");
    char buf[2 * PAGE_SIZE_4K];
    if (read(p[0], buf, sizeof buf) < 0) uc_die("pipe read");
    close(p[0]);
    close(p[1]);
    uc_phase("done");
    return 0;
}
