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

/// How page_ref's `mapcount=` must be read (TraceFormats.md, page_ref events): `page_mapcount()` up
/// to v6.6, the raw `_mapcount` (one less, −1 = unmapped) in v6.18.
public enum MapcountConvention: Sendable, Equatable {
    case logical, raw, undecided
}

/// What settled the mapcount convention, for the report.
public enum MapcountConventionBasis: String, Sendable, Equatable {
    /// The kernel's version (`--kernel` or the metadata header).
    case kernelVersion = "the kernel version"
    /// An event printed exactly −1: an unmapped page's raw `_mapcount`. `page_mapcount()` never
    /// prints −1, and page types print far lower values.
    case unmappedRawValue = "a page_ref event printing mapcount=-1 (an unmapped page's raw _mapcount)"
    /// A freshly allocated page (`page_ref_set` to 1) printed 0: `page_mapcount()` of an
    /// unmapped page (its raw `_mapcount` would be −1).
    case allocationPrintedZero = "a page allocation (page_ref_set to 1) printing mapcount=0"
    case undecided = "nothing in the capture yet"
}

/// Rebuilds the state of every page from page_ref and ksm events, in trace order, and joins each
/// write fault with the state of its pfn.
public struct Replayer {
    public private(set) var pages = PageTable()
    /// Bumped by every lost-events marker: pages not cross-checked since are uncertain.
    public private(set) var lostEpoch: UInt32 = 0
    public private(set) var mapcountConvention: MapcountConvention
    public private(set) var mapcountConventionBasis: MapcountConventionBasis = .undecided
    /// Some `mapping=` value in this capture was provably a raw pointer, so all are.
    public private(set) var rawPointers = false
    /// The shared zero page's pfn, when the capture reveals it (ksm_merge_one_page).
    public private(set) var zeroPfn: UInt64?
    public private(set) var pageRefEvents = 0
    public private(set) var countGaps = 0
    /// Latest fork (event sequence number) of each parent task.
    private var lastFork: [Int32: UInt64] = [:]
    /// Some `sched_process_fork` event was read: a capture without any cannot show forks.
    public private(set) var sawForkEvents = false
    /// The last page_ref events with their times, for faults stamped among them.
    private var recent = RecentPageRefs()
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
        mapcountConvention = .undecided
        mapcountConventionBasis = .undecided
        guard let v = facts.version else { return }
        if v.major < 6 || (v.major == 6 && v.minor <= 6) {
            mapcountConvention = .logical
            mapcountConventionBasis = .kernelVersion
        } else if v.major > 6 || v.minor >= 18 {
            mapcountConvention = .raw
            mapcountConventionBasis = .kernelVersion
        }
        // 6.7…6.17: the switch happened in between; the capture has to show it.
    }

    /// The convention from a value only one of them can print (page types print large negative
    /// values under both, so a negative value other than −1 proves nothing).
    private mutating func learnConvention(_ e: PageRefEvent) {
        if e.printedMapcount == -1 {
            mapcountConvention = .raw
            mapcountConventionBasis = .unmappedRawValue
        } else if e.op == .set, e.val == 1, e.count == 1, e.printedMapcount == 0 {
            mapcountConvention = .logical
            mapcountConventionBasis = .allocationPrintedZero
        }
    }

    /// Before v6.8 an anonymous large folio is a PMD-sized THP (order 9 with 4 KiB pages), so
    /// the head of a tail pfn is the pfn rounded down to 512 pages (when that head is not
    /// provably a page-cache folio, whose order may be smaller). Later kernels have mTHP of
    /// any order: then only a printed order names the head.
    private var largeFoliosArePMDSized: Bool {
        guard let v = facts.version else { return false }
        return v.major < 6 || (v.major == 6 && v.minor < 8)
    }

    static let pmdOrder = 9

    /// Whether the end of writeback prints page_ref events (a get and a put around the flag
    /// clear: the real 5.10 captures show them, v5.8 has none; the release in between is not
    /// pinned, so 5.10 is the first trusted). Otherwise `writeback` from an event may outlive
    /// the writeback.
    private var writebackEndPrints: Bool {
        guard let v = facts.version else { return false }
        return v.major > 5 || (v.major == 5 && v.minor >= 10)
    }

    public var pageCount: Int { pages.count }

    public func state(of pfn: UInt64) -> PageState? { pages[pfn] }

    /// Applies a page_ref event. Returns false when its count does not add up (a gap).
    @discardableResult
    public mutating func apply(
        _ e: PageRefEvent, pid: Int32, seq: UInt64, time: Int64? = nil, resolution: Int64 = 0
    ) -> Bool {
        pageRefEvents += 1
        if mapcountConvention == .undecided { learnConvention(e) }
        if e.flags.contains(.owner2) { sawOwner2 = true }
        if let time { recent.record(pfn: e.pfn, pid: pid, time: time, resolution: resolution) }
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
        s.lastOp = e.op
        s.lastDelta = e.val
        let increment = (e.op == .mod || e.op == .modAndReturn || (e.op == .modUnless && e.ret == 1)) && e.val > 0
        s.lastIncrementPid = increment ? pid : -1
        // A page's identity lasts one life: from its allocation (`set`) to the put that frees it.
        let decrement = (e.op == .mod || e.op == .modAndTest || e.op == .modAndReturn) && e.val < 0
        let freed = decrement && e.count == 0
        if e.op == .set || freed {
            s.mapping = 0
            s.mappingProvablyRaw = false
            s.anon = nil
            s.ksm = nil
            s.stableNode = nil
        }
        if !freed, let m = e.mapping, m.value != 0 {
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
        sawForkEvents = true
    }

    public mutating func lostEvents() {
        lostEpoch &+= 1
    }

    /// Where the folio's refcount lives for a fault, as far as the capture shows.
    private enum FolioSite {
        /// No event ever named the page or its head.
        case untracked
        /// The page belongs to a large folio whose head the capture does not name or track:
        /// the folio's refcount is unknown.
        case headUnknown
        /// The state carrying the folio's refcount: the page itself, or its head (`tail`).
        case page(PageState, headPfn: UInt64, tail: Bool, pmdSized: Bool)
    }

    /// page_ref events carry the folio head's pfn; a fault names the page it wrote. A tail
    /// page's own events (`set_page_count(0)` when the compound page is prepared) say nothing
    /// about the folio, so a tail is joined with its head, never with itself.
    private func folioSite(_ wp: WpPageEvent) -> FolioSite {
        if wp.order != nil {
            let head = wp.headPfn
            if let s = pages[head] { return .page(s, headPfn: head, tail: head != wp.pfn, pmdSized: false) }
            return head == wp.pfn ? .untracked : .headUnknown
        }
        let own = pages[wp.pfn]
        if let own, !Self.isCompoundTail(own) {
            return .page(own, headPfn: wp.pfn, tail: false, pmdSized: false)
        }
        if largeFoliosArePMDSized {
            let head = wp.pfn & ~((UInt64(1) << Self.pmdOrder) - 1)
            // Only an anonymous head: page-cache folios come in other orders.
            if head != wp.pfn, let h = pages[head], h.hasRefEvent, h.refcount > 0, h.flags.contains(.head), h.anon != false {
                return .page(h, headPfn: head, tail: true, pmdSized: true)
            }
        }
        return own == nil ? .untracked : .headUnknown
    }

    /// The page's last event set its count to 0: compound-page preparation does that to every
    /// tail (the count lives on the head). Nothing else sets a live page's count to 0.
    private static func isCompoundTail(_ s: PageState) -> Bool {
        s.hasRefEvent && s.lastOp == .set && s.refcount == 0
    }

    /// Joins a write fault with the replayed state of its page. Fields present in the event
    /// itself always win. A replayed value is used only while it is provably current
    /// (TraceFormats.md, when a printed value is still current):
    /// * the refcount is current: every change prints, so the last event's count is the count,
    ///   unless another task's event on the page is stamped within the clock's resolution of
    ///   the fault (then which came first is unknown, and so is the state);
    /// * a refcount or mapcount of 0 at a fault is stale: a fault is only taken on a page that
    ///   is mapped and holds that mapping's reference;
    /// * `locked`: taking and dropping the page lock print nothing. Only a refcount of 1 settles
    ///   it: whoever holds the lock holds a reference, and the faulting mapping's is the only one;
    /// * `lru`: isolation takes its reference (printed) and clears PG_lru after, so a set bit
    ///   printed by another task's increment may already be gone; a clear bit is current
    ///   (whoever sets it drops a reference afterwards, which prints);
    /// * `swapcache`: entering the swap cache adds its references (printed, with the page
    ///   locked) before setting the flag, so a clear bit printed by another task's increment on
    ///   a locked page may be stale; leaving it clears the flag first;
    /// * `writeback`: the end of writeback prints a get and a put from 5.10 on (earlier releases
    ///   are not trusted to); before, a set bit may be stale. Writeback starts only on an unmapped page, which a printed lookup maps again.
    /// - Parameters:
    ///   - pid: the faulting task (its own earlier events are in order with the fault).
    ///   - time: the fault's timestamp (ns) and its clock's resolution, when it has one.
    public func join(_ wp: WpPageEvent, pid: Int32 = -1, time: (ns: Int64, resolution: Int64)? = nil) -> JoinedFault {
        var j = joinState(wp, pid: pid, time: time)
        withoutInputsTheKernelLacks(&j.inputs)
        withoutInputsTheKernelLacks(&j.lineInputs)
        return j
    }

    /// Inputs the capture's kernel does not have are unknown to the models that read them,
    /// whatever a line prints for them (a kit may print `anon_exclusive=0` on 5.10): the models
    /// of later kernels then explore both values, and only a true invariant (see
    /// `ModelContext.domain`) settles them. The other inputs exist on every kernel the models
    /// cover: the folio's mapcount (counted per page before `_large_mapcount`), the LRU batch
    /// (a pagevec before folios), the folio order.
    private func withoutInputsTheKernelLacks(_ i: inout FaultInputs) {
        if facts.hasAnonExclusive == false { i.anonExclusive = nil }
        if facts.hasMmSharedBit == false { i.mmShared = nil }
    }

    private func joinState(_ wp: WpPageEvent, pid: Int32, time: (ns: Int64, resolution: Int64)?) -> JoinedFault {
        var j = JoinedFault()
        var i = lineInputs(wp)
        let replayMode = wp.refcount == nil
        let s: PageState, headPfn: UInt64, tail: Bool
        switch folioSite(wp) {
        case .untracked:
            j.inputs = i
            j.lineInputs = i
            return j
        case .headUnknown:
            // A compound tail whose head is not known: the folio's refcount is unknown.
            if i.large == nil { i.large = true }
            j.inputs = i
            j.lineInputs = i
            return j
        case .page(let state, let head, let isTail, let pmdSized):
            s = state; headPfn = head; tail = isTail
            j.headPfn = head
            if isTail {
                if i.large == nil { i.large = true }
                if pmdSized, i.folioPages == nil { i.folioPages = 1 << Self.pmdOrder }
            }
        }
        j.replayed = true
        let lineInputs = i
        j.lineInputs = i
        let certain = !s.countGap && s.verifiedEpoch == lostEpoch
        if replayMode {
            // Replay mode: the decision inputs come from page_ref/ksm events.
            guard certain else {
                return gap(&j, i, s.countGap
                    ? "the page's refcount events do not add up (lost or concurrent events)"
                    : "events were lost since the page's last consistent refcount event")
            }
            if let time, let t = recent.concurrent(with: wp.pfn, headPfn, pid: pid, time: time.ns, resolution: time.resolution) {
                return gap(&j, i, "another task's page_ref event on this page at \(Self.seconds(t)) is within the clock's resolution of the fault: it may or may not have happened before the kernel read the page")
            }
            if s.hasRefEvent, s.refcount <= 0 {
                return gap(&j, i, s.lastOp == .freeze
                    ? "the page's refcount was frozen at its last event (a split, migration or KSM reuse in progress)"
                    : "the replayed refcount is 0, but a fault is only taken on a mapped page that holds a reference")
            }
        } else if certain, s.hasRefEvent, let rc = wp.refcount, rc != Int(s.refcount) {
            j.stateGap = true
            j.gapReason = "the fault's snapshot says refcount \(rc), the replayed page_ref events say \(s.refcount)"
        }
        if !certain { j.inputs = i; return j }

        if s.hasRefEvent {
            if i.refcount == nil, s.refcount > 0 { i.refcount = Int(s.refcount) }
            let forkStale = printedByForkIncrement(s) || (!sawForkEvents && incrementedByAnotherTask(s, pid: pid))
            // Mapcounts are per page: the head's events say nothing about a tail page's. A
            // printed 0 (or less) is stale: the faulting PTE maps the page. A speculative get
            // (a swap-cache lookup, GUP-fast) prints before the rmap add that may follow it, so
            // its mapcount is only a lower bound.
            let speculativeGet = s.lastOp == .modUnless && s.lastIncrementPid >= 0
            if i.mapcount == nil, !tail, !forkStale, !speculativeGet, let m = replayedMapcount(s), m >= 1 { i.mapcount = m }
            let f = s.flags
            // The faulting task's own increment is not an isolation or a swap-cache insertion
            // still in progress: those end (printing) before the task returns to user space.
            let printedByIncrement = s.lastIncrementPid >= 0 && (pid < 0 || s.lastIncrementPid != pid)
            if i.swapcache == nil {
                i.swapcache = f.swapcache ? true : (printedByIncrement && f.contains(.locked) ? nil : false)
            }
            if i.locked == nil, i.refcount == 1 { i.locked = false }
            if i.writeback == nil { i.writeback = f.contains(.writeback) ? (writebackEndPrints ? true : nil) : false }
            if i.lru == nil { i.lru = f.contains(.lru) ? (printedByIncrement ? nil : true) : false }
            if i.large == nil { i.large = f.contains(.head) }
            if i.anonExclusive == nil, !tail { i.anonExclusive = anonExclusive(f, forkStale: forkStale) }
            if i.anon == nil || i.ksm == nil, s.mapping != 0, s.mappingProvablyRaw || rawPointers {
                let bits = s.mapping & 3
                if i.anon == nil { i.anon = bits & 1 == 1 }
                if i.ksm == nil { i.ksm = bits == 3 }
            }
            // PG_reserved marks the zero page and other kernel pages, never an anonymous one.
            if f.contains(.reserved), i.anon == nil { i.anon = false }
        }
        if i.anon == nil { i.anon = s.anon }
        if i.ksm == nil { i.ksm = s.ksm }
        if i.ksm == true, i.stableNode == nil { i.stableNode = s.stableNode }
        if i.large == false, i.maxSubpageMapcount == nil { i.maxSubpageMapcount = i.mapcount }
        if i.large == true {
            if i.largeMapcount == nil { i.largeMapcount = wp.folioMapcount }
            if i.folioPages == nil { i.folioPages = wp.folioPages }
        }
        if i.anon == true, i.zero == nil { i.zero = false }
        if replayMode, let contradiction = Self.contradiction(i) { return gap(&j, lineInputs, contradiction) }
        j.inputs = i
        return j
    }

    /// The inputs the fault's own line gives (and what the capture showed about the zero page
    /// and the pointer mode), before any replayed state is joined.
    private func lineInputs(_ wp: WpPageEvent) -> FaultInputs {
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
        return i
    }

    /// A replayed state no kernel can be in at a fault: the events are not the whole story.
    private static func contradiction(_ i: FaultInputs) -> String? {
        if i.ksm == true, i.anonExclusive == true {
            return "the replayed page is KSM and anon-exclusive at once"
        }
        if let r = i.refcount, let m = i.mapcount, r < m {
            return "the replayed refcount \(r) is below the mapcount \(m) (every mapping holds a reference)"
        }
        return nil
    }

    private func gap(_ j: inout JoinedFault, _ i: FaultInputs, _ reason: String) -> JoinedFault {
        j.stateGap = true
        j.gapReason = reason
        j.inputs = i
        return j
    }

    private static func seconds(_ ns: Int64) -> String {
        let frac = String(ns % 1_000_000_000)
        return "\(ns / 1_000_000_000)." + String(repeating: "0", count: 9 - frac.count) + frac
    }

    /// Without fork events, a fork's increment cannot be recognised: an increment by another
    /// task than the faulting one may be one, printed before the fork added its mapping. A fork
    /// takes one plain reference per page it maps (`page_ref_mod`, one per subpage of a large
    /// folio), never a lockless one and never a pin's bias.
    private func incrementedByAnotherTask(_ s: PageState, pid: Int32) -> Bool {
        guard s.lastIncrementPid >= 0, pid < 0 || s.lastIncrementPid != pid else { return false }
        return s.lastOp == .mod && s.lastDelta <= 1 << Self.pmdOrder
    }

    /// The last page_ref event raised the refcount during a fork, before the fork added the new
    /// mapping and (v5.19+) cleared PageAnonExclusive (TraceFormats.md, When a printed value is
    /// still current): its mapcount is only a lower bound and its anon-exclusive flag is stale.
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
    /// The pfn whose replayed state carries the folio's refcount (the head of a large folio).
    public var headPfn: UInt64 = 0
    /// Some replayed state exists for the page.
    public var replayed = false
    public var stateGap = false
    public var gapReason: String?
    /// What the fault's own line says, with the folio facts the join adds (a tail is large):
    /// the inputs left when the replayed state turns out unknown after the line.
    public var lineInputs = FaultInputs()
}
