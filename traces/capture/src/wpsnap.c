// SPDX-License-Identifier: GPL-2.0
/* Loader for wpsnap.bpf.c: calibrates, runs one command under the BPF tracepoints and a
 * tracefs instance, and writes text files tracecheck reads.
 *
 *   wpsnap --workdir DIR [--duration S] [--all] -- CMD ARGS...
 *
 * Output: DIR/bpf.txt (wp_page and mm_fault lines), DIR/tracefs.txt (kernel events of the
 * command and its children, and its trace_marker lines), DIR/ksm.txt (ksm:* events),
 * DIR/engine.env, DIR/calibration.log. Exit status: the command's, or 125 when the engine
 * failed. Everything it changes in tracefs is put back on every exit path.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wpsnap.h"
#include "wpsnap.skel.h"

#define ENGINE_FAILED 125
#define TRACEFS "/sys/kernel/tracing"

static const char *workdir;
static FILE *calib_log;
static struct wpsnap_bpf *skel;
static char inst_proc[256], inst_ksm[256];
static bool mounted_tracefs;
static volatile sig_atomic_t stop_requested;

static void logc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (calib_log) { vfprintf(calib_log, fmt, ap); fputc('\n', calib_log); fflush(calib_log); }
    va_end(ap);
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "wpsnap: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---------- tracefs ---------- */

static int write_str(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -e;
}

static int inst_write(const char *inst, const char *file, const char *value)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", inst, file);
    int r = write_str(path, value);
    if (r < 0) fail("cannot write '%s' to %s: %s", value, path, strerror(-r));
    return r;
}

static void remove_instance(char *inst)
{
    if (!inst[0]) return;
    char path[512];
    snprintf(path, sizeof path, "%s/tracing_on", inst);
    write_str(path, "0");
    snprintf(path, sizeof path, "%s/events/enable", inst);
    write_str(path, "0");
    snprintf(path, sizeof path, "%s/set_event_pid", inst);
    write_str(path, "");
    if (rmdir(inst) < 0) fail("cannot remove tracefs instance %s: %s", inst, strerror(errno));
    inst[0] = 0;
}

static void restore_all(void)
{
    if (skel) { skel->bss->ready = 0; skel->bss->arm_pid = 0; }
    remove_instance(inst_proc);
    remove_instance(inst_ksm);
    if (skel) { wpsnap_bpf__destroy(skel); skel = NULL; }
    if (mounted_tracefs) {
        if (umount(TRACEFS) < 0) fail("cannot unmount %s: %s", TRACEFS, strerror(errno));
        mounted_tracefs = false;
    }
}

static int ensure_tracefs(void)
{
    struct stat st;
    char probe[256];
    snprintf(probe, sizeof probe, "%s/instances", TRACEFS);
    if (stat(probe, &st) == 0) return 0;
    if (mount("nodev", TRACEFS, "tracefs", 0, NULL) < 0) {
        fail("tracefs is not mounted at %s and cannot be mounted: %s", TRACEFS, strerror(errno));
        return -1;
    }
    mounted_tracefs = true;
    return 0;
}

static const char *const proc_events[] = {
    "exceptions/page_fault_user", "exceptions/page_fault_kernel", "kmem/mm_page_alloc",
    "kmem/mm_page_free", "tlb/tlb_flush", "sched/sched_process_fork", "sched/sched_process_exit",
};

static int make_instance(char *inst, size_t len, const char *suffix)
{
    snprintf(inst, len, "%s/instances/tracecheck_%s_%d", TRACEFS, suffix, (int)getpid());
    if (mkdir(inst, 0700) < 0) { fail("cannot create tracefs instance %s: %s", inst, strerror(errno)); inst[0] = 0; return -1; }
    if (inst_write(inst, "tracing_on", "0") || inst_write(inst, "trace_clock", "mono") ||
        inst_write(inst, "buffer_size_kb", "8192"))
        return -1;
    return 0;
}

/* The instance exists before the command is forked, so the command's environment can name
 * its trace_marker; the pid filter is set once the command's pid is known. */
static int setup_proc_instance(pid_t child)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)child);
    if (inst_write(inst_proc, "options/event-fork", "1") || inst_write(inst_proc, "set_event_pid", pid)) return -1;
    for (size_t i = 0; i < sizeof proc_events / sizeof proc_events[0]; i++) {
        char file[128];
        snprintf(file, sizeof file, "events/%s/enable", proc_events[i]);
        if (inst_write(inst_proc, file, "1")) return -1;
    }
    return 0;
}

static int setup_ksm_instance(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/events/ksm", TRACEFS);
    if (access(path, F_OK) != 0) return 0; /* no KSM on this kernel */
    if (make_instance(inst_ksm, sizeof inst_ksm, "ksm") < 0) return -1;
    if (getenv("WPSNAP_DEBUG")) inst_write(inst_ksm, "options/hash-ptr", "0");
    return inst_write(inst_ksm, "events/ksm/enable", "1");
}

