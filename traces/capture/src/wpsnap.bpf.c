// SPDX-License-Identifier: GPL-2.0
/* Write-fault snapshots from BTF raw tracepoints, for kernels without kprobes or fentry.
 *
 * At page_fault_user/page_fault_kernel the faulting thread's page table is walked by hand
 * and the page found there is read through vmemmap. The outcome is read at the thread's
 * next kernel entry (a syscall, its next fault, or its exit): the leaf entry is walked again
 * and the old page re-read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "wpsnap.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load, from this kernel's BTF (enum pageflags). */
const volatile __u32 pg_locked, pg_writeback, pg_lru, pg_head, pg_swapcache, pg_swapbacked, pg_anon_exclusive;
const volatile __u32 pgtable_levels = 4;
const volatile __u32 calib_tgid;

/* Set by the loader after calibration. */
__u64 page_offset_base;
__u64 vmemmap_base;
__u64 zero_pfn;
__u64 swap_info_addr; /* &swap_info[0], 0 when unknown */
__u32 ready;
__u32 arm_pid;

/* Calibration requests and answers. */
__u32 calib_op;
__u64 calib_addr;
__u64 calib_out[8];
__u64 calib_allocs[CALIB_ALLOCS];
__u32 calib_nallocs;
__u32 calib_capture_allocs;

/* Counters read by the loader. */
__u64 lost_records;
__u64 swap_checks_failed;
__u64 faults_seen;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, __u8);
} tracked SEC(".maps");

/* The mm of every tracked process, for the loader's KSM event filter. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, __u32);
} tracked_mms SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct wp_record);
} pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 << 20);
} records SEC(".maps");

#define PTE_PRESENT 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PSE 0x80ULL
#define PTE_PROTNONE 0x100ULL
#define ADDR_MASK 0x000ffffffffff000ULL
#define PMD_ADDR_MASK 0x000fffffffe00000ULL
#define PUD_ADDR_MASK 0x000fffffc0000000ULL
#define USER_TOP 0x0000800000000000ULL
#define SWP_TYPE_SHIFT 58
#define SWAP_HAS_CACHE 0x40
#define COUNT_CONTINUED 0x80
#define SWAP_MAP_BAD 0x3f
#define MM_IDS_SHARED_BIT 63

static __always_inline __u64 read_u64(__u64 addr)
{
    __u64 v = 0;
    bpf_probe_read_kernel(&v, sizeof v, (void *)addr);
    return v;
}

static __always_inline __u64 table_entry(__u64 table_phys, __u64 index)
{
    return read_u64(page_offset_base + (table_phys & ADDR_MASK) + index * 8);
}

/* Walks mm's page table for addr; returns the leaf level and fills *entry and *pfn. */
static __always_inline int walk(struct mm_struct *mm, __u64 addr, __u64 *entry, __u64 *pfn)
{
    *entry = 0;
    *pfn = 0;
    if (!mm) return LVL_NONE;
    __u64 pgd = (__u64)BPF_CORE_READ(mm, pgd);
    if (!pgd) return LVL_NONE;
    __u64 top = pgd - page_offset_base;
    __u64 e;
    if (pgtable_levels == 5) {
        e = table_entry(top, (addr >> 48) & 511);
        if (!(e & PTE_PRESENT)) return LVL_NONE;
        e = table_entry(e, (addr >> 39) & 511);
    } else {
        e = table_entry(top, (addr >> 39) & 511);
    }
    if (!(e & PTE_PRESENT)) return LVL_NONE;
    e = table_entry(e, (addr >> 30) & 511);
    if (!(e & PTE_PRESENT)) { *entry = e; return LVL_NONE; }
    if (e & PTE_PSE) {
        *entry = e;
        *pfn = ((e & PUD_ADDR_MASK) >> 12) + ((addr >> 12) & ((1 << 18) - 1));
        return LVL_PUD;
    }
    __u64 pmd = table_entry(e, (addr >> 21) & 511);
    if (pmd & PTE_PSE) {
        *entry = pmd;
        *pfn = (pmd & (PTE_PRESENT | PTE_PROTNONE)) ? ((pmd & PMD_ADDR_MASK) >> 12) + ((addr >> 12) & 511) : 0;
        return LVL_PMD;
    }
    if (!(pmd & PTE_PRESENT)) { *entry = pmd; return LVL_NONE; }
    __u64 pte = table_entry(pmd, (addr >> 12) & 511);
    *entry = pte;
    *pfn = (pte & (PTE_PRESENT | PTE_PROTNONE)) ? (pte >> 12) & ((1ULL << 40) - 1) : 0;
    return LVL_PTE;
}

