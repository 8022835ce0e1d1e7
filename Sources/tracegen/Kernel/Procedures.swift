/// The `do_wp_page()` anon branch of each kernel, step by step (DecisionTables.md, Model A — v5.8,
/// Model B — v5.9, Model F — v6.18), written against `WPOps` so the same code runs two ways:
/// * dry, on a copy of the fault's state (`DryOps`): the decision for the ground truth, under
///   every model and every value of an input the trace cannot show;
/// * live, against the simulated kernel (`LiveOps`): the chosen kernel's real steps, with their
///   side effects and the page_ref events they print.
///
/// This is the generator's own account of the kernel, independent of tracecheck's models.

/// Everything the procedures read about the faulting page, its folio and the fault.
struct WPWorld {
    var zero = false
    var anon = true
    var ksm = false
    var stableNode = false
    /// Folio (head) refcount.
    var refcount = 1
    /// page_mapcount() of the faulting page (PTE mappings + PMD mappings of its folio).
    var mapcount = 1
    /// v5.8 THP arithmetic: the largest page_mapcount() over the folio's pages.
    var maxSubpageMapcount = 1
    /// Every mapping of the folio (for a small page, its mapcount).
    var largeMapcount = 1
    var large = false
    var swapcache = false
    var swapcount = 0
    var writeback = false
    var stableWrites = false
    var lru = true
    var anonExclusive = false
    var mmShared = false
    /// Another task holds the page lock; what it does before it lets go.
    var lockedByOther = false
    var pteChangesOnWait = false
    var holderPutsReference = false
    /// The page sits in the faulting CPU's LRU batch (so lru_add_drain() releases that reference).
    var inLocalBatch = false
    var lockedBySelf = false
}

protocol WPOps {
    var w: WPWorld { get }
    mutating func getPage()
    mutating func putPage()
    mutating func trylock() -> Bool
    /// lock_page() after a failed trylock: sleeps until the holder is done. False when the PTE
    /// changed meanwhile (the pte_same() recheck fails).
    mutating func lockWait() -> Bool
    mutating func unlock()
    mutating func freeze(_ n: Int) -> Bool
    mutating func unfreeze(_ n: Int)
    /// page_move_anon_rmap / folio_move_anon_rmap (a KSM page stops being KSM).
    mutating func moveAnonRmap()
    mutating func deleteFromSwapCache()
    mutating func drainLocal()
    mutating func setAnonExclusive()
    /// The last point where the decision's inputs were read (a racing raise after it goes unseen).
    mutating func checkpoint()
}

enum Procedures {
    static func run<O: WPOps>(_ model: GenModel, _ o: inout O) -> (GDecision, String) {
        if o.w.zero { return (.notAnon, "N0") }
        if !o.w.anon { return (.notAnon, "N1") }
        switch model {
        case .v5_8: return v5_8(&o)
        case .v5_9: return v5_9(&o)
        case .v6_18: return v6_18(&o)
        }
    }

    /// v5.8: KSM filter, page lock (waiting if needed), reuse_ksm_page or reuse_swap_page.
    static func v5_8<O: WPOps>(_ o: inout O) -> (GDecision, String) {
        if o.w.ksm, o.w.swapcache || o.w.refcount != 1 { return (.copy, "A1") }
        if !o.trylock() {
            // Hold a reference while sleeping in lock_page(); drop it once the lock is ours.
            o.getPage()
            if !o.lockWait() {
                o.unlock()
                o.putPage()
                return (.pteChanged, "A2")
            }
            o.putPage()
        }
        if o.w.ksm {
            // reuse_ksm_page: the freeze keeps a lockless get_ksm_page() out while the mapping moves.
            var reused = false
            if !o.w.swapcache, o.w.stableNode, o.freeze(1) {
                o.moveAnonRmap()
                o.unfreeze(1)
                reused = true
                o.checkpoint()
            }
            o.unlock()
            return reused ? (.reuse, "A3a") : (.copy, "A3b")
        }
        // reuse_swap_page: mapcounts and swap references decide; the refcount is not read.
        let w = o.w
        let swapRefs = w.swapcache ? w.swapcount : 0
        let count = (w.large ? w.maxSubpageMapcount : w.mapcount) + swapRefs
        var rule = "A4a"
        if count == 1, w.swapcache {
            if !w.writeback {
                o.deleteFromSwapCache()
                rule = "A4b"
            } else if w.stableWrites {
                o.unlock()
                return (.copy, "A4c")
            } else {
                rule = "A4d"
            }
        }
        guard count <= 1 else {
            o.unlock()
            return (.copy, "A4e")
        }
        o.checkpoint()
        if (w.large ? w.largeMapcount : w.mapcount) + swapRefs == 1 { o.moveAnonRmap() }
        o.unlock()
        return (.reuse, rule)
    }

    /// v5.9: refcount == 1 and a free page lock, rechecked under the lock.
    static func v5_9<O: WPOps>(_ o: inout O) -> (GDecision, String) {
        if o.w.ksm { return (.copy, "B1") }
        if o.w.refcount != 1 { return (.copy, "B2") }
        if !o.trylock() { return (.copy, "B3") }
        if o.w.ksm || o.w.mapcount != 1 || o.w.refcount != 1 {
            o.unlock()
            return (.copy, "B4")
        }
        o.checkpoint()
        o.unlock()
        return (.reuse, "B5")
    }