/* Streams an instance's trace_pipe into a file; returns bytes copied. */
struct pipe_sink { int fd; FILE *out; };

static long drain_pipe(struct pipe_sink *s)
{
    char buf[1 << 16];
    long total = 0;
    if (s->fd < 0) return 0;
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n <= 0) break;
        fwrite(buf, 1, n, s->out);
        total += n;
    }
    return total;
}

static int open_pipe(struct pipe_sink *s, const char *inst, const char *name)
{
    char path[512];
    s->fd = -1;
    s->out = NULL;
    if (!inst[0]) return 0;
    snprintf(path, sizeof path, "%s/trace_pipe", inst);
    s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    s->out = fopen(path, "w");
    if (s->fd < 0 || !s->out) { fail("cannot open %s: %s", path, strerror(errno)); return -1; }
    return 0;
}

static long long instance_overruns(const char *inst)
{
    long long total = 0;
    if (!inst[0]) return 0;
    for (int cpu = 0; cpu < 1024; cpu++) {
        char path[512], line[256];
        snprintf(path, sizeof path, "%s/per_cpu/cpu%d/stats", inst, cpu);
        FILE *f = fopen(path, "r");
        if (!f) break;
        while (fgets(line, sizeof line, f)) {
            long long v;
            if (sscanf(line, "overrun: %lld", &v) == 1 || sscanf(line, "dropped events: %lld", &v) == 1) total += v;
        }
        fclose(f);
    }
    return total;
}

/* The KSM events that carry an mm are limited to the mms of the traced processes; ksmd
 * emits them for every process that uses KSM. The filter follows the set as it changes. */
static char ksm_filter[16384];

static void update_ksm_filter(void)
{
    if (!inst_ksm[0]) return;
    char next[sizeof ksm_filter];
    size_t at = 0;
    __u64 key, prev;
    int fd = bpf_map__fd(skel->maps.tracked_mms);
    int first = 1, err = bpf_map_get_next_key(fd, NULL, &key);
    while (!err) {
        int n = snprintf(next + at, sizeof next - at, "%smm == 0x%llx", first ? "" : " || ", (unsigned long long)key);
        if (n < 0 || (size_t)n >= sizeof next - at) break;
        at += n;
        first = 0;
        prev = key;
        err = bpf_map_get_next_key(fd, &prev, &key);
    }
    if (first) snprintf(next, sizeof next, "mm == 0x1"); /* nothing yet: match nothing */
    if (strcmp(next, ksm_filter) == 0) return;
    static const char *const with_mm[] = { "ksm_enter", "ksm_exit", "ksm_merge_one_page",
                                           "ksm_merge_with_ksm_page", "ksm_remove_rmap_item" };
    for (size_t i = 0; i < sizeof with_mm / sizeof with_mm[0]; i++) {
        char file[128];
        snprintf(file, sizeof file, "events/ksm/%s/filter", with_mm[i]);
        inst_write(inst_ksm, file, next);
    }
    snprintf(ksm_filter, sizeof ksm_filter, "%s", next);
    logc("ksm filter: %s", next);
}

/* ksm_remove_ksm_page has only a pfn: keep those of pfns the traced processes touched
 * (their own KSM events, their faults). Returns the number of lines left out. */
static unsigned long long pfn_seen[1 << 16];
static size_t npfn_seen;

static void remember_pfn(unsigned long long pfn)
{
    if (pfn && npfn_seen < sizeof pfn_seen / sizeof pfn_seen[0]) pfn_seen[npfn_seen++] = pfn;
}

static int pfn_known(unsigned long long pfn)
{
    for (size_t i = 0; i < npfn_seen; i++) if (pfn_seen[i] == pfn) return 1;
    return 0;
}

static long long filter_ksm_file(void)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof path, "%s/ksm.txt", workdir);
    snprintf(tmp, sizeof tmp, "%s/ksm.tmp", workdir);
    FILE *in = fopen(path, "r");
    if (!in) return 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        char *p = strstr(line, " pfn ");
        if (p && !strstr(line, "ksm_remove_ksm_page:")) remember_pfn(strtoull(p + 5, NULL, 10));
    }
    rewind(in);
    FILE *out = fopen(tmp, "w");
    if (!out) { fclose(in); free(line); return 0; }
    long long dropped = 0;
    while (getline(&line, &cap, in) > 0) {
        char *p = strstr(line, "ksm_remove_ksm_page: pfn ");
        if (p && !pfn_known(strtoull(p + 25, NULL, 10))) { dropped++; continue; }
        fputs(line, out);
    }
    free(line);
    fclose(in);
    fclose(out);
    rename(tmp, path);
    return dropped;
}

/* ---------- BTF facts ---------- */

static int enum_value(const struct btf *btf, const char *type, const char *name, __u32 *out)
{
    int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
    if (id < 0) return -1;
    const struct btf_type *t = btf__type_by_id(btf, id);
    const struct btf_enum *e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++)
        if (strcmp(btf__name_by_offset(btf, e[i].name_off), name) == 0) { *out = e[i].val; return 0; }
    return -1;
}

