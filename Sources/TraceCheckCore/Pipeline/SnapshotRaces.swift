/// What showed that a fault's entry snapshot may not be the state its kernel decided on.
///
/// A capture reads the page when the fault enters; the kernel decides later (after a lock wait,
/// after another task's fault on the same page, after the other sharer unmapped). Such a fault's
/// disagreement with a model is not evidence against the kernel.
public enum SnapshotRaceEvidence: String, Sendable, Equatable {
    /// The line's own re-read of the page (`old_*_after`) shows a change the fault itself does
    /// not make: a mapping or reference gone before a reuse, or one added around a copy.
    case rereadChanged = "reread-changed"
    /// Another task's write fault on the same page ran at the same time (entry time plus
    /// `dt_ns` of both lines, or one inside the other's span).
    case overlappingFault = "overlapping-fault"
    /// A line without `dt_ns`: another task's fault on the page came before this task's next
    /// event, so the two may have overlapped.
    case overlapNotExcluded = "overlap-not-excluded"
    /// Another task changed the page's refcount while the fault was in flight, in the direction
    /// that explains the kernel's decision (a reference dropped before a reuse, taken before a
    /// copy).
    case otherTaskChangedPage = "other-task-changed-page"

    /// The words the text report uses.
    public var explanation: String {
        switch self {
        case .rereadChanged: "the page re-read when the outcome was read changed in a way this fault does not explain"
        case .overlappingFault: "another task's write fault on the same page overlapped in time"
        case .overlapNotExcluded: "no dt_ns: another task's fault on the page came before this task's next event, so an overlap cannot be excluded"
        case .otherTaskChangedPage: "another task changed the page's refcount while the fault was in flight"
        }
    }

    /// Whether the line's re-read of the old page (`old_*_after`) shows a change that the fault's
    /// own outcome does not make. A reuse keeps its mapping and may only drop the swap cache's
    /// references and an LRU batch's; a copy drops exactly its own mapping and reference.
    static func reread(_ wp: WpPageEvent, _ i: FaultInputs) -> Bool {
        switch wp.decision {
        case .reuse:
            if let after = wp.oldMapcountAfter, let before = i.mapcount, after < before { return true }
            if let after = wp.oldRefcountAfter, let before = i.refcount, let swapcache = i.swapcache {
                let swapReferences = swapcache ? (i.large == true ? (i.folioPages ?? Int.max / 4) : 1) : 0
                if after < before - swapReferences - 1 { return true }
            }
            return false
        case .copy:
            if let after = wp.oldMapcountAfter, let before = i.mapcount, after > before - 1 { return true }
            if let after = wp.oldRefcountAfter, let before = i.refcount, after > before - 1 { return true }
            return false
        case .other:
            return false
        }
    }
}

/// Finds write faults on the same page by different tasks that overlap in time, for the faults
/// whose verdicts need it (`fault(…, wantsEvidence: true)`).
///
/// A fault's span is `[ts, ts + dt_ns]` when its line has both. Without them, a fault that
/// waits for evidence is open until its task's next event other than its own refcount
/// operations on the page; another task's fault on the page inside that window may overlap it.
/// Bounded: the last `keep` faults are remembered, and a window also ends after `maxEvents`
/// events or `maxSpanNs`.
struct SnapshotRaceWatch {
    /// A fault line, remembered for the ones after it.
    struct Span {
        var id: Int
        var pid: Int32
        var pfn: UInt64
        var headPfn: UInt64
        var start: Int64?
        var end: Int64?

        func samePage(_ pfn: UInt64, _ head: UInt64) -> Bool {
            self.pfn == pfn || headPfn == head || self.pfn == head || headPfn == pfn
        }
    }

    /// A span still running, or a fault waiting for what later lines show.
    struct Active {
        var span: Span
        var seq: UInt64
        /// No end known, and the task has had no event since: the fault may still be running.
        var open: Bool
        /// The fault's verdicts wait for this watch.
        var waiting: Bool
        var evidence: SnapshotRaceEvidence?
        /// The sign of another task's refcount change that would explain the kernel's decision
        /// (−1 for a reuse, +1 for a copy, 0 none).
        var explainingSign: Int
    }

    /// A fault that waited, and what was found (nil: nothing).
    struct Closed: Equatable {
        var faultID: Int
        var evidence: SnapshotRaceEvidence?
    }

