/// Byte-level helpers for the per-line hot path: no `String`, no Foundation, no regex.
/// Everything works on a line's bytes as an `UnsafeRawBufferPointer` and integer offsets.
///
/// The loops read through raw pointers, compare literals a machine word at a time, and find
/// delimiters eight bytes at a time (SWAR) where fields are long. No read ever goes outside
/// the line: word loads are taken only where all eight bytes lie inside the range examined.

@usableFromInline let asciiSpace: UInt8 = 0x20
@usableFromInline let asciiTab: UInt8 = 0x09

@inlinable func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

/// The value of a hex digit, or a value above 15.
@inline(__always) func hexDigit(_ c: UInt8) -> UInt8 {
    let d = c &- 0x30
    if d < 10 { return d }
    let l = (c | 0x20) &- 0x61
    return l < 6 ? l &+ 10 : 0xFF
}

/// For each ASCII byte: `0x60 | value` for a hex digit, `0x70` ("p") for anything else.
@usableFromInline let hexTable: StaticString =
    "pppppppppppppppppppppppppppppppppppppppppppppppp`abcdefghipppppppjklmnoppppppppppppppppppppppppppjklmnoppppppppppppppppppppppppp"

/// Eight ASCII hex digits in a word (the first digit in the lowest byte) → their value, or
/// nil if any byte is not a hex digit. Every step stays inside its byte.
@inline(__always) func hex8(_ w: UInt64) -> UInt64? {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    // Value of each byte as a digit: low nibble, plus 9 for letters (bit 6 set).
    let nib = (w & (0x0F &* ones)) &+ ((w >> 6) & ones) &* 9
    // Re-encode (lowercase) and compare: only real hex digits survive the round trip.
    let above9 = ((nib &+ 0x76 &* ones) & high) >> 7
    let encoded = nib &+ 0x30 &* ones &+ above9 &* 0x27
    let folded = w | ((w & (0x40 &* ones)) >> 1)
    if (w | (nib &+ 0x70 &* ones)) & high != 0 || folded != encoded { return nil }
    var x = nib
    x = ((x << 4) | (x >> 8)) & 0x00FF_00FF_00FF_00FF
    x = ((x << 8) | (x >> 16)) & 0x0000_FFFF_0000_FFFF
    x = ((x << 16) | (x >> 32)) & 0xFFFF_FFFF
    return x
}

/// `n` bytes at `a` equal `n` bytes at `b`; compared a word at a time.
@inline(__always) func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    if n >= 8 {
        var k = 0
        while k + 8 <= n {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
                return false
            }
            k += 8
        }
        return k == n
            || a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
    }
    if n >= 4 {
        return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
            && a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
    }
    var k = 0
    while k < n {
        if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
        k += 1
    }
    return true
}

/// The index of the first `byte` in `p[i..<end]`, or `end`. Eight bytes per step.
@inline(__always) func findByte(_ byte: UInt8, _ p: UnsafePointer<UInt8>, from i: Int, to end: Int) -> Int {
    var i = i
    let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
    while i + 8 <= end {
        let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) ^ pattern
        let t = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
        if t != 0 { return i + (t.trailingZeroBitCount >> 3) }
        i += 8
    }
    while i < end, p[i] != byte { i += 1 }
    return i
}

/// The index of the first `a` or `b` in `p[i..<end]`, or `end`. Eight bytes per step.
@inline(__always) func findEither(_ a: UInt8, _ b: UInt8, _ p: UnsafePointer<UInt8>, from i: Int, to end: Int) -> Int {
    var i = i
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    let pa = UInt64(a) &* ones, pb = UInt64(b) &* ones
    while i + 8 <= end {
        let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        let xa = w ^ pa, xb = w ^ pb
        // The lowest flagged byte is the first exact match of either (a false flag can only
        // sit above a true one).
        let t = (((xa &- ones) & ~xa) | ((xb &- ones) & ~xb)) & high
        if t != 0 { return i + (t.trailingZeroBitCount >> 3) }
        i += 8
    }
    while i < end, p[i] != a, p[i] != b { i += 1 }
    return i
}

/// A half-open byte range within one line.
public struct ByteRange: Sendable, Equatable {
    public var start: Int
    public var end: Int
    @inlinable public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
    @inlinable public var isEmpty: Bool { start >= end }
    @inlinable public var count: Int { end - start }
    public static let empty = ByteRange(0, 0)
}

extension UnsafeRawBufferPointer {
    /// The bytes as `UInt8`s; only for a buffer with at least one byte.
    @inline(__always) var bytes: UnsafePointer<UInt8> {
        baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always) func skipSpaces(from i: Int, to end: Int) -> Int {
        guard i < end else { return i }
        let p = bytes
        var i = i
        while i < end, p[i] == asciiSpace || p[i] == asciiTab { i += 1 }
        return i
    }