static int member_offset(const struct btf *btf, const char *type, const char *name)
{
    int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
    if (id < 0) return -1;
    const struct btf_type *t = btf__type_by_id(btf, id);
    const struct btf_member *m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); i++)
        if (strcmp(btf__name_by_offset(btf, m[i].name_off), name) == 0) return btf_member_bit_offset(t, i) / 8;
    return -1;
}

static int struct_size(const struct btf *btf, const char *type)
{
    int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
    return id < 0 ? -1 : (int)btf__type_by_id(btf, id)->size;
}

/* Names of the PG_* bits below __NR_PAGEFLAGS, from enum pageflags (first name of each). */
static char pg_names[64][24];
static unsigned nr_pageflags;

static int load_btf_facts(struct wpsnap_bpf *s, int *si_type_off)
{
    struct btf *btf = btf__load_vmlinux_btf();
    if (!btf) { fail("this kernel has no BTF (/sys/kernel/btf/vmlinux)"); return -1; }
    int ok = 0;
    __u32 nr = 0;
    ok |= enum_value(btf, "pageflags", "__NR_PAGEFLAGS", &nr);
    ok |= enum_value(btf, "pageflags", "PG_locked", (__u32 *)&s->rodata->pg_locked);
    ok |= enum_value(btf, "pageflags", "PG_writeback", (__u32 *)&s->rodata->pg_writeback);
    ok |= enum_value(btf, "pageflags", "PG_lru", (__u32 *)&s->rodata->pg_lru);
    ok |= enum_value(btf, "pageflags", "PG_head", (__u32 *)&s->rodata->pg_head);
    ok |= enum_value(btf, "pageflags", "PG_swapcache", (__u32 *)&s->rodata->pg_swapcache);
    ok |= enum_value(btf, "pageflags", "PG_swapbacked", (__u32 *)&s->rodata->pg_swapbacked);
    ok |= enum_value(btf, "pageflags", "PG_anon_exclusive", (__u32 *)&s->rodata->pg_anon_exclusive);
    if (ok || nr == 0 || nr > 64) { fail("enum pageflags in BTF lacks a flag this engine needs (PG_anon_exclusive needs 5.19+)"); btf__free(btf); return -1; }
    nr_pageflags = nr;
    int id = btf__find_by_name_kind(btf, "pageflags", BTF_KIND_ENUM);
    const struct btf_type *t = btf__type_by_id(btf, id);
    const struct btf_enum *e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++) {
        const char *n = btf__name_by_offset(btf, e[i].name_off);
        if ((__u32)e[i].val < nr && !pg_names[e[i].val][0] && strncmp(n, "PG_", 3) == 0)
            snprintf(pg_names[e[i].val], sizeof pg_names[0], "%s", n + 3);
    }
    /* The vmemmap arithmetic assumes a 64-byte struct page; the BPF side was compiled
     * against this kernel's layout, and CO-RE relocates the fields it reads. */
    int page_size = struct_size(btf, "page");
    *si_type_off = member_offset(btf, "swap_info_struct", "type");
    int folio_index = member_offset(btf, "page", "__folio_index");
    logc("btf: sizeof(struct page)=%d __NR_PAGEFLAGS=%u swap_info_struct.type@%d", page_size, nr, *si_type_off);
    btf__free(btf);
    if (page_size != 64) { fail("struct page is %d bytes, not 64; refusing to compute vmemmap addresses", page_size); return -1; }
    if (folio_index != 32) logc("note: page.__folio_index at %d", folio_index);
    return 0;
}

/* ---------- calibration ---------- */

static void calib_request(int op, __u64 addr)
{
    skel->bss->calib_addr = addr;
    __atomic_store_n(&skel->bss->calib_op, op, __ATOMIC_SEQ_CST);
    syscall(SYS_getppid);
    if (skel->bss->calib_op != CALIB_NONE) { skel->bss->calib_op = CALIB_NONE; skel->bss->calib_out[0] = 0; }
}

static int kread(__u64 addr, void *out, size_t len)
{
    if (len > sizeof skel->bss->calib_out) return -1;
    calib_request(CALIB_READ, addr);
    memcpy(out, skel->bss->calib_out, len);
    return 0;
}

static uint64_t pagemap_entry(const void *addr)
{
    uint64_t e = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) { if (pread(fd, &e, 8, (uintptr_t)addr / 4096 * 8) != 8) e = 0; close(fd); }
    return e;
}

static uint64_t pagemap_pfn(const void *addr)
{
    uint64_t e = pagemap_entry(addr);
    return (e >> 63 & 1) ? e & ((1ULL << 55) - 1) : 0;
}

static uint64_t kallsyms_addr(const char *name)
{
    FILE *f = fopen("/proc/kallsyms", "r");
    char line[512];
    uint64_t found = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a;
        char type, sym[256];
        if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && strcmp(sym, name) == 0) { found = a; break; }
    }
    fclose(f);
    return found;
}

