/// The last few page_ref events with their time, task and clock resolution: enough to tell,
/// at a fault, whether another task changed the page so close to the fault's timestamp that
/// the printed order says nothing about which came first.
///
/// A fixed ring: recording costs four stores. Events older than the ring are assumed to be
/// outside any window; `coversBack(to:)` says when that assumption fails (a burst of more
/// events than the ring holds inside one window), and the caller then treats the fault as
/// concurrent rather than guess.
struct RecentPageRefs {
    struct Entry {
        var pfn: UInt64 = .max
        var time: Int64 = .min
        var resolution: Int64 = 0
        var pid: Int32 = -1
    }

    /// More events than this inside one clock resolution is treated as concurrency (below).
    static let capacity = 16
    /// Entries older than this before the fault are past any window (tolerating small
    /// timestamp regressions), and so are the ones before them in line order.
    static let lookBackNs: Int64 = 1_000_000
    private var entries = [Entry](repeating: Entry(), count: capacity)
    private var next = 0
    private var recorded = 0

    @inline(__always)
    mutating func record(pfn: UInt64, pid: Int32, time: Int64, resolution: Int64) {
        entries[next] = Entry(pfn: pfn, time: time, resolution: resolution, pid: pid)
        next = (next + 1) & (Self.capacity - 1)
        recorded &+= 1
    }

    /// The newest event on `pfn` or `other` by a task other than `pid` that may have happened
    /// on either side of `time`. A printed time stands for an interval one resolution wide
    /// (kernels round to the microsecond), so two events are ordered by their printed times
    /// only when they are at least half the sum of both resolutions apart. Returns the event's
    /// time, or `time` itself when the ring overflowed inside the window (the evicted events
    /// are unknown).
    func concurrent(with pfn: UInt64, _ other: UInt64, pid: Int32, time: Int64, resolution: Int64) -> Int64? {
        entries.withUnsafeBufferPointer { e in
            let held = min(recorded, Self.capacity)
            var k = next
            for _ in 0..<held {
                k = (k - 1) & (Self.capacity - 1)
                if e[k].time < time &- Self.lookBackNs { return nil }
                // The page first: most recent events are about other pages.
                guard e[k].pfn == pfn || e[k].pfn == other, e[k].pid != pid || pid < 0 else { continue }
                if Self.mayOverlap(e[k].time, e[k].resolution, time, resolution) { return e[k].time }
            }
            // The oldest event kept is inside the window: evicted ones may have been too.
            guard recorded > Self.capacity else { return nil }
            let oldest = e[next]
            return Self.mayOverlap(oldest.time, oldest.resolution, time, resolution) ? time : nil
        }
    }

    /// Two printed times, each standing for an interval of its resolution, may be the same
    /// instant: they are less than half the sum of the resolutions apart. Any input is safe
    /// (times far apart never overlap, whatever their difference's size).
    static func mayOverlap(_ a: Int64, _ ra: Int64, _ b: Int64, _ rb: Int64) -> Bool {
        let (d, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { return false }
        let distance = d.magnitude
        let sum = UInt64(max(ra, 0)) &+ UInt64(max(rb, 0))
        return distance < sum / 2 + sum % 2
    }
}
