import Testing
@testable import TraceCheckCore

/// Every word-at-a-time primitive of the byte layer, checked directly against a plain
/// byte-by-byte version written here: every length up to 64 (around the 4-, 8- and 16-byte
/// steps), every start alignment 0…15 within a 16-byte-aligned buffer, the target at every
/// position, and bytes that differ from the ones looked for by one bit (bit 7 included).
///
/// The bytes around the range examined are set to values that would change the answer if
/// they were read (a needle right after `end`, more digits after a number): a primitive that
/// looks past its range fails here instead of passing by luck.
@Suite("Byte scanning primitives")
struct ByteScanningTests {
    // MARK: - Fixtures

    /// Calls `body` with `bytes` copied to offset `at` of a 16-byte-aligned buffer whose other
    /// bytes are `fill` (at least 16 of them after the copy), and the range the copy occupies.
    static func placed<R>(
        _ bytes: [UInt8], at offset: Int, fill: UInt8,
        _ body: (UnsafeRawBufferPointer, Range<Int>) throws -> R
    ) rethrows -> R {
        let size = offset + bytes.count + 16
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: fill)
        for (k, b) in bytes.enumerated() { buffer[offset + k] = b }
        return try body(UnsafeRawBufferPointer(buffer), offset..<(offset + bytes.count))
    }

    /// Records one issue per mismatch (at most `limit` per test), so a loop of a million cases
    /// costs one comparison each, not one `#expect`.
    struct Mismatches {
        var count = 0
        var checked = 0
        let limit = 20
        mutating func check<T: Equatable>(
            _ got: T, _ want: T, _ context: @autoclosure () -> String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            checked += 1
            guard got != want else { return }
            count += 1
            if count <= limit {
                Issue.record("got \(got), want \(want): \(context())", sourceLocation: sourceLocation)
            }
        }
    }

    static func rng(_ seed: UInt64) -> InputFixtures.SplitMix64 { InputFixtures.SplitMix64(state: seed) }

    static func show(_ bytes: [UInt8]) -> String {
        bytes.map { b in (0x21...0x7E).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16) }.joined()
    }

    /// Bytes one bit away from `b` (every bit, bit 7 included), and its neighbours.
    static func nearMisses(of b: UInt8) -> [UInt8] {
        (0..<8).map { b ^ (1 << $0) } + [b &+ 1, b &- 1]
    }

    /// Bytes worth trying in place of a good one: one bit from the delimiters and digits the
    /// parsers look for, signs, and the ends of the byte range.
    static let interestingBytes: [UInt8] = [
        0x00, 0x09, 0x10, 0x19, 0x20, 0x2B, 0x2D, 0x2E, 0x2F, 0x3A, 0x3D, 0x40, 0x47, 0x60, 0x67,
        0x78, 0x7F, 0x80, 0xA0, 0xB0, 0xB9, 0xBD, 0xC1, 0xE1, 0xFF,
    ]

    /// What to put at `position` in place of `good`: every byte one bit away, and two of the
    /// interesting bytes (a different two at each position and alignment).
    static func replacements(for good: UInt8, position: Int, alignment: Int) -> [UInt8] {
        let k = position &* 16 &+ alignment
        return nearMisses(of: good) + [interestingBytes[(2 * k) % interestingBytes.count], interestingBytes[(2 * k + 1) % interestingBytes.count]]
    }

    static let lengths = Array(0...64)
    static let alignments = Array(0..<16)
    static let decimalDigits = Array("0123456789".utf8)
    static let hexDigits = Array("0123456789abcdefABCDEF".utf8)

    // MARK: - Plain references

    static func plainFind(_ needles: [UInt8], _ bytes: [UInt8]) -> Int {
        bytes.firstIndex(where: needles.contains) ?? bytes.count
    }

    static func plainSkipBlanks(_ bytes: [UInt8]) -> Int {
        bytes.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? bytes.count
    }

    static func plainDecimal(_ bytes: [UInt8]) -> Int64? {
        var digits = bytes[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        // At most 18 digits: every such value fits, so nothing can wrap.
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(decimalDigits.contains) else { return nil }
        let v = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        return negative ? -v : v
    }

    static func plainHexDigit(_ b: UInt8) -> UInt64? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    static func plainHex(_ bytes: [UInt8]) -> UInt64? {
        var digits = bytes[...]
        if digits.count > 2, digits[0] == UInt8(ascii: "0"), digits[1] == UInt8(ascii: "x") || digits[1] == UInt8(ascii: "X") {
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var v: UInt64 = 0
        for b in digits {
            guard let d = plainHexDigit(b) else { return nil }
            v = v << 4 | d
        }
        return v
    }

    // MARK: - Literal compares

    @Test(arguments: lengths)
    func bytesEqualFindsEveryOneBitDifference(_ n: Int) {
        var rng = Self.rng(UInt64(n))
        let text = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var m = Mismatches()
        for alignment in Self.alignments {
            // The other side at a different alignment; the bytes after both copies differ.
            Self.placed(text, at: alignment, fill: 0xAA) { a, ra in
                Self.placed(text, at: (alignment * 7 + 3) % 16, fill: 0x55) { b, rb in
                    m.check(bytesEqual(a.baseAddress! + ra.lowerBound, b.baseAddress! + rb.lowerBound, n), true,
                            "equal, n=\(n) alignment \(alignment)")
                }
            }
            // Each position with one bit flipped; over the alignments every bit of it.
            Self.placed(text, at: alignment, fill: 0) { a, ra in
                for position in 0..<n {
                    let bit = (position + alignment) % 8
                    var other = text
                    other[position] ^= 1 << bit
                    Self.placed(other, at: 15 - alignment, fill: 0) { b, rb in
                        m.check(bytesEqual(a.baseAddress! + ra.lowerBound, b.baseAddress! + rb.lowerBound, n), false,
                                "n=\(n) alignment \(alignment) bit \(bit) at \(position)")
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    @Test func matchesAndEqualsStayInsideTheirRange() {
        let line = Array("page_ref_mod: pfn=0x1".utf8)
        line.withUnsafeBytes { b in
            #expect(b.matches("page_ref_", at: 0, end: b.count))
            #expect(b.matches("pfn=", at: 14, end: b.count))
            #expect(!b.matches("pfn=", at: 14, end: 17), "the literal runs past end")
            #expect(!b.matches("page", at: -1, end: b.count))
            #expect(b.matches("", at: b.count, end: b.count))
            #expect(b.equals(ByteRange(0, 12), "page_ref_mod"))
            #expect(!b.equals(ByteRange(0, 11), "page_ref_mod"))
            #expect(!b.equals(ByteRange(0, 13), "page_ref_mod"))
            #expect(!b.matches("page_ref_mod\u{00E9}", at: 0, end: b.count))
        }
        // A literal's non-ASCII bytes compare as bytes.
        let accented = Array("caf\u{00E9}!".utf8)
        accented.withUnsafeBytes { b in
            #expect(b.matches("caf\u{00E9}", at: 0, end: b.count))
            #expect(!b.matches("caf\u{00C9}", at: 0, end: b.count))
        }
    }

    @Test(arguments: Array(8...64))
    func flagsCacheTextCompareFindsEveryOneBitDifference(_ n: Int) {
        var rng = Self.rng(UInt64(n) &+ 1000)
        let text = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var m = Mismatches()
        for alignment in Self.alignments {
            Self.placed(text, at: alignment, fill: 0x11) { a, ra in
                Self.placed(text, at: 15 - alignment, fill: 0x22) { b, rb in
                    m.check(FlagsCache.sameText(a.baseAddress! + ra.lowerBound, b.baseAddress! + rb.lowerBound, n), true, "equal n=\(n)")
                }
                for position in 0..<n {
                    var other = text
                    other[position] ^= 1 << (position % 8)
                    Self.placed(other, at: 15 - alignment, fill: 0x22) { b, rb in
                        m.check(FlagsCache.sameText(a.baseAddress! + ra.lowerBound, b.baseAddress! + rb.lowerBound, n), false,
                                "n=\(n) alignment \(alignment) at \(position)")
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    // MARK: - Delimiter search

    /// Needles the parsers use, and edge values for the zero-byte trick (0x00, 0x01, 0x7F, 0x80, 0xFF).
    static let needles: [UInt8] = [0x20, 0x3D, 0x3A, 0x5B, 0x00, 0x01, 0x7F, 0x80, 0xFF]

    @Test(arguments: needles)
    func findByteAgreesWithAPlainScan(_ needle: UInt8) {
        var rng = Self.rng(UInt64(needle))
        let others = Self.nearMisses(of: needle)
        var m = Mismatches()
        for n in Self.lengths {
            for alignment in Self.alignments {
                // Absent, then at every position, with more copies after it now and then.
                for target in -1..<n {
                    var bytes = (0..<n).map { _ in others[Int(rng.next() % UInt64(others.count))] }
                    if target >= 0 {
                        bytes[target] = needle
                        if rng.next() % 3 == 0, target + 1 < n { bytes[Int.random(in: (target + 1)..<n, using: &rng)] = needle }
                    }
                    Self.placed(bytes, at: alignment, fill: needle) { b, r in
                        let got = findByte(needle, b.bytes, from: r.lowerBound, to: r.upperBound) - r.lowerBound
                        m.check(got, Self.plainFind([needle], bytes), "\(Self.show(bytes)) alignment \(alignment)")
                    }
                }
            }
        }
        #expect(m.count == 0)
        #expect(m.checked > 30_000)
    }

    static let needlePairs: [(UInt8, UInt8)] = [(0x3D, 0x20), (0x3A, 0x20), (0x20, 0x3D), (0x00, 0x80), (0x7F, 0xFF), (0x01, 0x00), (0x20, 0x20)]

    @Test(arguments: needlePairs)
    func findEitherAgreesWithAPlainScan(_ a: UInt8, _ b: UInt8) {
        var rng = Self.rng(UInt64(a) << 8 | UInt64(b))
        let others = Array(Set(Self.nearMisses(of: a) + Self.nearMisses(of: b)).subtracting([a, b]))
        var m = Mismatches()
        for n in Self.lengths {
            for alignment in Self.alignments {
                for target in -1..<n {
                    var bytes = (0..<n).map { _ in others[Int(rng.next() % UInt64(others.count))] }
                    if target >= 0 {
                        bytes[target] = rng.next() % 2 == 0 ? a : b
                        if rng.next() % 3 == 0, target + 1 < n {
                            bytes[Int.random(in: (target + 1)..<n, using: &rng)] = rng.next() % 2 == 0 ? a : b
                        }
                    }
                    Self.placed(bytes, at: alignment, fill: a) { buffer, r in
                        let got = findEither(a, b, buffer.bytes, from: r.lowerBound, to: r.upperBound) - r.lowerBound
                        m.check(got, Self.plainFind([a, b], bytes), "\(Self.show(bytes)) alignment \(alignment)")
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    // MARK: - Leading blanks

    /// What may end a run of blanks: bytes one bit from a space or a tab, NUL, and "\r".
    static let blankEnders: [UInt8] = Array(Set(nearMisses(of: 0x20) + nearMisses(of: 0x09) + [0x00, 0x0D, 0x41]).subtracting([0x20, 0x09]))

    @Test(arguments: lengths)
    func blankSkippingAgreesWithAPlainScan(_ run: Int) {
        var rng = Self.rng(UInt64(run) &+ 77)
        var m = Mismatches()
        for alignment in Self.alignments {
            for ender in [nil] + Self.blankEnders.map(Optional.some) {
                // Spaces only (the word loop's case), or spaces and tabs mixed.
                for withTabs in [false, true] {
                    var bytes = (0..<run).map { _ in withTabs && rng.next() % 4 == 0 ? UInt8(0x09) : 0x20 }
                    if let ender { bytes += [ender, 0x20, 0x41] }
                    let want = Self.plainSkipBlanks(bytes)
                    Self.placed(bytes, at: alignment, fill: 0x20) { b, r in
                        let got = b.skipSpaces(from: r.lowerBound, to: r.upperBound) - r.lowerBound
                        m.check(got, want, "skipSpaces \(Self.show(bytes)) alignment \(alignment)")
                        let leading = LineParser.skipLeadingSpaces(b.bytes + r.lowerBound, r.count)
                        m.check(leading, want, "skipLeadingSpaces \(Self.show(bytes)) alignment \(alignment)")
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    // MARK: - Decimal numbers

    /// Bytes that must stop a decimal: every byte that is not a digit, but mostly the ones that
    /// differ from a digit by one bit (`0x30 | 0x80`, `0x39 ^ 0x08`, …).
    static let nonDigits: [UInt8] = (0...255).map(UInt8.init).filter { !decimalDigits.contains($0) }

    @Test(arguments: Array(0...22))
    func decimalAgreesWithAPlainParse(_ digitCount: Int) {
        var rng = Self.rng(UInt64(digitCount) &+ 500)
        var m = Mismatches()
        for alignment in Self.alignments {
            for sign in [[], [UInt8(ascii: "-")], [UInt8(ascii: "+")]] {
                let digits = (0..<digitCount).map { _ in Self.decimalDigits[Int(rng.next() % 10)] }
                let bytes = sign + digits
                // Digits after the range: a parse that reads past `end` gets a bigger number.
                Self.placed(bytes, at: alignment, fill: UInt8(ascii: "7")) { b, r in
                    m.check(b.decimal(ByteRange(r.lowerBound, r.upperBound)), Self.plainDecimal(bytes), Self.show(bytes))
                }
                for position in sign.count..<bytes.count {
                    for bad in Self.replacements(for: bytes[position], position: position, alignment: alignment) {
                        var broken = bytes
                        broken[position] = bad
                        Self.placed(broken, at: alignment, fill: UInt8(ascii: "7")) { b, r in
                            m.check(b.decimal(ByteRange(r.lowerBound, r.upperBound)), Self.plainDecimal(broken), Self.show(broken))
                        }
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    @Test(arguments: [
        ("0", 0), ("-0", 0), ("+7", 7), ("", nil), ("-", nil), ("+", nil), ("+-1", nil), ("--1", nil), ("1-", nil),
        ("999999999999999999", 999_999_999_999_999_999), ("-999999999999999999", -999_999_999_999_999_999),
        ("000000000000000001", 1),
        // 19 digits and more are refused rather than wrapped: Int64's own limits included.
        ("9223372036854775807", nil), ("-9223372036854775808", nil), ("0000000000000000001", nil),
        ("18446744073709551616", nil),
    ] as [(String, Int64?)])
    func decimalLimits(_ text: String, _ want: Int64?) {
        Array(text.utf8).withUnsafeBytes { b in
            #expect(b.decimal(ByteRange(0, b.count)) == want)
        }
    }

    @Test func flagReadsOnlyZeroAndOne() {
        for byte in 0...255 {
            [UInt8(byte)].withUnsafeBytes { b in
                let want: Bool? = byte == 0x30 ? false : byte == 0x31 ? true : nil
                #expect(b.flag(ByteRange(0, 1)) == want)
            }
        }
        Array("01".utf8).withUnsafeBytes { b in
            #expect(b.flag(ByteRange(0, 2)) == nil)
            #expect(b.flag(ByteRange(1, 1)) == nil)
        }
    }

    // MARK: - Hexadecimal numbers

    @Test func hexTableHoldsEveryAsciiDigitValue() {
        let table = Array(UnsafeBufferPointer(start: hexTable.utf8Start, count: hexTable.utf8CodeUnitCount))
        #expect(table.count == 128)
        for c in 0..<min(table.count, 128) {
            let entry = table[c]
            if let d = Self.plainHexDigit(UInt8(c)) {
                #expect(entry == 0x60 | UInt8(d), "byte \(c)")
            } else {
                #expect(entry == 0x70, "byte \(c)")
            }
        }
    }

    /// `hex8` judges each byte on its own: every value at every position of a word of good digits.
    @Test func hex8JudgesEveryByteAtEveryPosition() {
        var rng = Self.rng(8)
        var m = Mismatches()
        func plain(_ bytes: [UInt8]) -> UInt64? {
            var v: UInt64 = 0
            for b in bytes { guard let d = Self.plainHexDigit(b) else { return nil }; v = v << 4 | d }
            return v
        }
        func word(_ bytes: [UInt8]) -> UInt64 {
            bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        for _ in 0..<8 {
            let good = (0..<8).map { _ in Self.hexDigits[Int(rng.next() % UInt64(Self.hexDigits.count))] }
            m.check(hex8(word(good)), plain(good), Self.show(good))
            for position in 0..<8 {
                for value in 0...255 {
                    var bytes = good
                    bytes[position] = UInt8(value)
                    m.check(hex8(word(bytes)), plain(bytes), Self.show(bytes))
                }
            }
        }
        // Words of mixed good and bad bytes.
        let pool = Self.hexDigits + [0x2F, 0x3A, 0x40, 0x47, 0x60, 0x67, 0xB0, 0xC1, 0xE1, 0x10, 0x00, 0xFF]
        for _ in 0..<50_000 {
            let bytes = (0..<8).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
            m.check(hex8(word(bytes)), plain(bytes), Self.show(bytes))
        }
        #expect(m.count == 0)
    }

    @Test(arguments: Array(0...20))
    func hexAgreesWithAPlainParse(_ digitCount: Int) {
        var rng = Self.rng(UInt64(digitCount) &+ 900)
        var m = Mismatches()
        for alignment in Self.alignments {
            for prefix in [[], Array("0x".utf8), Array("0X".utf8)] {
                let digits = (0..<digitCount).map { _ in Self.hexDigits[Int(rng.next() % UInt64(Self.hexDigits.count))] }
                let bytes = prefix + digits
                // Hex digits after the range: a parse that reads past `end` gets a bigger number.
                Self.placed(bytes, at: alignment, fill: UInt8(ascii: "f")) { b, r in
                    m.check(b.hex(ByteRange(r.lowerBound, r.upperBound)), Self.plainHex(bytes), Self.show(bytes))
                }
                // A changed byte at every digit position (the lead loop and the word loop); every
                // value at every position is `hex8`'s test.
                for position in prefix.count..<bytes.count {
                    for value in Self.replacements(for: bytes[position], position: position, alignment: alignment) {
                        var changed = bytes
                        changed[position] = value
                        Self.placed(changed, at: alignment, fill: UInt8(ascii: "f")) { b, r in
                            m.check(b.hex(ByteRange(r.lowerBound, r.upperBound)), Self.plainHex(changed), Self.show(changed))
                        }
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    @Test(arguments: [
        ("ffffffffffffffff", UInt64.max), ("0xFFFFFFFFFFFFFFFF", .max), ("0000000000000000", 0),
        // A 17th digit is refused, even a leading zero: nothing is shifted out.
        ("00000000000000000", nil), ("10000000000000000", nil), ("0x10000000000000000", nil),
        ("0x", nil), ("0X", nil), ("x1", nil), ("0x0x1", nil), ("0", 0), ("f", 15), ("0x0", 0),
    ] as [(String, UInt64?)])
    func hexLimits(_ text: String, _ want: UInt64?) {
        Array(text.utf8).withUnsafeBytes { b in
            #expect(b.hex(ByteRange(0, b.count)) == want)
        }
    }

    // MARK: - Timestamps and pids (the line prefix)

    @Test(arguments: Array(1...8))
    func digits8AgreesWithAPlainParse(_ n: Int) {
        var rng = Self.rng(UInt64(n) &+ 300)
        var m = Mismatches()
        func plain(_ bytes: [UInt8]) -> UInt64? {
            guard bytes.allSatisfy(Self.decimalDigits.contains) else { return nil }
            return (bytes + Array(repeating: 0x30, count: 8 - bytes.count)).reduce(0) { $0 * 10 + UInt64($1 - 0x30) }
        }
        for alignment in Self.alignments {
            let digits = (0..<n).map { _ in Self.decimalDigits[Int(rng.next() % 10)] }
            for position in 0..<n {
                for value in Self.replacements(for: digits[position], position: position, alignment: alignment) {
                    var bytes = digits
                    bytes[position] = value
                    // After the n bytes: a non-digit, which must not be read as part of the fraction.
                    Self.placed(bytes, at: alignment, fill: 0xB5) { b, r in
                        // With the line going on (a word load, masked) and ending right here (byte loads).
                        for limit in [r.upperBound + 8, r.upperBound] {
                            let got = LineParser.digits8(b.bytes, r.lowerBound, n, limit: limit)
                            m.check(got, plain(bytes), "\(Self.show(bytes)) limit +\(limit - r.upperBound)")
                        }
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    @Test(arguments: Array(0...20))
    func digitRunStartAgreesWithAPlainScan(_ count: Int) {
        var rng = Self.rng(UInt64(count) &+ 600)
        var m = Mismatches()
        for alignment in Self.alignments {
            for runLength in 0...count {
                // Bytes one bit from a digit just before the run of digits (or the run fills the range).
                let digit = Self.decimalDigits[(runLength + alignment) % 10]
                for before in [nil] + Self.replacements(for: digit, position: runLength, alignment: alignment).map(Optional.some) {
                    var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    for k in (count - runLength)..<count { bytes[k] = Self.decimalDigits[Int(rng.next() % 10)] }
                    if let before, runLength < count { bytes[count - runLength - 1] = before }
                    var want = count
                    while want > 0, Self.decimalDigits.contains(bytes[want - 1]) { want -= 1 }
                    // Digits before the range: a scan that runs past its start finds a longer run.
                    Self.placed(bytes, at: alignment, fill: UInt8(ascii: "4")) { b, r in
                        let got = LineParser.digitRunStart(b.bytes, r.lowerBound, r.upperBound) - r.lowerBound
                        m.check(got, want, "\(Self.show(bytes)) alignment \(alignment)")
                    }
                }
            }
        }
        #expect(m.count == 0)
    }

    /// `sec.frac` → nanoseconds, or a bare integer → ticks; nil where the text is not one, or the
    /// nanoseconds do not fit in an Int64.
    static func plainTimestamp(_ bytes: [UInt8]) -> (value: Int64, nanoseconds: Bool)? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard let secs = parts.first, !secs.isEmpty, secs.count <= 18, secs.allSatisfy(decimalDigits.contains) else { return nil }
        let s = secs.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        if parts.count == 1 { return (s, false) }
        guard parts.count == 2 else { return nil }
        let frac = parts[1]
        guard !frac.isEmpty, frac.count <= 9, frac.allSatisfy(decimalDigits.contains) else { return nil }
        let f = (Array(frac) + Array(repeating: 0x30, count: 9 - frac.count)).reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        let (ns, o1) = s.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, o2) = ns.addingReportingOverflow(f)
        return o1 || o2 ? nil : (total, true)
    }

    static func parsedTimestamp(_ bytes: [UInt8], at alignment: Int, lineGoesOn: Bool) -> (value: Int64, nanoseconds: Bool)? {
        placed(bytes + Array(": x".utf8), at: alignment, fill: UInt8(ascii: "9")) { b, r in
            var out = ParsedLine()
            let end = r.lowerBound + bytes.count
            guard LineParser.parseTimestamp(b.bytes, r.lowerBound, end, limit: lineGoesOn ? r.upperBound : end, &out) else { return nil }
            #expect(out.hasTimestamp)
            // The printed precision: the number of decimals, 0 for a bare integer.
            let decimals = bytes.firstIndex(of: UInt8(ascii: ".")).map { bytes.count - $0 - 1 } ?? 0
            #expect(Int(out.timestampDecimals) == decimals)
            return (out.timestamp, out.timestampIsNanoseconds)
        }
    }

    @Test(arguments: Array(1...18))
    func timestampsAgreeWithAPlainParse(_ secondDigits: Int) {
        var rng = Self.rng(UInt64(secondDigits) &+ 700)
        var m = Mismatches()
        for alignment in Self.alignments {
            for fracDigits in -1...10 { // -1: a bare integer; 0: "123." (refused); 10: too many decimals
                var bytes = (0..<secondDigits).map { _ in Self.decimalDigits[Int(rng.next() % 10)] }
                if fracDigits >= 0 { bytes += [UInt8(ascii: ".")] + (0..<fracDigits).map { _ in Self.decimalDigits[Int(rng.next() % 10)] } }
                let want = Self.plainTimestamp(bytes)
                for lineGoesOn in [true, false] {
                    let got = Self.parsedTimestamp(bytes, at: alignment, lineGoesOn: lineGoesOn)
                    m.check(got?.value, want?.value, Self.show(bytes))
                    m.check(got?.nanoseconds, want?.nanoseconds, Self.show(bytes))
                }
                // Any one byte of the fraction replaced by a non-digit.
                for position in (secondDigits + 1)..<max(bytes.count, secondDigits + 1) {
                    var broken = bytes
                    broken[position] = Self.nonDigits[Int(rng.next() % UInt64(Self.nonDigits.count))]
                    let got = Self.parsedTimestamp(broken, at: alignment, lineGoesOn: true)
                    m.check(got?.value, Self.plainTimestamp(broken)?.value, Self.show(broken))
                }
            }
        }
        #expect(m.count == 0)
    }

    @Test(arguments: [
        ("9223372036.854775807", Int64.max), ("9223372036.854775808", nil), ("9223372037.0", nil),
        ("99999999999.5", nil), ("999999999999999999.999999999", nil),
        ("999999999999999999", 999_999_999_999_999_999), ("0.000000001", 1), ("1061.142014775", 1_061_142_014_775),
        ("1061.1", 1_061_100_000_000),
    ] as [(String, Int64?)])
    func timestampLimits(_ text: String, _ want: Int64?) {
        #expect(Self.parsedTimestamp(Array(text.utf8), at: 0, lineGoesOn: true)?.value == want)
        #expect(Self.parsedTimestamp(Array(text.utf8), at: 0, lineGoesOn: false)?.value == want)
    }

    // MARK: - key=value pairs

    static func plainPairs(_ bytes: [UInt8]) -> [(key: Range<Int>, value: Range<Int>)] {
        var out: [(Range<Int>, Range<Int>)] = []
        var i = 0
        while true {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
            guard i < bytes.count else { return out }
            let keyStart = i
            while i < bytes.count, bytes[i] != 0x3D, bytes[i] != 0x20 { i += 1 }
            if i == bytes.count || bytes[i] == 0x20 { out.append((keyStart..<i, i..<i)); continue }
            let eq = i
            i += 1
            while i < bytes.count, bytes[i] != 0x20 { i += 1 }
            out.append((keyStart..<eq, (eq + 1)..<i))
        }
    }

    @Test(arguments: lengths)
    func keyValueScannerAgreesWithAPlainSplit(_ n: Int) {
        var rng = Self.rng(UInt64(n) &+ 800)
        // Separators, the bytes one bit from them, and plain text.
        let pool: [UInt8] = [0x20, 0x20, 0x3D, 0x3D, 0x09, 0xA0, 0xBD, 0x3C, 0x1D, 0x61, 0x78, 0x31, 0xFF]
        var m = Mismatches()
        for alignment in Self.alignments {
            for _ in 0..<8 {
                let bytes = (0..<n).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
                let want = Self.plainPairs(bytes)
                Self.placed(bytes, at: alignment, fill: 0x3D) { b, r in
                    var scanner = KeyValueScanner(b, ByteRange(r.lowerBound, r.upperBound))
                    var got: [(key: Range<Int>, value: Range<Int>)] = []
                    while let pair = scanner.next(), got.count <= n {
                        let k = pair.key, v = pair.value
                        got.append(((k.start - r.lowerBound)..<(k.end - r.lowerBound), (v.start - r.lowerBound)..<(v.end - r.lowerBound)))
                    }
                    m.check(got.map(\.key), want.map(\.key), Self.show(bytes))
                    m.check(got.map(\.value), want.map(\.value), Self.show(bytes))
                }
            }
        }
        #expect(m.count == 0)
    }
}
