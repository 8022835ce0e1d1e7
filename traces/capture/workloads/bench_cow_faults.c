/* Overhead probe: 64 MiB of anonymous memory shared by fork, then every page written by
 * the child (16384 COW copies) and by the parent (16384 reuses once the child is gone).
 * Prints the time of each phase; run it plain and under `tracecheck record` to compare. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    enum { PAGES = 16384 };
    char *p = mmap(NULL, PAGES * 4096UL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    madvise(p, PAGES * 4096UL, MADV_NOHUGEPAGE);
    for (long i = 0; i < PAGES; i++) p[i * 4096] = 1;
    int fds[2];
    if (pipe(fds) < 0) return 2;
    pid_t c = fork();
    if (c == 0) {
        double t = now();
        for (long i = 0; i < PAGES; i++) p[i * 4096] = 2;
        double dt = now() - t;
        if (write(fds[1], &dt, sizeof dt) != sizeof dt) _exit(2);
        _exit(0);
    }
    double child = 0;
    if (read(fds[0], &child, sizeof child) != sizeof child) return 2;
    waitpid(c, NULL, 0);
    double t = now();
    for (long i = 0; i < PAGES; i++) p[i * 4096] = 3;
    double parent = now() - t;
    printf("copy faults: %.0f ns each; reuse faults: %.0f ns each\n", child / PAGES * 1e9, parent / PAGES * 1e9);
    return 0;
}