/* Finds swap_info[] from the code of __swap_count(), which indexes it by the entry's type:
 * `mov reg, [index*8 + disp32]`. Checked against every registered swap device. */
static uint64_t find_swap_info(int si_type_off)
{
    uint64_t fn = kallsyms_addr("__swap_count");
    uint64_t stext = kallsyms_addr("_stext");
    if (!fn || !stext) { logc("swap_info: __swap_count or _stext not in kallsyms"); return 0; }
    unsigned char code[128];
    kread(fn, code, 64);
    kread(fn + 64, code + 64, 64);
    for (int i = 0; i + 8 <= (int)sizeof code; i++) {
        if (code[i] < 0x48 || code[i] > 0x4f || code[i + 1] != 0x8b) continue;
        if ((code[i + 2] & 0xc7) != 0x04 || (code[i + 3] & 0xc7) != 0xc5) continue;
        int32_t disp;
        memcpy(&disp, code + i + 4, 4);
        uint64_t cand = (uint64_t)(int64_t)disp;
        if (cand < stext || cand >= 0xffffffffc0000000ULL) continue;
        uint64_t ptrs[32];
        for (int k = 0; k < 4; k++) kread(cand + k * 64, ptrs + k * 8, 64);
        /* Devices take the lowest free slot and their structs are never freed, so the
         * registered ones are the non-NULL prefix; the array ends somewhere after it. */
        int good = 1, nonnull = 0;
        for (int t = 0; t < 32 && good && ptrs[t]; t++) {
            uint64_t w[8];
            kread(ptrs[t] + (si_type_off & ~7), w, 8);
            signed char type = (signed char)(w[0] >> ((si_type_off & 7) * 8));
            if (type != t) { good = 0; logc("swap_info[%d]: type word 0x%" PRIx64, t, w[0]); }
            nonnull++;
        }
        for (int t = 0; t < 4; t++) logc("swap_info[%d]=0x%" PRIx64, t, ptrs[t]);
        logc("swap_info: candidate 0x%" PRIx64 " from __swap_count+%d: %s (%d devices)", cand, i,
             good ? "consistent" : "inconsistent", nonnull);
        if (good) return cand;
    }
    logc("swap_info: not found; swapcount is left out");
    return 0;
}

static int calibrate(int si_type_off)
{
    long psz = 4096;
    unsigned char *cookie = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cookie == MAP_FAILED) return -1;
    int ur = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (ur < 0 || read(ur, cookie, 16) != 16) { fail("cannot read /dev/urandom"); return -1; }
    close(ur);
    mlock(cookie, psz);
    uint64_t cpfn = pagemap_pfn(cookie);
    if (!cpfn) { fail("/proc/self/pagemap gives no pfn (needs root)"); return -1; }

    /* 1. page_offset_base: the direct map holds our task_struct; it starts on a 1 GiB
     *    boundary below it. The candidate whose cookie address holds the cookie wins. */
    calib_request(CALIB_CURRENT, 0);
    uint64_t cur = skel->bss->calib_out[0];
    uint64_t base = 0;
    for (int k = 0; k < 128 && cur; k++) {
        uint64_t cand = (cur & ~((1ULL << 30) - 1)) - (uint64_t)k * (1ULL << 30);
        unsigned char got[16];
        kread(cand + cpfn * 4096, got, 16);
        if (memcmp(got, cookie, 16) == 0) { base = cand; break; }
    }
    logc("page_offset_base=0x%" PRIx64 " (task 0x%" PRIx64 ", cookie pfn 0x%" PRIx64 ")", base, cur, cpfn);
    if (!base) { fail("calibration failed: the direct map was not found"); return -1; }
    skel->bss->page_offset_base = base;

    /* 2. The page-table walk must find the cookie's pfn. */
    calib_request(CALIB_WALK, (uintptr_t)cookie);
    logc("walk(cookie): lvl=%" PRIu64 " entry=0x%" PRIx64 " pfn=0x%" PRIx64, skel->bss->calib_out[0],
         skel->bss->calib_out[1], skel->bss->calib_out[2]);
    if (skel->bss->calib_out[0] != LVL_PTE || skel->bss->calib_out[2] != cpfn) {
        fail("calibration failed: the page-table walk disagrees with /proc/self/pagemap");
        return -1;
    }

    /* 3. vmemmap_base from the struct page of a page we fault in ourselves. */
    unsigned char *fresh = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fresh == MAP_FAILED) return -1;
    skel->bss->calib_nallocs = 0;
    skel->bss->calib_capture_allocs = 1;
    fresh[0] = 1;
    skel->bss->calib_capture_allocs = 0;
    uint64_t fpfn = pagemap_pfn(fresh);
    uint64_t vmemmap = 0;
    for (unsigned i = 0; i < skel->bss->calib_nallocs && i < CALIB_ALLOCS; i++) {
        uint64_t cand = skel->bss->calib_allocs[i] - fpfn * 64;
        if (cand & ((1ULL << 30) - 1)) continue;
        uint64_t w[8];
        kread(cand + fpfn * 64, w, 64);
        /* mapping is an anon_vma|1, and the index is the page's virtual page number */
        if ((w[3] & 3) == 1 && w[4] == (uintptr_t)fresh >> 12) { vmemmap = cand; break; }
    }
    logc("vmemmap_base=0x%" PRIx64 " (fresh pfn 0x%" PRIx64 ", %u allocations seen)", vmemmap, fpfn,
         skel->bss->calib_nallocs);
    if (!vmemmap) { fail("calibration failed: vmemmap was not found or its struct page did not check out"); return -1; }
    skel->bss->vmemmap_base = vmemmap;

    /* 4. The shared zero page, from a read fault on an untouched page. */
    unsigned char *untouched = mmap(NULL, psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile unsigned char v = untouched[0];
    (void)v;
    uint64_t zpfn = pagemap_pfn(untouched);
    logc("zero_pfn=0x%" PRIx64, zpfn);
    if (!zpfn) { fail("calibration failed: no zero page pfn"); return -1; }
    skel->bss->zero_pfn = zpfn;

    skel->bss->swap_info_addr = find_swap_info(si_type_off);
    munmap(untouched, psz);
    munmap(fresh, psz);
    munmap(cookie, psz);
    return 0;
}

