/// A strict JSON validator (RFC 8259, UTF-8 checked): the harness's oracle for "valid JSON".
/// Written here rather than borrowed so that what "valid" means does not depend on a lenient
/// parser.
struct JSONCheck {
    private let b: UnsafeRawBufferPointer
    private var i = 0
    private var depth = 0

    /// Nil when `bytes` is exactly one JSON value (with surrounding whitespace), else why not.
    static func problem(_ bytes: UnsafeRawBufferPointer) -> String? {
        var c = JSONCheck(b: bytes)
        do {
            c.space()
            try c.value()
            c.space()
            if c.i != bytes.count { return "trailing bytes at \(c.i)" }
            return nil
        } catch {
            return "\((error as? Invalid)?.why ?? "\(error)") at byte \(c.i)"
        }
    }

    struct Invalid: Error { var why: String }

    private init(b: UnsafeRawBufferPointer) { self.b = b }

    private var peek: UInt8? { i < b.count ? b[i] : nil }

    private mutating func space() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        guard peek == c else { throw Invalid(why: "expected \(Character(Unicode.Scalar(c)))") }
        i += 1
    }

    private mutating func value() throws {
        depth += 1
        defer { depth -= 1 }
        guard depth < 512 else { throw Invalid(why: "nesting too deep") }
        switch peek {
        case 0x7B?: try object()
        case 0x5B?: try array()
        case 0x22?: try string()
        case 0x74?: try literal("true")
        case 0x66?: try literal("false")
        case 0x6E?: try literal("null")
        case let c? where c == 0x2D || (c >= 0x30 && c <= 0x39): try number()
        default: throw Invalid(why: "expected a value")
        }
    }

    private mutating func literal(_ word: String) throws {
        for u in word.utf8 { try expect(u) }
    }

    private mutating func object() throws {
        try expect(0x7B)
        space()
        if peek == 0x7D { i += 1; return }
        while true {
            space()
            try string()
            space()
            try expect(0x3A)
            space()
            try value()
            space()
            if peek == 0x2C { i += 1; continue }
            try expect(0x7D)
            return
        }
    }

    private mutating func array() throws {
        try expect(0x5B)
        space()
        if peek == 0x5D { i += 1; return }
        while true {
            space()
            try value()
            space()
            if peek == 0x2C { i += 1; continue }
            try expect(0x5D)
            return
        }
    }

    private mutating func number() throws {
        if peek == 0x2D { i += 1 }
        guard let c = peek, c >= 0x30, c <= 0x39 else { throw Invalid(why: "bad number") }
        if c == 0x30 { i += 1 } else { digits() }
        if peek == 0x2E {
            i += 1
            guard let d = peek, d >= 0x30, d <= 0x39 else { throw Invalid(why: "bad fraction") }
            digits()
        }
        if peek == 0x65 || peek == 0x45 {
            i += 1
            if peek == 0x2B || peek == 0x2D { i += 1 }
            guard let d = peek, d >= 0x30, d <= 0x39 else { throw Invalid(why: "bad exponent") }
            digits()
        }
    }

    private mutating func digits() {
        while let c = peek, c >= 0x30, c <= 0x39 { i += 1 }
    }

    private mutating func string() throws {
        try expect(0x22)
        while true {
            guard let c = peek else { throw Invalid(why: "unterminated string") }
            switch c {
            case 0x22: i += 1; return
            case 0x5C:
                i += 1
                guard let e = peek else { throw Invalid(why: "unterminated escape") }
                i += 1
                switch e {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: break
                case 0x75:
                    for _ in 0..<4 {
                        guard let h = peek, hexDigit(h) else { throw Invalid(why: "bad \\u escape") }
                        i += 1
                    }
                default: throw Invalid(why: "bad escape")
                }
            case 0..<0x20: throw Invalid(why: "raw control character in a string")
            case 0..<0x80: i += 1
            default: try utf8Sequence()
            }
        }
    }

    private func hexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66)
    }

    /// One multi-byte UTF-8 sequence, well formed (no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func utf8Sequence() throws {
        let c = b[i]
        let n: Int, lo: UInt8, hi: UInt8
        switch c {
        case 0xC2...0xDF: n = 1; lo = 0x80; hi = 0xBF
        case 0xE0: n = 2; lo = 0xA0; hi = 0xBF
        case 0xE1...0xEC, 0xEE, 0xEF: n = 2; lo = 0x80; hi = 0xBF
        case 0xED: n = 2; lo = 0x80; hi = 0x9F
        case 0xF0: n = 3; lo = 0x90; hi = 0xBF
        case 0xF1...0xF3: n = 3; lo = 0x80; hi = 0xBF
        case 0xF4: n = 3; lo = 0x80; hi = 0x8F
        default: throw Invalid(why: "invalid UTF-8 lead byte")
        }
        guard i + n < b.count else { throw Invalid(why: "cut UTF-8 sequence") }
        guard b[i + 1] >= lo, b[i + 1] <= hi else { throw Invalid(why: "invalid UTF-8") }
        for k in 2...max(2, n) where k <= n {
            guard b[i + k] & 0xC0 == 0x80 else { throw Invalid(why: "invalid UTF-8") }
        }
        i += n + 1
    }
}
