import Foundation
import Testing
@testable import TraceCheckCore
@testable import tracegen

/// The text conventions of each kernel (TraceFormats.md, The ftrace event line, page_ref events,
/// Page flags), size control, zstd, clocks, lost-event markers and the command line.
@Suite("tracegen output")
struct FormatTests {
    /// The same events in each kernel's text: `-%-5d` and 4 irq flags (v5.8), `-%-7d` (v5.9),
    /// 5 irq flags, the raw `_mapcount` and `owner_2` (v6.18); `%p` hashed up to v5.9 and raw
    /// (nohash-ptr) in v6.18.
    @Test func linesAreWhatEachKernelPrints() throws {
        let expected: [GenModel: [String]] = [
            .v5_8: [
                "    cow_workload-1200  [000] ....   100.000507: page_ref_set: pfn=0x140000 flags=none count=1 mapcount=0 mapping=0000000000000000 mt=1 val=1",
                "    cow_workload-1200  [000] ....   100.000511: page_ref_mod: pfn=0x140000 flags=uptodate|swapbacked count=2 mapcount=1 mapping=000000007b0a7a88 mt=1 val=1",
                "    kworker/u4:2-118   [000] ....   100.000514: page_ref_mod_and_test: pfn=0x140000 flags=uptodate|lru|swapbacked count=1 mapcount=1 mapping=000000007b0a7a88 mt=1 val=-1 ret=0",
            ],
            .v5_9: [
                "    cow_workload-1200    [000] ....   100.000507: page_ref_set: pfn=0x140000 flags=none count=1 mapcount=0 mapping=0000000000000000 mt=1 val=1",
            ],
            .v6_18: [
                "    cow_workload-1200    [000] .....   100.000507: page_ref_set: pfn=0x140000 flags=none count=1 mapcount=-1 mapping=0000000000000000 mt=1 val=1",
                "    cow_workload-1200    [000] .....   100.000511: page_ref_mod: pfn=0x140000 flags=uptodate|owner_2|swapbacked count=2 mapcount=0 mapping=ffff888100b00001 mt=1 val=1",
                "    kworker/u4:2-118     [000] .....   100.000514: page_ref_mod_and_test: pfn=0x140000 flags=uptodate|lru|owner_2|swapbacked count=1 mapcount=0 mapping=ffff888100b00001 mt=1 val=-1 ret=0",
            ],
        ]
        for (model, lines) in expected {
            let g = try generate(makeConfig(model, scenario: "d12"))
            #expect(g.lines.first == "# tracecheck: kernel=\(model.release) clock=global capture=tracegen seed=1")
            for l in lines { #expect(g.lines.contains(Substring(l)), "\(model.rawValue): \(l)") }
            // The fault line: at fault entry, ns precision, before the events of the fault.
            let wp = try #require(g.lines.firstIndex { $0.contains(" wp_page: ") })
            #expect(g.lines[wp].contains("] \(String(repeating: ".", count: model.irqFlagsWidth))   100.000"))
            #expect(g.lines[wp].range(of: #" +\d+\.\d{9}: wp_page: tgid=\d+ pfn=0x[0-9a-f]+ "#, options: .regularExpression) != nil)
        }
    }

    /// `--wp full` is the capture kit's whole snapshot; tracecheck then needs no replay.
    @Test func fullSnapshotCarriesTheCaptureKitFields() throws {
        let g = try generate(makeConfig(.v6_18, scenario: "d3") { $0.wpMode = .full })
        let wp = try #require(g.lines.last { $0.contains(" wp_page: ") && $0.contains("swapcache=1") })
        for key in ["refcount=", "mapcount=", "mapcount_raw=", "folio_mapcount=", "order=", "pgflags=", "mapping=0xffff",
                    "anon=1", "ksm=0", "locked=", "writeback=", "lru=", "large=0", "anon_exclusive=", "zero=0", "swapcount=0"] {
            #expect(wp.contains(key), "\(key)")
        }
    }

    /// `--wp minimal` carries only what page_ref lines cannot: here the swap count, the
    /// mapcount printed stale by the swap-in's lookup reference, and (hashed pointers) the mapping.
    @Test func minimalLineCarriesOnlyWhatEventsCannotShow() throws {
        let g = try generate(makeConfig(.v5_8, scenario: "d3"))
        let wp = try #require(g.lines.last { $0.contains(" wp_page: ") })
        #expect(wp.contains("swapcount=0"))
        #expect(wp.contains("mapcount=1"))
        #expect(wp.contains("mapping=0x"))
        #expect(!wp.contains("refcount="))
        let raw = try generate(makeConfig(.v5_8, scenario: "d12") { $0.rawPointers = true })
        #expect(raw.lines.last { $0.contains(" wp_page: ") }?.contains("mapping=") == false)
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let c = makeConfig(.v6_18, seed: 7, size: .lines(3000)) { $0.lostSpans = 2; $0.raceRate = 0.1 }
        let a = try generate(c), b = try generate(c)
        #expect(a.bytes == b.bytes)
        var d = c
        d.seed = 8
        #expect(try generate(d).bytes != a.bytes)
    }

    @Test(arguments: [SizeLimit.lines(5000), .bytes(300_000)])
    func sizeIsHonoured(_ size: SizeLimit) throws {
        let g = try generate(makeConfig(.v5_9, size: size))
        switch size {
        case .lines(let n):
            #expect(g.lines.count >= n && g.lines.count < n + 2000)
        case .bytes(let n):
            #expect(g.bytes.count >= n && g.bytes.count < n + 300_000)
        }
    }

    /// About 60% page_ref, 10% wp_page, 5% ksm and 25% other lines (v6.18; older kernels have
    /// no ksm events), over many distinct pfns.
    @Test func loadMixAndDistinctPfns() throws {
        let g = try generate(makeConfig(.v6_18, seed: 3, size: .lines(60_000)) { $0.pfns = 20_000 })
        let total = Double(g.summary.familyLines.reduce(0, +))
        let share = g.summary.familyLines.map { Double($0) / total }
        #expect(abs(share[Family.pageRef.rawValue] - 0.60) < 0.03)
        #expect(abs(share[Family.wp.rawValue] - 0.10) < 0.02)
        #expect(abs(share[Family.ksm.rawValue] - 0.05) < 0.02)
        #expect(abs(share[Family.other.rawValue] - 0.25) < 0.03)
        var pfns = Set<Substring>()
        for l in g.lines { if let r = l.range(of: "pfn=0x") { pfns.insert(l[r.upperBound...].prefix { $0 != " " }) } }
        #expect(pfns.count > 4000)
    }

    /// A `.zst` output is one streamed zstd frame that decodes to the same text.
    @Test func zstdOutputDecodesToTheSameTrace() throws {
        let c = makeConfig(.v6_18, size: .lines(4000))
        let plain = try generate(c)
        let path = NSTemporaryDirectory() + "tracegen-\(UUID().uuidString).txt.zst"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try openSink(path: path)
        _ = try Generator.run(c, sink: sink, truth: nil)
        let compressed = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(compressed.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
        #expect(compressed.count < plain.bytes.count / 4)
        let source = try openByteSource(path: path)
        var decoded: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            decoded += buffer[0..<n]
        }
        #expect(decoded == plain.bytes)
    }

    /// Per-CPU clocks: each CPU's timestamps never go back, lines merge by printed time, and the
    /// header says `clock=local`; tracecheck then does not look for races.
    @Test func localClockIsMonotonicPerCPU() throws {
        let g = try generate(makeConfig(.v5_9, size: .lines(4000)) { $0.clock = .local; $0.cpus = 3 })
        #expect(g.lines.first?.contains("clock=local") == true)
        var last: [Substring: Double] = [:]
        var previous = 0.0
        var regressions = 0
        for l in g.lines where !l.hasPrefix("#") && !l.hasPrefix("CPU:") {
            guard let r = l.range(of: #"\[(\d{3})\] \.+ +(\d+\.\d+):"#, options: .regularExpression) else { continue }
            let parts = l[r].split(separator: " ")
            let cpu = parts[0]
            let ts = Double(parts.last!.dropLast())!
            #expect(ts >= last[cpu, default: 0], "\(l)")
            last[cpu] = ts
            if ts < previous - 1e-6 { regressions += 1 }
            previous = max(previous, ts)
        }
        #expect(last.count == 3)
        #expect(regressions == 0) // merged by printed time, as the trace file is
        let (result, _) = try check(g)
        #expect(result.racesChecked == false)
    }

    /// Every lost span is really dropped: the marker says how many, and the sidecar records it.
    @Test func lostMarkersMatchTheSidecar() throws {
        let g = try generate(makeConfig(.v5_8, seed: 5, size: .lines(6000)) { $0.lostSpans = 6 })
        let markers = g.lines.filter { $0.hasPrefix("CPU:") }
        #expect(markers.count == g.truth.lost.count)
        #expect(g.truth.lost.count >= 3)
        for l in g.truth.lost {
            #expect(g.lines[l.line - 1] == "CPU:\(l.cpu) [LOST \(l.count) EVENTS]")
            #expect(l.count >= 1 && l.fromLine <= l.line)
        }
        let (result, _) = try check(g)
        #expect(result.stats.lostEvents == g.truth.lost.reduce(0) { $0 + $1.count })
    }

    @Test func commandLineChecksItsOptions() throws {
        #expect(throws: (any Error).self) { try TracegenCommand.parse(["--scenario", "d15"]) }
        #expect(throws: (any Error).self) { try TracegenCommand.parse(["--scenario", "race", "--clock", "local"]) }
        #expect(throws: (any Error).self) { try TracegenCommand.parse(["--size", "12parsecs"]) }
        #expect(throws: (any Error).self) { try TracegenCommand.parse(["--model", "v5.10"]) }
        let c = try TracegenCommand.parse(["--model", "v6.18", "--size", "1GB", "--pfns", "100000", "-o", "x.txt.zst", "--wp", "full"])
        #expect(c.config.size == .bytes(1 << 30))
        #expect(c.config.model == .v6_18 && c.config.wpMode == .full && c.config.pfns == 100_000)
        #expect(c.truthPath == "x.txt.zst.truth.jsonl")
        #expect(try TracegenCommand.parse(["-o", "/dev/null"]).truthPath == nil)
    }
}
