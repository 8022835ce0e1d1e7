/* Records shared by the BPF side (wpsnap.bpf.c) and the loader (wpsnap.c). */
#ifndef WPSNAP_H
#define WPSNAP_H

#define WPSNAP_SUBPAGES_MAX 512 /* a PMD-sized folio on x86-64 */

enum wpsnap_level { LVL_NONE = 0, LVL_PTE = 1, LVL_PMD = 2, LVL_PUD = 3 };
enum wpsnap_done { DONE_SYSCALL = 1, DONE_FAULT = 2, DONE_EXIT = 3 };
enum wpsnap_kind { KIND_WP = 1, KIND_OTHER = 2 };

/* The state of one page (and of its folio), read through vmemmap. */
struct page_state {
    __u64 pfn;
    __u64 head_pfn;
    __u64 flags;          /* folio (head) flags word */
    __u64 page_flags;     /* the exact page's flags word (PG_anon_exclusive lives here) */
    __u64 mapping;
    __u64 private_;       /* the folio's swap entry when it is in the swap cache */
    __s32 mapcount_raw;   /* the exact page's _mapcount */
    __s32 refcount;       /* the folio's _refcount */
    __s32 large_mapcount; /* large folios: _large_mapcount (raw) */
    __s32 entire_mapcount;
    __s32 pincount;
    __u32 order;
    __u64 mm_ids;
    __s32 swapcount;          /* -1: not read (not in swap cache, or unverified swap map) */
    __s32 subpage_mapcount_max;  /* -1: not computed */
    __s32 thp_map_swapcount;     /* -1: not computed */
    __s32 folio_swapcount;       /* -1: not computed */
    __u8 valid;
    __u8 large;
    __u8 pad[6];
};

struct wp_record {
    __u64 ts;        /* fault entry, bpf_ktime_get_ns(), taken before anything is read */
    __u64 done_ts;
    __u32 tgid, tid;
    __u32 cpu, done_cpu;
    __u64 addr, ip, err;
    __u64 pte, new_pte;
    __u64 alloc_pfn[2];
    __u32 nalloc, ntlb;
    __u8 kmode, lvl, new_lvl, done;
    __u8 kind, active, pad[2];
    char comm[16];
    struct page_state old, old_after, new_;
};

/* Requests the loader makes of the BPF side during calibration (a getppid() of its own
 * triggers them). */
enum calib_op { CALIB_NONE = 0, CALIB_READ = 1, CALIB_WALK = 2, CALIB_CURRENT = 3 };

#define CALIB_ALLOCS 16

#endif
