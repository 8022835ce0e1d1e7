/// Splits one trace line into its kind and, for event lines, the common prefix fields
/// (comm, pid, tgid, cpu, timestamp) and the event name and payload as byte ranges.
///
/// Accepted prefixes (TRACE-FORMATS.md §1–2): the kernel's `trace`/`trace_pipe` text
/// (4- or 5-char irq flags or none, optional `(tgid)`, 6-decimal or bare-integer clocks),
/// `trace-cmd report` (5-wide pid, 5–7 flag chars, 6 or 9 decimals, padded event name),
/// and a bare `<event>: <payload>` line as a bpftrace `printf` writes it.
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
    public var comm = ByteRange.empty
    public var name = ByteRange.empty
    public var payload = ByteRange.empty

    public init() {}
}

public enum LineParser {
    /// Parses one line (without its newline).
    public static func parse(_ b: UnsafeRawBufferPointer) -> ParsedLine {
        var out = ParsedLine()
        var end = b.count
        while end > 0, b[end - 1] == asciiSpace || b[end - 1] == asciiTab || b[end - 1] == 0x0D { end -= 1 }
        let i0 = b.skipSpaces(from: 0, to: end)
        guard i0 < end else { out.kind = .blank; return out }

        switch b[i0] {
        case 0x23: // '#'
            if b.matches("# tracecheck:", at: i0, end: end) {
                out.kind = .metadata
                out.payload = ByteRange(b.skipSpaces(from: i0 + 13, to: end), end)
            } else if b.matches("#####", at: i0, end: end) {
                out.kind = .annotation
            } else {
                out.kind = .header
            }
            return out
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
        }

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
    private static func parsePrefixed(
        _ b: UnsafeRawBufferPointer, _ i0: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        // Find the CPU field: the first "[digits]" preceded by "-<pid>" (and an optional tgid).
        var j = i0
        while j < end {
            guard b[j] == 0x5B else { j += 1; continue }
            var k = j + 1
            while k < end, isDigit(b[k]) { k += 1 }
            if k > j + 1, k < end, b[k] == 0x5D, k + 1 < end, b[k + 1] == asciiSpace,
               let cpu = b.decimal(ByteRange(j + 1, k)),
               parseTaskField(b, i0, j, &out) {
                out.cpu = Int32(truncatingIfNeeded: cpu)
                return parseAfterCPU(b, k + 1, end, &out)
            }
            j += 1
        }
        return false
    }

    /// Parses `<comm>-<pid> [(<tgid>)] ` ending right before `cpuBracket`.
    private static func parseTaskField(
        _ b: UnsafeRawBufferPointer, _ i0: Int, _ cpuBracket: Int, _ out: inout ParsedLine
    ) -> Bool {
        var e = cpuBracket
        while e > i0, b[e - 1] == asciiSpace { e -= 1 }
        guard e > i0 else { return false }
        var tgid: Int32 = -1
        if b[e - 1] == 0x29 { // ')': "(tgid)" or "(-----)"
            var s = e - 1
            while s > i0, b[s - 1] != 0x28 { s -= 1 }
            guard s > i0 else { return false }
            let inner = ByteRange(b.skipSpaces(from: s, to: e - 1), e - 1)
            if let v = b.decimal(inner) {
                tgid = Int32(truncatingIfNeeded: v)
            } else {
                for x in inner.start..<inner.end where b[x] != 0x2D { return false }
            }
            e = s - 1
            while e > i0, b[e - 1] == asciiSpace { e -= 1 }
        }
        // pid: the last "-<digits>" before e.
        var p = e
        while p > i0, isDigit(b[p - 1]) { p -= 1 }
        guard p < e, p > i0, b[p - 1] == 0x2D, let pid = b.decimal(ByteRange(p, e)) else { return false }
        out.pid = Int32(truncatingIfNeeded: pid)
        out.tgid = tgid
        out.comm = ByteRange(i0, p - 1)
        return true
    }

    private static func parseAfterCPU(
        _ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        var i = b.skipSpaces(from: start, to: end)
        var tok = tokenEnd(b, i, end)
        guard tok > i else { return false }
        if b[tok - 1] != 0x3A { // not the timestamp: the irq-info flags column
            guard tok - i <= 8 else { return false }
            for x in i..<tok {
                let c = b[x]
                let ok = c == 0x2E || isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
                guard ok else { return false }
            }
            i = b.skipSpaces(from: tok, to: end)
            tok = tokenEnd(b, i, end)
            guard tok > i, b[tok - 1] == 0x3A else { return false }
        }
        guard parseTimestamp(b, ByteRange(i, tok - 1), &out) else { return false }
        return parseEventName(b, tok, end, &out)
    }

    @inline(__always)
    private static func tokenEnd(_ b: UnsafeRawBufferPointer, _ i: Int, _ end: Int) -> Int {
        var j = i
        while j < end, b[j] != asciiSpace { j += 1 }
        return j
    }

    /// `sec.frac` (any number of decimals up to 9) → ns; a bare integer → ticks.
    private static func parseTimestamp(
        _ b: UnsafeRawBufferPointer, _ r: ByteRange, _ out: inout ParsedLine
    ) -> Bool {
        var dot = -1
        for x in r.start..<r.end {
            if b[x] == 0x2E { guard dot < 0 else { return false }; dot = x } else if !isDigit(b[x]) { return false }
        }
        if dot < 0 {
            guard let v = b.decimal(r) else { return false }
            out.timestamp = v; out.timestampIsNanoseconds = false; out.hasTimestamp = true
            return true
        }
        let fracDigits = r.end - dot - 1
        guard dot > r.start, fracDigits >= 1, fracDigits <= 9,
              let secs = b.decimal(ByteRange(r.start, dot)),
              var frac = b.decimal(ByteRange(dot + 1, r.end)) else { return false }
        for _ in fracDigits..<9 { frac &*= 10 }
        out.timestamp = secs &* 1_000_000_000 &+ frac
        out.timestampIsNanoseconds = true
        out.hasTimestamp = true
        return true
    }

    /// After the timestamp's colon: ` <event>: <payload>` (trace-cmd pads the name).
    private static func parseEventName(
        _ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ out: inout ParsedLine
    ) -> Bool {
        let i = b.skipSpaces(from: start, to: end)
        var j = i
        while j < end, b[j] != 0x3A, b[j] != asciiSpace { j += 1 }
        guard j > i, j < end, b[j] == 0x3A else { return false }
        out.name = ByteRange(i, j)
        out.payload = ByteRange(b.skipSpaces(from: j + 1, to: end), end)
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
