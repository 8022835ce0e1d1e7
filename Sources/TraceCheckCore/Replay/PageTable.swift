/// pfn → `PageState`: the replay's one structure that grows with the capture (one entry per
/// distinct page, never per event).
///
/// Open addressing with linear probing over two parallel arrays (the pfns, and the states:
/// a struct of arrays, so a probe walks 8-byte keys and touches one state), Fibonacci hashing
/// of the pfn, doubled at 3/4 load. One slot costs `8 + MemoryLayout<PageState>.stride`
/// bytes; with the load between 3/8 and 3/4 that is 64 to 128 bytes per tracked page for a
/// 40-byte `PageState` (a `Dictionary<UInt64, PageState>` costs the same slots plus SipHash
/// per access). `UInt64.max` marks an empty slot; a page with that pfn is kept aside.
public struct PageTable: Sendable {
    private static let empty = UInt64.max
    private static let minimumCapacity = 1024

    private var keys: [UInt64]
    private var states: [PageState]
    private var shift: UInt64
    private var maxCount: Int
    /// The page whose pfn is the empty marker, if the capture has one.
    private var lastPfnState: PageState?
    /// Pages stored in the slots.
    private var stored = 0

    public init() {
        let capacity = Self.minimumCapacity
        keys = Array(repeating: Self.empty, count: capacity)
        states = Array(repeating: PageState(), count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        maxCount = capacity / 4 * 3
    }

    /// Distinct pages tracked.
    public var count: Int { stored + (lastPfnState == nil ? 0 : 1) }

    /// Slots allocated.
    public var capacity: Int { keys.count }

    /// Bytes held by the table's storage.
    public var memoryBytes: Int { capacity * Self.slotBytes }

    public static var slotBytes: Int { MemoryLayout<UInt64>.stride + MemoryLayout<PageState>.stride }

    @inline(__always) private func home(_ pfn: UInt64) -> Int {
        Int(truncatingIfNeeded: (pfn &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `pfn`, or the empty slot where it would go.
    @inline(__always) private func find(_ pfn: UInt64) -> (index: Int, found: Bool) {
        let mask = keys.count - 1
        var i = home(pfn)
        return keys.withUnsafeBufferPointer { k in
            while true {
                let key = k[i]
                if key == pfn { return (i, true) }
                if key == Self.empty { return (i, false) }
                i = (i + 1) & mask
            }
        }
    }

    public subscript(pfn: UInt64) -> PageState? {
        get {
            if pfn == Self.empty { return lastPfnState }
            let (i, found) = find(pfn)
            return found ? states[i] : nil
        }
        set {
            if pfn == Self.empty { lastPfnState = newValue; return }
            let (i, found) = find(pfn)
            if let newValue {
                if found {
                    states[i] = newValue
                } else {
                    keys[i] = pfn
                    states[i] = newValue
                    stored += 1
                    if stored > maxCount { grow() }
                }
            } else if found {
                remove(at: i)
            }
        }
    }

    /// Backward-shift deletion: later entries of the run move up so lookups never stop early.
    private mutating func remove(at index: Int) {
        let mask = keys.count - 1
        var hole = index
        var j = index
        while true {
            j = (j + 1) & mask
            let key = keys[j]
            if key == Self.empty { break }
            let h = home(key)
            // Move `j` into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                keys[hole] = key
                states[hole] = states[j]
                hole = j
            }
        }
        keys[hole] = Self.empty
        states[hole] = PageState()
        stored -= 1
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldStates = states
        let capacity = oldKeys.count * 2
        keys = Array(repeating: Self.empty, count: capacity)
        states = Array(repeating: PageState(), count: capacity)
        shift -= 1
        maxCount = capacity / 4 * 3
        let mask = capacity - 1
        for (k, key) in oldKeys.enumerated() where key != Self.empty {
            var i = home(key)
            while keys[i] != Self.empty { i = (i + 1) & mask }
            keys[i] = key
            states[i] = oldStates[k]
        }
    }

    /// Every tracked page, in no particular order.
    public func forEach(_ body: (UInt64, PageState) -> Void) {
        for (k, key) in keys.enumerated() where key != Self.empty { body(key, states[k]) }
        if let s = lastPfnState { body(Self.empty, s) }
    }

    /// The table's cost per page when it holds `pages` distinct pfns: its storage divided by
    /// the pages (`average`), and at the peak of its last growth, when the old and the new
    /// arrays coexist (`peak`). For the benchmark.
    public static func measuredBytesPerPage(pages: Int) -> (average: Double, peak: Double) {
        var t = PageTable()
        var s = PageState()
        s.hasRefEvent = true
        for k in 0..<pages {
            s.refcount = Int32(truncatingIfNeeded: k)
            t[0x10_0000 &+ UInt64(k) &* 3] = s
        }
        let bytes = Double(t.memoryBytes)
        return (bytes / Double(pages), (bytes + bytes / 2) / Double(pages))
    }
}
