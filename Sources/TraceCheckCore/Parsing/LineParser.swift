/// Splits one trace line into its kind and, for event lines, the common prefix fields
/// (comm, pid, tgid, cpu, timestamp) and the event name and payload as byte ranges.
///
/// Accepted prefixes (TraceFormats.md, The ftrace event line and trace-cmd report): the kernel's
/// `trace`/`trace_pipe` text (4- or 5-char irq flags or none, optional `(tgid)`, 6-decimal or
/// bare-integer clocks), `trace-cmd report` (5-wide pid, 5–7 flag chars, 6 or 9 decimals, padded
/// event name), and a bare `<event>: <payload>` line as a bpftrace `printf` writes it.
public enum LineKind: Equatable, Sendable {
    case blank
    /// A `#` comment/header line, or trace-cmd's `cpus=N`.
    case header
    /// `# tracecheck: key=value …` — the capture's metadata header; `payload` holds the pairs.
    case metadata
    /// A lost-events marker: kernel `CPU:N [LOST M EVENTS]`, trace-cmd `CPU:N [M EVENTS DROPPED]`,
    /// bpftrace `Lost M events`. `count` is nil when the size of the loss is not printed.
    case lost(cpu: Int?, count: Int?)
    /// Lines the tracers print that carry no event: `##### CPU n buffer started ####`,
    /// trace-cmd's `CPU:N [SUBBUFFER START]`, bpftrace's `Attaching N probes...`.
    case annotation
    case event
    case malformed(ParseIssue)
}

/// Stable, kebab-case ids of the problems found in the input; used on stderr and in JSON.
public enum ParseIssue: String, CaseIterable, Sendable {
    case malformedLine = "malformed-line"
    case lineTooLong = "line-too-long"
    case malformedPayload = "malformed-payload"
    case timestampRegression = "timestamp-regression"
    case countGap = "count-gap"
    /// A number outside what the kernel can print there (a 32-bit field holding more, a
    /// negative count, a timestamp past 2^63 ns): the line is not used.
    case valueOutOfRange = "value-out-of-range"
}

public struct ParsedLine: Sendable {
    public var kind: LineKind = .blank
    /// -1 when the line has no ftrace prefix (bare bpftrace lines).
    public var pid: Int32 = -1
    public var tgid: Int32 = -1
    public var cpu: Int32 = -1
    /// Nanoseconds for `sec.frac` clocks; raw ticks when `timestampIsNanoseconds` is false.
    public var timestamp: Int64 = 0
    public var hasTimestamp = false
    public var timestampIsNanoseconds = true
    /// Decimals the `sec.frac` timestamp was printed with (6 for tracefs' microseconds, 9 for
    /// nanoseconds); 0 for a bare integer.
    public var timestampDecimals: UInt8 = 0
    public var comm = ByteRange.empty
    public var name = ByteRange.empty
    public var payload = ByteRange.empty

    public init() {}

    /// How far apart two events this line's clock prints alike can be: 1000 ns for
    /// microseconds, 1 ns for nanoseconds. Nil without a nanosecond timestamp.
    @inline(__always)
    public var timestampResolution: Int64? {
        guard hasTimestamp, timestampIsNanoseconds else { return nil }
        switch timestampDecimals {
        case 6: return 1_000
        case 9: return 1
        default:
            var r: Int64 = 1
            var d = Int(timestampDecimals)
            while d < 9 { r &*= 10; d += 1 }
            return r
        }
    }
}

public enum LineParser {
    /// The widest `(tgid)` column searched for: `(` plus up to 18 digits or dashes, padding, `)`.
    static let maxTgidField = 32
    /// Seconds from which the nanoseconds may not fit in an `Int64` (checked exactly there).
    static let maxTimestampSeconds: Int64 = (Int64.max - 999_999_999) / 1_000_000_000

