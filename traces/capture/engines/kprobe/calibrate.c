/* Known faults for the kprobe engine's self-check. Runs first, under the same probes as the
 * workload, and prints what /proc/self/pagemap and /proc/kpagecount say about two pages:
 *
 *   calibrate: pid=P kind=cow addr=0x.. pfn_before=0x.. kpagecount_before=2 pfn_after=0x..
 *   calibrate: pid=P kind=zero addr=0x.. pfn_before=0x.. pfn_after=0x..
 *
 * "cow": a private anonymous page shared with a forked child, written by the parent: the
 * kernel must copy it (two mappings). "zero": a page read first (the shared zero page), then
 * written: a copy of the zero page. The engine compares the wp_page records of this pid with
 * these lines; any difference means an offset, a flag number or a symbol is wrong.
 * Needs root (pfns in pagemap). Build: cc -O1 -static -o calibrate calibrate.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t read_u64(const char *path, uint64_t index)
{
    uint64_t v = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || pread(fd, &v, 8, (off_t)(index * 8)) != 8) {
        fprintf(stderr, "calibrate: cannot read %s\n", path);
        exit(3);
    }
    close(fd);
    return v;
}

static uint64_t pfn_of(const void *addr)
{
    uint64_t e = read_u64("/proc/self/pagemap", (uintptr_t)addr / 4096);
    return (e >> 63) & 1 ? e & ((1ULL << 55) - 1) : 0;
}

int main(void)
{
    long pagesize = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("calibrate: mmap"); return 3; }
    /* Keep both pages out of any THP so each write is a 4 KiB fault. */
    madvise(p, 2 * pagesize, MADV_NOHUGEPAGE);
    char *cow = p, *zero = p + pagesize;

    cow[0] = 1;
    int ready[2], release[2];
    if (pipe(ready) || pipe(release)) { perror("calibrate: pipe"); return 3; }
    pid_t child = fork();
    if (child < 0) { perror("calibrate: fork"); return 3; }
    if (child == 0) {
        char c;
        if (write(ready[1], "r", 1) != 1 || read(release[0], &c, 1) != 1) _exit(1);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) return 3;
    uint64_t before = pfn_of(cow);
    uint64_t count = before ? read_u64("/proc/kpagecount", before) : 0;
    *(volatile char *)cow = 2;
    syscall(SYS_getppid);
    uint64_t after = pfn_of(cow);
    if (write(release[1], "x", 1) != 1) return 3;
    waitpid(child, NULL, 0);
    printf("calibrate: pid=%d kind=cow addr=%p pfn_before=0x%llx kpagecount_before=%llu pfn_after=0x%llx\n",
           (int)getpid(), (void *)cow, (unsigned long long)before, (unsigned long long)count,
           (unsigned long long)after);

    volatile char sink = *(volatile char *)zero;
    (void)sink;
    uint64_t zbefore = pfn_of(zero);
    *(volatile char *)zero = 3;
    syscall(SYS_getppid);
    printf("calibrate: pid=%d kind=zero addr=%p pfn_before=0x%llx pfn_after=0x%llx\n",
           (int)getpid(), (void *)zero, (unsigned long long)zbefore, (unsigned long long)pfn_of(zero));
    return 0;
}
