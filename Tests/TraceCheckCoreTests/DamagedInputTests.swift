import Foundation
import Testing
@testable import TraceCheckCore

/// Hostile and damaged captures: each kind of damage gives a counted, shown problem and the
/// right exit status, never a trap, a wrong verdict, unbounded memory or invalid output.
@Suite("Damaged input")
struct DamagedInputTests {
    /// What the command would print for these inputs, run in-process.
    struct Run {
        var status: Int32
        var out: String
        var err: String
        var outBytes: [UInt8]
    }

    static func run(_ files: [[UInt8]], format: OutputFormat = .text, options: CheckOptions = CheckOptions(),
                    suffixes: [String] = []) -> Run {
        let paths = files.enumerated().map { k, f in
            InputFixtures.temporaryFile(f, suffix: k < suffixes.count ? suffixes[k] : ".txt")
        }
        defer { for p in paths { InputFixtures.remove(p) } }
        return run(paths: paths, format: format, options: options)
    }

    static func run(paths: [String], format: OutputFormat = .text, options: CheckOptions = CheckOptions()) -> Run {
        let out = ByteOutput(), err = ByteOutput()
        var all: [UInt8] = []
        let status = CommandRun.check(paths, options: options, format: format, version: "test", out: out, err: err) {
            all += $0.bytes
            $0.removeAll()
        }
        return Run(status: status, out: String(decoding: all, as: UTF8.self), err: String(decoding: Array(err.bytes), as: UTF8.self),
                   outBytes: all)
    }

    static func checker(_ text: String, options: CheckOptions = CheckOptions()) -> (CheckResult, TraceChecker) {
        let path = InputFixtures.temporaryFile(Array(text.utf8), suffix: ".txt")
        defer { InputFixtures.remove(path) }
        var c = TraceChecker(options: options)
        let r = c.run(paths: [path]) { _ in }
        return (r, c)
    }

    static func wp(_ pid: Int, _ ts: String, _ payload: String, comm: String = "a") -> String {
        "           \(comm)-\(pid)     [000] .... \(ts): wp_page: \(payload)\n"
    }

    static func ref(_ pid: Int, _ ts: String, pfn: UInt64, count: Int, val: Int = 1, op: String = "page_ref_mod") -> String {
        "           a-\(pid)     [000] .... \(ts): \(op): pfn=0x\(String(pfn, radix: 16)) flags=lru|swapbacked count=\(count) mapcount=1 mapping=ffff888100000001 mt=1 val=\(val)\n"
    }

