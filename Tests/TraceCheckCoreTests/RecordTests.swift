import Foundation
import Testing
@testable import TraceCheckCore

// MARK: timestamps and the merge

@Test(arguments: [
    ("    cow_workload-22405   [001] d....  1058.967632: page_fault_user: address=0x401560", UInt64(1058_967_632_000)),
    (" d13_fork_shared-17947   [000] .....   949.565888493: mm_fault: kind=write_none", UInt64(949_565_888_493)),
    ("cow_workload-342 [000] ..... 45.148699698: wp_page: tgid=342", UInt64(45_148_699_698)),
    ("  bash-1 (    1) [003] .... 12.5: x", UInt64(12_500_000_000)),
])
func timestampOfAnFtraceLine(_ line: String, _ ns: UInt64) {
    #expect(CaptureMerge.timestamp(Array(line.utf8)) == ns)
}

@Test(arguments: ["# tracer: nop", "", "no bracket 12.5: here", "  x-1 [000] ..... notatime: y", "  x-1 [000] ..... 12.1234567890: too many digits"])
func linesWithoutATimestamp(_ line: String) {
    #expect(CaptureMerge.timestamp(Array(line.utf8)) == nil)
}

private func merged(_ files: [(String, String)]) -> [String] {
    let sources = files.map { CaptureMerge.Source(name: $0.0, text: Array($0.1.utf8)) }
    var out: [String] = []
    CaptureMerge.merge(sources) { out.append(String(decoding: $0, as: UTF8.self)) }
    return out
}

@Test func mergeOrdersMicrosecondAndNanosecondLinesOnOneClock() {
    let bpf = """
        a-1 [000] ..... 10.000000500: wp_page: pfn=0x1
        a-1 [000] ..... 10.000002000: wp_page: pfn=0x2
        """
    let tracefs = """
        a-1 [000] d.... 10.000001: page_fault_user: address=0x1
        a-1 [000] d.... 10.000002: page_fault_user: address=0x2
        a-1 [000] d.... 10.000003: page_fault_user: address=0x3
        """
    let out = merged([("bpf.txt", bpf), ("tracefs.txt", tracefs)])
    #expect(out.map { $0.split(separator: " ").last! } == ["pfn=0x1", "address=0x1", "pfn=0x2", "address=0x2", "address=0x3"])
}

@Test func aLineWithoutATimestampStaysAfterItsPredecessor() {
    let a = """
        a-1 [000] ..... 5.000000: first
        continuation without a timestamp
        a-1 [000] ..... 7.000000: third
        """
    let b = "b-2 [001] ..... 6.000000: second\n"
    let out = merged([("a.txt", a), ("b.txt", b)])
    #expect(out == ["a-1 [000] ..... 5.000000: first", "continuation without a timestamp",
                    "b-2 [001] ..... 6.000000: second", "a-1 [000] ..... 7.000000: third"])
}

@Test func mergeKeepsEveryLineAndCountsDisorder() {
    let a = "x-1 [000] ..... 2.0: a\nx-1 [000] ..... 1.0: b\nx-1 [000] ..... 3.0: c\n"
    let source = CaptureMerge.Source(name: "a.txt", text: Array(a.utf8))
    #expect(source.outOfOrder == 1)
    #expect(merged([("a.txt", a), ("e.txt", "")]).count == 3)
}

@Test func headerNamesKernelClockAndEngine() throws {
    let h = CaptureMerge.header(kernel: "6.18.44-fc", clock: "mono", engine: "tpbtf")
    #expect(h == "# tracecheck: kernel=6.18.44-fc clock=mono capture=tpbtf")
    // The checker reads it back as the capture's metadata.
    var lineCount = 0
    var parsed = false
    var splitter = LineSplitter(source: MemoryByteSource(Array((h + "\n").utf8)))
    try splitter.forEachLine { line, _, _ in
        lineCount += 1
        parsed = String(decoding: line, as: UTF8.self).hasPrefix("# tracecheck: kernel=6.18.44-fc")
    }
    #expect(lineCount == 1 && parsed)
}

// MARK: engine choice

private func facts(root: Bool = true, tracefs: Bool = true, kprobes: Bool, btf: Bool, release: String = "6.18.44") -> TracingCapabilities {
    TracingCapabilities(release: release, isRoot: root, hasTracefs: tracefs, hasKprobes: kprobes, hasBTF: btf)
}

@Test func kprobesWinWhereTheKernelHasThem() {
    let probes = [EngineProbe(name: "kprobe", usable: true), EngineProbe(name: "tpbtf", usable: true)]
    #expect(EngineSelection.choose(facts(kprobes: true, btf: true), probes: probes) == .engine("kprobe"))
}

