/// Watches reused pages for the "keyhole reference" race (DecisionTables.md, The keyhole-reference
/// race): a refcount increment on the faulting pfn by another task between the fault's entry (its
/// `wp_page` line) and its completion (the faulting task's next event other than its own refcount
/// operations on that page), not cancelled by a decrement from the same task inside the window.
///
/// Every step costs time independent of how many windows are open: windows are found by task
/// and by page (dictionaries), and expire from a queue in opening order (the event limit) and a
/// heap of opening times (the time limit). Both hold stale entries of windows closed another
/// way until they reach the front, and are rebuilt when stale entries outnumber live ones.
///
/// What is held stays bounded: a window closes after `maxEvents` events or `maxSpanNs`
/// nanoseconds, at most `maxWindows` are open (the oldest closes first) and at most
/// `maxWindowsPerPage` watch one pfn. Windows closed by the event limit or a cap are counted in
/// `cutShort`: their faults were watched for less than their whole flight.
struct RaceWatch {
    struct Window {
        var faultID: Int
        var pid: Int32
        var pfn: UInt64
        var headPfn: UInt64
        var openedSeq: UInt64
        var openedTs: Int64?
        /// Net refcount change by each other task inside the window.
        var others: [Int32: Int] = [:]
    }

    /// A closed window: the fault it belongs to, and the task whose increment raced, if any.
    struct Verdict: Equatable {
        var faultID: Int
        var racer: Int32?
    }

    let maxEvents: UInt64
    let maxSpanNs: Int64
    let maxWindows: Int
    let maxWindowsPerPage: Int
    /// Windows closed early by the event limit or a cap.
    private(set) var cutShort = 0

    private var windows: [Int: Window] = [:]
    private var byPid: [Int32: Int] = [:]
    /// pfn (and head pfn) → the windows watching it, oldest first.
    private var byPfn: [UInt64: [Int]] = [:]
    /// (opening seq, fault id) in opening order, from `seqHead` on.
    private var bySeq: [(seq: UInt64, id: Int)] = []
    private var seqHead = 0
    /// Min-heap of (opening time, fault id) for windows with a timestamp.
    private var byTs: [(ts: Int64, id: Int)] = []

    /// A summary of the open windows that lets most events pass in O(1) (`observe`'s first
    /// test): how many windows watch each of 64 buckets of pids and of pfns (a hash's low six
    /// bits; a non-zero count only means "look closer"), and how many have a negative timestamp.
    private var pidBuckets = [UInt32](repeating: 0, count: 64)
    private var pfnBuckets = [UInt32](repeating: 0, count: 64)
    private var pidBits: UInt64 = 0
    private var pfnBits: UInt64 = 0
    private var negativeTimestamps = 0

    @inline(__always) private static func bucket(_ pid: Int32) -> Int {
        Int(UInt64(truncatingIfNeeded: pid) & 63)
    }

    @inline(__always) private static func bucket(_ pfn: UInt64) -> Int {
        Int((pfn ^ (pfn >> 6) ^ (pfn >> 12)) & 63)
    }

    /// The default limits, in words, for the report.
    static let defaultLimitsText = "65536 events in flight, 4096 faults in flight at once, or 16 on one page"

    /// Tests turn the O(1) pass-through off to compare with the full step.
    var useSummary = true

    init(maxEvents: UInt64 = 65_536, maxSpanNs: Int64 = 100_000_000, maxWindows: Int = 4096, maxWindowsPerPage: Int = 16) {
        self.maxEvents = maxEvents
        self.maxSpanNs = maxSpanNs
        self.maxWindows = maxWindows
        self.maxWindowsPerPage = maxWindowsPerPage
    }

    var isIdle: Bool { windows.isEmpty }
    var openCount: Int { windows.count }

    /// Opens the window of a reused fault; returns the windows this closed (the task's previous
    /// one, and the oldest ones when a cap is reached).
    mutating func open(faultID: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, seq: UInt64, ts: Int64?) -> [Verdict] {
        var closed: [Verdict] = []
        // One fault in flight per task: a new fault of the same task ends the previous one.
        if let previous = byPid[pid] { closed.append(close(previous)) }
        // Too many on one page: a page_ref event there would update each of them.
        if let ids = byPfn[pfn], ids.count >= maxWindowsPerPage { closed.append(close(ids[0])); cutShort += 1 }
        if headPfn != pfn, let ids = byPfn[headPfn], ids.count >= maxWindowsPerPage {
            closed.append(close(ids[0])); cutShort += 1
        }
        while windows.count >= maxWindows, let oldest = oldestBySeq() {
            closed.append(close(oldest))
            cutShort += 1
        }
        windows[faultID] = Window(faultID: faultID, pid: pid, pfn: pfn, headPfn: headPfn, openedSeq: seq, openedTs: ts)
        byPid[pid] = faultID
        byPfn[pfn, default: []].append(faultID)
        if headPfn != pfn { byPfn[headPfn, default: []].append(faultID) }
        bySeq.append((seq, faultID))
        if let ts { pushTs(ts, faultID) }
        count(pid: pid, pfn: pfn, headPfn: headPfn, ts: ts, by: 1)
        return closed
    }

