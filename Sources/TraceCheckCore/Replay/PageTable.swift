/// pfn → `PageState`: the replay's one structure that grows with the capture (one entry per
/// distinct page, never per event).
///
/// Open addressing with linear probing over one array of (pfn, state) slots. The pfn is
/// mixed with a per-table random seed (so a capture cannot pick pfns that all land on the same
/// slots: it would not know where they land) and mapped onto any table size by a
/// multiply-high, so the table
/// grows by half (not double) when it reaches 3/4 load: less memory per page, and a smaller
/// peak while the old and the new arrays coexist during a growth. A page_ref event reads and
/// writes one page at random: keeping the state next to its key makes that one cache miss,
/// not two. One slot costs `MemoryLayout<Slot>.stride` bytes (8 for the pfn plus the state);
/// with the load between 1/2 and 3/4 that is 64 to 96 bytes per tracked page for a 40-byte
/// `PageState` (`PageTableTests` pins the budget). `UInt64.max` marks an empty slot; a page
/// with that pfn is kept aside. An insertion more than `maxProbe` slots from its home slot
/// (bad luck, or a seed guessed) grows the table with a new seed, so runs stay short.
public struct PageTable: Sendable {
    struct Slot: Sendable {
        var key: UInt64
        var state: PageState
    }

    private static let empty = UInt64.max
    private static let minimumCapacity = 1024
    /// The slot index standing for the page kept aside (pfn `UInt64.max`).
    private static let asideSlot = -1

    private var slots: [Slot]
    private var maxCount: Int
    private var seed: UInt64
    /// The farthest an insertion may land from its home slot before the table is rebuilt.
    static let maxProbe = 256
    /// Rebuilds forced by a long probe (for tests and the benchmark).
    public private(set) var reseeds = 0
    /// The size before the last growth (the benchmark's peak estimate).
    private var previousCapacity = 0
    /// The page whose pfn is the empty marker, if the capture has one.
    private var lastPfnState: PageState?
    /// Pages stored in the slots.
    private var stored = 0

    public init() {
        var rng = SystemRandomNumberGenerator()
        self.init(seed: rng.next())
    }

    /// A fixed seed, for tests that need a known layout.
    init(seed: UInt64) {
        let capacity = Self.minimumCapacity
        slots = Array(repeating: Slot(key: Self.empty, state: PageState()), count: capacity)
        maxCount = capacity / 4 * 3
        self.seed = seed
    }

    /// Distinct pages tracked.
    public var count: Int { stored + (lastPfnState == nil ? 0 : 1) }

    /// Slots allocated.
    public var capacity: Int { slots.count }

    /// Bytes held by the table's storage.
    public var memoryBytes: Int { capacity * Self.slotBytes }

    public static var slotBytes: Int { MemoryLayout<Slot>.stride }

    /// The pfn's first slot in a table of `capacity` slots: the seeded pfn through a bijective
    /// mixer (every output bit depends on every input bit), then a multiply-high.
    @inline(__always) private static func home(_ pfn: UInt64, _ capacity: Int, _ seed: UInt64) -> Int {
        var x = pfn ^ seed
        x = (x ^ (x >> 32)) &* 0xD6E8_FEB8_6659_FD93
        x = (x ^ (x >> 32)) &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        return Int(truncatingIfNeeded: x.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    @inline(__always) private func home(_ pfn: UInt64) -> Int { Self.home(pfn, slots.count, seed) }

    /// How far `index` lies past the home slot of `pfn`.
    @inline(__always) private func distance(_ pfn: UInt64, _ index: Int) -> Int {
        let h = home(pfn)
        return index >= h ? index - h : index + slots.count - h
    }

    /// The slot holding `pfn`, or the empty slot where it would go.
    @inline(__always) private func find(_ pfn: UInt64) -> (index: Int, found: Bool) {
        slots.withUnsafeBufferPointer { s in
            let n = s.count
            var i = Self.home(pfn, n, seed)
            while true {
                let key = s[i].key
                if key == pfn { return (i, true) }
                if key == Self.empty { return (i, false) }
                i += 1
                if i == n { i = 0 }
            }
        }
    }

    public subscript(pfn: UInt64) -> PageState? {
        get {
            if pfn == Self.empty { return lastPfnState }
            let (i, found) = find(pfn)
            return found ? slots[i].state : nil
        }
        set {
            if pfn == Self.empty { lastPfnState = newValue; return }
            let (i, found) = find(pfn)
            if let newValue {
                if found {
                    slots[i].state = newValue
                } else {
                    if distance(pfn, i) > Self.maxProbe {
                        reseedAndGrow()
                        self[pfn] = newValue
                        return
                    }
                    slots[i] = Slot(key: pfn, state: newValue)
                    stored += 1
                    if stored > maxCount { grow() }
                }
            } else if found {
                remove(at: i)
            }
        }
    }

    /// The slot of `pfn`, inserting a fresh `PageState()` if the page is new: a read and a
    /// write of the same page then probe the table once (`subscript(slot:)`). The index is
    /// valid until the next insertion or removal.
    public mutating func slot(for pfn: UInt64) -> Int {
        if pfn == Self.empty {
            if lastPfnState == nil { lastPfnState = PageState() }
            return Self.asideSlot
        }
        let (i, found) = find(pfn)
        if found { return i }
        // Grow first if this insertion would pass the load limit, so the index stays valid.
        if stored + 1 > maxCount {
            grow()
            return slot(for: pfn)
        }
        if distance(pfn, i) > Self.maxProbe {
            reseedAndGrow()
            return slot(for: pfn)
        }
        slots[i] = Slot(key: pfn, state: PageState())
        stored += 1
        return i
    }

    public subscript(slot i: Int) -> PageState {
        get { i == Self.asideSlot ? lastPfnState! : slots[i].state }
        set {
            if i == Self.asideSlot { lastPfnState = newValue } else { slots[i].state = newValue }
        }
    }

    /// Backward-shift deletion: later entries of the run move up so lookups never stop early.
    private mutating func remove(at index: Int) {
        let n = slots.count
        var hole = index
        var j = index
        while true {
            j += 1
            if j == n { j = 0 }
            let key = slots[j].key
            if key == Self.empty { break }
            let h = home(key)
            // Move `j` into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole] = Slot(key: Self.empty, state: PageState())
        stored -= 1
    }

    /// A long probe run: a new seed scatters it, and the growth keeps this from repeating
    /// at the same size.
    private mutating func reseedAndGrow() {
        var rng = SystemRandomNumberGenerator()
        seed = rng.next()
        reseeds += 1
        grow()
    }

    private mutating func grow() {
        let old = slots
        previousCapacity = old.count
        let capacity = old.count + old.count / 2
        slots = Array(repeating: Slot(key: Self.empty, state: PageState()), count: capacity)
        maxCount = capacity / 4 * 3
        let seed = self.seed
        slots.withUnsafeMutableBufferPointer { s in
            for slot in old where slot.key != Self.empty {
                var i = Self.home(slot.key, capacity, seed)
                while s[i].key != Self.empty {
                    i += 1
                    if i == capacity { i = 0 }
                }
                s[i] = slot
            }
        }
    }

    /// Every tracked page, in no particular order.
    public func forEach(_ body: (UInt64, PageState) -> Void) {
        for slot in slots where slot.key != Self.empty { body(slot.key, slot.state) }
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
        let old = Double(t.previousCapacity * slotBytes)
        return (bytes / Double(pages), (bytes + old) / Double(pages))
    }
}