    /// v6.18: PageAnonExclusive, else wp_can_reuse_anon_folio (small or large folio).
    static func v6_18<O: WPOps>(_ o: inout O) -> (GDecision, String) {
        if o.w.anonExclusive {
            o.checkpoint()
            return (.reuse, "F1")
        }
        if o.w.large {
            if o.w.largeMapcount <= 1 { return (.copy, "F3") }
            if o.w.mmShared { return (.copy, "F4") }
            if o.w.swapcache {
                if !o.trylock() { return (.copy, "F5") }
                if !o.w.writeback, o.w.swapcount == 0 { o.deleteFromSwapCache() }
                o.unlock()
            }
            if o.w.largeMapcount != o.w.refcount { return (.copy, "F6") }
            o.checkpoint()
            o.setAnonExclusive()
            return (.reuse, "F7")
        }
        if o.w.ksm || o.w.refcount > 3 { return (.copy, "F2/C1") }
        if !o.w.lru { o.drainLocal() }
        if o.w.refcount > 1 + (o.w.swapcache ? 1 : 0) { return (.copy, "F2/C2") }
        if !o.trylock() { return (.copy, "F2/C3") }
        // folio_free_swap: fails under writeback or while swap PTEs still use the entry.
        if o.w.swapcache, !o.w.writeback, o.w.swapcount == 0 { o.deleteFromSwapCache() }
        if o.w.ksm || o.w.refcount != 1 {
            o.unlock()
            return (.copy, "F2/C4")
        }
        o.checkpoint()
        o.moveAnonRmap()
        o.unlock()
        o.setAnonExclusive()
        return (.reuse, "F2/C5")
    }
}

/// Runs a procedure on a copy of the state. Counts the events the live run would print before
/// the checkpoint (a race is only injected where the faulting task prints nothing in between).
struct DryOps: WPOps {
    var w: WPWorld
    var eventsBeforeCheckpoint = 0
    var reachedCheckpoint = false

    init(_ w: WPWorld) { self.w = w }

    private mutating func event() { if !reachedCheckpoint { eventsBeforeCheckpoint += 1 } }

    mutating func getPage() { w.refcount += 1; event() }
    mutating func putPage() { w.refcount -= 1; event() }
    mutating func trylock() -> Bool {
        if w.lockedByOther { return false }
        w.lockedBySelf = true
        return true
    }
    mutating func lockWait() -> Bool {
        w.lockedByOther = false
        w.lockedBySelf = true
        if w.pteChangesOnWait { return false }
        if w.holderPutsReference {
            w.refcount -= 1
            w.lru = true
        }
        return true
    }
    mutating func unlock() { w.lockedBySelf = false }
    mutating func freeze(_ n: Int) -> Bool {
        event()
        guard w.refcount == n else { return false }
        w.refcount = 0
        return true
    }
    mutating func unfreeze(_ n: Int) { w.refcount = n; event() }
    mutating func moveAnonRmap() { w.ksm = false }
    mutating func deleteFromSwapCache() { w.swapcache = false; w.refcount -= 1; event() }
    mutating func drainLocal() {
        if w.inLocalBatch {
            w.refcount -= 1
            w.lru = true
            w.inLocalBatch = false
            event()
        }
    }
    mutating func setAnonExclusive() { w.anonExclusive = true }
    mutating func checkpoint() { reachedCheckpoint = true }
}

/// An input the trace cannot show at this fault, with the values a reader must allow for.
struct HiddenInput {
    /// tracecheck's word for it (`lru` for the drain outcome, as its InputName does).
    var name: String
    var values: [(inout WPWorld) -> Void]
}

enum Expectation {
    /// tracecheck's InputName order, for `missing`.
    static let inputOrder = ["anon", "ksm", "stable_node", "refcount", "mapcount", "swapcount", "swapcache",
                             "locked", "writeback", "lru", "anon_exclusive", "subpage_mapcounts", "mm_shared",
                             "state", "pte_changed", "stable_writes", "folio_swapcount", "folio_order"]

    /// The model's verdict over every combination of the hidden inputs: determined when they all
    /// decide alike; otherwise undetermined, missing each input whose value alone flips it.
    static func verdict(_ model: GenModel, _ world: WPWorld, hidden: [HiddenInput]) -> GVerdict {
        var decisions: [GDecision] = []
        var rules: [String] = []
        var combos: [[Int]] = [[]]
        for h in hidden { combos = combos.flatMap { c in h.values.indices.map { c + [$0] } } }
        for c in combos {
            var w = world
            for (k, i) in c.enumerated() { hidden[k].values[i](&w) }
            var o = DryOps(w)
            let (d, r) = Procedures.run(model, &o)
            decisions.append(d)
            if !rules.contains(r) { rules.append(r) }
        }
        if decisions.allSatisfy({ $0 == decisions[0] }) { return .determined(decisions[0], rules) }
        var missing: [String] = []
        for k in hidden.indices {
            var flips = false
            for (a, ca) in combos.enumerated() where !flips {
                for (b, cb) in combos.enumerated() where b > a && decisions[a] != decisions[b] {
                    if (0..<ca.count).allSatisfy({ $0 == k || ca[$0] == cb[$0] }) { flips = true; break }
                }
            }
            if flips, !missing.contains(hidden[k].name) { missing.append(hidden[k].name) }
        }
        missing.sort { (inputOrder.firstIndex(of: $0) ?? 99) < (inputOrder.firstIndex(of: $1) ?? 99) }
        return .undetermined(missing)
    }
}
