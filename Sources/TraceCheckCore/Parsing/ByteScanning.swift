/// Byte-level helpers for the per-line hot path: no `String`, no Foundation, no regex.
/// Everything works on a line's bytes as an `UnsafeRawBufferPointer` and integer offsets.

@usableFromInline let asciiSpace: UInt8 = 0x20
@usableFromInline let asciiTab: UInt8 = 0x09

@inlinable func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

@inlinable func hexValue(_ b: UInt8) -> UInt64? {
    switch b {
    case 0x30...0x39: return UInt64(b &- 0x30)
    case 0x61...0x66: return UInt64(b &- 0x61 &+ 10)
    case 0x41...0x46: return UInt64(b &- 0x41 &+ 10)
    default: return nil
    }
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
    @inlinable func skipSpaces(from i: Int, to end: Int) -> Int {
        var i = i
        while i < end, self[i] == asciiSpace || self[i] == asciiTab { i += 1 }
        return i
    }

    /// True if the bytes at `i` spell `literal`.
    @inlinable func matches(_ literal: StaticString, at i: Int, end: Int) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard i >= 0, i + n <= end else { return false }
        let p = literal.utf8Start
        for k in 0..<n where self[i + k] != p[k] { return false }
        return true
    }

    @inlinable func equals(_ r: ByteRange, _ literal: StaticString) -> Bool {
        r.count == literal.utf8CodeUnitCount && matches(literal, at: r.start, end: r.end)
    }

    /// Parses an optionally signed decimal integer filling the whole range.
    @inlinable func decimal(_ r: ByteRange) -> Int64? {
        var i = r.start
        guard i < r.end else { return nil }
        var negative = false
        if self[i] == 0x2D { negative = true; i += 1 } else if self[i] == 0x2B { i += 1 }
        guard i < r.end, r.end - i <= 18 else { return nil }
        var v: Int64 = 0
        while i < r.end {
            let d = self[i] &- 0x30
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int64(d)
            i += 1
        }
        return negative ? -v : v
    }

    /// Parses hex with an optional `0x` prefix filling the whole range.
    @inlinable func hex(_ r: ByteRange) -> UInt64? {
        var i = r.start
        if r.count > 2, self[i] == 0x30, self[i + 1] == 0x78 || self[i + 1] == 0x58 { i += 2 }
        guard i < r.end, r.end - i <= 16 else { return nil }
        var v: UInt64 = 0
        while i < r.end {
            guard let d = hexValue(self[i]) else { return nil }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// `0/1` flag fields.
    @inlinable func flag(_ r: ByteRange) -> Bool? {
        guard r.count == 1 else { return nil }
        switch self[r.start] {
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
    @inlinable mutating func next() -> (key: ByteRange, value: ByteRange)? {
        i = bytes.skipSpaces(from: i, to: end)
        guard i < end else { return nil }
        let keyStart = i
        var eq = -1
        while i < end, bytes[i] != asciiSpace {
            if eq < 0, bytes[i] == 0x3D { eq = i }
            i += 1
        }
        if eq < 0 { return (ByteRange(keyStart, i), ByteRange(i, i)) }
        return (ByteRange(keyStart, eq), ByteRange(eq + 1, i))
    }
}
