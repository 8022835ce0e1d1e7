/// The last few page_ref events with their time, task and clock resolution: enough to tell,
/// at a fault, whether another task changed the page so close to the fault's timestamp that
/// the printed order says nothing about which came first.
///
/// A fixed ring: recording costs four stores. Events older than the ring are assumed to be
/// outside any window; `coversBack(to:)` says when that assumption fails (a burst of more
/// events than the ring holds inside one window), and the caller then treats the fault as
/// concurrent rather than guess.
struct RecentPageRefs {
    static let capacity = 64
    private var pfns = [UInt64](repeating: .max, count: capacity)
    private var pids = [Int32](repeating: -1, count: capacity)
    private var times = [Int64](repeating: .min, count: capacity)
    private var resolutions = [Int64](repeating: 0, count: capacity)
    private var next = 0
    private var recorded = 0

    @inline(__always)
    mutating func record(pfn: UInt64, pid: Int32, time: Int64, resolution: Int64) {
        pfns[next] = pfn
        pids[next] = pid
        times[next] = time
        resolutions[next] = resolution
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
        let held = min(recorded, Self.capacity)
        var k = next
        var oldestInWindow = false
        for n in 0..<held {
            k = (k - 1) & (Self.capacity - 1)
            let inWindow = Self.mayOverlap(times[k], resolutions[k], time, resolution)
            if inWindow, pfns[k] == pfn || pfns[k] == other, pids[k] != pid || pid < 0 { return times[k] }
            if n == held - 1 { oldestInWindow = inWindow }
        }
        // The oldest event kept is inside the window: evicted ones may have been too.
        return recorded > Self.capacity && oldestInWindow ? time : nil
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