/* ---------- formatting ---------- */

struct line { uint64_t ts; char *text; };
static struct line *lines;
static size_t nlines, caplines;
static uint64_t nrecords, nwp;
static bool print_all;

static bool is_anon(const struct page_state *s) { return s->valid && (s->mapping & 1); }
static bool is_zero(const struct page_state *s) { return s->pfn && s->pfn == skel->bss->zero_pfn; }

static int pgflags_text(char *buf, size_t len, const struct page_state *s, __u64 flags)
{
    size_t at = 0;
    bool anon = s->mapping & 1;
    bool swapbacked = flags >> skel->rodata->pg_swapbacked & 1;
    buf[0] = 0;
    for (unsigned b = 0; b < nr_pageflags; b++) {
        if (!(flags >> b & 1)) continue;
        const char *name = pg_names[b];
        if (b == skel->rodata->pg_anon_exclusive && anon) continue; /* printed as anon_exclusive */
        if (b == skel->rodata->pg_swapcache && swapbacked) name = "swapcache";
        int n = snprintf(buf + at, len - at, "%s%s", at ? "|" : "", name[0] ? name : "?");
        if (n < 0 || (size_t)n >= len - at) break;
        at += n;
    }
    if (!at) snprintf(buf, len, "none");
    return 0;
}

struct out { char *buf; size_t len, cap; };

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) { o->len += n; return; }
        o->cap = o->cap * 2 + (n > 0 ? n : 256);
        o->buf = realloc(o->buf, o->cap);
        if (!o->buf) abort();
    }
}

static int mapcount_of(const struct page_state *s)
{
    if (is_zero(s)) return 0; /* the zero page's counters are not maintained */
    int m = s->mapcount_raw + 1;
    if (s->large) m += s->entire_mapcount + 1;
    return m;
}

static void put_state(struct out *o, const char *prefix, const struct page_state *s, bool full)
{
    char pg[512];
    __u64 flags = s->flags & ((1ULL << nr_pageflags) - 1);
    pgflags_text(pg, sizeof pg, s, flags);
    bool anon = is_anon(s), ksm = (s->mapping & 3) == 3;
    bool swapcache = (s->flags >> skel->rodata->pg_swapbacked & 1) && (s->flags >> skel->rodata->pg_swapcache & 1);
    bool excl = anon && !ksm && (s->page_flags >> skel->rodata->pg_anon_exclusive & 1);
    int mapcount = mapcount_of(s);
    put(o, " %srefcount=%d %smapcount=%d", prefix, s->refcount, prefix, mapcount);
    if (full) {
        put(o, " mapcount_raw=%d folio_mapcount=%d", s->mapcount_raw, s->large ? s->large_mapcount + 1 : mapcount);
        put(o, " order=%u entire_mapcount=%d pincount=%d", s->large ? s->order : 0,
            s->large ? s->entire_mapcount + 1 : 0, s->large ? s->pincount : 0);
    } else {
        put(o, " %sorder=%u", prefix, s->large ? s->order : 0);
    }
    put(o, " %sflags=0x%llx %spgflags=%s", prefix, (unsigned long long)flags, prefix, pg);
    if (full) put(o, " mapping=0x%llx", (unsigned long long)s->mapping);
    put(o, " %sanon=%d %sksm=%d %sswapcache=%d", prefix, anon, prefix, ksm, prefix, swapcache);
    if (full)
        put(o, " locked=%d writeback=%d lru=%d large=%d", (int)(s->flags >> skel->rodata->pg_locked & 1),
            (int)(s->flags >> skel->rodata->pg_writeback & 1), (int)(s->flags >> skel->rodata->pg_lru & 1), s->large);
    put(o, " %sanon_exclusive=%d %szero=%d", prefix, excl, prefix, is_zero(s));
    if (!full) return;
    if (swapcache) {
        put(o, " swap_entry=0x%llx", (unsigned long long)s->private_);
        if (s->swapcount >= 0) put(o, " swapcount=%d", s->swapcount);
        if (s->folio_swapcount >= 0) put(o, " folio_swapcount=%d", s->folio_swapcount);
    }
    if (s->large) {
        put(o, " mm_shared=%d", (int)(s->mm_ids >> 63 & 1));
        if (s->subpage_mapcount_max >= 0) put(o, " subpage_mapcount_max=%d", s->subpage_mapcount_max);
        if (s->thp_map_swapcount >= 0) put(o, " thp_map_swapcount=%d", s->thp_map_swapcount);
    }
}