static __always_inline __u64 page_addr(__u64 pfn) { return vmemmap_base + pfn * sizeof(struct page); }

/* Swap-map count of one swap entry, without the cache bit. The entry must belong to a page
 * in the swap cache, so its map byte must carry SWAP_HAS_CACHE: that, and the device's own
 * type and size, check that swap_info was found right. -1 when the check fails. */
static __always_inline int swap_map_count(__u64 entry, int expect_cache)
{
    if (!swap_info_addr) return -1;
    __u64 type = entry >> SWP_TYPE_SHIFT;
    __u64 offset = entry & ((1ULL << SWP_TYPE_SHIFT) - 1);
    if (type >= 32) return -1;
    struct swap_info_struct *si = (void *)read_u64(swap_info_addr + type * 8);
    if (!si) return -1;
    signed char si_type = BPF_CORE_READ(si, type);
    unsigned int max = BPF_CORE_READ(si, max);
    unsigned char *map = BPF_CORE_READ(si, swap_map);
    if (si_type != (signed char)type || offset >= max || !map) return -1;
    unsigned char v = 0;
    bpf_probe_read_kernel(&v, 1, map + offset);
    if (expect_cache && !(v & SWAP_HAS_CACHE)) return -1;
    if (v & COUNT_CONTINUED) return -1; /* the count goes on in continuation pages */
    v &= ~SWAP_HAS_CACHE;
    if (v == SWAP_MAP_BAD) return -1;
    return v;
}

struct subpage_walk {
    __u64 first_page;   /* struct page * of the folio's first page */
    __u64 first_entry;  /* the folio's swap entry, 0 when not in the swap cache */
    __s32 entire;       /* entire mapcount, +1 applied */
    __s32 max_mapcount;
    __s32 max_map_swap;
    __s32 swap_sum;
    __s32 failed;
};

static long visit_subpage(__u32 i, void *ctx)
{
    struct subpage_walk *w = ctx;
    int raw = -1;
    bpf_probe_read_kernel(&raw, sizeof raw, (void *)(w->first_page + (__u64)i * sizeof(struct page) +
                                                      offsetof(struct page, _mapcount)));
    int mapcount = raw + 1 + w->entire;
    int swap = 0;
    if (w->first_entry) {
        swap = swap_map_count(w->first_entry + i, 1);
        if (swap < 0) { w->failed = 1; return 1; }
    }
    if (mapcount > w->max_mapcount) w->max_mapcount = mapcount;
    if (mapcount + swap > w->max_map_swap) w->max_map_swap = mapcount + swap;
    w->swap_sum += swap;
    return 0;
}

