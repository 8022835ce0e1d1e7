/* Ground truth for the capture workloads.
 *
 * Every labelled write is bracketed by a look at /proc/self/pagemap (and, as root,
 * /proc/kpagecount and /proc/kpageflags) before and after. The result goes to stdout and,
 * when TRACECHECK_MARKER names a trace_marker file, into the trace as a marker line:
 *
 *   usercheck: scenario=S step=N pid=P op=write addr=0x.. present_before=0|1 swapped_before=0|1
 *     pfn_before=0x.. kpagecount_before=N kpageflags_before=a|b excl_before=0|1
 *     pfn_after=0x.. kpagecount_after=N kpageflags_after=a|b user_decision=new|swapin|copy|same_pfn
 *
 * A write is followed at once by getppid(), so the thread's next kernel entry (where the
 * tracepoint engine reads the outcome) comes straight after the fault.
 */
#ifndef TRACECHECK_USERCHECK_H
#define TRACECHECK_USERCHECK_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE_SIZE_4K 4096UL

static int uc_marker_fd = -2;
static const char *uc_scenario = "?";

/* One line to stdout and to the trace marker. write(2) straight away: no stdio buffer is
 * duplicated by fork(). */
static void uc_line(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
    if (uc_marker_fd == -2) {
        const char *path = getenv("TRACECHECK_MARKER");
        uc_marker_fd = path && *path ? open(path, O_WRONLY | O_CLOEXEC) : -1;
    }
    if (uc_marker_fd >= 0 && write(uc_marker_fd, buf, n) < 0) { /* the trace lacks it; stdout has it */ }
    buf[n++] = '\n';
    if (write(1, buf, n) < 0) { /* nothing better to do */ }
}

static void uc_phase(const char *phase) { uc_line("scenario=%s phase=%s", uc_scenario, phase); }

static void uc_die(const char *what)
{
    uc_line("scenario=%s error=%s errno=%d", uc_scenario, what, errno);
    _exit(2);
}

struct uc_snap {
    int present, swapped, excl;
    uint64_t pfn, kcount, kflags;
    int kvalid;
};

static uint64_t uc_pread64(const char *path, uint64_t index, int *ok)
{
    uint64_t v = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *ok = fd >= 0 && pread(fd, &v, 8, (off_t)(index * 8)) == 8;
    if (fd >= 0) close(fd);
    return v;
}

static struct uc_snap uc_look(const void *addr)
{
    struct uc_snap s = {0};
    int ok;
    uint64_t e = uc_pread64("/proc/self/pagemap", (uintptr_t)addr / PAGE_SIZE_4K, &ok);
    if (!ok) uc_die("pagemap");
    s.present = (e >> 63) & 1;
    s.swapped = (e >> 62) & 1;
    s.excl = (e >> 56) & 1;
    s.pfn = s.present ? (e & ((1ULL << 55) - 1)) : 0;
    if (s.present && s.pfn) {
        int ok1, ok2;
        s.kcount = uc_pread64("/proc/kpagecount", s.pfn, &ok1);
        s.kflags = uc_pread64("/proc/kpageflags", s.pfn, &ok2);
        s.kvalid = ok1 && ok2;
    }
    return s;
}

static const char *const uc_kpf_names[] = {
    "locked", "error", "referenced", "uptodate", "dirty", "lru", "active", "slab",
    "writeback", "reclaim", "buddy", "mmap", "anon", "swapcache", "swapbacked",
    "compound_head", "compound_tail", "huge", "unevictable", "hwpoison", "nopage", "ksm",
    "thp", "offline", "zero_page", "idle", "pgtable",
};

static const char *uc_kpf(char *buf, size_t len, const struct uc_snap *s)
{
    if (!s->kvalid) return "none";
    size_t at = 0;
    buf[0] = 0;
    for (unsigned b = 0; b < sizeof uc_kpf_names / sizeof uc_kpf_names[0]; b++) {
        if (!(s->kflags >> b & 1)) continue;
        int n = snprintf(buf + at, len - at, "%s%s", at ? "|" : "", uc_kpf_names[b]);
        if (n < 0 || (size_t)n >= len - at) break;
        at += n;
    }
    return at ? buf : "none";
}