static const char *lvl_name(int l) { return l == LVL_PTE ? "pte" : l == LVL_PMD ? "pmd" : l == LVL_PUD ? "pud" : "none"; }
static const char *done_name(int d) { return d == DONE_SYSCALL ? "syscall" : d == DONE_FAULT ? "fault" : "exit"; }

static const char *other_kind(const struct wp_record *r)
{
    bool write = r->err & 2;
    bool present = r->pte & 1;
    if (!present && (r->pte & 0x100) && r->lvl != LVL_NONE) return write ? "write_protnone" : "read_protnone";
    if (!present && r->pte == 0) return write ? "write_none" : "read_none";
    if (!present) return write ? "write_swap" : "read_swap";
    if (write) return "write_spurious";
    return "read_present";
}

static const char *other_decision(const struct wp_record *r)
{
    bool was = r->pte & 1, now = (r->new_pte & 1) && r->new_lvl != LVL_NONE;
    if (!was) {
        if (!now) return "none";
        if (r->new_.pfn == skel->bss->zero_pfn) return "zero";
        if (r->pte) return (r->new_pte & 2) ? "swapin_rw" : "swapin_ro";
        return "new";
    }
    if (!now) return "none";
    if (r->new_.pfn != r->old.pfn) return "changed";
    if (!(r->pte & 2) && (r->new_pte & 2)) return "made_writable";
    return "same";
}

static void add_line(uint64_t ts, char *text)
{
    if (nlines == caplines) {
        caplines = caplines ? caplines * 2 : 4096;
        lines = realloc(lines, caplines * sizeof *lines);
        if (!lines) abort();
    }
    lines[nlines++] = (struct line){ ts, text };
}

/* Records are only copied while the command runs, so the ring buffer drains fast; they
 * are formatted after it exits. */
static struct wp_record *raw_records;
static size_t nraw, capraw;

static int keep_record(void *ctx, void *data, size_t size)
{
    (void)ctx;
    if (size < sizeof(struct wp_record)) return 0;
    if (nraw == capraw) {
        capraw = capraw ? capraw * 2 : 8192;
        raw_records = realloc(raw_records, capraw * sizeof *raw_records);
        if (!raw_records) abort();
    }
    memcpy(&raw_records[nraw++], data, sizeof *raw_records);
    return 0;
}

