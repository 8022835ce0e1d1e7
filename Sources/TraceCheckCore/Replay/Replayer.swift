/// What the capture says about the kernel it came from (from `--kernel` or the metadata header).
public struct KernelFacts: Sendable, Equatable {
    public var release: String? {
        didSet { version = release.flatMap(KernelFacts.parseVersion) }
    }
    /// `parseVersion(release)`, kept: the replay asks for it at every fault.
    public private(set) var version: (major: Int, minor: Int)?

    public init(release: String? = nil) {
        self.release = release
        self.version = release.flatMap(KernelFacts.parseVersion)
    }

    public static func == (a: KernelFacts, b: KernelFacts) -> Bool { a.release == b.release }

    /// Whether the kernel has PG_anon_exclusive (v5.19+); nil when the kernel is unknown.
    /// Before v5.19 the bit is PG_mappedtodisk, and a printed `anon_exclusive=0` means nothing.
    public var hasAnonExclusive: Bool? { version.map { $0 >= (5, 19) } }

    /// Whether large folios carry the "maybe mapped shared" MM-id bit (CONFIG_MM_ID, v6.15+,
    /// the same release as PTE-mapped THP reuse); nil when the kernel is unknown.
    public var hasMmSharedBit: Bool? { version.map { $0 >= (6, 15) } }

    /// "6.18.44-fc-v669" → (6, 18). Nil when the string does not start with `N.N`.
    public static func parseVersion(_ s: String) -> (major: Int, minor: Int)? {
        KernelModel.parseMajorMinor(s)
    }
}

/// How page_ref's `mapcount=` must be read (TRACE-FORMATS.md §3): `page_mapcount()` up to v6.6,
/// the raw `_mapcount` (one less, −1 = unmapped) in v6.18.
public enum MapcountConvention: Sendable, Equatable {
    case logical, raw, undecided
}

/// Rebuilds the state of every page from page_ref and ksm events, in trace order, and joins each
/// write fault with the state of its pfn.
public struct Replayer {
    public private(set) var pages = PageTable()
    /// Bumped by every lost-events marker: pages not cross-checked since are uncertain.
    public private(set) var lostEpoch: UInt32 = 0
    public private(set) var mapcountConvention: MapcountConvention
    /// Some `mapping=` value in this capture was provably a raw pointer, so all are.
    public private(set) var rawPointers = false
    /// The shared zero page's pfn, when the capture reveals it (ksm_merge_one_page).
    public private(set) var zeroPfn: UInt64?
    public private(set) var pageRefEvents = 0
    public private(set) var countGaps = 0
    /// Latest fork (event sequence number) of each parent task.
    private var lastFork: [Int32: UInt64] = [:]
    private var sawOwner2 = false
    private var facts: KernelFacts

    public init(facts: KernelFacts = KernelFacts()) {
        self.facts = facts
        self.mapcountConvention = .undecided
        applyVersion()
    }

    /// A metadata header named the kernel after the replay started.
    public mutating func updateFacts(_ f: KernelFacts) {
        facts = f
        if mapcountConvention == .undecided { applyVersion() }
    }

    private mutating func applyVersion() {
        if let v = facts.version {
            if v.major < 6 || (v.major == 6 && v.minor <= 6) {
                mapcountConvention = .logical
            } else if v.major > 6 || v.minor >= 18 {
                mapcountConvention = .raw
            } else {
                mapcountConvention = .undecided // the switch happened between 6.7 and 6.18
            }
        } else {
            mapcountConvention = .undecided
        }
    }

    public var pageCount: Int { pages.count }

    public func state(of pfn: UInt64) -> PageState? { pages[pfn] }

    /// Applies a page_ref event. Returns false when its count does not add up (a gap).
    @discardableResult
    public mutating func apply(_ e: PageRefEvent, pid: Int32, seq: UInt64) -> Bool {
        pageRefEvents += 1
        if e.printedMapcount < 0, mapcountConvention == .undecided { mapcountConvention = .raw }
        if e.flags.contains(.owner2) { sawOwner2 = true }
        // One probe for the read and the write back (a new page starts as `PageState()`).
        let slot = pages.slot(for: e.pfn)
        var s = pages[slot: slot]
        let expected: Int32?
        switch e.op {
        case .set, .unfreeze:
            expected = e.val
        case .mod, .modAndTest, .modAndReturn:
            expected = s.hasRefEvent ? s.refcount &+ e.val : nil
        case .modUnless:
            expected = s.hasRefEvent ? (e.ret == 1 ? s.refcount &+ e.val : s.refcount) : nil
        case .freeze:
            expected = e.ret == 1 ? 0 : (s.hasRefEvent ? s.refcount : nil)
        }
        var consistent = true
        if let expected {
            if expected == e.count {
                // An absolute op, or a delta that adds up to the printed count, re-syncs the page
                // even after a loss.
                s.countGap = false
                s.verifiedEpoch = lostEpoch
            } else {
                s.countGap = true
                consistent = false
                countGaps += 1
            }
        } else if !s.hasRefEvent && lostEpoch == 0 {
            s.verifiedEpoch = 0 // first sighting, nothing lost so far: trusted
        }
        s.refcount = e.count
        s.printedMapcount = e.printedMapcount
        s.flags = e.flags
        s.hasRefEvent = true
        s.lastRefSeq = seq
        let increment = (e.op == .mod || e.op == .modAndReturn || (e.op == .modUnless && e.ret == 1)) && e.val > 0
        s.lastIncrementPid = increment ? pid : -1
        if let m = e.mapping, m.value != 0 {
            if m.provablyRaw { rawPointers = true }
            s.mapping = m.value
            s.mappingProvablyRaw = m.provablyRaw
            if m.provablyRaw || rawPointers { decodeMapping(&s) }
        }
        pages[slot: slot] = s
        return consistent
    }

