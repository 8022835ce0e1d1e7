/// The inputs a model reads at one write fault. Every input is three-valued: `nil` means the
/// capture does not say (unknown), which is different from a known `false` or `0`.
///
/// Counts use the kernel's logical conventions, whatever the capture printed:
/// `refcount` is the folio (head) refcount, `mapcount` is `page_mapcount()` of the faulting
/// page (raw `_mapcount + 1`, plus the entire/PMD mapcount for a large folio).
public struct FaultInputs: Sendable, Equatable {
    /// The faulting pfn is the shared zero page (not anon: COW of the zero page).
    public var zero: Bool?
    /// PageAnon (KSM pages are anon too).
    public var anon: Bool?
    /// PageKsm.
    public var ksm: Bool?
    /// KSM only: the stable node is present (`page_stable_node() != NULL`).
    public var stableNode: Bool?
    /// page_count / folio_ref_count of the head.
    public var refcount: Int?
    /// page_mapcount() of the faulting page.
    public var mapcount: Int?
    /// PageSwapCache.
    public var swapcache: Bool?
    /// swap_map count of the page's swap entry (swap PTE references, cache bit excluded).
    public var swapcount: Int?
    /// Large folios in the swap cache: the swap-map counts summed over every page of the folio.
    /// Freeing the folio's swap cache fails while it is above 0, whatever this page's own count.
    public var folioSwapcount: Int?
    /// PG_locked at the decision: the trylock fails when it is held by someone else.
    public var locked: Bool?
    /// v5.8 lock-wait path only: the PTE changed while the fault slept in lock_page().
    public var pteChanged: Bool?
    /// PageWriteback.
    public var writeback: Bool?
    /// The swap device has SWP_STABLE_WRITES (v5.8 A4c/A4d).
    public var stableWrites: Bool?
    /// PageLRU (clear while the page sits in a per-CPU LRU batch that holds a reference).
    public var lru: Bool?
    /// v5.18+: `lru_add_drain()` on this CPU drops the batch reference of a page not on the LRU.
    /// Unknown unless the capture shows it; the models evaluate both outcomes.
    public var drainReleasesReference: Bool?
    /// PageAnonExclusive of the faulting (sub)page (v5.19+).
    public var anonExclusive: Bool?
    /// The folio is large (compound: THP or mTHP).
    public var large: Bool?
    /// Large folios: folio_large_mapcount (sum of all mappings of the folio).
    public var largeMapcount: Int?
    /// v5.8 THP arithmetic: the largest per-subpage mapcount (+ compound mapcount − DoubleMap),
    /// i.e. what page_trans_huge_mapcount() returns.
    public var maxSubpageMapcount: Int?
    /// v5.8 THP swap arithmetic: the largest over the subpages of mapcount + swapcount (compound
    /// mapcount and DoubleMap applied), i.e. what page_trans_huge_map_swapcount() returns.
    public var thpMapSwapcount: Int?
    /// Large folios: the number of pages (2^order). The swap cache holds one reference per page.
    public var folioPages: Int?
    /// Large folios, v6.18: the folio's "maybe mapped shared" MM-id bit.
    public var mmShared: Bool?
    /// A FAULT_FLAG_UNSHARE fault rather than a write fault (v5.19+). A write fault unless said.
    public var unshare: Bool?
    /// The fault swapped the page in and then called do_wp_page (`caller=do_swap_page`); the
    /// models describe the present-PTE write fault only. Unknown or false: the present-PTE path.
    public var swapIn: Bool?

    public init(
        zero: Bool? = nil, anon: Bool? = nil, ksm: Bool? = nil, stableNode: Bool? = nil,
        refcount: Int? = nil, mapcount: Int? = nil, swapcache: Bool? = nil, swapcount: Int? = nil,
        locked: Bool? = nil, pteChanged: Bool? = nil, writeback: Bool? = nil,
        stableWrites: Bool? = nil, lru: Bool? = nil, drainReleasesReference: Bool? = nil,
        anonExclusive: Bool? = nil, large: Bool? = nil, largeMapcount: Int? = nil,
        maxSubpageMapcount: Int? = nil, mmShared: Bool? = nil, unshare: Bool? = false
    ) {
        self.zero = zero; self.anon = anon; self.ksm = ksm; self.stableNode = stableNode
        self.refcount = refcount; self.mapcount = mapcount; self.swapcache = swapcache
        self.swapcount = swapcount; self.locked = locked; self.pteChanged = pteChanged
        self.writeback = writeback; self.stableWrites = stableWrites; self.lru = lru
        self.drainReleasesReference = drainReleasesReference
        self.anonExclusive = anonExclusive; self.large = large; self.largeMapcount = largeMapcount
        self.maxSubpageMapcount = maxSubpageMapcount; self.mmShared = mmShared
        self.unshare = unshare
    }
}

