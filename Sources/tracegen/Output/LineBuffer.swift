/// A growable byte buffer with the few printf conversions the kernel's trace output uses
/// (`%d`, `%-Nd`, `%Ns`, `%03d`, `%lx`, `%016lx`, `%5lu.%06lu`), written by hand: the load
/// generator formats hundreds of thousands of lines a second and must not build a `String` per line.
struct LineBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    mutating func spaces(_ n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).initialize(repeating: 0x20, count: n)
        count += n
    }

    @inline(__always)
    mutating func text(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        reserve(n)
        (base + count).update(from: s.utf8Start, count: n)
        count += n
    }

    mutating func bytes(_ b: [UInt8]) {
        reserve(b.count)
        b.withUnsafeBufferPointer { (base + count).update(from: $0.baseAddress!, count: $0.count) }
        count += b.count
    }

    mutating func bytes(_ b: UnsafeRawBufferPointer) {
        guard b.count > 0 else { return }
        reserve(b.count)
        (base + count).update(from: b.baseAddress!.assumingMemoryBound(to: UInt8.self), count: b.count)
        count += b.count
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    /// `%d`.
    @inline(__always)
    mutating func dec(_ v: Int) { decPadded(v, width: 0, left: false, zero: false) }

    /// `%Nd` (right-aligned), `%-Nd` (left-aligned) or `%0Nd`.
    mutating func decPadded(_ v: Int, width: Int, left: Bool, zero: Bool = false) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes of scratch
        let n: Int = withUnsafeMutableBytes(of: &digits) { scratch in
            var m = v < 0 ? UInt64(0) &- UInt64(bitPattern: Int64(v)) : UInt64(v)
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: 0x30 &+ m % 10)
                m /= 10
            } while m > 0
            if v < 0 { i -= 1; scratch[i] = 0x2D }
            let len = scratch.count - i
            let pad = max(0, width - len)
            reserve(len + pad)
            if !left && !zero { spacesUnchecked(pad) }
            if zero { (base + count).initialize(repeating: 0x30, count: pad); count += pad }
            (base + count).update(from: scratch.baseAddress!.advanced(by: i).assumingMemoryBound(to: UInt8.self), count: len)
            count += len
            if left { spacesUnchecked(pad) }
            return len
        }
        _ = n
    }

    @inline(__always)
    private mutating func spacesUnchecked(_ n: Int) {
        guard n > 0 else { return }
        (base + count).initialize(repeating: 0x20, count: n)
        count += n
    }

    /// `%lx` (no prefix), or `%0Nlx` with `minDigits`.
    mutating func hex(_ v: UInt64, minDigits: Int = 1) {
        var n = 1
        var t = v >> 4
        while t != 0 { n += 1; t >>= 4 }
        let len = max(n, minDigits)
        reserve(len)
        var m = v
        var i = len
        while i > 0 {
            i -= 1
            let d = UInt8(truncatingIfNeeded: m & 0xF)
            base[count + i] = d < 10 ? 0x30 + d : 0x57 + d
            m >>= 4
        }
        count += len
    }

    /// `%16s`: right-aligned in 16 columns (longer strings are not cut, as printf does).
    mutating func rightAligned(_ b: [UInt8], width: Int) {
        spaces(width - b.count)
        bytes(b)
    }

    /// The kernel's ` %5lu.%06lu` (µs, rounded as ns2usecs does) or cowtrace's `%5llu.%09llu`.
    mutating func timestamp(ns: UInt64, nineDecimals: Bool) {
        if nineDecimals {
            decPadded(Int(ns / 1_000_000_000), width: 5, left: false)
            byte(0x2E)
            decPadded(Int(ns % 1_000_000_000), width: 9, left: false, zero: true)
        } else {
            let us = (ns + 500) / 1000
            decPadded(Int(us / 1_000_000), width: 5, left: false)
            byte(0x2E)
            decPadded(Int(us % 1_000_000), width: 6, left: false, zero: true)
        }
    }
}