    private func decodeMapping(_ s: inout PageState) {
        let bits = s.mapping & 3
        s.anon = bits & 1 == 1
        s.ksm = bits == 3
        s.stableNode = bits == 3 ? (s.mapping & ~3) != 0 : nil
    }

    public mutating func apply(_ e: KsmEvent) {
        guard let pfn = e.pfn else { return }
        switch e.kind {
        case .mergeOnePage where e.error == 0:
            zeroPfn = pfn // with use_zero_pages the merge target is the zero page
        case .mergeWithKsmPage where e.error == 0:
            var s = pages[pfn] ?? PageState()
            s.ksm = true
            s.anon = true
            // With the `ksm ` prefix the page was already in the stable tree; without it the page
            // has just become KSM and its stable node may not be inserted yet.
            s.stableNode = e.ksmPrefix ? true : nil
            pages[pfn] = s
        case .removeKsmPage:
            if var s = pages[pfn] {
                s.stableNode = false
                pages[pfn] = s
            } else {
                var s = PageState(); s.stableNode = false; pages[pfn] = s
            }
        default:
            break
        }
    }

    public mutating func apply(_ e: ForkEvent, seq: UInt64) {
        lastFork[e.parentPid] = seq
    }

    public mutating func lostEvents() {
        lostEpoch &+= 1
    }

    /// Joins a write fault with the replayed state of its page (TRACE-FORMATS.md §3.1 pitfalls
    /// applied). Fields present in the event itself always win.
    public func join(_ wp: WpPageEvent) -> JoinedFault {
        var j = joinState(wp)
        withoutInputsTheKernelLacks(&j.inputs)
        return j
    }

    /// Inputs the capture's kernel does not have are unknown to the models that read them,
    /// whatever a line prints for them (a kit may print `anon_exclusive=0` on 5.10): the models
    /// of later kernels then explore both values, and only a true invariant (see
    /// `ModelContext.domain`) settles them.
    private func withoutInputsTheKernelLacks(_ i: inout FaultInputs) {
        if facts.hasAnonExclusive == false { i.anonExclusive = nil }
        if facts.hasMmSharedBit == false { i.mmShared = nil }
    }