static void format_record(const struct wp_record *r)
{
    nrecords++;
    bool wp = r->kind == KIND_WP;
    /* wp_page: anon or zero pages only (private file COW is another story); mm_fault:
     * faults that found or installed an anon or zero page. */
    bool interesting = is_anon(&r->old) || is_zero(&r->old) ||
                       (!wp && (is_anon(&r->new_) || is_zero(&r->new_) || is_anon(&r->old_after)));
    if (!interesting && !print_all) return;
    struct out o = { malloc(1024), 0, 1024 };
    if (!o.buf) abort();
    char comm[17];
    memcpy(comm, r->comm, 16);
    comm[16] = 0;
    for (char *c = comm; *c; c++) if (*c == ' ') *c = '_';
    put(&o, "%16s-%-7u [%03u] ..... %5llu.%09llu: %s:", comm, r->tid, r->cpu,
        (unsigned long long)(r->ts / 1000000000ULL), (unsigned long long)(r->ts % 1000000000ULL),
        wp ? "wp_page" : "mm_fault");
    if (!wp) put(&o, " kind=%s", other_kind(r));
    put(&o, " tgid=%u pfn=0x%llx addr=0x%llx ip=0x%llx err=0x%llx kmode=%u lvl=%s pte=0x%llx", r->tgid,
        (unsigned long long)r->old.pfn, (unsigned long long)r->addr, (unsigned long long)r->ip,
        (unsigned long long)r->err, r->kmode, lvl_name(r->lvl), (unsigned long long)r->pte);
    if (r->old.valid) put_state(&o, "", &r->old, true);
    else put(&o, " page=none");
    const char *decision;
    bool now = (r->new_pte & 1) && r->new_lvl != LVL_NONE;
    if (wp) {
        nwp++;
        if (!now) decision = "unmapped";
        else if (r->new_.pfn != r->old.pfn) decision = "copy";
        else if (r->new_pte & 2) decision = "reuse";
        else decision = "unresolved";
        put(&o, " caller=pte_fault"); /* a present entry: not the swap-in path */
    } else {
        decision = other_decision(r);
    }
    put(&o, " decision=%s new_lvl=%s new_pte=0x%llx new_pfn=0x%llx", decision, lvl_name(r->new_lvl),
        (unsigned long long)r->new_pte, (unsigned long long)r->new_.pfn);
    if (r->new_.valid && r->new_.pfn != r->old.pfn) put_state(&o, "new_", &r->new_, false);
    if (r->old.valid && r->old_after.valid) {
        char pg[512];
        __u64 flags = r->old_after.flags & ((1ULL << nr_pageflags) - 1);
        pgflags_text(pg, sizeof pg, &r->old_after, flags);
        bool anon = is_anon(&r->old_after), ksm = (r->old_after.mapping & 3) == 3;
        put(&o, " old_refcount_after=%d old_mapcount_after=%d old_swapcache_after=%d old_anon_exclusive_after=%d"
                " old_flags_after=0x%llx old_pgflags_after=%s",
            r->old_after.refcount, mapcount_of(&r->old_after),
            (int)((r->old_after.flags >> skel->rodata->pg_swapbacked & 1) && (r->old_after.flags >> skel->rodata->pg_swapcache & 1)),
            (int)(anon && !ksm && (r->old_after.page_flags >> skel->rodata->pg_anon_exclusive & 1)),
            (unsigned long long)flags, pg);
    }
    put(&o, " nalloc=%u", r->nalloc);
    if (r->nalloc > 0) put(&o, " alloc0_pfn=0x%llx", (unsigned long long)r->alloc_pfn[0]);
    if (r->nalloc > 1) put(&o, " alloc1_pfn=0x%llx", (unsigned long long)r->alloc_pfn[1]);
    put(&o, " ntlb=%u done=%s done_cpu=%u dt_ns=%llu dt_kind=next_entry\n", r->ntlb, done_name(r->done), r->done_cpu,
        (unsigned long long)(r->done_ts - r->ts));
    add_line(r->ts, o.buf);
    remember_pfn(r->old.pfn);
    remember_pfn(r->new_.pfn);
}

