/// Typed events. Only the families the checker uses are decoded; the payload of every other
/// event stays an undecoded byte range.

public enum PageRefOp: UInt8, CaseIterable, Sendable {
    case set, mod, modAndTest, modAndReturn, modUnless, freeze, unfreeze

    public var eventName: String {
        switch self {
        case .set: "page_ref_set"
        case .mod: "page_ref_mod"
        case .modAndTest: "page_ref_mod_and_test"
        case .modAndReturn: "page_ref_mod_and_return"
        case .modUnless: "page_ref_mod_unless"
        case .freeze: "page_ref_freeze"
        case .unfreeze: "page_ref_unfreeze"
        }
    }
}

public enum KsmEventKind: UInt8, CaseIterable, Sendable {
    case startScan, stopScan, enter, exit, mergeOnePage, mergeWithKsmPage, removeKsmPage
    case removeRmapItem, advisor

    public var eventName: String {
        switch self {
        case .startScan: "ksm_start_scan"
        case .stopScan: "ksm_stop_scan"
        case .enter: "ksm_enter"
        case .exit: "ksm_exit"
        case .mergeOnePage: "ksm_merge_one_page"
        case .mergeWithKsmPage: "ksm_merge_with_ksm_page"
        case .removeKsmPage: "ksm_remove_ksm_page"
        case .removeRmapItem: "ksm_remove_rmap_item"
        case .advisor: "ksm_advisor"
        }
    }
}

/// What an event line's name says it is.
public enum EventName: Equatable, Sendable {
    case pageRef(PageRefOp)
    case ksm(KsmEventKind)
    case wpPage
    case processFork
    case marker
    case other

    public static func classify(_ b: UnsafeRawBufferPointer, _ r: ByteRange) -> EventName {
        let n = r.count
        guard n >= 7 else { return .other }
        switch b.bytes[r.start] {
        case 0x70 where b.matches("page_ref_", at: r.start, end: r.end): // 'p'
            switch n {
            case 12 where b.equals(r, "page_ref_set"): return .pageRef(.set)
            case 12 where b.equals(r, "page_ref_mod"): return .pageRef(.mod)
            case 21 where b.equals(r, "page_ref_mod_and_test"): return .pageRef(.modAndTest)
            case 23 where b.equals(r, "page_ref_mod_and_return"): return .pageRef(.modAndReturn)
            case 19 where b.equals(r, "page_ref_mod_unless"): return .pageRef(.modUnless)
            case 15 where b.equals(r, "page_ref_freeze"): return .pageRef(.freeze)
            case 17 where b.equals(r, "page_ref_unfreeze"): return .pageRef(.unfreeze)
            default: return .other
            }
        case 0x6B where b.matches("ksm_", at: r.start, end: r.end): // 'k'
            // Every ksm event name has its own length.
            switch n {
            case 14 where b.equals(r, "ksm_start_scan"): return .ksm(.startScan)
            case 13 where b.equals(r, "ksm_stop_scan"): return .ksm(.stopScan)
            case 9 where b.equals(r, "ksm_enter"): return .ksm(.enter)
            case 8 where b.equals(r, "ksm_exit"): return .ksm(.exit)
            case 18 where b.equals(r, "ksm_merge_one_page"): return .ksm(.mergeOnePage)
            case 23 where b.equals(r, "ksm_merge_with_ksm_page"): return .ksm(.mergeWithKsmPage)
            case 19 where b.equals(r, "ksm_remove_ksm_page"): return .ksm(.removeKsmPage)
            case 20 where b.equals(r, "ksm_remove_rmap_item"): return .ksm(.removeRmapItem)
            case 11 where b.equals(r, "ksm_advisor"): return .ksm(.advisor)
            default: return .other
            }
        case 0x77 where n == 7 && b.equals(r, "wp_page"): return .wpPage
        case 0x73 where n == 18 && b.equals(r, "sched_process_fork"): return .processFork
        case 0x74 where n == 18 && b.equals(r, "tracing_mark_write"): return .marker
        default: return .other
        }
    }
}

