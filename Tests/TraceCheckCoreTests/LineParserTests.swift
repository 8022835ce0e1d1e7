import Testing
@testable import TraceCheckCore

/// Runs the parser over a Swift string and returns the result with the byte ranges resolved.
struct ParsedText {
    var kind: LineKind
    var comm: String
    var pid: Int32
    var tgid: Int32
    var cpu: Int32
    var timestamp: Int64?
    var isNs: Bool
    var name: String
    var payload: String
}

func parseText(_ s: String) -> ParsedText {
    var s = s
    return s.withUTF8 { buf in
        let b = UnsafeRawBufferPointer(buf)
        let p = LineParser.parse(b)
        return ParsedText(
            kind: p.kind, comm: b.string(p.comm), pid: p.pid, tgid: p.tgid, cpu: p.cpu,
            timestamp: p.hasTimestamp ? p.timestamp : nil, isNs: p.timestampIsNanoseconds,
            name: b.string(p.name), payload: b.string(p.payload))
    }
}

struct PrefixCase: Sendable, CustomTestStringConvertible {
    var label: String
    var line: String
    var comm: String
    var pid: Int32
    var tgid: Int32 = -1
    var cpu: Int32
    var ts: Int64
    var isNs = true
    var testDescription: String { label }
}

let payload = "pfn=0x1a2b3c flags=uptodate|lru count=2 mapcount=1 mapping=00000000c0ffee11 mt=1 val=1"

