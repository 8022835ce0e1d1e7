/// Watches reused pages for the "keyhole reference" race (SEMANTICS.md §6.1): a refcount increment
/// on the faulting pfn by another task between the fault's entry (its `wp_page` line) and its
/// completion (the faulting task's next event other than its own refcount operations on that
/// page), not cancelled by a decrement from the same task inside the window.
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

    init(maxEvents: UInt64 = 65_536, maxSpanNs: Int64 = 100_000_000) {
        self.maxEvents = maxEvents
        self.maxSpanNs = maxSpanNs
    }

    var isIdle: Bool { windows.isEmpty }

    mutating func open(faultID: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, seq: UInt64, ts: Int64?) {
        // One fault in flight per task: a new fault of the same task ends the previous one.
        windows.removeAll { $0.pid == pid }
        windows.append(Window(faultID: faultID, pid: pid, pfn: pfn, headPfn: headPfn, openedSeq: seq, openedTs: ts))
    }

    /// Feeds one event; returns the windows it closed.
    ///
    /// Runs for every event while a window is open, so it reads the windows in place (no copy
    /// of a window and its dictionary per event) and allocates only when one closes.
    mutating func observe(pid: Int32, pageRef: PageRefEvent?, seq: UInt64, ts: Int64?) -> [Verdict] {
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
        return closed
    }

    mutating func closeAll() -> [Verdict] {
        defer { windows.removeAll() }
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