    static let keep = 64
    let maxEvents: UInt64
    let maxSpanNs: Int64
    /// The last `keep` fault lines, a ring: `recent[next]` is the oldest once it is full.
    private var recent: [Span] = []
    private var next = 0
    /// How many of the remembered faults touch each slot of pages (pfn and head, by a hash): a
    /// fault whose page slots are empty has no earlier fault on its page to look at.
    private var recentPages = [UInt8](repeating: 0, count: pageSlotCount)
    private static let pageSlotCount = 4096

    @inline(__always) private static func pageSlot(_ pfn: UInt64) -> Int {
        Int(truncatingIfNeeded: (pfn &* 0x9E37_79B9_7F4A_7C15) >> 52)
    }

    private mutating func remember(_ span: Span) {
        if recent.count < Self.keep {
            recent.append(span)
        } else {
            forget(recent[next])
            recent[next] = span
            next = (next + 1) % Self.keep
        }
        recentPages[Self.pageSlot(span.pfn)] &+= 1
        recentPages[Self.pageSlot(span.headPfn)] &+= 1
    }

    private mutating func forget(_ span: Span) {
        recentPages[Self.pageSlot(span.pfn)] &-= 1
        recentPages[Self.pageSlot(span.headPfn)] &-= 1
    }
    private var active: [Active] = []

    /// What lets most events pass in O(1) (`observe`'s first test): how many active faults each
    /// slot of tasks holds (by the pid's low bits; a shared slot only costs a closer look), the
    /// pages the waiting faults watch (one bit each by a hash), the oldest sequence number and
    /// the first time at which a span ends. The last three may lag behind a removal; then they
    /// only send events to the closer look, which brings them up to date.
    private var taskCounts = [UInt16](repeating: 0, count: taskSlotCount)
    private var pfnBits: UInt64 = 0
    private var oldestSeq: UInt64 = .max
    private var deadline: Int64 = .max
    private var summaryLags = false
    private static let taskSlotCount = 256

    @inline(__always) private static func slot(_ pid: Int32) -> Int {
        Int(truncatingIfNeeded: pid) & (taskSlotCount - 1)
    }

    @inline(__always) private static func bit(_ pfn: UInt64) -> UInt64 {
        1 << ((pfn ^ (pfn >> 6) ^ (pfn >> 12)) & 63)
    }

    init(maxEvents: UInt64 = 65_536, maxSpanNs: Int64 = 100_000_000) {
        self.maxEvents = maxEvents
        self.maxSpanNs = maxSpanNs
    }

    var isIdle: Bool { active.isEmpty }

    /// A write fault's line. Returns evidence for this fault from earlier faults (when it
    /// `wantsEvidence`), and the waiting faults it settles.
    mutating func fault(
        id: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, ts: Int64?, dtNs: Int64?, seq: UInt64,
        observed: ObservedDecision, wantsEvidence: Bool
    ) -> (evidence: SnapshotRaceEvidence?, closed: [Closed]) {
        var closed: [Closed] = []
        let end = ts.flatMap { t in dtNs.map { t &+ max(0, $0) } }
        // One fault in flight per task: a new fault of the task ends its previous one.
        if taskCounts[Self.slot(pid)] > 0 { close(where: { $0.span.pid == pid }, into: &closed) }
        var mine: SnapshotRaceEvidence?
        // Earlier faults with a span, and the faults still waiting (open while their task has
        // not moved on).
        let pageSeen = recentPages[Self.pageSlot(pfn)] > 0 || recentPages[Self.pageSlot(headPfn)] > 0
        for earlier in pageSeen ? recent : [] where earlier.pid != pid && earlier.samePage(pfn, headPfn) {
            if let found = Self.overlap(earlier: earlier, open: false, start: ts, end: end) {
                if mine == nil { mine = found }
                if let k = active.firstIndex(where: { $0.span.id == earlier.id }), active[k].evidence == nil {
                    active[k].evidence = found
                }
            }
        }
        for k in active.indices where active[k].span.pid != pid && active[k].span.samePage(pfn, headPfn) {
            if let found = Self.overlap(earlier: active[k].span, open: active[k].open, start: ts, end: end) {
                if mine == nil { mine = found }
                if active[k].evidence == nil { active[k].evidence = found }
            }
        }
        let span = Span(id: id, pid: pid, pfn: pfn, headPfn: headPfn, start: ts, end: end)
        // Only a fault that waits is followed event by event (the forward look); an earlier
        // fault is seen as overlapping a later one from its span, or while it waits. So a span
        // without an end is not remembered.
        if end != nil { remember(span) }
        let waits = wantsEvidence && mine == nil
        if waits {
            let sign: Int
            switch observed {
            case .reuse: sign = -1
            case .copy: sign = 1
            case .other: sign = 0
            }
            let a = Active(span: span, seq: seq, open: end == nil, waiting: waits, evidence: nil, explainingSign: sign)
            active.append(a)
            taskCounts[Self.slot(pid)] &+= 1
            include(a)
        }
        return (wantsEvidence ? mine : nil, closed)
    }

