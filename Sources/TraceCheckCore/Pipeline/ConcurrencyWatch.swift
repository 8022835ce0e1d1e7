/// Replayed faults wait here until the capture is past their clock's resolution: an event of
/// another task on the same page printed after the fault line, but stamped so close to it that
/// it may have happened before the kernel read the page, makes the replayed state unknown for
/// that fault (the events printed before the line are checked by the replay itself).
///
/// A printed time stands for an interval one resolution wide (tracefs rounds to the
/// microsecond), so two stamps order their events only when they are at least half the sum of
/// both resolutions apart.
struct ConcurrencyWatch {
    struct Window {
        var faultID: Int
        var pid: Int32
        var pfn: UInt64
        var headPfn: UInt64
        var time: Int64
        var resolution: Int64
        var openedAt: Int
        /// The fault's inputs from its own line (what is left when the replayed state is unknown).
        var lineInputs: FaultInputs
    }

    /// A closed window: the fault, and the time of a concurrent event if one came.
    struct Verdict: Equatable {
        var faultID: Int
        var concurrentAt: Int64?
        var lineInputs: FaultInputs
    }

    /// The coarsest resolution an event line can have that still prints a fraction (tracefs'
    /// microseconds): past it, no later event can overlap the fault.
    static let coarsestResolution: Int64 = 1000

    /// A window also closes after this many events (a capture whose later lines carry no
    /// usable time), so the faults held back for it stay bounded.
    static let maxEvents = 4096

    private(set) var windows: [Window] = []
    private var events = 0

    var isIdle: Bool { windows.isEmpty }

    /// Whether the fault still waits (few windows are open at once: a linear look).
    func isWatching(_ faultID: Int) -> Bool { windows.contains { $0.faultID == faultID } }

    mutating func open(faultID: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, time: Int64, resolution: Int64,
                       lineInputs: FaultInputs) {
        windows.append(Window(faultID: faultID, pid: pid, pfn: pfn, headPfn: headPfn, time: time,
                              resolution: resolution, openedAt: events, lineInputs: lineInputs))
    }

    /// An event at `time` (with its resolution): closes the windows it is past, and reports a
    /// page_ref event of another task on a watched page that may be on either side of a fault.
    /// `time` is nil for a line without a nanosecond timestamp: it only counts.
    mutating func observe(pid: Int32, pfn: UInt64?, time: Int64?, resolution: Int64) -> [Verdict] {
        events &+= 1
        var closed: [Verdict] = []
        var k = 0
        while k < windows.count {
            let w = windows[k]
            if let time, let pfn, pfn == w.pfn || pfn == w.headPfn, pid != w.pid || pid < 0,
               RecentPageRefs.mayOverlap(time, resolution, w.time, w.resolution) {
                closed.append(Verdict(faultID: w.faultID, concurrentAt: time, lineInputs: w.lineInputs))
                windows.remove(at: k)
            } else if let time, time > w.time,
                      !RecentPageRefs.mayOverlap(time, Self.coarsestResolution, w.time, w.resolution) {
                closed.append(Verdict(faultID: w.faultID, concurrentAt: nil, lineInputs: w.lineInputs))
                windows.remove(at: k)
            } else if events - w.openedAt > Self.maxEvents {
                closed.append(Verdict(faultID: w.faultID, concurrentAt: nil, lineInputs: w.lineInputs))
                windows.remove(at: k)
            } else {
                k += 1
            }
        }
        return closed
    }

    mutating func closeAll() -> [Verdict] {
        defer { windows.removeAll() }
        return windows.map { Verdict(faultID: $0.faultID, concurrentAt: nil, lineInputs: $0.lineInputs) }
    }
}