    /// Parses one line (without its newline).
    public static func parse(_ b: UnsafeRawBufferPointer) -> ParsedLine {
        var out = ParsedLine()
        var end = b.count
        guard end > 0 else { out.kind = .blank; return out }
        let p = b.bytes
        while end > 0, p[end - 1] == asciiSpace || p[end - 1] == asciiTab || p[end - 1] == 0x0D { end -= 1 }
        let i0 = skipLeadingSpaces(p, end)
        guard i0 < end else { out.kind = .blank; return out }

        // Lines that are not events start with one of a few characters; a test of the first
        // byte (well predicted: mostly "no") keeps event lines off a jump table.
        let c0 = p[i0]
        if c0 == 0x23 { // '#'
            if b.matches("# tracecheck:", at: i0, end: end) {
                out.kind = .metadata
                out.payload = ByteRange(b.skipSpaces(from: i0 + 13, to: end), end)
            } else if b.matches("#####", at: i0, end: end) {
                out.kind = .annotation
            } else {
                out.kind = .header
            }
            return out
        }
        if c0 | 0x20 == 0x63 || c0 == 0x4C || c0 == 0x41 { switch c0 {
        case 0x43 where b.matches("CPU:", at: i0, end: end):
            out.kind = parseCPUMarker(b, i0 + 4, end)
            return out
        case 0x4C where b.matches("Lost ", at: i0, end: end):
            // bpftrace: "Lost N events"
            var j = i0 + 5
            let s = j
            while j < end, isDigit(b[j]) { j += 1 }
            if j > s, b.matches(" events", at: j, end: end), j + 7 == end {
                out.kind = .lost(cpu: nil, count: b.decimal(ByteRange(s, j)).map(Int.init))
                return out
            }
        case 0x41 where b.matches("Attaching ", at: i0, end: end):
            if b.matches(" probe", at: lastIndexOfSpace(b, i0, end), end: end) || b[end - 1] == 0x2E {
                out.kind = .annotation
                return out
            }
        case 0x63 where b.matches("cpus=", at: i0, end: end):
            if b.decimal(ByteRange(i0 + 5, end)) != nil { out.kind = .header; return out }
        default:
            break
        } }

        if parsePrefixed(b, i0, end, &out) { return out }
        if parseBare(b, i0, end, &out) { return out }
        out.kind = .malformed(.malformedLine)
        return out
    }