/// The words an undetermined verdict uses for what it misses (TraceCheckCore.md, Machine-readable
/// output, plus `pte_changed` and `stable_writes` for the two v5.8 inputs the contract's list
/// lacks).
public enum InputName: String, Sendable, CaseIterable, Comparable {
    case anon, ksm, stable_node, refcount, mapcount, swapcount, swapcache, locked, writeback
    case lru, anon_exclusive, subpage_mapcounts, mm_shared, state
    case pte_changed, stable_writes
    /// Large folios in the swap cache: whether any page of the folio still has swap entries.
    case folio_swapcount
    /// Large folios in the swap cache: the folio's size (the swap cache holds a reference per page).
    case folio_order

    public static func < (a: InputName, b: InputName) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What a model says the kernel does at this fault.
public enum Decision: String, Sendable, Equatable, CaseIterable {
    case reuse
    case copy
    /// Zero page, shared mapping, file page: not an anon reuse decision.
    case notAnon = "not-anon"
    /// v5.8 only (A2): the fault slept on the page lock and the PTE changed meanwhile;
    /// it returns without reusing or copying.
    case pteChanged = "pte-changed"
    case undetermined
    /// The model's rules do not cover the path the fault took (a swap-in write fault); `reason`
    /// says why.
    case notCompared = "not-compared"
}

/// A model's verdict on one fault: the decision, the decision-table row that produced it
/// (DecisionTables.md ids: A1…A4e, B1…B5, C1…C5, D-1, F1…F7), and for `undetermined` the inputs
/// that would settle it.
public struct Verdict: Sendable, Equatable {
    public var decision: Decision
    /// The row id; several ids joined with `|` when different rows agree on the decision
    /// under the possible values of an unknown input. `nil` when undetermined.
    public var rule: String?
    public var missing: [InputName]
    /// The user's `--assume` facts this verdict needed: without them it would be undetermined.
    public var assumed: [Assumption] = []
    /// `notCompared`: why the model was not applied.
    public var reason: String? = nil

    public init(decision: Decision, rule: String?, missing: [InputName] = []) {
        self.decision = decision; self.rule = rule; self.missing = missing
    }
}

/// Facts a user knows about the traced machine that a capture may not show (`--assume`).
/// A verdict that needed one lists it, so evidence and assumption stay apart.
public enum Assumption: String, CaseIterable, Sendable, Comparable {
    /// Every faulting page is an anonymous page (not the zero page, not a file page).
    case anon
    /// KSM was off: no page is a KSM page.
    case noKsm = "no-ksm"
    /// No swap device: no page is in the swap cache.
    case noSwap = "no-swap"
    /// No transparent huge pages: every folio is order 0.
    case noThp = "no-thp"

    public static func < (a: Assumption, b: Assumption) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Fills the inputs this fact settles, where the capture left them unknown; returns whether
    /// anything changed.
    func apply(to i: inout FaultInputs) -> Bool {
        switch self {
        case .anon:
            guard i.anon == nil || i.zero == nil else { return false }
            if i.anon == nil { i.anon = true }
            if i.zero == nil { i.zero = false }
        case .noKsm:
            guard i.ksm == nil else { return false }
            i.ksm = false
        case .noSwap:
            guard i.swapcache == nil || i.swapcount == nil else { return false }
            if i.swapcache == nil { i.swapcache = false }
            if i.swapcount == nil { i.swapcount = 0 }
        case .noThp:
            guard i.large == nil else { return false }
            i.large = false
            if i.maxSubpageMapcount == nil { i.maxSubpageMapcount = i.mapcount }
        }
        return true
    }
}
