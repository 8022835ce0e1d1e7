/// A growable byte buffer for output. Appends are plain stores into one reused allocation: no
/// `String` building, no uniqueness check per byte. The owner drains it (`bytes`, `removeAll`).
///
/// The mutable state sits behind a `let` pointer: a class's `var` properties would be checked
/// for exclusive access at run time on every append.
public final class ByteOutput {
    struct State {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count: Int
    }

    private let state: UnsafeMutablePointer<State>

    public init(capacity: Int = 1 << 16) {
        let c = max(capacity, 64)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: c), capacity: c, count: 0))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    @inline(__always) private var base: UnsafeMutablePointer<UInt8> { state.pointee.base }
    @inline(__always) private var capacity: Int { state.pointee.capacity }
    public var count: Int {
        @inline(__always) get { state.pointee.count }
        @inline(__always) set { state.pointee.count = newValue }
    }

    /// The bytes written so far; valid until the next append or `removeAll`.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func removeAll() { count = 0 }

    /// A write position for a run of unchecked writes after one `reserve`; `commit` ends it.
    @inline(__always) func cursor() -> ByteCursor { ByteCursor(at: base + count) }

    @inline(__always) func commit(_ c: ByteCursor) {
        count = c.p - base
        // Past the end means the unchecked writes already overran the allocation: stop here.
        precondition(count <= capacity, "ByteOutput: wrote past the reserved space")
    }

    @inline(__always) func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    @inline(never) private func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        b.update(from: base, count: count)
        base.deallocate()
        state.pointee.base = b
        state.pointee.capacity = newCapacity
    }

    @inline(__always) func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) func append(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        reserve(n)
        (base + count).update(from: s.utf8Start, count: n)
        count += n
    }

    func append(_ raw: UnsafeRawBufferPointer) {
        guard let src = raw.baseAddress, raw.count > 0 else { return }
        reserve(raw.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: raw.count)
        count += raw.count
    }

    func append(_ a: [UInt8]) {
        a.withUnsafeBytes { append($0) }
    }

    /// The UTF-8 of `s`, as is.
    public func append(contentsOf s: String) { appendRaw(s) }

    /// Plain UTF-8 of a string, unquoted, unescaped (for names known to need no escaping).
    func appendRaw(_ s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Two digits per step from a table of "00"…"99".
    func appendDecimal64(_ x: Int64) {
        reserve(20)
        var magnitude = x < 0 ? UInt64(0) &- UInt64(bitPattern: x) : UInt64(x)
        let base = self.base
        var at = count
        if x < 0 { base[at] = 0x2D; at += 1 }
        var digits = 1
        var probe = magnitude
        while probe >= 100 { probe /= 100; digits += 2 }
        if probe >= 10 { digits += 1 }
        var k = at + digits
        let pairs = digitPairs.utf8Start
        while magnitude >= 100 {
            let r = Int(magnitude % 100) * 2
            magnitude /= 100
            k -= 2
            base[k] = pairs[r]
            base[k + 1] = pairs[r + 1]
        }
        if magnitude >= 10 {
            let r = Int(magnitude) * 2
            base[k - 2] = pairs[r]
            base[k - 1] = pairs[r + 1]
        } else {
            base[k - 1] = UInt8(truncatingIfNeeded: magnitude) &+ 0x30
        }
        count = at + digits
    }

    /// Lowercase hex without a prefix, as `String(v, radix: 16)` prints it.
    func appendHex(_ v: UInt64) {
        reserve(16)
        let digits = max(1, (64 - v.leadingZeroBitCount + 3) / 4)
        let base = self.base
        let at = count
        let table = hexDigits.utf8Start
        var x = v
        var k = at + digits
        while k > at {
            k -= 1
            base[k] = table[Int(x & 0xF)]
            x >>= 4
        }
        count = at + digits
    }

    /// A JSON string, quoted and escaped (`JSONString.write`).
    func appendJSONString(_ s: String) {
        var s = s
        s.withUTF8 { u in
            reserve(JSONString.maxBytes(u.count))
            count += JSONString.write(u, to: base + count)
        }
    }
}

