/// Kernel text conventions that differ per version: page flag names and their table order,
/// pointer printing, and the `%16s-%-Nd` task column.

/// Page flags the simulator keeps. Printed with the names of `show_page_flags()`.
struct SimFlags: OptionSet, Hashable, Sendable {
    let rawValue: UInt16
    static let locked = SimFlags(rawValue: 1 << 0)
    static let referenced = SimFlags(rawValue: 1 << 1)
    static let uptodate = SimFlags(rawValue: 1 << 2)
    static let dirty = SimFlags(rawValue: 1 << 3)
    static let lru = SimFlags(rawValue: 1 << 4)
    static let active = SimFlags(rawValue: 1 << 5)
    /// PG_swapcache, printed as `owner_priv_1` (it aliases PG_owner_priv_1 on swapbacked pages).
    static let swapcache = SimFlags(rawValue: 1 << 6)
    static let writeback = SimFlags(rawValue: 1 << 7)
    static let head = SimFlags(rawValue: 1 << 8)
    static let swapbacked = SimFlags(rawValue: 1 << 9)
    /// PG_anon_exclusive: `owner_2` in v6.18; never set in v5.8/v5.9 (the flag does not exist).
    static let anonExclusive = SimFlags(rawValue: 1 << 10)

    static let bitCount = 11
}

enum FlagNames {
    /// (bit, name) in `show_page_flags()` table order (TraceFormats.md, Page flags).
    static let v5: [(SimFlags, StaticString)] = [
        (.locked, "locked"), (.referenced, "referenced"), (.uptodate, "uptodate"), (.dirty, "dirty"),
        (.lru, "lru"), (.active, "active"), (.swapcache, "owner_priv_1"), (.writeback, "writeback"),
        (.head, "head"), (.swapbacked, "swapbacked"),
    ]
    static let v618: [(SimFlags, StaticString)] = [
        (.locked, "locked"), (.referenced, "referenced"), (.uptodate, "uptodate"), (.dirty, "dirty"),
        (.lru, "lru"), (.active, "active"), (.swapcache, "owner_priv_1"), (.anonExclusive, "owner_2"),
        (.writeback, "writeback"), (.head, "head"), (.swapbacked, "swapbacked"),
    ]
    /// The capture kit's `pgflags=`: kernel names, `swapcache` for owner_priv_1 on swapbacked
    /// pages, and the anon-exclusive bit left out (it has its own field).
    static let capture: [(SimFlags, StaticString)] = [
        (.locked, "locked"), (.referenced, "referenced"), (.uptodate, "uptodate"), (.dirty, "dirty"),
        (.lru, "lru"), (.active, "active"), (.swapcache, "swapcache"), (.writeback, "writeback"),
        (.head, "head"), (.swapbacked, "swapbacked"),
    ]
}

/// Formats flag sets through a per-value cache (a few dozen distinct sets occur).
struct FlagPrinter {
    private var cache: [[UInt8]?]
    private let table: [(SimFlags, StaticString)]

    init(table: [(SimFlags, StaticString)]) {
        self.table = table
        cache = Array(repeating: nil, count: 1 << SimFlags.bitCount)
    }

    mutating func write(_ f: SimFlags, into out: inout LineBuffer) {
        let key = Int(f.rawValue)
        if let b = cache[key] { out.bytes(b); return }
        var s: [UInt8] = []
        for (bit, name) in table where f.contains(bit) {
            if !s.isEmpty { s.append(0x7C) }
            s.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
        if s.isEmpty { s = Array("none".utf8) }
        cache[key] = s
        out.bytes(s)
    }
}

/// `%p` as plain `trace` prints it: hashed to 32 bits and zero-padded (v5.8/v5.9 default), or raw
/// (`nohash-ptr`, trace-cmd). NULL prints as zeros either way (TraceFormats.md, Pointers: hashed or
/// raw).
struct PointerPrinter {
    let raw: Bool
    let key: UInt64

    func write(_ p: UInt64, into out: inout LineBuffer) {
        if raw || p == 0 {
            out.hex(p, minDigits: 16)
        } else {
            var z = p ^ key
            z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
            z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
            z ^= z >> 33
            out.hex(z & 0xFFFF_FFFF, minDigits: 16)
        }
    }
}

/// Kernel addresses the simulator hands out (x86-64 direct map and vmemmap).
enum KernelAddress {
    static let directMap: UInt64 = 0xFFFF_8881_0000_0000
    static let vmemmap: UInt64 = 0xFFFF_EA00_0000_0000

    static func anonVma(_ id: Int) -> UInt64 { directMap + 0x00B0_0000 + UInt64(id) * 0xC0 }
    static func stableNode(_ id: Int) -> UInt64 { directMap + 0x0400_0000 + UInt64(id) * 0x40 }
    static func mm(_ id: Int) -> UInt64 { directMap + 0x0300_0000 + UInt64(id) * 0x400 }
    static func rmapItem(_ id: Int) -> UInt64 { directMap + 0x0500_0000 + UInt64(id) * 0x40 }
    static func structPage(pfn: UInt64) -> UInt64 { vmemmap + pfn &* 64 }
}
