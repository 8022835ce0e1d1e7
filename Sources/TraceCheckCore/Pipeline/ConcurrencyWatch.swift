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
    }

    /// A closed window: the fault, and the time of a concurrent event if one came.
    struct Verdict: Equatable {
        var faultID: Int
        var concurrentAt: Int64?
    }

    /// The coarsest resolution an event line can have that still prints a fraction (tracefs'
    /// microseconds): past it, no later event can overlap the fault.
    static let coarsestResolution: Int64 = 1000

    private(set) var windows: [Window] = []

    var isIdle: Bool { windows.isEmpty }

    mutating func open(faultID: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, time: Int64, resolution: Int64) {
        windows.append(Window(faultID: faultID, pid: pid, pfn: pfn, headPfn: headPfn, time: time, resolution: resolution))
    }

    /// An event at `time` (with its resolution): closes the windows it is past, and reports a
    /// page_ref event of another task on a watched page that may be on either side of a fault.
    mutating func observe(pid: Int32, pfn: UInt64?, time: Int64, resolution: Int64) -> [Verdict] {
        var closed: [Verdict] = []
        var k = 0
        while k < windows.count {
            let w = windows[k]
            let distance = time > w.time ? time - w.time : w.time - time
            if let pfn, pfn == w.pfn || pfn == w.headPfn, pid != w.pid || pid < 0,
               2 * distance < w.resolution + resolution {
                closed.append(Verdict(faultID: w.faultID, concurrentAt: time))
                windows.remove(at: k)
            } else if time > w.time, 2 * (time - w.time) >= w.resolution + Self.coarsestResolution {
                closed.append(Verdict(faultID: w.faultID, concurrentAt: nil))
                windows.remove(at: k)
            } else {
                k += 1
            }
        }
        return closed
    }

    mutating func closeAll() -> [Verdict] {
        defer { windows.removeAll() }
        return windows.map { Verdict(faultID: $0.faultID, concurrentAt: nil) }
    }
}