/// The one JSON string writer: every string that reaches JSON output goes through `write`
/// (`ByteOutput`, `ByteCursor` and `JSONObject` all call it), so every key and value is quoted
/// and escaped the same way (RFC 8259: `"`, `\`, and control characters; the input is valid
/// UTF-8, as Swift strings are).
enum JSONString {
    /// The most bytes `write` produces for `n` bytes of text.
    @inline(__always) static func maxBytes(_ n: Int) -> Int { 6 * n + 2 }

    /// Writes `u` quoted and escaped at `p` (room for `maxBytes(u.count)`); returns the bytes written.
    @inline(__always)
    static func write(_ u: UnsafeBufferPointer<UInt8>, to p: UnsafeMutablePointer<UInt8>) -> Int {
        p[0] = 0x22
        var n = 1
        var plain = true
        for c in u where c < 0x20 || c == 0x22 || c == 0x5C { plain = false; break }
        if plain {
            if let b = u.baseAddress { (p + 1).update(from: b, count: u.count) }
            n += u.count
        } else {
            for c in u { n += escape(c, to: p + n) }
        }
        p[n] = 0x22
        return n + 1
    }

    private static func escape(_ c: UInt8, to p: UnsafeMutablePointer<UInt8>) -> Int {
        func two(_ second: UInt8) -> Int { p[0] = 0x5C; p[1] = second; return 2 }
        switch c {
        case 0x22: return two(0x22)
        case 0x5C: return two(0x5C)
        case 0x0A: return two(0x6E)
        case 0x0D: return two(0x72)
        case 0x09: return two(0x74)
        case 0..<0x20:
            let hex: StaticString = "0123456789abcdef"
            p[0] = 0x5C; p[1] = 0x75; p[2] = 0x30; p[3] = 0x30
            p[4] = hex.utf8Start[Int(c >> 4)]
            p[5] = hex.utf8Start[Int(c & 0xF)]
            return 6
        default:
            p[0] = c
            return 1
        }
    }
}

private let digitPairs: StaticString =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
private let hexDigits: StaticString = "0123456789abcdef"

/// Unchecked writes into space a `ByteOutput` has reserved (`reserve`, then `cursor`, writes,
/// `commit`). The caller reserves enough for everything it writes.
struct ByteCursor {
    var p: UnsafeMutablePointer<UInt8>

    init(at p: UnsafeMutablePointer<UInt8>) { self.p = p }

    @inline(__always) mutating func put(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        p.update(from: s.utf8Start, count: n)
        p += n
    }

    @inline(__always) mutating func put(_ a: [UInt8]) {
        a.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { p.update(from: b, count: src.count) }
            p += src.count
        }
    }

    /// As `ByteOutput.appendDecimal64`.
    @inline(__always) mutating func putDecimal(_ x: Int64) {
        var magnitude = x < 0 ? UInt64(0) &- UInt64(bitPattern: x) : UInt64(x)
        if x < 0 { p[0] = 0x2D; p += 1 }
        var digits = 1
        var probe = magnitude
        while probe >= 100 { probe /= 100; digits += 2 }
        if probe >= 10 { digits += 1 }
        var k = digits
        let pairs = digitPairs.utf8Start
        while magnitude >= 100 {
            let r = Int(magnitude % 100) * 2
            magnitude /= 100
            k -= 2
            p[k] = pairs[r]
            p[k + 1] = pairs[r + 1]
        }
        if magnitude >= 10 {
            let r = Int(magnitude) * 2
            p[k - 2] = pairs[r]
            p[k - 1] = pairs[r + 1]
        } else {
            p[k - 1] = UInt8(truncatingIfNeeded: magnitude) &+ 0x30
        }
        p += digits
    }

    /// As `ByteOutput.appendHex`.
    @inline(__always) mutating func putHex(_ v: UInt64) {
        let digits = max(1, (64 - v.leadingZeroBitCount + 3) / 4)
        let table = hexDigits.utf8Start
        var x = v
        var k = digits
        while k > 0 {
            k -= 1
            p[k] = table[Int(x & 0xF)]
            x >>= 4
        }
        p += digits
    }

    /// As `ByteOutput.appendJSONString` (`JSONString.write`); at most 6 bytes per input byte + 2.
    @inline(__always) mutating func putJSONString(_ s: String) {
        var s = s
        s.withUTF8 { u in p += JSONString.write(u, to: p) }
    }
}