static __always_inline void read_page(__u64 pfn, struct page_state *s)
{
    struct page p = {};
    __builtin_memset(s, 0, sizeof *s);
    s->pfn = pfn;
    s->swapcount = s->subpage_mapcount_max = s->thp_map_swapcount = s->folio_swapcount = -1;
    if (!pfn) return;
    __u64 addr = page_addr(pfn);
    if (bpf_probe_read_kernel(&p, sizeof p, (void *)addr)) return;
    s->valid = 1;
    s->page_flags = p.flags.f;
    s->mapcount_raw = p._mapcount.counter;
    __u64 head = addr;
    if (p.compound_head & 1) head = p.compound_head - 1;
    s->head_pfn = (head - vmemmap_base) / sizeof(struct page);
    struct folio f = {};
    if (head != addr) {
        if (bpf_probe_read_kernel(&f.page, sizeof f.page, (void *)head)) { s->valid = 0; return; }
    } else {
        f.page = p;
    }
    s->flags = f.flags.f;
    s->mapping = (__u64)f.mapping;
    s->private_ = (__u64)f.private;
    s->refcount = f._refcount.counter;
    int swapcache = (s->flags >> pg_swapbacked & 1) && (s->flags >> pg_swapcache & 1);
    if (s->flags >> pg_head & 1) {
        if (bpf_probe_read_kernel(&f.__page_1, sizeof f.__page_1, (void *)(head + sizeof(struct page)))) return;
        s->large = 1;
        s->order = f._flags_1 & 0xff;
        s->large_mapcount = f._large_mapcount.counter;
        s->entire_mapcount = f._entire_mapcount.counter;
        s->pincount = f._pincount.counter;
        s->mm_ids = f._mm_ids;
        if (s->order <= 9) {
            struct subpage_walk w = {
                .first_page = head,
                .first_entry = swapcache ? s->private_ : 0,
                .entire = s->entire_mapcount + 1,
                .max_mapcount = 0, .max_map_swap = 0, .swap_sum = 0, .failed = 0,
            };
            bpf_loop(1U << s->order, visit_subpage, &w, 0);
            if (!w.failed) {
                s->subpage_mapcount_max = w.max_mapcount;
                s->thp_map_swapcount = w.max_map_swap;
                if (swapcache) s->folio_swapcount = w.swap_sum;
            } else {
                __sync_fetch_and_add(&swap_checks_failed, 1);
            }
        }
        if (swapcache) {
            int c = swap_map_count(s->private_ + (s->pfn - s->head_pfn), 1);
            s->swapcount = c;
        }
    } else if (swapcache) {
        int c = swap_map_count(s->private_, 1);
        if (c < 0) __sync_fetch_and_add(&swap_checks_failed, 1);
        s->swapcount = c;
        s->folio_swapcount = c;
    }
}

/* A kernel pointer as a plain number (the verifier forbids arithmetic on typed pointers). */
static __always_inline __u64 as_number(const void *p)
{
    __u64 v = 0;
    bpf_probe_read_kernel(&v, sizeof v, &p);
    return v;
}

static __always_inline int is_tracked(void)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    return bpf_map_lookup_elem(&tracked, &tgid) != NULL;
}

/* Reads the outcome of the open record and sends it. */
static __always_inline void close_record(struct wp_record *r, int done)
{
    struct task_struct *task = bpf_get_current_task_btf();
    __u64 entry, pfn;
    r->done_ts = bpf_ktime_get_ns();
    r->done_cpu = bpf_get_smp_processor_id();
    r->done = done;
    r->new_lvl = walk(task->mm, r->addr, &entry, &pfn);
    r->new_pte = entry;
    read_page(r->old.pfn, &r->old_after);
    if (pfn && pfn != r->old.pfn) read_page(pfn, &r->new_);
    else { __builtin_memset(&r->new_, 0, sizeof r->new_); r->new_.pfn = pfn; }
    r->active = 0;
    if (bpf_ringbuf_output(&records, r, sizeof *r, 0)) __sync_fetch_and_add(&lost_records, 1);
}

static __always_inline void on_fault(__u64 addr, struct pt_regs *regs, __u64 err, int kmode)
{
    __u64 ts = bpf_ktime_get_ns(); /* before anything is read */
    if (!ready || addr >= USER_TOP || !is_tracked()) return;
    struct task_struct *task = bpf_get_current_task_btf();
    struct wp_record *r = bpf_task_storage_get(&pending, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!r) { __sync_fetch_and_add(&lost_records, 1); return; }
    if (r->active) close_record(r, DONE_FAULT);
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u64 entry, pfn;
    r->ts = ts;
    r->tgid = pid_tgid >> 32;
    r->tid = (__u32)pid_tgid;
    r->cpu = bpf_get_smp_processor_id();
    r->addr = addr;
    r->ip = BPF_CORE_READ(regs, ip);
    r->err = err;
    r->kmode = kmode;
    r->nalloc = r->ntlb = 0;
    r->alloc_pfn[0] = r->alloc_pfn[1] = 0;
    bpf_get_current_comm(r->comm, sizeof r->comm);
    r->lvl = walk(task->mm, addr, &entry, &pfn);
    r->pte = entry;
    __u64 mm = as_number(task->mm);
    if (mm && !bpf_map_lookup_elem(&tracked_mms, &mm)) bpf_map_update_elem(&tracked_mms, &mm, &r->tgid, BPF_ANY);
    read_page(pfn, &r->old);
    int present = (r->lvl == LVL_PTE || r->lvl == LVL_PMD) && (entry & PTE_PRESENT);
    r->kind = (err & 2) && present && !(entry & PTE_RW) ? KIND_WP : KIND_OTHER;
    r->active = 1;
    __sync_fetch_and_add(&faults_seen, 1);
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
    on_fault(address, regs, error_code, 0);
    return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
    on_fault(address, regs, error_code, 1);
    return 0;
}