    private func joinState(_ wp: WpPageEvent) -> JoinedFault {
        var j = JoinedFault()
        var i = FaultInputs()
        i.zero = wp.zero ?? (zeroPfn.map { $0 == wp.pfn } ?? nil)
        i.anon = wp.anon
        i.ksm = wp.ksm
        i.refcount = wp.refcount
        i.mapcount = wp.mapcount
        i.swapcache = wp.swapcache ?? wp.pgflags.map { $0.swapcache }
        i.swapcount = wp.swapcount
        i.locked = wp.locked ?? wp.pgflags.map { $0.contains(.locked) }
        i.writeback = wp.writeback ?? wp.pgflags.map { $0.contains(.writeback) }
        i.lru = wp.lru ?? wp.pgflags.map { $0.contains(.lru) }
        i.anonExclusive = wp.anonExclusive
        i.large = wp.large ?? wp.order.map { $0 > 0 }
        i.mmShared = wp.mmShared
        i.swapIn = wp.caller.map { _ in wp.isSwapInFault }
        if i.large == false {
            i.largeMapcount = nil
            i.maxSubpageMapcount = i.mapcount
        } else if i.large == true {
            i.largeMapcount = wp.folioMapcount
            i.folioPages = wp.folioPages
            i.maxSubpageMapcount = wp.subpageMapcountMax
            i.thpMapSwapcount = wp.thpMapSwapcount
            i.folioSwapcount = wp.folioSwapcount
        }
        if let m = wp.mapping, m.value != 0, m.provablyRaw || rawPointers {
            let bits = m.value & 3
            if i.anon == nil { i.anon = bits & 1 == 1 }
            if i.ksm == nil { i.ksm = bits == 3 }
            if bits == 3 { i.stableNode = (m.value & ~3) != 0 }
        }
        if i.zero == true { i.anon = i.anon ?? false }
        if i.anon == true { i.zero = i.zero ?? false }

        // The refcount lives on the folio head: a tail pfn's events are on the head.
        let headPfn = wp.headPfn
        guard let s = pages[headPfn] ?? pages[wp.pfn] else {
            j.inputs = i
            return j
        }
        j.replayed = true
        let certain = !s.countGap && s.verifiedEpoch == lostEpoch
        if wp.refcount == nil {
            // Replay mode: the decision inputs come from page_ref/ksm events.
            guard certain else {
                j.stateGap = true
                j.gapReason = s.countGap
                    ? "the page's refcount events do not add up (lost or concurrent events)"
                    : "events were lost since the page's last consistent refcount event"
                j.inputs = i
                return j
            }
        } else if certain, s.hasRefEvent, let rc = wp.refcount, rc != Int(s.refcount) {
            j.stateGap = true
            j.gapReason = "the fault's snapshot says refcount \(rc), the replayed page_ref events say \(s.refcount)"
        }
        if !certain { j.inputs = i; return j }

        if s.hasRefEvent {
            if i.refcount == nil { i.refcount = Int(s.refcount) }
            let forkStale = printedByForkIncrement(s)
            // Mapcounts are per page: the head's events say nothing about a tail page's.
            // The faulting PTE maps the page: a printed mapcount below 1 came from an increment
            // made before the mapping (swap-in, KSM's replace_page) and is stale.
            if i.mapcount == nil, headPfn == wp.pfn, !forkStale, let m = replayedMapcount(s), m >= 1 { i.mapcount = m }
            let f = s.flags
            if i.swapcache == nil { i.swapcache = f.swapcache }
            if i.locked == nil { i.locked = f.contains(.locked) }
            if i.writeback == nil { i.writeback = f.contains(.writeback) }
            if i.lru == nil { i.lru = f.contains(.lru) }
            if i.large == nil { i.large = f.contains(.head) }
            if i.anonExclusive == nil, headPfn == wp.pfn { i.anonExclusive = anonExclusive(f, forkStale: forkStale) }
            if i.anon == nil || i.ksm == nil, s.mapping != 0, s.mappingProvablyRaw || rawPointers {
                let bits = s.mapping & 3
                if i.anon == nil { i.anon = bits & 1 == 1 }
                if i.ksm == nil { i.ksm = bits == 3 }
            }
        }
        if i.anon == nil { i.anon = s.anon }
        if i.ksm == nil { i.ksm = s.ksm }
        if i.ksm == true, i.stableNode == nil { i.stableNode = s.stableNode }
        if i.large == false, i.maxSubpageMapcount == nil { i.maxSubpageMapcount = i.mapcount }
        if i.anon == true, i.zero == nil { i.zero = false }
        j.inputs = i
        return j
    }

    /// The last page_ref event raised the refcount during a fork, before the fork added the new
    /// mapping and (v5.19+) cleared PageAnonExclusive (TRACE-FORMATS.md §3.1): its mapcount is
    /// only a lower bound and its anon-exclusive flag is stale.
    private func printedByForkIncrement(_ s: PageState) -> Bool {
        guard s.lastIncrementPid >= 0, let fork = lastFork[s.lastIncrementPid] else { return false }
        return fork > s.lastRefSeq
    }

    /// The logical mapcount from the last page_ref event, or nil when the convention is unknown.
    private func replayedMapcount(_ s: PageState) -> Int? {
        switch mapcountConvention {
        case .logical: return Int(s.printedMapcount)
        case .raw: return Int(s.printedMapcount) + 1
        case .undecided: return nil
        }
    }

    /// PageAnonExclusive from the flags name that carries it in this kernel, when the last
    /// page_ref event shows it set. A clear bit proves nothing: a reuse sets the bit without
    /// touching the refcount, so no event prints it. Unknown too when the flags were printed by
    /// a fork's increment (the fork clears the bit after printing).
    private func anonExclusive(_ f: PageFlags, forkStale: Bool) -> Bool? {
        let set: Bool?
        if let v = facts.version {
            if v < (5, 19) { return nil } // no such flag before v5.19: mappedtodisk is not it
            if v.major > 6 || (v.major == 6 && v.minor >= 18) {
                set = f.contains(.owner2)
            } else {
                set = sawOwner2 ? f.contains(.owner2) : f.contains(.mappedToDisk)
            }
        } else {
            set = sawOwner2 ? f.contains(.owner2) : nil
        }
        if forkStale { return nil }
        return set == true ? true : nil
    }
}

/// A write fault's inputs after the join, and whether the page's replayed state was uncertain.
public struct JoinedFault: Sendable {
    public var inputs = FaultInputs()
    /// Some replayed state exists for the page.
    public var replayed = false
    public var stateGap = false
    public var gapReason: String?
}