    private static func lastIndexOfSpace(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int {
        // Position of " probe" in "Attaching N probe(s)..." is right after the number.
        var j = start + 10
        while j < end, isDigit(b[j]) { j += 1 }
        return j
    }

    /// `CPU:N [LOST M EVENTS]`, `CPU:N [LOST EVENTS]`, `CPU:N [M EVENTS DROPPED]`,
    /// `CPU:N [EVENTS DROPPED]`, `CPU:N [SUBBUFFER START]`.
    private static func parseCPUMarker(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> LineKind {
        var j = start
        while j < end, isDigit(b[j]) { j += 1 }
        guard j > start, let cpu = b.decimal(ByteRange(start, j)) else { return .malformed(.malformedLine) }
        j = b.skipSpaces(from: j, to: end)
        guard j < end, b[j] == 0x5B, b[end - 1] == 0x5D else { return .malformed(.malformedLine) }
        let inner = ByteRange(j + 1, end - 1)
        if b.equals(inner, "LOST EVENTS") || b.equals(inner, "EVENTS DROPPED") {
            return .lost(cpu: Int(cpu), count: nil)
        }
        if b.equals(inner, "SUBBUFFER START") { return .annotation }
        var k = inner.start
        if b.matches("LOST ", at: k, end: inner.end) {
            k += 5
            let s = k
            while k < inner.end, isDigit(b[k]) { k += 1 }
            if k > s, b.matches(" EVENTS", at: k, end: inner.end), k + 7 == inner.end {
                return .lost(cpu: Int(cpu), count: b.decimal(ByteRange(s, k)).map(Int.init))
            }
        } else {
            let s = k
            while k < inner.end, isDigit(b[k]) { k += 1 }
            if k > s, b.matches(" EVENTS DROPPED", at: k, end: inner.end), k + 15 == inner.end {
                return .lost(cpu: Int(cpu), count: b.decimal(ByteRange(s, k)).map(Int.init))
            }
        }
        return .malformed(.malformedLine)
    }

    /// `<comm>-<pid> [(<tgid>)] [<cpu>] [<flags>] <timestamp>: <event>: <payload>`
    @inline(__always)
    private static func parsePrefixed(
        _ b: UnsafeRawBufferPointer, _ i0: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        // Find the CPU field: the first "[digits]" preceded by "-<pid>" (and an optional tgid).
        let p = b.bytes
        var j = i0
        while true {
            j = findByte(0x5B, p, from: j, to: end)
            guard j < end else { return false }
            var k = j + 1
            var cpu: Int64 = 0
            while k < end, isDigit(p[k]) {
                cpu = cpu &* 10 &+ Int64(p[k] &- 0x30)
                k += 1
            }
            if k > j + 1, k - (j + 1) <= 18, k + 1 < end, p[k] == 0x5D, p[k + 1] == asciiSpace,
               parseTaskField(p, i0, j, &out) {
                if case .malformed = out.kind { return true }
                guard cpu <= Int64(Int32.max) else { out.kind = .malformed(.valueOutOfRange); return true }
                out.cpu = Int32(truncatingIfNeeded: cpu)
                return parseAfterCPU(p, k + 1, end, &out)
            }
            j += 1
        }
    }

    /// Parses `<comm>-<pid> [(<tgid>)] ` ending right before `cpuBracket`. A pid or tgid past
    /// 32 bits makes the line `.malformed(.valueOutOfRange)` (and returns true: decided).
    @inline(__always)
    private static func parseTaskField(
        _ p: UnsafePointer<UInt8>, _ i0: Int, _ cpuBracket: Int, _ out: inout ParsedLine
    ) -> Bool {
        var e = cpuBracket
        while e > i0, p[e - 1] == asciiSpace { e -= 1 }
        guard e > i0 else { return false }
        var tgid: Int64 = -1
        if p[e - 1] == 0x29 { // ')': "(tgid)" or "(-----)"
            guard let t = parseTgid(p, i0, &e) else { return false }
            tgid = t
        }
        // pid: the last "-<digits>" before e.
        let q = digitRunStart(p, i0, e)
        guard q < e, q > i0, p[q - 1] == 0x2D, e - q <= 18 else { return false }
        var pid: Int64 = 0
        for x in q..<e { pid = pid &* 10 &+ Int64(p[x] &- 0x30) }
        if pid > Int64(Int32.max) || tgid > Int64(Int32.max) {
            out.kind = .malformed(.valueOutOfRange)
            return true
        }
        out.pid = Int32(truncatingIfNeeded: pid)
        out.tgid = Int32(truncatingIfNeeded: tgid)
        out.comm = ByteRange(i0, q - 1)
        return true
    }

    /// The start of the run of decimal digits that ends at `e` (not before `i0`). The eight
    /// bytes before `e` are tested at once when they lie inside the line: pids vary in length,
    /// and a byte loop's exit would be mispredicted.
    @inline(__always)
    static func digitRunStart(_ p: UnsafePointer<UInt8>, _ i0: Int, _ e: Int) -> Int {
        if e - 8 >= i0 {
            let w = UInt64(littleEndian: UnsafeRawPointer(p + e - 8).loadUnaligned(as: UInt64.self))
            // Non-zero byte for a non-digit: high nibble not 3, or low nibble above 9.
            let a = w ^ 0x3030_3030_3030_3030
            let nd = (a & 0xF0F0_F0F0_F0F0_F0F0) | (((a & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) & 0x1010_1010_1010_1010)
            let flag = (((nd & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | nd) & 0x8080_8080_8080_8080
            if flag != 0 { return e - (flag.leadingZeroBitCount >> 3) }
        }
        var q = e
        while q > i0, isDigit(p[q - 1]) { q -= 1 }
        return q
    }

    /// `(tgid)` or `(-----)` ending at `e` (exclusive); moves `e` before it and the spaces
    /// ahead of it. Nil when it is neither; -1 for dashes.
    ///
    /// The `(` is looked for in the last `maxTgidField` bytes only: a line may hold a `)[`
    /// at every other byte, and a search back to the line's start from each would make the
    /// parse quadratic in the line's length.
    private static func parseTgid(_ p: UnsafePointer<UInt8>, _ i0: Int, _ e: inout Int) -> Int64? {
        var s = e - 1
        let floor = max(i0, e - maxTgidField)
        while s > floor, p[s - 1] != 0x28 { s -= 1 }
        guard s > i0, p[s - 1] == 0x28 else { return nil }
        let b = UnsafeRawBufferPointer(start: p, count: e)
        let inner = ByteRange(b.skipSpaces(from: s, to: e - 1), e - 1)
        var tgid: Int64 = -1
        if let v = b.decimal(inner) {
            guard v >= 0 else { return nil }
            tgid = v
        } else {
            for x in inner.start..<inner.end where p[x] != 0x2D { return nil }
        }
        e = s - 1
        while e > i0, p[e - 1] == asciiSpace { e -= 1 }
        return tgid
    }

    /// `skipSpaces(p, 0, end)`, eight bytes per step over the run of spaces that right-aligns
    /// the task column.
    @inline(__always)
    static func skipLeadingSpaces(_ p: UnsafePointer<UInt8>, _ end: Int) -> Int {
        var i = 0
        while i + 8 <= end {
            let w = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) ^ 0x2020_2020_2020_2020
            if w != 0 {
                i += w.trailingZeroBitCount >> 3
                break
            }
            i += 8
        }
        return skipSpaces(p, i, end)
    }

    @inline(__always)
    private static func skipSpaces(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var i = i
        while i < end, p[i] == asciiSpace || p[i] == asciiTab { i += 1 }
        return i
    }

    @inline(__always)
    private static func parseAfterCPU(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        var i = skipSpaces(p, start, end)
        var tok = findByte(asciiSpace, p, from: i, to: end)
        guard tok > i else { return false }
        if p[tok - 1] != 0x3A { // not the timestamp: the irq-info flags column
            guard tok - i <= 8 else { return false }
            // '.', digits and letters only (a table of the allowed ASCII bytes).
            let allowed = flagsColumnBytes.utf8Start
            var bad: UInt8 = 0
            for x in i..<tok {
                let c = p[x]
                bad |= (c & 0x80) | (allowed[Int(c & 0x7F)] &- 0x31)
            }
            guard bad == 0 else { return false }
            i = skipSpaces(p, tok, end)
            tok = findByte(asciiSpace, p, from: i, to: end)
            guard tok > i, p[tok - 1] == 0x3A else { return false }
        }
        guard parseTimestamp(p, i, tok - 1, limit: end, &out) else { return false }
        if !out.hasTimestamp { return true } // decided: out of range
        return parseEventName(p, tok, end, &out)
    }

    /// `n` (1…8) decimal digits at `p[i...]` followed by `8 - n` zeros, as a number; nil if
    /// any of the `n` bytes is not a digit. Only those `n` bytes are read.
    @inline(__always)
    static func digits8(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int, limit: Int) -> UInt64? {
        var w: UInt64 = 0x3030_3030_3030_3030
        if n == 8 {
            w = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
        } else if i + 8 <= limit {
            // Eight bytes are there to read (the line goes on): keep the first n.
            let mask: UInt64 = (1 << (8 * UInt64(n))) &- 1
            w = (UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) & mask) | (w & ~mask)
        } else {
            for k in 0..<n { w = (w & ~(0xFF << (8 * UInt64(k)))) | UInt64(p[i + k]) << (8 * UInt64(k)) }
        }
        // Every byte 0x30…0x39.
        guard w & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
              (w &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030 else { return nil }
        // Lemire's eight-digit parse: pairs, then quads, then the whole (first digit highest).
        var v = w &- 0x3030_3030_3030_3030
        v = (v &* 10) &+ (v >> 8)
        v = (((v & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32)))
            &+ (((v >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32)))) >> 32
        return v
    }

    /// `sec.frac` (any number of decimals up to 9) → ns; a bare integer → ticks. Seconds whose
    /// nanoseconds pass `Int64.max` (about 292 years) make the line
    /// `.malformed(.valueOutOfRange)`: returns true with `hasTimestamp` false.
    @inline(__always)
    static func parseTimestamp(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, limit: Int, _ out: inout ParsedLine
    ) -> Bool {
        var x = start
        var secs: Int64 = 0
        while x < end, isDigit(p[x]) {
            secs = secs &* 10 &+ Int64(p[x] &- 0x30)
            x += 1
        }
        let secDigits = x - start
        if x == end {
            // A bare integer (at most 18 digits, like `decimal`).
            guard secDigits > 0, secDigits <= 18 else { return false }
            out.timestamp = secs; out.timestampIsNanoseconds = false; out.hasTimestamp = true
            return true
        }
        guard p[x] == 0x2E, secDigits > 0, secDigits <= 18 else { return false }
        x += 1
        let fracStart = x
        let fracDigits = end - fracStart
        guard fracDigits >= 1, fracDigits <= 9 else { return false }
        // The fraction as nanoseconds: its digits padded with '0's to nine, eight at a time.
        guard let high = digits8(p, fracStart, min(fracDigits, 8), limit: limit) else { return false }
        var frac = Int64(high) &* 10
        if fracDigits == 9 {
            let d = p[fracStart + 8] &- 0x30
            guard d < 10 else { return false }
            frac &+= Int64(d)
        }
        if secs >= maxTimestampSeconds {
            // Near or past 2^63 ns (about 292 years): exact arithmetic decides.
            let (ns, o1) = secs.multipliedReportingOverflow(by: 1_000_000_000)
            let (t, o2) = ns.addingReportingOverflow(frac)
            if o1 || o2 { out.kind = .malformed(.valueOutOfRange); return true }
            out.timestamp = t
        } else {
            out.timestamp = secs &* 1_000_000_000 &+ frac
        }
        out.timestampIsNanoseconds = true
        out.timestampDecimals = UInt8(truncatingIfNeeded: fracDigits)
        out.hasTimestamp = true
        return true
    }

    /// After the timestamp's colon: ` <event>: <payload>` (trace-cmd pads the name).
    @inline(__always)
    private static func parseEventName(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        let i = skipSpaces(p, start, end)
        let j = findEither(0x3A, asciiSpace, p, from: i, to: end)
        guard j > i, j < end, p[j] == 0x3A else { return false }
        out.name = ByteRange(i, j)
        out.payload = ByteRange(skipSpaces(p, j + 1, end), end)
        out.kind = .event
        return true
    }

    /// `<event>: <payload>` with no prefix: a bpftrace printf line.
    private static func parseBare(
        _ b: UnsafeRawBufferPointer, _ i0: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        var j = i0
        while j < end {
            let c = b[j]
            guard c == 0x5F || isDigit(c) || (c >= 0x61 && c <= 0x7A) else { break }
            j += 1
        }
        guard j > i0, j < end, b[j] == 0x3A, j + 1 == end || b[j + 1] == asciiSpace else { return false }
        out.name = ByteRange(i0, j)
        out.payload = ByteRange(b.skipSpaces(from: j + 1, to: end), end)
        out.kind = .event
        return true
    }
}

/// For each ASCII byte: "1" if the irq-flags column may hold it ('.', digits, letters).
private let flagsColumnBytes: StaticString =
    "00000000000000000000000000000000000000000000001011111111110000000111111111111111111111111110000001111111111111111111111111100000"