/// Page flags the checker reads, as a bit set decoded from `show_page_flags()` names or from
/// cowtrace's `pgflags=`.
public struct PageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let locked = PageFlags(rawValue: 1 << 0)
    public static let lru = PageFlags(rawValue: 1 << 1)
    public static let dirty = PageFlags(rawValue: 1 << 2)
    public static let writeback = PageFlags(rawValue: 1 << 3)
    public static let head = PageFlags(rawValue: 1 << 4)
    public static let swapbacked = PageFlags(rawValue: 1 << 5)
    /// `owner_priv_1`: PG_swapcache when swapbacked.
    public static let ownerPriv1 = PageFlags(rawValue: 1 << 6)
    /// `mappedtodisk`: PG_anon_exclusive on anon pages in v5.19–v6.6.
    public static let mappedToDisk = PageFlags(rawValue: 1 << 7)
    /// `owner_2`: PG_anon_exclusive on anon pages in v6.18.
    public static let owner2 = PageFlags(rawValue: 1 << 8)
    /// cowtrace's explicit `swapcache` name.
    public static let swapcacheName = PageFlags(rawValue: 1 << 9)
    /// PG_reserved: the zero page and other kernel pages; never an anonymous page.
    public static let reserved = PageFlags(rawValue: 1 << 10)

    public var swapcache: Bool {
        contains(.swapcacheName) || (contains(.swapbacked) && contains(.ownerPriv1))
    }

    /// `parse`, remembered: a capture repeats a handful of flag strings millions of times.
    @inline(__always)
    static func parse(_ b: UnsafeRawBufferPointer, _ r: ByteRange, cache: FlagsCache?) -> PageFlags {
        guard let cache else { return parse(b, r) }
        return cache.flags(b, r)
    }

    @inline(__always)
    static func parse(_ b: UnsafeRawBufferPointer, _ r: ByteRange) -> PageFlags {
        @inline(__always) func same(_ a: UnsafeRawPointer, _ literal: StaticString) -> Bool {
            bytesEqual(a, UnsafeRawPointer(literal.utf8Start), literal.utf8CodeUnitCount)
        }
        var f = PageFlags()
        guard r.start < r.end else { return f }
        let p = b.bytes
        var i = r.start
        while i < r.end {
            var j = i
            while j < r.end, p[j] != 0x7C { j += 1 } // '|'
            let name = UnsafeRawPointer(p + i)
            // Dispatch on the length, then on the first byte; compare words, not bytes.
            switch (j - i, p[i]) {
            case (3, 0x6C) where same(name, "lru"): f.insert(.lru)
            case (4, 0x68) where same(name, "head"): f.insert(.head)
            case (5, 0x64) where same(name, "dirty"): f.insert(.dirty)
            case (6, 0x6C) where same(name, "locked"): f.insert(.locked)
            case (7, 0x6F) where same(name, "owner_2"): f.insert(.owner2)
            case (8, 0x72) where same(name, "reserved"): f.insert(.reserved)
            case (9, 0x77) where same(name, "writeback"): f.insert(.writeback)
            case (9, 0x73) where same(name, "swapcache"): f.insert(.swapcacheName)
            case (10, 0x73) where same(name, "swapbacked"): f.insert(.swapbacked)
            case (12, 0x6F) where same(name, "owner_priv_1"): f.insert(.ownerPriv1)
            case (12, 0x6D) where same(name, "mappedtodisk"): f.insert(.mappedToDisk)
            default: break
            }
            i = j + 1
        }
        return f
    }
}

/// Flag strings already decoded, with their `PageFlags`: 16 slots, direct-mapped by a hash
/// of the length and the first and last eight bytes, each checked against the full string.
public final class FlagsCache {
    private static let slots = 16
    private static let maxLength = 64
    private struct Slot {
        var count = -1
        var flags = PageFlags()
    }