@Test func lockedDownKernelGetsTheTracepointEngine() {
    let probes = [EngineProbe(name: "kprobe", usable: false, reason: "no kprobes."), EngineProbe(name: "tpbtf", usable: true)]
    #expect(EngineSelection.choose(facts(kprobes: false, btf: true), probes: probes) == .engine("tpbtf"))
}

@Test func anUnusableKprobeEngineFallsBackToTpBtf() {
    let probes = [EngineProbe(name: "kprobe", usable: false, reason: "bpftrace is missing"), EngineProbe(name: "tpbtf", usable: true)]
    #expect(EngineSelection.choose(facts(kprobes: true, btf: true), probes: probes) == .engine("tpbtf"))
}

@Test func noEngineIsExplainedInOneSentence() throws {
    let probes = [EngineProbe(name: "tpbtf", usable: false, reason: "install clang and libbpf-dev.\n")]
    guard case .none(let why) = EngineSelection.choose(facts(kprobes: false, btf: true), probes: probes) else {
        Issue.record("an engine was chosen")
        return
    }
    #expect(why.contains("tpbtf: install clang and libbpf-dev"))
    #expect(why.filter { $0 == "." }.count == 1)
    #expect(!why.contains("\n"))
}

@Test(arguments: [
    (false, true, true, true, "root"),
    (true, false, true, true, "tracefs"),
    (true, true, false, false, "neither kprobes"),
])
func missingBasicsAreNamed(root: Bool, tracefs: Bool, kprobes: Bool, btf: Bool, word: String) {
    let all = [EngineProbe(name: "kprobe", usable: true), EngineProbe(name: "tpbtf", usable: true)]
    guard case .none(let why) = EngineSelection.choose(facts(root: root, tracefs: tracefs, kprobes: kprobes, btf: btf), probes: all) else {
        Issue.record("an engine was chosen")
        return
    }
    #expect(why.contains(word))
}

@Test func tpBtfNeedsBTFAndA55Kernel() {
    #expect(facts(kprobes: false, btf: true, release: "5.4.0-100-generic").hasTpBtf == false)
    #expect(facts(kprobes: false, btf: true, release: "5.10.0-32-amd64").hasTpBtf == true)
    #expect(facts(kprobes: false, btf: false, release: "6.18.44").hasTpBtf == false)
    #expect(TracingCapabilities.version("6.18.44-fc-v1252")! == (6, 18))
}

@Test func capabilitiesComeFromTheKernelsFiles() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-caps-\(getpid())")
    defer { try? FileManager.default.removeItem(at: root) }
    for dir in ["sys/kernel/tracing/events", "sys/kernel/btf"] {
        try FileManager.default.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
    }
    try Data().write(to: root.appendingPathComponent("sys/kernel/btf/vmlinux"))
    let f = TracingCapabilities.probe(root: root.path, release: "6.18.44", isRoot: true)
    #expect(f.hasTracefs && f.hasBTF && !f.hasKprobes)
    try FileManager.default.createDirectory(at: root.appendingPathComponent("sys/bus/event_source/devices/kprobe"), withIntermediateDirectories: true)
    #expect(TracingCapabilities.probe(root: root.path, release: "6.18.44", isRoot: true).hasKprobes)
}

// MARK: the written capture

@Test func engineEnvIsKeyValueLines() {
    let env = Recorder.parseEnv("engine=tpbtf\nclock=mono\nlost=3\nnote=a=b c\n")
    #expect(env == ["engine": "tpbtf", "clock": "mono", "lost": "3", "note": "a=b c"])
}

@Test func aWorkDirectoryBecomesOneCompressedTraceTheCheckerReads() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-merge-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try """
        w-7 [000] ..... 100.000000100: wp_page: tgid=7 pfn=0x10 addr=0x7000 refcount=2 mapcount=2 flags=0x20028 pgflags=uptodate|lru|swapbacked mapping=0xffff888100000001 anon=1 ksm=0 swapcache=0 locked=0 writeback=0 lru=1 large=0 anon_exclusive=0 zero=0 decision=copy
        """.write(to: dir.appendingPathComponent("bpf.txt"), atomically: true, encoding: .utf8)
    try """
        w-7 [000] d.... 100.000000: page_fault_user: address=0x7000 ip=0x401000 error_code=0x7
        w-7 [000] ..... 100.000001: tracing_mark_write: usercheck: scenario=t step=s1
        """.write(to: dir.appendingPathComponent("tracefs.txt"), atomically: true, encoding: .utf8)
    try "engine=tpbtf\nclock=mono\n".write(to: dir.appendingPathComponent("engine.env"), atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("capture.zst").path
    let counts = try Recorder.writeCapture(workdir: dir.path, header: CaptureMerge.header(kernel: "6.18.44", clock: "mono", engine: "tpbtf"), to: out, level: 3)
    #expect(counts.lines == 3 && counts.wpPage == 1 && counts.markers == 1)
    let lines = try readLines(out)
    #expect(lines.count == 4)
    #expect(lines[0] == "# tracecheck: kernel=6.18.44 clock=mono capture=tpbtf")
    #expect(lines[1].contains("page_fault_user") && lines[2].contains("wp_page") && lines[3].contains("usercheck"))
    let (result, faults) = runChecker(out)
    #expect(faults.count == 1)
    #expect(result.stats.malformed == 0)
    #expect(result.errors.isEmpty)
}