static __always_inline void calibration_request(void)
{
    __u64 entry, pfn;
    switch (calib_op) {
    case CALIB_READ:
        for (int i = 0; i < 8; i++) calib_out[i] = 0;
        bpf_probe_read_kernel(calib_out, sizeof calib_out, (void *)calib_addr);
        break;
    case CALIB_WALK: {
        struct task_struct *task = bpf_get_current_task_btf();
        calib_out[0] = walk(task->mm, calib_addr, &entry, &pfn);
        calib_out[1] = entry;
        calib_out[2] = pfn;
        break;
    }
    case CALIB_CURRENT:
        calib_out[0] = as_number(bpf_get_current_task_btf());
        break;
    }
    calib_op = CALIB_NONE;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
    if (calib_op && id == 110 /* getppid */ && (bpf_get_current_pid_tgid() >> 32) == calib_tgid) {
        calibration_request();
        return 0;
    }
    if (!ready || !is_tracked()) return 0;
    struct wp_record *r = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
    if (r && r->active) close_record(r, DONE_SYSCALL);
    return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(page_alloc, struct page *page, unsigned int order, gfp_t gfp, int migratetype)
{
    if (calib_capture_allocs && (bpf_get_current_pid_tgid() >> 32) == calib_tgid && order == 0) {
        __u32 n = calib_nallocs;
        if (n < CALIB_ALLOCS) { calib_allocs[n] = as_number(page); calib_nallocs = n + 1; }
        return 0;
    }
    if (!ready || !is_tracked()) return 0;
    struct wp_record *r = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
    if (!r || !r->active) return 0;
    __u64 pfn = (as_number(page) - vmemmap_base) / sizeof(struct page);
    if (r->nalloc < 2) r->alloc_pfn[r->nalloc & 1] = pfn;
    r->nalloc++;
    return 0;
}

SEC("tp_btf/tlb_flush")
int BPF_PROG(tlb_flush, int reason, unsigned long pages)
{
    if (!ready || !is_tracked()) return 0;
    struct wp_record *r = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
    if (r && r->active) r->ntlb++;
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    __u32 tgid = p->tgid;
    if (arm_pid && tgid == arm_pid) {
        __u8 one = 1;
        bpf_map_update_elem(&tracked, &tgid, &one, BPF_ANY);
        arm_pid = 0;
    }
    if (bpf_map_lookup_elem(&tracked, &tgid)) {
        __u64 mm = as_number(p->mm);
        if (mm) bpf_map_update_elem(&tracked_mms, &mm, &tgid, BPF_ANY);
    }
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 ptgid = parent->tgid, ctgid = child->tgid;
    if (ptgid != ctgid && bpf_map_lookup_elem(&tracked, &ptgid)) {
        __u8 one = 1;
        bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
        __u64 mm = as_number(child->mm);
        if (mm) bpf_map_update_elem(&tracked_mms, &mm, &ctgid, BPF_ANY);
    }
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *p, bool group_dead)
{
    if (!is_tracked()) return 0;
    struct wp_record *r = bpf_task_storage_get(&pending, p, 0, 0);
    if (r && r->active) close_record(r, DONE_EXIT);
    if (group_dead) {
        __u32 tgid = p->tgid;
        bpf_map_delete_elem(&tracked, &tgid);
    }
    return 0;
}