    /// Feeds one event; returns the windows it closed.
    mutating func observe(pid: Int32, pageRef: PageRefEvent?, seq: UInt64, ts: Int64?) -> [Verdict] {
        // Most events concern no open window: not a watched task, not a watched page, and no
        // window old enough to expire (the fronts may be stale: then only the full step runs).
        if useSummary, pidBits & (1 << Self.bucket(pid)) == 0,
           pageRef.map({ pfnBits & (1 << Self.bucket($0.pfn)) == 0 }) ?? true,
           seqHead == bySeq.count || seq &- bySeq[seqHead].seq <= maxEvents,
           negativeTimestamps == 0,
           ts.map({ $0 >= 0 && (byTs.isEmpty || $0 &- byTs[0].ts <= maxSpanNs) }) ?? true {
            return []
        }
        var closed: [Verdict] = []
        // The task's own next event off the page ends its fault.
        if let id = byPid[pid], let w = windows[id] {
            let onPage = pageRef.map { $0.pfn == w.pfn || $0.pfn == w.headPfn } ?? false
            if !onPage { closed.append(close(id)) }
        }
        // Expiry by events (opening order is seq order).
        while seqHead < bySeq.count {
            let (opened, id) = bySeq[seqHead]
            if windows[id] != nil {
                guard seq &- opened > maxEvents else { break }
                closed.append(close(id))
                cutShort += 1
            }
            seqHead += 1
        }
        // Expiry by time: the earliest opening first.
        if let ts {
            while let top = byTs.first {
                if windows[top.id] != nil {
                    guard ts &- top.ts > maxSpanNs else { break }
                    closed.append(close(top.id))
                }
                popTs()
            }
        }
        // Increments by other tasks on a watched page.
        if let e = pageRef, let delta = Self.delta(e), let ids = byPfn[e.pfn] {
            for id in ids where windows[id]!.pid != pid {
                windows[id]!.others[pid, default: 0] &+= delta
            }
        }
        compactIfStale()
        return closed
    }

    mutating func closeAll() -> [Verdict] {
        let ids = bySeq[seqHead...].map(\.id).filter { windows[$0] != nil }
        let closed = ids.map { close($0) }
        bySeq.removeAll(); seqHead = 0; byTs.removeAll()
        return closed
    }

    /// Removes a window from every index but the queue and the heap (their entries go stale).
    private mutating func close(_ id: Int) -> Verdict {
        let w = windows.removeValue(forKey: id)!
        byPid[w.pid] = nil
        unindex(id, pfn: w.pfn)
        if w.headPfn != w.pfn { unindex(id, pfn: w.headPfn) }
        count(pid: w.pid, pfn: w.pfn, headPfn: w.headPfn, ts: w.openedTs, by: -1)
        return Verdict(faultID: id, racer: Self.racer(w))
    }

    private mutating func unindex(_ id: Int, pfn: UInt64) {
        guard var ids = byPfn.removeValue(forKey: pfn) else { return }
        ids.removeAll { $0 == id }
        if !ids.isEmpty { byPfn[pfn] = ids }
    }

    private mutating func oldestBySeq() -> Int? {
        while seqHead < bySeq.count {
            if windows[bySeq[seqHead].id] != nil { return bySeq[seqHead].id }
            seqHead += 1
        }
        return nil
    }

    private mutating func count(pid: Int32, pfn: UInt64, headPfn: UInt64, ts: Int64?, by step: Int) {
        func bump(_ buckets: inout [UInt32], _ k: Int, _ bits: inout UInt64) {
            buckets[k] = step > 0 ? buckets[k] + 1 : buckets[k] - 1
            if buckets[k] == 0 { bits &= ~(1 << k) } else { bits |= 1 << k }
        }
        bump(&pidBuckets, Self.bucket(pid), &pidBits)
        bump(&pfnBuckets, Self.bucket(pfn), &pfnBits)
        if headPfn != pfn { bump(&pfnBuckets, Self.bucket(headPfn), &pfnBits) }
        if let ts, ts < 0 { negativeTimestamps += step }
    }

    /// Drops stale queue and heap entries once they outnumber the open windows.
    private mutating func compactIfStale() {
        let live = windows.count
        if seqHead > 64, seqHead * 2 > bySeq.count {
            bySeq.removeFirst(seqHead)
            seqHead = 0
        }
        if bySeq.count - seqHead > 2 * live + 64 {
            bySeq = bySeq[seqHead...].filter { windows[$0.id] != nil }
            seqHead = 0
        }
        if byTs.count > 2 * live + 64 {
            let entries = byTs.filter { windows[$0.id] != nil }
            byTs.removeAll(keepingCapacity: true)
            for e in entries { pushTs(e.ts, e.id) }
        }
    }

    private mutating func pushTs(_ ts: Int64, _ id: Int) {
        byTs.append((ts, id))
        var i = byTs.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard byTs[i].ts < byTs[parent].ts else { break }
            byTs.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popTs() {
        let last = byTs.removeLast()
        guard !byTs.isEmpty else { return }
        byTs[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < byTs.count, byTs[l].ts < byTs[m].ts { m = l }
            if r < byTs.count, byTs[r].ts < byTs[m].ts { m = r }
            if m == i { break }
            byTs.swapAt(i, m)
            i = m
        }
    }

    private static func racer(_ w: Window) -> Int32? {
        w.others.filter { $0.value > 0 }.keys.min()
    }

    /// The refcount change an event made (0 when a conditional op refused).
    private static func delta(_ e: PageRefEvent) -> Int? {
        switch e.op {
        case .mod, .modAndTest, .modAndReturn: return Int(e.val)
        case .modUnless: return e.ret == 1 ? Int(e.val) : 0
        case .set, .freeze, .unfreeze: return nil
        }
    }
}