    /// True if the bytes at `i` spell `literal`.
    @inline(__always) func matches(_ literal: StaticString, at i: Int, end: Int) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard i >= 0, i + n <= end else { return false }
        if n == 0 { return true }
        return bytesEqual(UnsafeRawPointer(bytes + i), UnsafeRawPointer(literal.utf8Start), n)
    }

    @inline(__always) func equals(_ r: ByteRange, _ literal: StaticString) -> Bool {
        r.count == literal.utf8CodeUnitCount && matches(literal, at: r.start, end: r.end)
    }

    /// Parses an optionally signed decimal integer filling the whole range.
    @inline(__always) func decimal(_ r: ByteRange) -> Int64? {
        var i = r.start
        guard i < r.end else { return nil }
        let p = bytes
        var negative = false
        if p[i] == 0x2D { negative = true; i += 1 } else if p[i] == 0x2B { i += 1 }
        guard i < r.end, r.end - i <= 18 else { return nil }
        var v: Int64 = 0
        while i < r.end {
            let d = p[i] &- 0x30
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int64(d)
            i += 1
        }
        return negative ? -v : v
    }

    /// True when the range holds an optionally signed decimal integer (any number of digits)
    /// outside `min...max`: a number, but not one the field can hold. Cold path only.
    func isOutOfRangeNumber(_ r: ByteRange, min: Int64, max: Int64) -> Bool {
        var i = r.start
        guard i < r.end else { return false }
        let negative = self[i] == 0x2D
        if negative || self[i] == 0x2B { i += 1 }
        guard i < r.end else { return false }
        for k in i..<r.end where !isDigit(self[k]) { return false }
        guard let v = decimal(r) else { return true } // more digits than an Int64 holds
        return v < min || v > max
    }

    /// Parses hex with an optional `0x` prefix filling the whole range.
    @inline(__always) func hex(_ r: ByteRange) -> UInt64? {
        var i = r.start
        guard r.count > 0 else { return nil }
        let p = bytes
        if r.count > 2, p[i] == 0x30, p[i + 1] == 0x78 || p[i + 1] == 0x58 { i += 2 }
        guard i < r.end, r.end - i <= 16 else { return nil }
        // Table-driven and branch-free: hex letters and decimal digits mix at random in
        // pointers, so a per-digit branch would mispredict.
        // Leading digits one at a time, then eight per step (`hex8`).
        let table = hexTable.utf8Start
        var v: UInt64 = 0
        var bad: UInt8 = 0
        let lead = i + (r.end - i) % 8
        while i < lead {
            let c = p[i]
            let t = table[Int(c & 0x7F)]
            bad |= (t & 0x10) | (c & 0x80)
            v = v << 4 | UInt64(t & 0x0F)
            i += 1
        }
        while i < r.end {
            guard let word = hex8(UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))) else {
                return nil
            }
            v = v << 32 | word
            i += 8
        }
        return bad == 0 ? v : nil
    }

    /// `0/1` flag fields.
    @inline(__always) func flag(_ r: ByteRange) -> Bool? {
        guard r.count == 1 else { return nil }
        switch bytes[r.start] {
        case 0x30: return false
        case 0x31: return true
        default: return nil
        }
    }

    func string(_ r: ByteRange) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: self[r.start..<r.end]), as: UTF8.self)
    }
}

/// Walks `key=value` pairs separated by spaces (the payload of page_ref and wp_page lines).
/// Values never contain spaces in the formats we read.
@usableFromInline struct KeyValueScanner {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var i: Int
    @usableFromInline let end: Int

    @inlinable init(_ bytes: UnsafeRawBufferPointer, _ range: ByteRange) {
        self.bytes = bytes; self.i = range.start; self.end = range.end
    }

    /// The next pair, or nil at the end. A token without `=` is returned with an empty value.
    /// A token ends at a space; its key ends at its first `=`.
    @inline(__always) mutating func next() -> (key: ByteRange, value: ByteRange)? {
        i = bytes.skipSpaces(from: i, to: end)
        guard i < end else { return nil }
        let p = bytes.bytes
        let keyStart = i
        i = findEither(0x3D, asciiSpace, p, from: i, to: end)
        if i == end || p[i] == asciiSpace { return (ByteRange(keyStart, i), ByteRange(i, i)) }
        let eq = i
        i = findByte(asciiSpace, p, from: eq + 1, to: end)
        return (ByteRange(keyStart, eq), ByteRange(eq + 1, i))
    }
}