    /// Any other event: ends the spans it shows are over. Returns the waiting faults it settles.
    mutating func observe(pid: Int32, pageRef: PageRefEvent?, seq: UInt64, ts: Int64?) -> [Closed] {
        // Most events concern no active fault: another task, another page, nothing expiring.
        if taskCounts[Self.slot(pid)] == 0, pageRef.map({ pfnBits & Self.bit($0.pfn) == 0 }) ?? true,
           seq &- oldestSeq <= maxEvents, ts.map({ $0 <= deadline }) ?? true {
            return []
        }
        var closed: [Closed] = []
        if let e = pageRef, let delta = Self.delta(e), delta != 0 {
            for k in active.indices where active[k].waiting && active[k].evidence == nil && active[k].span.pid != pid {
                let a = active[k]
                guard a.span.samePage(e.pfn, e.pfn), delta.signum() == a.explainingSign else { continue }
                if let end = a.span.end, let ts, ts > end { continue }
                active[k].evidence = .otherTaskChangedPage
            }
        }
        let maxEvents = maxEvents, maxSpanNs = maxSpanNs
        close(where: { a in
            let ownPageOperation = pageRef.map { a.span.samePage($0.pfn, $0.pfn) } ?? false
            let taskMovedOn = pid == a.span.pid && !ownPageOperation
            let pastEnd = a.span.end.map { end in ts.map { $0 > end } ?? false } ?? false
            let expired = seq &- a.seq > maxEvents
                || (ts != nil && a.span.start != nil && ts! &- a.span.start! > maxSpanNs)
            return taskMovedOn || pastEnd || expired
        }, into: &closed)
        if summaryLags { resummarize() }
        return closed
    }

    mutating func closeAll() -> [Closed] {
        var closed: [Closed] = []
        close(where: { _ in true }, into: &closed)
        resummarize()
        return closed
    }

    private mutating func close(where done: (Active) -> Bool, into closed: inout [Closed]) {
        var k = 0
        while k < active.count {
            if done(active[k]) {
                let a = active.remove(at: k)
                taskCounts[Self.slot(a.span.pid)] &-= 1
                summaryLags = true
                if a.waiting { closed.append(Closed(faultID: a.span.id, evidence: a.evidence)) }
            } else {
                k += 1
            }
        }
    }

    private mutating func include(_ a: Active) {
        if a.waiting { pfnBits |= Self.bit(a.span.pfn) | Self.bit(a.span.headPfn) }
        oldestSeq = min(oldestSeq, a.seq)
        if let end = a.span.end { deadline = min(deadline, end) }
        if let start = a.span.start { deadline = min(deadline, start &+ maxSpanNs) }
    }

    private mutating func resummarize() {
        pfnBits = 0; oldestSeq = .max; deadline = .max
        for a in active { include(a) }
        summaryLags = false
    }

    /// The refcount change an event made (0 when a conditional op refused; nil for absolute ops).
    static func delta(_ e: PageRefEvent) -> Int? {
        switch e.op {
        case .mod, .modAndTest, .modAndReturn: return Int(e.val)
        case .modUnless: return e.ret == 1 ? Int(e.val) : 0
        case .set, .freeze, .unfreeze: return nil
        }
    }

    /// How a fault that began at `start` (ending at `end`, if known) may overlap an earlier
    /// line's fault on the same page.
    static func overlap(earlier g: Span, open: Bool, start: Int64?, end: Int64?) -> SnapshotRaceEvidence? {
        if let gEnd = g.end, let gStart = g.start, let start {
            let newEnd = end ?? start
            return start <= gEnd && gStart <= newEnd ? .overlappingFault : nil
        }
        // The earlier fault's end is unknown: it may still run while its task has not moved on.
        return open ? .overlapNotExcluded : nil
    }
}
