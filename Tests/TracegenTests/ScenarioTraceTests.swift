import Foundation
import Testing
@testable import TraceCheckCore
@testable import tracegen

/// The committed `traces/scenarios/gen_*` traces: one per scenario and kernel, each with the
/// sidecar tracegen wrote. tracecheck's verdicts must equal the sidecar's, and tracegen must
/// still produce exactly these bytes from the options the sidecar records.
@Suite("Committed tracegen scenarios")
struct ScenarioTraceTests {
    static let models = ["v5.8", "v6.18"]
    static let files: [String] = Scenario.names.flatMap { s in models.map { "gen_\(s)_\($0).txt" } }

    @Test("tracecheck agrees with the sidecar", arguments: files)
    func verdictsEqualSidecar(_ file: String) throws {
        let path = tracePath("scenarios/" + file)
        let (_, expected, races) = try readSidecar(path + ".truth.jsonl")
        let (result, faults) = check(path: path)
        #expect(result.errors.isEmpty)
        #expect(result.stats.malformed == 0)
        #expect(!expected.isEmpty)
        let diffs = differences(expected, faults)
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))")
        // The case a scenario builds is the one tracecheck names for a pre≠post fault.
        for e in expected where e.caseID != nil && e.classes.contains("pre-post") {
            #expect(faults.first { $0.line == e.line }?.divergenceCase == e.caseID)
        }
        // The injected race is found, with ksmd as the racer.
        for r in races {
            let f = faults.first { $0.line == r["fault_line"] as! Int }
            #expect(f?.classes.contains(.racyReuse) == true)
            #expect(f?.racer == Int32(r["pid"] as! Int))
        }
    }

    @Test("tracegen regenerates the committed bytes", arguments: files)
    func regenerates(_ file: String) throws {
        let path = tracePath("scenarios/" + file)
        let (meta, _, _) = try readSidecar(path + ".truth.jsonl")
        let sink = MemorySink(), truthSink = MemorySink()
        let collector = TruthCollector(sink: truthSink, keep: false)
        _ = try Generator.run(makeConfig(fromMeta: meta), sink: sink, truth: collector)
        let committed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let committedTruth = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + ".truth.jsonl")))
        #expect(sink.data == committed, "regenerate with: swift run tracegen --scenario \(meta["scenario"]!) --model \(meta["model"]!) --seed 1 -o traces/scenarios/\(file)")
        #expect(truthSink.data == committedTruth)
    }

    @Test("every scenario has a committed trace, and each builds its case")
    func coverage() throws {
        for file in Self.files {
            #expect(FileManager.default.fileExists(atPath: tracePath("scenarios/" + file)), "missing \(file)")
        }
        for s in Scenario.names where s != "race" {
            let (_, expected, _) = try readSidecar(tracePath("scenarios/gen_\(s)_v5.8.txt.truth.jsonl"))
            #expect(expected.contains { $0.caseID == s.uppercased() }, "\(s) has no fault tagged \(s.uppercased())")
        }
    }

    /// DecisionTables.md, Divergence cases D1–D14, as the v5.8 scenario traces show it: the
    /// decisions of the pre-patch and post-patch kernels on each case's fault (undetermined where
    /// the trace cannot show the input that decides it).
    @Test("the divergence cases decide as DecisionTables.md says")
    func semanticsTable() throws {
        let table: [String: (v58: String, v59: String)] = [
            "D1": ("reuse A4a", "copy B2"), "D2": ("reuse A4a", "copy B2"), "D3": ("reuse A4b", "copy B2"),
            "D4": ("undetermined stable_writes", "copy B2"), "D5": ("undetermined stable_writes", "copy B2"),
            "D6": ("copy A4e", "copy B2"), "D7": ("reuse A3a", "copy B1"), "D8": ("copy A1", "copy B1"),
            "D9": ("copy A1", "copy B1"), "D10": ("undetermined pte_changed", "copy B3"),
            "D11": ("undetermined subpage_mapcounts", "copy B2"), "D12": ("reuse A4a", "reuse B5"),
            "D13": ("copy A4e", "copy B2"), "D14": ("undetermined pte_changed", "copy B2"),
        ]
        func word(_ v: ExpectedVerdict?) -> String {
            guard let v else { return "?" }
            return v.decision + " " + (v.decision == "undetermined" ? v.missing.joined(separator: ",") : v.rules.sorted().joined(separator: "|"))
        }
        for (id, want) in table {
            let (_, expected, _) = try readSidecar(tracePath("scenarios/gen_\(id.lowercased())_v5.8.txt.truth.jsonl"))
            let f = try #require(expected.last { $0.caseID == id })
            #expect(word(f.verdicts["v5.8"]) == want.v58, "\(id)")
            #expect(word(f.verdicts["v5.9"]) == want.v59, "\(id)")
        }
    }
}