    private let meta: UnsafeMutablePointer<Slot>
    private let text: UnsafeMutableRawPointer

    public init() {
        meta = .allocate(capacity: Self.slots)
        meta.initialize(repeating: Slot(), count: Self.slots)
        text = .allocate(byteCount: Self.slots * Self.maxLength, alignment: 8)
    }

    deinit {
        meta.deinitialize(count: Self.slots)
        meta.deallocate()
        text.deallocate()
    }

    /// `n` (8…64) bytes equal: always eight word compares (the last ones overlap), no early
    /// exit, so the loop's length never depends on the data (no mispredicted exit).
    @inline(__always)
    static func sameText(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        var diff: UInt64 = 0
        for k in 0..<8 {
            let off = min(k &* 8, n &- 8)
            diff |= a.loadUnaligned(fromByteOffset: off, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: off, as: UInt64.self)
        }
        return diff == 0
    }

    @inline(__always)
    func flags(_ b: UnsafeRawBufferPointer, _ r: ByteRange) -> PageFlags {
        let n = r.count
        guard n >= 8, n <= Self.maxLength else { return PageFlags.parse(b, r) }
        let start = UnsafeRawPointer(b.bytes + r.start)
        let first = start.loadUnaligned(as: UInt64.self)
        let last = start.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        var h = (first ^ (last &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(n)) &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 29
        let i = Int(truncatingIfNeeded: h) & (Self.slots - 1)
        let slotText = text + i * Self.maxLength
        if meta[i].count == n, Self.sameText(slotText, start, n) { return meta[i].flags }
        let f = PageFlags.parse(b, r)
        slotText.copyMemory(from: start, byteCount: n)
        meta[i] = Slot(count: n, flags: f)
        return f
    }
}

/// A `mapping=%p` value: raw when the text shows a real pointer, possibly hashed otherwise
/// (TraceFormats.md, Pointers: hashed or raw; the pointer mode is decided once per capture).
public struct MappingValue: Sendable, Equatable {
    public var value: UInt64
    /// The text itself proves the value is raw (`0x…` as trace-cmd prints, `(nil)`, or a kernel
    /// address: `ffff…` with 4-level paging, `ff11…` with 5-level). A hashed `%p` keeps only 32
    /// bits, so its top byte is always 0.
    public var provablyRaw: Bool

    static func parse(_ b: UnsafeRawBufferPointer, _ r: ByteRange) -> MappingValue? {
        if b.equals(r, "(nil)") { return MappingValue(value: 0, provablyRaw: true) }
        guard let v = b.hex(r) else { return nil }
        let prefixed = r.count > 2 && b[r.start + 1] == 0x78
        return MappingValue(value: v, provablyRaw: prefixed || v >> 56 == 0xFF)
    }
}

public struct PageRefEvent: Sendable, Equatable {
    public var op: PageRefOp
    public var pfn: UInt64
    public var flags: PageFlags
    public var count: Int32
    /// As printed: `page_mapcount()` up to v6.6, the raw `_mapcount` in v6.18.
    public var printedMapcount: Int32
    public var mapping: MappingValue?
    public var val: Int32
    public var ret: Int32?

    /// Decodes `pfn=0x… flags=… count=… mapcount=… mapping=… mt=… val=…[ ret=…]`.
    ///
    /// Keys may come in any order, unknown keys are ignored, a repeated key counts once more
    /// (the last one wins). The kernel always prints the same keys in the same order, so that
    /// shape is decoded in one pass (`parseCanonical`); anything else takes the general walk,
    /// which gives the same result for the canonical shape.
    ///
    /// `flagsCache` remembers decoded `flags=` strings (the caller owns it; results are the same
    /// with or without it).
    @inline(__always)
    public static func parse(
        _ op: PageRefOp, _ b: UnsafeRawBufferPointer, _ payload: ByteRange, flagsCache: FlagsCache? = nil
    ) -> PageRefEvent? {
        if let e = parseCanonical(op, b, payload, flagsCache) { return e }
        return parseAnyOrder(op, b, payload)
    }