static void uc_report(const char *step, const char *op, const void *addr,
                      const struct uc_snap *b, const struct uc_snap *a)
{
    char fb[256], fa[256];
    const char *decision = !b->present ? (b->swapped ? "swapin" : "new")
                         : (b->pfn != a->pfn ? "copy" : "same_pfn");
    uc_line("usercheck: scenario=%s step=%s pid=%d op=%s addr=%p present_before=%d swapped_before=%d "
            "pfn_before=0x%llx kpagecount_before=%llu kpageflags_before=%s excl_before=%d "
            "pfn_after=0x%llx kpagecount_after=%llu kpageflags_after=%s user_decision=%s",
            uc_scenario, step, (int)getpid(), op, addr, b->present, b->swapped,
            (unsigned long long)b->pfn, (unsigned long long)b->kcount, uc_kpf(fb, sizeof fb, b), b->excl,
            (unsigned long long)a->pfn, (unsigned long long)a->kcount, uc_kpf(fa, sizeof fa, a), decision);
}

/* A labelled write of one byte. The getppid() right after the store is the thread's next
 * kernel entry; it must come before any pagemap read. */
static void uc_write(const char *step, void *addr, unsigned char value)
{
    struct uc_snap b = uc_look(addr);
    *(volatile unsigned char *)addr = value;
    syscall(SYS_getppid);
    struct uc_snap a = uc_look(addr);
    uc_report(step, "write", addr, &b, &a);
}

/* A labelled read (swap-in or zero-page mapping), same bracketing. */
static unsigned char uc_read(const char *step, const void *addr)
{
    struct uc_snap b = uc_look(addr);
    unsigned char v = *(volatile const unsigned char *)addr;
    syscall(SYS_getppid);
    struct uc_snap a = uc_look(addr);
    uc_report(step, "read", addr, &b, &a);
    return v;
}

static void *uc_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) uc_die("mmap");
    return p;
}

static char *uc_page(void *base, size_t i) { return (char *)base + i * PAGE_SIZE_4K; }

/* fork() whose child runs fn and exits; the parent waits only when asked to. */
static pid_t uc_fork(void (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    if (pid < 0) uc_die("fork");
    if (pid == 0) { fn(arg); _exit(0); }
    return pid;
}

static int uc_wait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) uc_die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Settings under /sys that a workload changes are written back on exit, also on SIGINT,
 * SIGTERM and SIGALRM (every workload bounds itself with alarm()). */
struct uc_knob { const char *path; char saved[64]; int changed; };
static struct uc_knob uc_knobs[8];
static int uc_nknobs;
static void (*uc_extra_cleanup)(void);
static pid_t uc_owner_pid;

static int uc_read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
    return 0;
}

static int uc_write_file(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

static void uc_restore(void)
{
    if (getpid() != uc_owner_pid) return;
    for (int i = uc_nknobs - 1; i >= 0; i--)
        if (uc_knobs[i].changed) { uc_write_file(uc_knobs[i].path, uc_knobs[i].saved); uc_knobs[i].changed = 0; }
    if (uc_extra_cleanup) { void (*f)(void) = uc_extra_cleanup; uc_extra_cleanup = NULL; f(); }
}

static void uc_on_signal(int sig)
{
    uc_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void uc_guard(unsigned seconds)
{
    uc_owner_pid = getpid();
    atexit(uc_restore);
    signal(SIGINT, uc_on_signal);
    signal(SIGTERM, uc_on_signal);
    signal(SIGALRM, uc_on_signal);
    alarm(seconds);
}

/* Sets a knob and remembers its old value; returns -1 when it cannot be set. */
static int uc_set_knob(const char *path, const char *value)
{
    if (uc_nknobs == (int)(sizeof uc_knobs / sizeof uc_knobs[0])) return -1;
    struct uc_knob *k = &uc_knobs[uc_nknobs];
    if (uc_read_file(path, k->saved, sizeof k->saved) < 0) return -1;
    k->path = path;
    uc_nknobs++;
    if (uc_write_file(path, value) < 0) return -1;
    k->changed = 1;
    return 0;
}

#endif
