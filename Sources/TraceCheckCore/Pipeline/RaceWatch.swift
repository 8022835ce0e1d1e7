/// Watches reused pages for the "keyhole reference" race (DecisionTables.md, The keyhole-reference
/// race): a refcount increment on the faulting pfn by another task between the fault's entry (its
/// `wp_page` line) and its completion (the faulting task's next event other than its own refcount
/// operations on that page), not cancelled by a decrement from the same task inside the window.
///
/// A window also closes after `maxEvents` events or `maxSpanNs` nanoseconds, so the faults held
/// back for it stay bounded.
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
    private(set) var windows: [Window] = []

    /// A summary of the open windows that lets most events pass in O(1) (`observe`'s first
    /// test): which pids and pfns they watch (one bit each, by the low six bits of a hash;
    /// a set bit only means "look closer"), and the oldest opening. Rebuilt when a window
    /// opens or closes.
    private var pidBits: UInt64 = 0
    private var pfnBits: UInt64 = 0
    private var oldestSeq: UInt64 = .max
    private var oldestTs: Int64 = .max
    /// Every open window's timestamp is known and not negative (so the oldest one bounds them all).
    private var timestampsPlain = true

    @inline(__always) private static func bit(_ pid: Int32) -> UInt64 {
        1 << (UInt64(truncatingIfNeeded: pid) & 63)
    }

    @inline(__always) private static func bit(_ pfn: UInt64) -> UInt64 {
        1 << ((pfn ^ (pfn >> 6) ^ (pfn >> 12)) & 63)
    }

    private mutating func summarize() {
        pidBits = 0; pfnBits = 0; oldestSeq = .max; oldestTs = .max; timestampsPlain = true
        for w in windows {
            pidBits |= Self.bit(w.pid)
            pfnBits |= Self.bit(w.pfn) | Self.bit(w.headPfn)
            oldestSeq = min(oldestSeq, w.openedSeq)
            if let t = w.openedTs, t >= 0 { oldestTs = min(oldestTs, t) } else if w.openedTs != nil { timestampsPlain = false }
        }
    }

    /// Tests turn the O(1) pass-through off to compare with the plain walk.
    var useSummary = true

    init(maxEvents: UInt64 = 65_536, maxSpanNs: Int64 = 100_000_000) {
        self.maxEvents = maxEvents
        self.maxSpanNs = maxSpanNs
    }

    var isIdle: Bool { windows.isEmpty }

    mutating func open(faultID: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, seq: UInt64, ts: Int64?) {
        // One fault in flight per task: a new fault of the same task ends the previous one.
        windows.removeAll { $0.pid == pid }
        windows.append(Window(faultID: faultID, pid: pid, pfn: pfn, headPfn: headPfn, openedSeq: seq, openedTs: ts))
        summarize()
    }

    /// Feeds one event; returns the windows it closed.
    ///
    /// Runs for every event while a window is open, so it reads the windows in place (no copy
    /// of a window and its dictionary per event) and allocates only when one closes.
    mutating func observe(pid: Int32, pageRef: PageRefEvent?, seq: UInt64, ts: Int64?) -> [Verdict] {
        // Most events concern no open window: not a watched task, not a watched page, and no
        // window old enough to expire. Then the loop below would change nothing.
        if useSummary, pidBits & Self.bit(pid) == 0,
           pageRef.map({ pfnBits & Self.bit($0.pfn) == 0 }) ?? true,
           seq &- oldestSeq <= maxEvents,
           timestampsPlain, ts.map({ $0 >= 0 && ($0 &- oldestTs <= maxSpanNs || oldestTs == .max) }) ?? true {
            return []
        }
        var closed: [Verdict] = []
        var i = 0
        while i < windows.count {
            let onPage = pageRef.map { $0.pfn == windows[i].pfn || $0.pfn == windows[i].headPfn } ?? false
            let expired = seq &- windows[i].openedSeq > maxEvents
                || (ts != nil && windows[i].openedTs != nil && ts! &- windows[i].openedTs! > maxSpanNs)
            if pid == windows[i].pid && !onPage || expired {
                closed.append(Verdict(faultID: windows[i].faultID, racer: Self.racer(windows[i])))
                windows.remove(at: i)
                continue
            }
            if onPage, pid != windows[i].pid, let e = pageRef, let delta = Self.delta(e) {
                windows[i].others[pid, default: 0] += delta
            }
            i += 1
        }
        if !closed.isEmpty { summarize() }
        return closed
    }

    mutating func closeAll() -> [Verdict] {
        defer { windows.removeAll(); summarize() }
        return windows.map { Verdict(faultID: $0.faultID, racer: Self.racer($0)) }
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