    static func isValidJSON(_ s: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed])) != nil
    }

    // MARK: 1. numbers that used to trap

    @Test func overflowingNumbersAreMalformedLinesNotTraps() throws {
        var text = "# tracecheck: kernel=6.18.44 clock=global\n"
        text += Self.wp(1, "99999999999999999.000001", "pfn=0x10 decision=reuse refcount=1 mapcount=1 anon=1")
        text += Self.wp(1, "9223372037.000000000", "pfn=0x10 decision=reuse refcount=1 mapcount=1 anon=1")
        text += "           a-4294967295     [000] .... 1.000002: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1\n"
        text += "           a-1 (4294967296) [000] .... 1.000002: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1\n"
        text += "           a-1     [4294967296] .... 1.000002: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1\n"
        for _ in 0..<10 { text += "CPU:0 [LOST 999999999999999999 EVENTS]\n" }
        text += Self.wp(1, "9223372036.854775807", "pfn=0x12 decision=copy refcount=2 mapcount=1 anon=1")
        let r = Self.run([Array(text.utf8)])
        #expect(r.status == 0)
        #expect(r.out.contains("value-out-of-range: 5 lines (first at line 2, 3, 4, 5, 6)"))
        #expect(r.out.contains("at least 9223372036854775807 events lost"))
        // The largest timestamp that fits prints in full.
        let json = Self.run([Array(text.utf8)], format: .jsonl)
        #expect(json.out.contains("\"ts_ns\":9223372036854775807"))
        #expect(json.out.contains("\"value-out-of-range\":5"))
        #expect(json.out.contains("\"lost_events\":9223372036854775807"))
        #expect(TextReport.formatTime(.min, ns: true) == "-9223372036.854775808")
        #expect(TextReport.formatTime(-5, ns: true) == "-0.000000005")
    }

    // MARK: 2. memory held for the racy-reuse check

    /// Two tasks alternating reuse faults always leave one window open; the faults waiting
    /// behind it are released as the windows close, so what is held stays flat.
    @Test func alternatingReuseFaultsHoldAFlatNumberOfFaults() {
        func capture(_ faults: Int) -> String {
            var t = "# tracecheck: kernel=6.18.44 clock=global\n"
            t += Self.ref(9, "0.000001", pfn: 0x9000, count: 1)
            for k in 0..<faults {
                t += Self.wp(1 + k % 2, "1.\(String(100_000_000 + k))", "pfn=0x\(String(0x1000 + k % 2, radix: 16)) decision=reuse refcount=1 mapcount=1 anon=1")
            }
            return t
        }
        let (small, c1) = Self.checker(capture(2_000))
        let (large, c2) = Self.checker(capture(40_000))
        #expect(small.findings.faults == 2_000)
        #expect(large.findings.faults == 40_000)
        #expect(c1.heldPeak <= 8_192)
        #expect(c2.heldPeak <= 8_192)
        #expect(large.racesCutShort == 0)
    }

    /// More faults in flight than the watch keeps: the oldest are closed early, counted, and
    /// the report says the check was cut short.
    @Test func tooManyWindowsAreCutShortAndSaidSo() {
        var t = "# tracecheck: kernel=6.18.44 clock=global\n"
        t += Self.ref(9, "0.000001", pfn: 0x9000, count: 1)
        for k in 0..<5_000 {
            t += Self.wp(100 + k, "1.\(String(100_000 + k))", "pfn=0x\(String(0x10000 + k, radix: 16)) decision=reuse refcount=1 mapcount=1 anon=1")
        }
        let (r, _) = Self.checker(t)
        #expect(r.findings.faults == 5_000)
        #expect(r.racesCutShort == 5_000 - 4_096)
        let text = TextReport.render(r)
        #expect(text.contains("racy reuse: \(r.racesCutShort) reused faults were watched only part of their flight"))
        #expect(JSONReport.summary(r).text.contains("\"racy_reuse_cut_short\":\(r.racesCutShort)"))
    }

    // MARK: 3. super-linear time

    /// pfns that the old multiply-high mapping sent to slot 0 of any table: `m × K⁻¹ mod 2⁶⁴`
    /// (K the Fibonacci multiplier) for small m.
    static func slotZeroPfns(_ n: Int) -> [UInt64] {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var inv: UInt64 = k
        for _ in 0..<6 { inv = inv &* (2 &- k &* inv) }
        return (1...UInt64(n)).map { $0 &* inv }.filter { $0 != .max }
    }

    enum Attack: String, CaseIterable { case pageTable, raceWindows, linePrefix, decisionWords }

    static func attack(_ a: Attack, size n: Int) -> String {
        var t = "# tracecheck: kernel=6.18.44 clock=global\n"
        switch a {
        case .pageTable:
            for (k, pfn) in slotZeroPfns(n).enumerated() { t += Self.ref(1, "1.\(String(100_000 + k % 800_000))", pfn: pfn, count: 1, op: "page_ref_set") }
        case .raceWindows:
            t += Self.ref(9, "0.000001", pfn: 0x9000, count: 1)
            for k in 0..<n {
                t += Self.wp(100 + k, "1.000001", "pfn=0x\(String(0x10000 + k, radix: 16)) decision=reuse refcount=1 mapcount=1 anon=1")
            }
            for k in 0..<n { t += Self.ref(1, "1.000002", pfn: UInt64(0x10000 + k), count: 2) }
        case .linePrefix:
            let line = String(repeating: "a)[1] ", count: 10_000) + "\n"
            for _ in 0..<(n / 100) { t += line }
        case .decisionWords:
            for k in 0..<n { t += Self.wp(1, "1.000001", "pfn=0x10 decision=w\(k) refcount=1 mapcount=1 anon=1") }
        }
        return t
    }

    static func seconds(_ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    /// Four times the input takes at most about four times as long (a quadratic step would
    /// take sixteen): the bound 10 leaves room for noise and cache effects on a shared machine.
    /// One attack at a time, so they do not time each other.
    @Test(.serialized, arguments: Attack.allCases)
    func attacksTakeTimeLinearInTheirSize(_ a: Attack) {
        let n = 20_000
        let small = Array(Self.attack(a, size: n).utf8), large = Array(Self.attack(a, size: 4 * n).utf8)
        let ps = InputFixtures.temporaryFile(small, suffix: ".txt"), pl = InputFixtures.temporaryFile(large, suffix: ".txt")
        defer { InputFixtures.remove(ps); InputFixtures.remove(pl) }
        var rs: CheckResult?, rl: CheckResult?
        let ts = Self.seconds { var c = TraceChecker(options: CheckOptions()); rs = c.run(paths: [ps]) { _ in } }
        let tl = Self.seconds { var c = TraceChecker(options: CheckOptions()); rl = c.run(paths: [pl]) { _ in } }
        #expect(rl!.stats.lines >= 3 * rs!.stats.lines)
        #expect(tl / ts < 10, "\(a): \(ts) s for \(small.count) bytes, \(tl) s for \(large.count) bytes")
    }

    @Test func distinctDecisionWordsAreCappedInTheSummary() {
        var t = "# tracecheck: kernel=6.18.44 clock=global\n"
        for k in 0..<500 { t += Self.wp(1, "1.000001", "pfn=0x10 decision=w\(k) refcount=1 mapcount=1 anon=1") }
        let (r, _) = Self.checker(t)
        let observed = r.findings.observed
        #expect(observed.count == Findings.maxObservedWords + 1)
        #expect(observed[Findings.otherWordsKey] == 500 - Findings.maxObservedWords)
        #expect(observed["w0"] == 1)
        #expect(r.findings.faults == 500)
    }

    @Test func tgidSearchIsBoundedButStillFindsTheField() {
        let long = String(repeating: "a)[1] ", count: 50)
        let line = "\(long)x-12 (  345) [001] .... 1.000001: wp_page: pfn=0x10 decision=copy"
        let p = Array(line.utf8).withUnsafeBytes { LineParser.parse($0) }
        #expect(p.kind == .event)
        #expect(p.pid == 12 && p.tgid == 345 && p.cpu == 1)
    }

    // MARK: 4. output that lied or broke

    @Test func decisionWordsWithQuotesAndBackslashesKeepTheSummaryValidJSON() {
        let t = "# tracecheck: kernel=6.18.44 clock=global\n"
            + Self.wp(1, "1.000001", "pfn=0x10 decision=\"q\\\\ refcount=1 mapcount=1 anon=1")
        let r = Self.run([Array(t.utf8)], format: .jsonl)
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 3)
        for l in lines { #expect(Self.isValidJSON(String(l)), "\(l)") }
        #expect(r.out.contains("\"observed\":{\"\\\"q\\\\\\\\\":1}"))
        let doc = Self.run([Array(t.utf8)], format: .json)
        #expect(Self.isValidJSON(doc.out))
    }

    @Test func controlCharactersFromTheCaptureAreEscapedInText() {
        let t = "# tracecheck: kernel=6.18.44 clock=global\n"
            + Self.wp(1, "1.000001", "pfn=0x10 decision=\u{1B}[2J\u{0}x refcount=1 mapcount=1 anon=1", comm: "e\u{1B}]0;t\u{7}")
            + Self.wp(2, "1.000002", "pfn=0x10 decision=reuse refcount=3 mapcount=1 anon=1 ksm=0 locked=0 swapcache=0", comm: "e\u{1B}]0;t\u{7}")
        let r = Self.run([Array(t.utf8)])
        #expect(!r.outBytes.contains(0x1B))
        #expect(!r.outBytes.contains(0x00))
        #expect(!r.outBytes.contains(0x07))
        #expect(r.out.contains("\\x1B[2J\\x00x 1"))
        #expect(r.out.contains("e\\x1B]0;t\\x07-2"))
    }

    /// Found by tracecheck-fuzz: the `--explain` history printed a fault's decision word raw.
    @Test func explainHistoryEscapesDecisionWords() {
        let t = "# tracecheck: kernel=6.18.44 clock=global\n"
            + Self.wp(1, "1.000001", "pfn=0x10 decision=\u{1B}[2J\u{0}nul refcount=1 mapcount=1 anon=1")
        var options = CheckOptions()
        options.explainPfn = 0x10
        let r = Self.run([Array(t.utf8)], options: options)
        #expect(r.out.contains("→ observed \\x1B[2J\\x00nul;"))
        #expect(!r.outBytes.contains(0x1B) && !r.outBytes.contains(0x00))
    }

    static let notTraces: [(String, [UInt8])] = [
        ("empty", []),
        ("headers", Array("# tracer: nop\n#\n\n   \n".utf8)),
        ("skippable zstd frame only", InputFixtures.skippableFrame(payload: Array("hidden".utf8))),
        ("a README", Array("# tracecheck\n\nNote: this is prose.\nUsage: tracecheck FILE\n".utf8)),
        ("Swift source", Array("import Foundation\nlet x: Int = 1\nfunc f() { print(x) }\n".utf8)),
        ("a binary", (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }),
    ]

    @Test(arguments: notTraces.indices)
    func inputsWithoutATraceEventAreNotATrace(_ index: Int) {
        let (name, bytes) = Self.notTraces[index]
        let r = Self.run([bytes], suffixes: [".in"])
        #expect(r.status == 2, "\(name)")
        #expect(r.err.contains("not a trace: no page_ref, ksm, wp_page or other known tracepoint event in it"), "\(name)")
        #expect(!r.out.contains("No divergences"), "\(name)")
    }

    @Test func aFileThatCannotBeOpenedPrintsNoVerdictBlock() {
        let r = Self.run(paths: ["/nonexistent/tracecheck-capture.zst"])
        #expect(r.status == 2)
        #expect(r.err.contains("cannot open"))
        #expect(!r.out.contains("No divergences"))
        #expect(!r.out.contains("Agreement"))
    }

    @Test func outOfRangeValuesMakeTheLineMalformedNeverAVerdict() {
        let t = "# tracecheck: kernel=6.18.44 clock=global\n"
            + Self.ref(1, "1.000001", pfn: 0x10, count: 4_294_967_297)
            + Self.wp(1, "1.000002", "pfn=0x10 decision=reuse refcount=4294967297 mapcount=1 anon=1")
            + Self.wp(1, "1.000003", "pfn=0x11 decision=reuse refcount=-1 mapcount=1 anon=1")
            + Self.wp(1, "1.000004", "pfn=0x11 decision=reuse refcount=1 mapcount=-3 anon=1")
            + Self.wp(1, "1.000005", "pfn=0x11 decision=reuse refcount=1 mapcount=1 tgid=4294967295")
            + "           a-4294967295     [000] .... 1.000006: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1\n"
        let (r, _) = Self.checker(t)
        #expect(r.findings.faults == 0)
        #expect(r.stats.issueCounts[.valueOutOfRange] == 6)
        #expect(r.stats.malformed == 6)
        #expect(r.exitStatus == 0)
    }

    @Test func capturesOfDifferentKernelsAreRefused() {
        let a = "# tracecheck: kernel=6.18.44 clock=global\n" + Self.wp(1, "1.000001", "pfn=0x10 decision=copy refcount=2 mapcount=1 anon=1")
        let b = "# tracecheck: kernel=5.8.18 clock=global\n" + Self.wp(1, "2.000001", "pfn=0x10 decision=copy refcount=2 mapcount=1 anon=1")
        let r = Self.run([Array(a.utf8), Array(b.utf8)])
        #expect(r.status == 2)
        #expect(r.err.contains("its header says kernel 5.8.18, but an earlier input said 6.18.44"))
        // The refused file's fault is not judged.
        #expect(r.out.contains("write faults judged: 1"))
        // The same kernel twice is fine.
        let same = Self.run([Array(a.utf8), Array(a.utf8)])
        #expect(same.status != 2)
    }

    @Test func zstdDamageNamesTheFrameAndTheLineReached() {
        let first = Array((0..<200).map { "           a-1     [000] .... 1.\(String(100_000 + $0)): other_event: x=\($0)\n" }.joined().utf8)
        var second = InputFixtures.zstdFrame(Array("           a-1     [000] .... 3.000001: other_event: y\n".utf8))
        second[second.count / 2] ^= 0xFF
        second[second.count / 2 + 1] ^= 0xFF
        let frame1 = InputFixtures.zstdFrame(first)
        let r = Self.run([frame1 + second], suffixes: [".zst"])
        #expect(r.status == 2)
        #expect(r.err.contains("corrupt zstd data in frame 2 (starting at compressed byte \(frame1.count)), after decompressed line 200"), "\(r.err)")
    }

    /// A frame that fits the output buffer whole, damaged only in its checksum: the lines
    /// decoded before libzstd checks it are still read (its one-shot path, taken when the output
    /// has room for the whole frame, reports no output at all). The last block, held inside
    /// libzstd until the check, is lost with the error.
    @Test func aDamagedFrameKeepsTheLinesDecodedBeforeTheDamage() throws {
        let text = InputFixtures.generatedTrace(lines: 2000)
        var frame = InputFixtures.zstdFrame(text)
        frame[frame.count - 1] ^= 0xFF  // the frame's content checksum
        let (lines, error, _) = try InputFixtures.collectFile(frame)
        #expect(lines.count >= 1000 && lines.count < 2000)
        guard case .corrupt(_, _, let frameNumber, _, _)? = error as? InputError else {
            Issue.record("expected a corrupt-frame error, got \(String(describing: error))")
            return
        }
        #expect(frameNumber == 1)
    }

    @Test func aTruncatedCaptureNamesTheFrameAndTheLineReached() {
        let first = Array((0..<200).map { "           a-1     [000] .... 1.\(String(100_000 + $0)): other_event: x=\($0)\n" }.joined().utf8)
        let frame1 = InputFixtures.zstdFrame(first)
        let second = InputFixtures.zstdFrame(Array("           a-1     [000] .... 3.000001: other_event: y\n".utf8))
        // Cut inside the second frame's only block: nothing of it is decoded.
        let r = Self.run([frame1 + second.prefix(second.count / 2)], suffixes: [".zst"])
        #expect(r.status == 2)
        #expect(r.err.contains("truncated zstd stream: the last frame is incomplete (frame 2, starting at compressed byte \(frame1.count)), after decompressed line 200"), "\(r.err)")
    }

    @Test func aFrameOverTheWindowLimitIsReportedAsSuch() {
        // Frame header: magic, descriptor (no single segment), window descriptor 2^32
        // (exponent 22: past zstd --long=31), then a raw block.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 22 << 3, 0x19, 0x00, 0x00] + Array("ab\n".utf8)
        let r = Self.run([frame], suffixes: [".zst"])
        #expect(r.status == 2)
        #expect(r.err.contains("zstd frame 1 (at compressed byte 0) needs more memory than allowed"), "\(r.err)")
    }
}
