/// The decision procedures, one per model, written as the kernel orders its tests
/// (DecisionTables.md, the Procedure of each model). Read order matters: it decides which unknown
/// inputs an undetermined verdict names. Row ids are the decision-table ids of DecisionTables.md;
/// "N0"/"N1" mark the not-anon branches (DecisionTables.md, Branches that are not anon reuse
/// decisions).
extension KernelModel {
    func run(_ c: inout ModelContext) -> ModelOutcome {
        if let notAnon = Self.notAnon(&c) { return notAnon }
        switch self {
        case .v5_8: return Self.modelA(&c)
        case .v5_9: return Self.modelB(&c)
        case .v5_18: return Self.modelC(&c, rows: .plain)
        case .v5_19, .v6_6:
            // v6.6 tests a shared mapping first, which only matters for non-anon pages.
            return Self.modelD(&c)
        case .v6_18: return Self.modelF(&c)
        }
    }

    /// The zero page (N0) and non-anon pages (N1) are not anon reuse decisions (DecisionTables.md,
    /// Branches that are not anon reuse decisions).
    private static func notAnon(_ c: inout ModelContext) -> ModelOutcome? {
        // Not anon whether or not it is the zero page: no need to ask which.
        if c.values.zero == nil, c.values.anon == false {
            return ModelOutcome(decision: .notAnon, rule: "N1")
        }
        if c.bool(.zero) { return ModelOutcome(decision: .notAnon, rule: "N0") }
        if !c.bool(.anon) { return ModelOutcome(decision: .notAnon, rule: "N1") }
        return nil
    }

    /// Model A, v5.8 (DecisionTables.md, Model A — v5.8).
    private static func modelA(_ c: inout ModelContext) -> ModelOutcome {
        let ksm = c.bool(.ksm)
        // A1: KSM filter before the page lock.
        if ksm, c.bool(.swapcache) || c.int(.refcount) != 1 {
            return .copy("A1")
        }
        // A2: the trylock failed, so the fault slept in lock_page(); the pte_same() recheck.
        // If the PTE is unchanged it carries on with the same page state.
        if c.bool(.locked), c.bool(.pteChanged) {
            return ModelOutcome(decision: .pteChanged, rule: "A2")
        }
        // A3: reuse_ksm_page(): not in the swap cache, stable node present, refcount
        // freezable at 1.
        if ksm {
            let reusable = !c.bool(.swapcache) && c.bool(.stableNode) && c.int(.refcount) == 1
            return reusable ? .reuse("A3a") : .copy("A3b")
        }
        // A4: reuse_swap_page(). A compound page counts per subpage: without the swap cache,
        // page_trans_huge_mapcount() (largest subpage mapcount + compound mapcount); in the swap
        // cache, page_trans_huge_map_swapcount() (largest subpage mapcount + swapcount).
        let large = c.bool(.large, as: .subpage_mapcounts)
        let swapcache = c.bool(.swapcache)
        let count: Int
        if large {
            count = swapcache ? c.int(.thpMapSwapcount) : c.int(.maxSubpageMapcount)
        } else {
            count = c.int(.mapcount) + (swapcache ? c.int(.swapcount) : 0)
        }
        // A THP leaves the swap cache (or, under writeback, refuses on a stable-writes device)
        // only when every swap reference of the folio belongs to the faulting subpage.
        if count == 1, swapcache, !large || c.int(.folioSwapcount) == c.int(.swapcount) {
            guard c.bool(.writeback) else { return .reuse("A4b") }
            return c.bool(.stableWrites) ? .copy("A4c") : .reuse("A4d")
        }
        // count ≤ 1 reuses (a THP whose swap references are spread over its subpages stays in
        // the swap cache); a swap-cache page with count 0 (not possible for a mapped page)
        // would reuse here too, without leaving the swap cache.
        return count <= 1 ? .reuse("A4a") : .copy("A4e")
    }

    /// Model B, v5.9 (DecisionTables.md, Model B — v5.9).
    private static func modelB(_ c: inout ModelContext) -> ModelOutcome {
        if c.bool(.ksm) { return .copy("B1") }
        if c.int(.refcount) != 1 { return .copy("B2") }
        if c.bool(.locked) { return .copy("B3") }
        // Recheck under the page lock; with a static snapshot only the mapcount can differ.
        if c.bool(.ksm) || c.int(.mapcount) != 1 || c.int(.refcount) != 1 { return .copy("B4") }
        return .reuse("B5")
    }

    /// Row ids of the Model C body: plain in v5.18–v6.6, under F2 in v6.18.
    struct CRows {
        var c1, c2, c3, c4, c5: String
        static let plain = CRows(c1: "C1", c2: "C2", c3: "C3", c4: "C4", c5: "C5")
        static let smallFolio = CRows(
            c1: "F2/C1", c2: "F2/C2", c3: "F2/C3", c4: "F2/C4", c5: "F2/C5")
    }

    /// Model C, v5.18 (DecisionTables.md, Model C — v5.18); also the non-exclusive part of D/E and
    /// F's small folios.
    private static func modelC(_ c: inout ModelContext, rows: CRows) -> ModelOutcome {
        if c.bool(.ksm) || c.int(.refcount) > 3 { return .copy(rows.c1) }
        var refcount = c.int(.refcount)
        // Not on the LRU: lru_add_drain() of this CPU's batches may drop the batch's reference.
        if !c.bool(.lru), c.bool(.drainReleasesReference) { refcount -= 1 }
        var swapcache = c.bool(.swapcache)
        if refcount > 1 + (swapcache ? 1 : 0) { return .copy(rows.c2) }
        if c.bool(.locked) { return .copy(rows.c3) }
        // try_to_free_swap()/folio_free_swap(): fails under writeback or while swap PTEs
        // still refer to the entry; on success the swap cache's reference goes. (A large folio
        // cannot get here from the swap cache: its cache references alone fail C2.)
        if swapcache, !c.bool(.writeback), c.int(.swapcount) == 0 {
            refcount -= 1
            swapcache = false
        }
        if c.bool(.ksm) || refcount != 1 { return .copy(rows.c4) }
        return .reuse(rows.c5)
    }

    /// Model D, v5.19, and E, v6.6 (DecisionTables.md, Model D — v5.19 and Model E — v6.6). An
    /// unshare fault on an exclusive page (UNSHARE_OK) is reported as reuse with the same row.
    private static func modelD(_ c: inout ModelContext) -> ModelOutcome {
        if c.bool(.anonExclusive) { return .reuse("D-1") }
        return modelC(&c, rows: .plain)
    }

    /// Model F, v6.18 (DecisionTables.md, Model F — v6.18). Whether the folio is large is reported
    /// as `mapcount`: the large path is decided by the folio's large mapcount.
    private static func modelF(_ c: inout ModelContext) -> ModelOutcome {
        if c.bool(.anonExclusive) { return .reuse("F1") }
        guard c.bool(.large, as: .mapcount) else { return modelC(&c, rows: .smallFolio) }
        let largeMapcount = c.int(.largeMapcount)
        if largeMapcount <= 1 { return .copy("F3") }
        if c.bool(.mmShared) { return .copy("F4") }
        var released = 0
        if c.bool(.swapcache) {
            if c.bool(.locked) { return .copy("F5") }
            // folio_free_swap(): fails under writeback and while any page of the folio still
            // has swap entries; on success the swap cache drops one reference per page.
            if !c.bool(.writeback), c.int(.folioSwapcount) == 0 { released = c.int(.folioPages) }
        }
        if largeMapcount != c.int(.refcount) - released { return .copy("F6") }
        return .reuse("F7")
    }
}