    /// The general walk over `key=value` tokens.
    static func parseAnyOrder(_ op: PageRefOp, _ b: UnsafeRawBufferPointer, _ payload: ByteRange) -> PageRefEvent? {
        var pfn: UInt64?, count: Int64?, mapcount: Int64?, val: Int64?, ret: Int64?
        var flags = PageFlags()
        var mapping: MappingValue?
        var s = KeyValueScanner(b, payload)
        while let (k, v) = s.next() {
            switch k.count {
            case 3 where b.equals(k, "pfn"): pfn = b.hex(v)
            case 3 where b.equals(k, "val"): val = b.decimal(v)
            case 3 where b.equals(k, "ret"): ret = b.decimal(v)
            case 5 where b.equals(k, "flags"): flags = PageFlags.parse(b, v)
            case 5 where b.equals(k, "count"): count = b.decimal(v)
            case 7 where b.equals(k, "mapping"): mapping = MappingValue.parse(b, v)
            case 8 where b.equals(k, "mapcount"): mapcount = b.decimal(v)
            default: break
            }
        }
        return make(op, pfn: pfn, flags: flags, count: count, mapcount: mapcount, mapping: mapping, val: val, ret: ret)
    }

    /// Why `parse` refused a payload: `.valueOutOfRange` when every number is there but one
    /// does not fit the kernel's field (a negative or 32-bit-overflowing count, a 19-digit
    /// value), else `.malformedPayload`. Only called for a refused line.
    public static func rejection(_ op: PageRefOp, _ b: UnsafeRawBufferPointer, _ payload: ByteRange) -> ParseIssue {
        var s = KeyValueScanner(b, payload)
        while let (k, v) = s.next() {
            let numeric = b.equals(k, "count") || b.equals(k, "mapcount") || b.equals(k, "val") || b.equals(k, "ret")
            if numeric, b.isOutOfRangeNumber(v, min: numericRange(k, b).lowerBound, max: numericRange(k, b).upperBound) {
                return .valueOutOfRange
            }
        }
        return .malformedPayload
    }

    private static func numericRange(_ k: ByteRange, _ b: UnsafeRawBufferPointer) -> ClosedRange<Int64> {
        b.equals(k, "count") ? 0...Int64(Int32.max) : Int64(Int32.min)...Int64(Int32.max)
    }

    @inline(__always)
    private static func make(
        _ op: PageRefOp, pfn: UInt64?, flags: PageFlags, count: Int64?, mapcount: Int64?,
        mapping: MappingValue?, val: Int64?, ret: Int64?
    ) -> PageRefEvent? {
        guard let pfn, let count, let mapcount, let val else { return nil }
        let needsRet = op == .modAndTest || op == .modAndReturn || op == .modUnless || op == .freeze
        if needsRet && ret == nil { return nil }
        // The kernel prints 32-bit values here, and a refcount is never negative: anything
        // else is damage, and a cut-down value could pass for a real count.
        guard count >= 0, count <= Int64(Int32.max), Int64(Int32.min) <= mapcount, mapcount <= Int64(Int32.max),
              Int64(Int32.min) <= val, val <= Int64(Int32.max),
              ret.map({ Int64(Int32.min) <= $0 && $0 <= Int64(Int32.max) }) ?? true else { return nil }
        return PageRefEvent(
            op: op, pfn: pfn, flags: flags, count: Int32(truncatingIfNeeded: count),
            printedMapcount: Int32(truncatingIfNeeded: mapcount), mapping: mapping,
            val: Int32(truncatingIfNeeded: val), ret: ret.map { Int32(truncatingIfNeeded: $0) })
    }

