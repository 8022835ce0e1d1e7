/* D13: pages shared by fork(). A shared page is copied; the last mapper reuses it. */
#include "usercheck.h"

static char *region;

static void child_writes_page1(void *arg)
{
    (void)arg;
    uc_write("d13_child_writes_shared", uc_page(region, 1), 0x21);
    uc_write("d13_child_writes_own_copy_again", uc_page(region, 1), 0x22);
}

static void grandchild_last_writer(void *arg)
{
    (void)arg;
    uc_write("d13_third_sharer_writes", uc_page(region, 3), 0x41);
}

static void second_sharer(void *arg)
{
    (void)arg;
    pid_t g = uc_fork(grandchild_last_writer, NULL);
    uc_wait(g);
    uc_write("d13_second_sharer_writes", uc_page(region, 3), 0x42);
}

int main(void)
{
    uc_scenario = "d13";
    uc_guard(60);
    region = uc_map(6 * PAGE_SIZE_4K);
    uc_phase("populate");
    for (int i = 0; i < 6; i++) uc_write("d13_populate", uc_page(region, i), 0x10 + i);

    uc_phase("fork_two_sharers");
    int pipefd[2];
    if (pipe(pipefd) < 0) uc_die("pipe");
    pid_t child = fork();
    if (child < 0) uc_die("fork");
    if (child == 0) {
        char c;
        close(pipefd[1]);
        if (read(pipefd[0], &c, 1) != 1) _exit(3); /* wait until the parent has written */
        child_writes_page1(NULL);
        _exit(0);
    }
    close(pipefd[0]);
    uc_write("d13_parent_writes_shared", uc_page(region, 0), 0x31);
    uc_write("d13_parent_writes_shared_page1", uc_page(region, 1), 0x32);
    if (write(pipefd[1], "x", 1) != 1) uc_die("pipe write");
    close(pipefd[1]);
    uc_wait(child);
    uc_phase("after_child_exit");
    uc_write("d13_parent_writes_after_child_exit", uc_page(region, 2), 0x33);
    uc_write("d13_parent_writes_again", uc_page(region, 2), 0x34);

    uc_phase("three_sharers");
    pid_t second = uc_fork(second_sharer, NULL);
    uc_wait(second);
    uc_write("d13_first_sharer_writes_last", uc_page(region, 3), 0x43);

    uc_phase("three_sharers_parent_first");
    pipe(pipefd);
    pid_t c1 = fork();
    if (c1 == 0) {
        char c;
        close(pipefd[1]);
        if (read(pipefd[0], &c, 1) != 1) _exit(3);
        uc_write("d13_child_writes_after_parent", uc_page(region, 4), 0x51);
        _exit(0);
    }
    pid_t c2 = fork();
    if (c2 == 0) {
        char c;
        close(pipefd[1]);
        if (read(pipefd[0], &c, 1) != 1) _exit(3);
        _exit(0);
    }
    close(pipefd[0]);
    uc_write("d13_parent_writes_three_sharers", uc_page(region, 4), 0x52);
    if (write(pipefd[1], "xx", 2) != 2) uc_die("pipe write");
    close(pipefd[1]);
    uc_wait(c1);
    uc_wait(c2);
    uc_phase("done");
    return 0;
}