static int by_ts(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* ---------- main ---------- */

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void usage(void)
{
    fprintf(stderr, "usage: wpsnap --workdir DIR [--duration S] [--all] -- CMD [ARGS...]\n");
}

int main(int argc, char **argv)
{
    double duration = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (strcmp(argv[i], "--workdir") == 0 && i + 1 < argc) workdir = argv[++i];
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) duration = atof(argv[++i]);
        else if (strcmp(argv[i], "--all") == 0) print_all = true;
        else { usage(); return ENGINE_FAILED; }
    }
    if (!workdir || i >= argc) { usage(); return ENGINE_FAILED; }
    char **cmd = argv + i;
    if (geteuid() != 0) { fail("needs root (BPF, tracefs and /proc/self/pagemap pfns)"); return ENGINE_FAILED; }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/calibration.log", workdir);
    calib_log = fopen(path, "w");
    if (!calib_log) { fail("cannot write %s: %s", path, strerror(errno)); return ENGINE_FAILED; }

    struct sigaction sa = { .sa_handler = on_signal };
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &stops, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = ENGINE_FAILED;
    pid_t child = -1;
    int go[2] = { -1, -1 };
    struct ring_buffer *rb = NULL;
    struct pipe_sink proc_sink = { -1, NULL }, ksm_sink = { -1, NULL };
    int si_type_off = -1;

    if (!getenv("WPSNAP_DEBUG")) libbpf_set_print(NULL);
    skel = wpsnap_bpf__open();
    if (!skel) { fail("cannot open the BPF object"); goto out; }
    if (load_btf_facts(skel, &si_type_off) < 0) goto out;
    FILE *cpuinfo = fopen("/proc/cpuinfo", "r");
    if (cpuinfo) {
        char l[4096];
        while (fgets(l, sizeof l, cpuinfo))
            if (strncmp(l, "flags", 5) == 0) { if (strstr(l, " la57")) skel->rodata->pgtable_levels = 5; break; }
        fclose(cpuinfo);
    }
    skel->rodata->calib_tgid = getpid();
    if (wpsnap_bpf__load(skel)) { fail("the kernel refused the BPF programs (tp_btf needs BTF and CAP_BPF/CAP_PERFMON)"); goto out; }
    if (wpsnap_bpf__attach(skel)) { fail("cannot attach the BPF tracepoints: %s", strerror(errno)); goto out; }
    if (calibrate(si_type_off) < 0) goto out;
    if (ensure_tracefs() < 0) goto out;

    rb = ring_buffer__new(bpf_map__fd(skel->maps.records), keep_record, NULL, NULL);
    if (!rb) { fail("cannot open the ring buffer"); goto out; }

    if (make_instance(inst_proc, sizeof inst_proc, "proc") < 0) goto out;
    if (pipe2(go, O_CLOEXEC) < 0) goto out;
    child = fork();
    if (child < 0) { fail("fork: %s", strerror(errno)); goto out; }
    if (child == 0) {
        char c;
        close(go[1]);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the command starts with no signal blocked */
        if (read(go[0], &c, 1) != 1) _exit(ENGINE_FAILED);
        char marker[600];
        snprintf(marker, sizeof marker, "%s/trace_marker", inst_proc);
        setenv("TRACECHECK_MARKER", marker, 1);
        execvp(cmd[0], cmd);
        fprintf(stderr, "wpsnap: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    close(go[0]);
    go[0] = -1;
    if (setup_proc_instance(child) < 0 || setup_ksm_instance() < 0) goto kill_child;
    update_ksm_filter();
    if (open_pipe(&proc_sink, inst_proc, "tracefs.txt") < 0 || open_pipe(&ksm_sink, inst_ksm, "ksm.txt") < 0) goto kill_child;
    skel->bss->arm_pid = child;
    skel->bss->ready = 1;
    if (inst_write(inst_proc, "tracing_on", "1") || (inst_ksm[0] && inst_write(inst_ksm, "tracing_on", "1"))) goto kill_child;
    if (write(go[1], "g", 1) != 1) goto kill_child;
    close(go[1]);
    go[1] = -1;

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int term_sent = 0;
    double term_at = 0;
    for (;;) {
        update_ksm_filter();
        ring_buffer__poll(rb, 100);
        drain_pipe(&proc_sink);
        drain_pipe(&ksm_sink);
        int st;
        pid_t w = waitpid(child, &st, WNOHANG);
        if (w == child) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            child = -1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
        if (!term_sent && (stop_requested || (duration > 0 && elapsed >= duration))) {
            kill(child, SIGTERM);
            term_sent = 1;
            term_at = elapsed;
        } else if (term_sent == 1 && elapsed - term_at > 3) {
            kill(child, SIGKILL);
            term_sent = 2;
        }
    }
    skel->bss->ready = 0;
    /* Let the command's last records and events arrive, then read what is left. */
    usleep(50000);
    ring_buffer__poll(rb, 0);
    if (inst_proc[0]) inst_write(inst_proc, "tracing_on", "0");
    if (inst_ksm[0]) inst_write(inst_ksm, "tracing_on", "0");
    drain_pipe(&proc_sink);
    drain_pipe(&ksm_sink);
    goto finish;

kill_child:
    if (child > 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); child = -1; }
    status = ENGINE_FAILED;
finish: {
    long long overruns = instance_overruns(inst_proc) + instance_overruns(inst_ksm);
    for (size_t k = 0; k < nraw; k++) format_record(&raw_records[k]);
    if (proc_sink.out) { fclose(proc_sink.out); proc_sink.out = NULL; }
    if (ksm_sink.out) { fclose(ksm_sink.out); ksm_sink.out = NULL; }
    long long foreign_ksm = filter_ksm_file();
    unsigned long long lost = skel->bss->lost_records;
    qsort(lines, nlines, sizeof *lines, by_ts);
    snprintf(path, sizeof path, "%s/bpf.txt", workdir);
    FILE *f = fopen(path, "w");
    if (f) {
        for (size_t k = 0; k < nlines; k++) fputs(lines[k].text, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/engine.env", workdir);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "engine=tpbtf\nclock=mono\nlost=%llu\nfaults=%llu\nwp_page=%llu\nrecords=%llu\n",
                lost + (unsigned long long)overruns, (unsigned long long)skel->bss->faults_seen,
                (unsigned long long)nwp, (unsigned long long)nrecords);
        fprintf(f, "swapcount=%s\n", skel->bss->swap_info_addr ? "yes" : "no");
        fprintf(f, "ksm_remove_ksm_page_elsewhere=%lld\n", foreign_ksm);
        if (skel->bss->swap_checks_failed)
            fprintf(f, "note=%llu swap-map reads failed their check and were left out\n",
                    (unsigned long long)skel->bss->swap_checks_failed);
        fclose(f);
    }
}
out:
    if (child > 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); }
    if (go[0] >= 0) close(go[0]);
    if (go[1] >= 0) close(go[1]);
    if (proc_sink.fd >= 0) close(proc_sink.fd);
    if (ksm_sink.fd >= 0) close(ksm_sink.fd);
    if (proc_sink.out) fclose(proc_sink.out);
    if (ksm_sink.out) fclose(ksm_sink.out);
    if (rb) ring_buffer__free(rb);
    restore_all();
    if (calib_log) fclose(calib_log);
    return status;
}