    /// Exactly `pfn=V flags=V count=V mapcount=V mapping=V mt=V val=V[ ret=V]`, one space
    /// between tokens, every number well formed: the kernel's own output. Nil for anything
    /// else (the general walk then decides), so it never disagrees with `parseAnyOrder`.
    @inline(__always)
    static func parseCanonical(
        _ op: PageRefOp, _ b: UnsafeRawBufferPointer, _ payload: ByteRange, _ flagsCache: FlagsCache? = nil
    ) -> PageRefEvent? {
        let end = payload.end
        var i = payload.start
        guard end - i >= 48 else { return nil }
        let p = b.bytes
        /// The token value starting at `i`: up to the next space or the end.
        @inline(__always) func value() -> ByteRange {
            let e = findByte(asciiSpace, p, from: i, to: end)
            defer { i = e }
            return ByteRange(i, e)
        }
        /// `literal` at `i` (a key with its `=`, after the separating space).
        @inline(__always) func key(_ literal: StaticString) -> Bool {
            guard b.matches(literal, at: i, end: end) else { return false }
            i += literal.utf8CodeUnitCount
            return true
        }
        /// A whole token that is a decimal number (`decimal(value())`, read in one pass): an
        /// optional sign, 1…18 digits, then a space or the end. Nil otherwise.
        @inline(__always) func number() -> Int64? {
            var j = i
            guard j < end else { return nil }
            let negative = p[j] == 0x2D
            if negative || p[j] == 0x2B { j += 1 }
            let first = j
            var v: Int64 = 0
            while j < end {
                let d = p[j] &- 0x30
                if d >= 10 { break }
                v = v &* 10 &+ Int64(d)
                j += 1
            }
            guard j > first, j - first <= 18, j == end || p[j] == asciiSpace else { return nil }
            i = j
            return negative ? -v : v
        }
        guard key("pfn="), let pfn = b.hex(value()) else { return nil }
        guard key(" flags=") else { return nil }
        let flags = PageFlags.parse(b, value(), cache: flagsCache)
        guard key(" count="), let count = number() else { return nil }
        guard key(" mapcount="), let mapcount = number() else { return nil }
        guard key(" mapping=") else { return nil }
        let mapping = MappingValue.parse(b, value())
        guard key(" mt=") else { return nil }
        _ = value()
        guard key(" val="), let val = number() else { return nil }
        var ret: Int64?
        if i < end {
            guard key(" ret="), let r = number() else { return nil }
            ret = r
        }
        guard i == end else { return nil }
        return make(op, pfn: pfn, flags: flags, count: count, mapcount: mapcount, mapping: mapping, val: val, ret: ret)
    }
}

public struct KsmEvent: Sendable, Equatable {
    public var kind: KsmEventKind
    /// Decimal in the text (`%lu`), unlike page_ref's hex. Nil for events without a pfn.
    public var pfn: UInt64?
    /// `ksm_merge_with_ksm_page`: the `ksm ` prefix says a KSM page was given.
    public var ksmPrefix: Bool
    public var error: Int32?

    /// `[ksm ]pfn N …[ error E]`; events without a pfn (scan, enter/exit, advisor) decode too.
    public static func parse(_ kind: KsmEventKind, _ b: UnsafeRawBufferPointer, _ payload: ByteRange) -> KsmEvent? {
        var e = KsmEvent(kind: kind, pfn: nil, ksmPrefix: false, error: nil)
        switch kind {
        case .startScan, .stopScan, .enter, .exit, .advisor:
            return e
        default:
            break
        }
        var i = payload.start
        if b.matches("ksm ", at: i, end: payload.end) { e.ksmPrefix = true; i += 4 }
        guard b.matches("pfn ", at: i, end: payload.end) else { return nil }
        i += 4
        var j = i
        while j < payload.end, isDigit(b[j]) { j += 1 }
        guard let pfn = b.decimal(ByteRange(i, j)), pfn >= 0 else { return nil }
        e.pfn = UInt64(pfn)
        // " error E" ends the merge events.
        var k = payload.end
        while k > j, b[k - 1] != asciiSpace { k -= 1 }
        if k > j + 6, b.matches(" error ", at: k - 7, end: payload.end) {
            e.error = b.decimal(ByteRange(k, payload.end)).flatMap { Int32(exactly: $0) }
        }
        if kind == .mergeOnePage || kind == .mergeWithKsmPage, e.error == nil { return nil }
        return e
    }
}

/// The observed outcome of a write fault as the capture words it.
public enum ObservedDecision: Equatable, Sendable {
    case reuse, copy
    /// `unresolved`, `unmapped`, `fallback`, or any other word: kept verbatim, never compared.
    case other(String)