/// Every prefix variant (TraceFormats.md, The ftrace event line and trace-cmd report).
let prefixCases: [PrefixCase] = [
    .init(label: "v5.8 kernel, 4-char flags", line: "           a.out-1234  [002] ....  5012.123456: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 5_012_123_456_000),
    .init(label: "v5.8 record-tgid", line: "           a.out-1234  ( 1230) [002] ....  5012.123456: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, tgid: 1230, cpu: 2, ts: 5_012_123_456_000),
    .init(label: "v5.9 7-wide pid", line: "           a.out-1234    [002] ....  5012.123456: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 5_012_123_456_000),
    .init(label: "v5.17+ 5-char flags with tgid", line: "           a.out-1234    (   1230) [002] .....  5012.123456: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, tgid: 1230, cpu: 2, ts: 5_012_123_456_000),
    .init(label: "unknown tgid", line: "           a.out-1234    (-------) [002] d..1.  5012.123456: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 5_012_123_456_000),
    .init(label: "counter clock (bare integer)", line: "           a.out-1234    [002] .....    987654321: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 987_654_321, isNs: false),
    .init(label: "irq-info off", line: "           a.out-1234    [002]  5012.123456: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 5_012_123_456_000),
    .init(label: "trace-cmd padded name", line: "           a.out-1234  [002] .....  5012.123457: page_ref_mod:         \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 5_012_123_457_000),
    .init(label: "trace-cmd -t 9 decimals, 7 flags", line: "           a.out-1234  [002] d..1.11  5012.123456789: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 2, ts: 5_012_123_456_789),
    .init(label: "comm with slash, colon and dashes", line: " kworker/0:1-events-77    [001] .N.2.   12.000001: page_ref_mod: \(payload)",
          comm: "kworker/0:1-events", pid: 77, cpu: 1, ts: 12_000_001_000),
    .init(label: "comm with spaces", line: "     my work load-4242    [000] .....   100.500000: page_ref_mod: \(payload)",
          comm: "my work load", pid: 4242, cpu: 0, ts: 100_500_000_000),
    .init(label: "idle task", line: "          <idle>-0       [003] d.h1.  7.000000: page_ref_mod: \(payload)",
          comm: "<idle>", pid: 0, cpu: 3, ts: 7_000_000_000),
    .init(label: "comm not cached", line: "           <...>-99999   [001] .....  7.250000: page_ref_mod: \(payload)",
          comm: "<...>", pid: 99999, cpu: 1, ts: 7_250_000_000),
    .init(label: "cowtrace 9-decimal line", line: "    cow_workload-22405   [001] .....  1058.969289151: page_ref_mod: \(payload)",
          comm: "cow_workload", pid: 22405, cpu: 1, ts: 1_058_969_289_151),
    .init(label: "4-digit cpu", line: "           a.out-1234    [1023] .....  5.000001: page_ref_mod: \(payload)",
          comm: "a.out", pid: 1234, cpu: 1023, ts: 5_000_001_000),
]

@Test(arguments: prefixCases)
func prefixVariants(_ c: PrefixCase) {
    let p = parseText(c.line)
    #expect(p.kind == .event)
    #expect(p.comm == c.comm)
    #expect(p.pid == c.pid)
    #expect(p.tgid == c.tgid)
    #expect(p.cpu == c.cpu)
    #expect(p.timestamp == c.ts)
    #expect(p.isNs == c.isNs)
    #expect(p.name == "page_ref_mod")
    #expect(p.payload == payload)
}

@Test func bareBpftraceLineIsAnEventWithoutTask() {
    let p = parseText("wp_page: pfn=0x10 decision=copy")
    #expect(p.kind == .event)
    #expect(p.name == "wp_page")
    #expect(p.payload == "pfn=0x10 decision=copy")
    #expect(p.pid == -1)
    #expect(p.timestamp == nil)
}

@Test(arguments: [
    ("CPU:1 [LOST 42 EVENTS]", LineKind.lost(cpu: 1, count: 42)),
    ("CPU:0 [LOST EVENTS]", LineKind.lost(cpu: 0, count: nil)),
    ("CPU:3 [17 EVENTS DROPPED]", LineKind.lost(cpu: 3, count: 17)),
    ("CPU:2 [EVENTS DROPPED]", LineKind.lost(cpu: 2, count: nil)),
    ("Lost 1234 events", LineKind.lost(cpu: nil, count: 1234)),
    ("CPU:2 [SUBBUFFER START]", LineKind.annotation),
    ("##### CPU 1 buffer started ####", LineKind.annotation),
    ("Attaching 3 probes...", LineKind.annotation),
    ("Attaching 1 probe...", LineKind.annotation),
    ("cpus=2", LineKind.header),
    ("# tracer: nop", LineKind.header),
    ("#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION", LineKind.header),
    ("", LineKind.blank),
    ("   \t  ", LineKind.blank),
    ("# tracecheck: kernel=6.18.44 clock=mono capture=kit", LineKind.metadata),
])
func specialLines(_ line: String, _ kind: LineKind) {
    #expect(parseText(line).kind == kind)
}

@Test func metadataPayloadHoldsThePairs() {
    #expect(parseText("# tracecheck: kernel=6.18.44 clock=mono").payload == "kernel=6.18.44 clock=mono")
}

@Test(arguments: [
    "hello world",
    "a.out-12 [00x] ....  5.000000: page_ref_mod: x",
    "a.out [002] ....  5.000000: page_ref_mod: x",          // no pid
    "a.out-12 [002] ....  5.0x0000: page_ref_mod: x",       // bad timestamp
    "a.out-12 [002] ....  5.000000 page_ref_mod: x",        // no colon after the timestamp
    "a.out-12 [002] ....  5.000000:",                       // no event name
    "CPU:1 [LOST many EVENTS]",
    "Lost some events",
    "\u{0}\u{1}\u{2}garbage\u{ff}",
    "{\"type\": \"printf\"}",
])
func malformedLinesAreReportedNotCrashed(_ line: String) {
    guard case .malformed(.malformedLine) = parseText(line).kind else {
        Issue.record("expected malformed, got \(parseText(line).kind)")
        return
    }
}

@Test func trailingCarriageReturnAndSpacesAreIgnored() {
    let p = parseText("           a.out-1234    [002] .....  5012.123456: wp_page: pfn=0x1 decision=copy  \r")
    #expect(p.payload == "pfn=0x1 decision=copy")
}