// MARK: the whole recording, with stand-in engines (no root, no tracing)

/// A capture directory with one engine whose `run` is the given shell script body.
private func fakeCaptureDir(engine: String, run body: String) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-fake-\(getpid())-\(engine)-\(UUID().uuidString)")
    let dir = root.appendingPathComponent("engines/\(engine)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, text) in [("probe", "#!/bin/sh\nexit 0\n"), ("run", "#!/bin/sh\n" + body)] {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }
    return root
}

@Test func recordRunsTheEngineAndMergesWhatItWrote() throws {
    // The engine writes two sources out of each other's order and runs the command.
    let root = try fakeCaptureDir(engine: "fake", run: #"""
        [ "$1" = --workdir ] || exit 125
        dir=$2; shift 2
        while [ "$1" != -- ]; do shift; done; shift
        printf 'c-1 [000] ..... 2.000000002: wp_page: pfn=0x2 decision=copy\n' > "$dir/bpf.txt"
        printf 'c-1 [000] d.... 1.000000: page_fault_user: address=0x1\nc-1 [000] d.... 3.000000: page_fault_user: address=0x3\n' > "$dir/tracefs.txt"
        printf 'engine=fake\nclock=mono\nlost=7\nfaults=2\n' > "$dir/engine.env"
        "$@"
        """#)
    defer { try? FileManager.default.removeItem(at: root) }
    let out = root.appendingPathComponent("x.zst").path
    var progress: [String] = []
    let summary = try Recorder.record(RecordOptions(output: out, command: ["/bin/sh", "-c", "exit 3"], captureDirectory: root.path, engine: "fake", level: 3)) {
        progress.append($0)
    }
    #expect(summary.commandStatus == 3)
    #expect(summary.lost == 7 && summary.faultsSeen == 2)
    #expect(summary.counts.lines == 3 && summary.counts.wpPage == 1)
    #expect(progress.first?.contains("fake engine") == true)
    let lines = try readLines(out)
    #expect(lines.count == 4)
    #expect(lines[0].hasPrefix("# tracecheck: kernel=") && lines[0].hasSuffix(" clock=mono capture=fake"))
    #expect(lines[1].hasSuffix("address=0x1") && lines[2].contains("wp_page") && lines[3].hasSuffix("address=0x3"))
    #expect(Recorder.describe(summary).contains("lost 7"))
}

@Test func aFailedEngineWritesNothingAndSaysSo() throws {
    let root = try fakeCaptureDir(engine: "broken", run: "echo 'broken: calibration failed' >&2\nexit 125\n")
    defer { try? FileManager.default.removeItem(at: root) }
    let out = root.appendingPathComponent("x.zst").path
    #expect(throws: RecordError.self) {
        try Recorder.record(RecordOptions(output: out, command: ["/bin/true"], captureDirectory: root.path, engine: "broken")) { _ in }
    }
    #expect(!FileManager.default.fileExists(atPath: out))
}

@Test func enginesAnswerThroughTheirProbes() throws {
    let root = try fakeCaptureDir(engine: "fake", run: "exit 0\n")
    defer { try? FileManager.default.removeItem(at: root) }
    let other = root.appendingPathComponent("engines/nokernel")
    try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
    for (name, text) in [("probe", "#!/bin/sh\necho 'this kernel lacks something.'\nexit 1\n"), ("run", "#!/bin/sh\nexit 125\n")] {
        try text.write(to: other.appendingPathComponent(name), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: other.appendingPathComponent(name).path)
    }
    let probes = Recorder.probeEngines(in: root.path)
    #expect(probes == [EngineProbe(name: "fake", usable: true, reason: ""),
                       EngineProbe(name: "nokernel", usable: false, reason: "this kernel lacks something.\n")])
}

@Test func anUnwritableOutputIsRefusedBeforeTracing() throws {
    let ran = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-ran-\(getpid())").path
    let root = try fakeCaptureDir(engine: "marker", run: "touch '\(ran)'\nexit 0\n")
    defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(atPath: ran) }
    let out = root.appendingPathComponent("no/such/dir/x.zst").path
    #expect(throws: RecordError.self) {
        try Recorder.record(RecordOptions(output: out, command: ["/bin/true"], captureDirectory: root.path, engine: "marker")) { _ in }
    }
    #expect(!FileManager.default.fileExists(atPath: ran), "the engine ran although the capture could not be written")
}