    public var word: String {
        switch self {
        case .reuse: "reuse"
        case .copy: "copy"
        case .other(let w): w
        }
    }
}

/// A `wp_page:` line (WpPageLine.md, Fields of the 6.18 capture): `pfn` and `decision` are
/// required; every other key is optional and unknown keys are ignored.
public struct WpPageEvent: Sendable, Equatable {
    public var pfn: UInt64
    public var decision: ObservedDecision
    public var tgid: Int32?
    public var addr: UInt64?
    /// `pte`, `pmd`, …
    public var level: String?
    public var refcount: Int?
    /// `page_mapcount()` (+1 applied, plus the entire mapcount of a large folio).
    public var mapcount: Int?
    public var mapcountRaw: Int?
    public var folioMapcount: Int?
    public var order: Int?
    public var entireMapcount: Int?
    public var pincount: Int?
    public var pgflags: PageFlags?
    public var mapping: MappingValue?
    public var anon: Bool?
    public var ksm: Bool?
    public var swapcache: Bool?
    public var locked: Bool?
    public var writeback: Bool?
    public var lru: Bool?
    public var large: Bool?
    public var anonExclusive: Bool?
    public var zero: Bool?
    public var mmShared: Bool?
    public var swapcount: Int?
    public var caller: String?
    public var faultFlags: UInt64?
    /// Set by `parse` when it refused the line for a number out of range (a negative count,
    /// a value past 32 bits), not for a missing field.
    public var hasOutOfRangeValue = false
    /// Large folios in the swap cache: the swap-map counts summed over every page of the folio.
    public var folioSwapcount: Int?
    /// v5.8's page_trans_huge_mapcount(): the largest subpage mapcount plus the entire mapcount.
    public var subpageMapcountMax: Int?
    /// v5.8's page_trans_huge_map_swapcount(): the largest subpage mapcount + swapcount.
    public var thpMapSwapcount: Int?
    /// Nanoseconds from the line's timestamp (fault entry) to where the outcome was read.
    public var dtNs: Int64?
    /// What `dtNs` spans: `service` (do_wp_page entry to return) or `next_entry`.
    public var dtKind: String?
    /// The old page re-read when the outcome was read (`old_*_after`).
    public var oldRefcountAfter: Int?
    public var oldMapcountAfter: Int?
    public var oldSwapcacheAfter: Bool?
    public var oldAnonExclusiveAfter: Bool?
    /// PageAnonExclusive of the page a copy mapped (`new_anon_exclusive`).
    public var newAnonExclusive: Bool?
    public var oldPgflagsAfter: PageFlags?
    /// `old_flags_after`: the raw PG_* word (kernel-specific bit numbers; kept, not decoded).
    public var oldFlagsAfter: UInt64?

    /// The write fault swapped the page in first and then went through do_wp_page
    /// (`caller=do_swap_page`); any other caller word is the present-PTE path.
    public var isSwapInFault: Bool { caller == "do_swap_page" }

    /// Some page of the line carries PG_anon_exclusive set: the kernel has the flag (v5.19+).
    public var showsAnonExclusiveSet: Bool {
        anonExclusive == true || oldAnonExclusiveAfter == true || newAnonExclusive == true
    }

    public init(pfn: UInt64, decision: ObservedDecision) {
        self.pfn = pfn; self.decision = decision
    }

    /// The pfn of the folio's head page (refcount events carry it), from the printed order.
    /// Orders outside what a folio can have are ignored rather than trusted.
    public var headPfn: UInt64 {
        guard let order, order > 0, order < 32 else { return pfn }
        return pfn & ~((UInt64(1) << order) - 1)
    }

    /// Pages in the folio, when the order is printed and plausible.
    public var folioPages: Int? {
        guard let order, order >= 0, order < 32 else { return nil }
        return 1 << order
    }

    public static func parse(_ b: UnsafeRawBufferPointer, _ payload: ByteRange) -> WpPageEvent? {
        var e = WpPageEvent(pfn: 0, decision: .copy)
        return parse(b, payload, into: &e) ? e : nil
    }

    /// `parse` into a fresh `WpPageEvent(pfn: 0, decision: .copy)` the caller owns: the event is
    /// large, and the hot path keeps it in place instead of copying an optional around.
    static func parse(_ b: UnsafeRawBufferPointer, _ payload: ByteRange, into e: inout WpPageEvent) -> Bool {
        var pfn: UInt64?
        var decision: ObservedDecision?
        var s = KeyValueScanner(b, payload)
        var outOfRange = false
        /// A count or size: 0…Int32.max, as the kernel's fields hold (a value past that is
        /// damage, and a wrapped one could pass for evidence).
        func int(_ v: ByteRange) -> Int? { ranged(v, 0...Int64(Int32.max)) }
        /// A raw `_mapcount`: -1 for an unmapped page.
        func signedInt(_ v: ByteRange) -> Int? { ranged(v, -1...Int64(Int32.max)) }
        func ranged(_ v: ByteRange, _ range: ClosedRange<Int64>) -> Int? {
            if let x = b.decimal(v), range.contains(x) { return Int(x) }
            if b.isOutOfRangeNumber(v, min: range.lowerBound, max: range.upperBound) { outOfRange = true }
            return nil
        }
        while let (k, v) = s.next() {
            // `new_*` keys describe the new page and are not read; `old_*_after` keys are the old
            // page re-read when the outcome was read (they show a snapshot that went stale).
            // One jump on the key's length, then its first byte, then the exact word.
            let c = b.bytes[k.start]
            switch k.count {
            case 3:
                if c == 0x70, b.equals(k, "pfn") { pfn = b.hex(v) }
                else if c == 0x6B, b.equals(k, "ksm") { e.ksm = b.flag(v) }
                else if c == 0x6C, b.equals(k, "lru") { e.lru = b.flag(v) }
                else if c == 0x6C, b.equals(k, "lvl") { e.level = b.string(v) }
            case 4:
                if c == 0x74, b.equals(k, "tgid") { e.tgid = int(v).map { Int32($0) } }
                else if c == 0x61, b.equals(k, "addr") { e.addr = b.hex(v) }
                else if c == 0x61, b.equals(k, "anon") { e.anon = b.flag(v) }
                else if c == 0x7A, b.equals(k, "zero") { e.zero = b.flag(v) }
            case 5:
                if c == 0x6F, b.equals(k, "order") { e.order = int(v) }
                else if c == 0x6C, b.equals(k, "large") { e.large = b.flag(v) }
                else if c == 0x64, b.equals(k, "dt_ns") { e.dtNs = b.decimal(v) }
            case 6:
                if c == 0x6C, b.equals(k, "locked") { e.locked = b.flag(v) }
                else if c == 0x63, b.equals(k, "caller") { e.caller = b.string(v) }
            case 7:
                if c == 0x70, b.equals(k, "pgflags") { e.pgflags = PageFlags.parse(b, v) }
                else if c == 0x6D, b.equals(k, "mapping") { e.mapping = MappingValue.parse(b, v) }
                else if c == 0x64, b.equals(k, "dt_kind") { e.dtKind = b.string(v) }
            case 8:
                switch c {
                case 0x72 where b.equals(k, "refcount"): e.refcount = int(v)
                case 0x6D where b.equals(k, "mapcount"): e.mapcount = int(v)
                case 0x64 where b.equals(k, "decision"):
                    if b.equals(v, "reuse") { decision = .reuse } else if b.equals(v, "copy") { decision = .copy } else if !v.isEmpty { decision = .other(b.string(v)) }
                case 0x70 where b.equals(k, "pincount"): e.pincount = int(v)
                default: break
                }
            case 9:
                if c == 0x73, b.equals(k, "swapcache") { e.swapcache = b.flag(v) }
                else if c == 0x77, b.equals(k, "writeback") { e.writeback = b.flag(v) }
                else if c == 0x6D, b.equals(k, "mm_shared") { e.mmShared = b.flag(v) }
                else if c == 0x73, b.equals(k, "swapcount") { e.swapcount = int(v) }
            case 11:
                if c == 0x66, b.equals(k, "fault_flags") { e.faultFlags = b.hex(v) }
            case 12:
                if c == 0x6D, b.equals(k, "mapcount_raw") { e.mapcountRaw = signedInt(v) }
            case 14:
                if c == 0x66, b.equals(k, "folio_mapcount") { e.folioMapcount = int(v) }
                else if c == 0x61, b.equals(k, "anon_exclusive") { e.anonExclusive = b.flag(v) }
            case 15:
                if c == 0x65, b.equals(k, "entire_mapcount") { e.entireMapcount = int(v) }
                else if c == 0x66, b.equals(k, "folio_swapcount") { e.folioSwapcount = int(v) }
                else if c == 0x6F, b.equals(k, "old_flags_after") { e.oldFlagsAfter = b.hex(v) }
            case 17:
                if c == 0x74, b.equals(k, "thp_map_swapcount") { e.thpMapSwapcount = int(v) }
                else if c == 0x6F, b.equals(k, "old_pgflags_after") { e.oldPgflagsAfter = PageFlags.parse(b, v) }
            case 18:
                if c == 0x6F, b.equals(k, "old_refcount_after") { e.oldRefcountAfter = int(v) }
                else if c == 0x6F, b.equals(k, "old_mapcount_after") { e.oldMapcountAfter = int(v) }
                else if c == 0x6E, b.equals(k, "new_anon_exclusive") { e.newAnonExclusive = b.flag(v) }
            case 19:
                if c == 0x6F, b.equals(k, "old_swapcache_after") { e.oldSwapcacheAfter = b.flag(v) }
            case 20:
                if c == 0x73, b.equals(k, "subpage_mapcount_max") { e.subpageMapcountMax = int(v) }
            case 24:
                if c == 0x6F, b.equals(k, "old_anon_exclusive_after") { e.oldAnonExclusiveAfter = b.flag(v) }
            default:
                break
            }
        }
        e.hasOutOfRangeValue = outOfRange
        guard let pfn, let decision, !outOfRange else { return false }
        e.pfn = pfn
        e.decision = decision
        return true
    }
}

/// `sched_process_fork: comm=… pid=P child_comm=… child_pid=C`.
public struct ForkEvent: Sendable, Equatable {
    public var parentPid: Int32
    public var childPid: Int32

    public static func parse(_ b: UnsafeRawBufferPointer, _ payload: ByteRange) -> ForkEvent? {
        var parent: Int64?, child: Int64?
        var s = KeyValueScanner(b, payload)
        while let (k, v) = s.next() {
            if b.equals(k, "pid") { parent = b.decimal(v) } else if b.equals(k, "child_pid") { child = b.decimal(v) }
        }
        guard let parent = parent.flatMap({ Int32(exactly: $0) }), let child = child.flatMap({ Int32(exactly: $0) }),
              parent >= 0, child >= 0 else { return nil }
        return ForkEvent(parentPid: parent, childPid: child)
    }
}
