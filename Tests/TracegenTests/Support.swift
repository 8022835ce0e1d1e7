import Foundation
import Testing
@testable import TraceCheckCore
@testable import tracegen

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func tracePath(_ relative: String) -> String { packageRoot.appendingPathComponent("traces/" + relative).path }

/// A generated trace, in memory, with its ground truth.
struct Generated {
    var bytes: [UInt8]
    var truth: TruthCollector
    var summary: GenerationSummary

    var text: String { String(decoding: bytes, as: UTF8.self) }
    var lines: [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
}

func generate(_ config: GeneratorConfig) throws -> Generated {
    let sink = MemorySink()
    let truth = TruthCollector(sink: nil, keep: true)
    let summary = try Generator.run(config, sink: sink, truth: truth)
    return Generated(bytes: sink.data, truth: truth, summary: summary)
}

func makeConfig(_ model: GenModel, seed: UInt64 = 1, scenario: String? = nil, size: SizeLimit? = nil,
            _ change: (inout GeneratorConfig) -> Void = { _ in }) -> GeneratorConfig {
    var c = GeneratorConfig()
    c.model = model
    c.seed = seed
    c.scenario = scenario
    c.size = size
    change(&c)
    return c
}

/// A temporary file holding `bytes`, removed by the caller.
func temporaryFile(_ bytes: [UInt8], suffix: String = ".txt") throws -> String {
    let path = NSTemporaryDirectory() + "tracegen-\(UUID().uuidString)\(suffix)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func check(path: String) -> (CheckResult, [FaultRecord]) {
    var checker = TraceChecker(options: CheckOptions(models: [.v5_8, .v5_9, .v6_18]))
    var faults: [FaultRecord] = []
    let result = checker.run(paths: [path]) { faults.append($0) }
    return (result, faults)
}

func check(_ g: Generated) throws -> (CheckResult, [FaultRecord]) {
    let path = try temporaryFile(g.bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return check(path: path)
}

/// One expected verdict, as the sidecar states it (from memory or from a committed JSONL file).
struct ExpectedVerdict: Equatable {
    var decision: String
    var rules: Set<String>
    var missing: [String]

    init(decision: String, rule: String?, missing: [String]) {
        self.decision = decision
        rules = Set((rule ?? "").split(separator: "|").map(String.init))
        self.missing = missing
    }

    init(_ v: GVerdict) { self.init(decision: v.decision.rawValue, rule: v.rule, missing: v.missing) }

    /// tracecheck joins the rows of agreeing branches with `|`, in its own order: compare as sets.
    init(_ v: Verdict) { self.init(decision: v.decision.rawValue, rule: v.rule, missing: v.missing.map(\.rawValue)) }
}

struct ExpectedFault {
    var line: Int
    var pfn: String
    var model: String
    var observed: String
    var verdicts: [String: ExpectedVerdict]
    var classes: Set<String>
    var caseID: String?
    var injected: [String]

    init(_ f: FaultTruth) {
        line = f.line
        pfn = "0x" + String(f.pfn, radix: 16)
        model = f.model.rawValue
        observed = f.observed
        verdicts = Dictionary(uniqueKeysWithValues: f.expected.map { ($0.model.rawValue, ExpectedVerdict($0.verdict)) })
        classes = Set(f.classes)
        caseID = f.caseID
        injected = f.injected
    }

    init(json o: [String: Any]) {
        line = o["line"] as! Int
        pfn = o["pfn"] as! String
        model = o["model"] as! String
        observed = o["observed"] as! String
        var v: [String: ExpectedVerdict] = [:]
        for (m, e) in o["expected"] as! [String: [String: Any]] {
            v[m] = ExpectedVerdict(decision: e["decision"] as! String, rule: e["rule"] as? String, missing: e["missing"] as? [String] ?? [])
        }
        verdicts = v
        classes = Set(o["classes"] as! [String])
        caseID = o["case"] as? String
        injected = o["injected"] as! [String]
    }
}

/// Reads a committed sidecar: its meta object and its fault records.
func readSidecar(_ path: String) throws -> (meta: [String: Any], faults: [ExpectedFault], races: [[String: Any]]) {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var meta: [String: Any] = [:]
    var faults: [ExpectedFault] = []
    var races: [[String: Any]] = []
    for line in text.split(separator: "\n") {
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        switch o["type"] as! String {
        case "meta": meta = o
        case "fault": faults.append(ExpectedFault(json: o))
        case "race": races.append(o)
        default: break
        }
    }
    return (meta, faults, races)
}

/// The configuration a sidecar's meta line records.
func makeConfig(fromMeta m: [String: Any]) -> GeneratorConfig {
    var c = GeneratorConfig()
    c.model = GenModel(rawValue: m["model"] as! String)!
    c.seed = UInt64(m["seed"] as! Int)
    c.scenario = m["scenario"] as? String
    c.size = (m["size"] as? String).flatMap(SizeLimit.parse)
    c.wpMode = WpMode(rawValue: m["wp"] as! String)!
    c.clock = ClockMode(rawValue: m["clock"] as! String)!
    c.rawPointers = (m["pointers"] as! String) == "raw"
    c.lostSpans = m["lost"] as! Int
    c.raceRate = (m["race_rate"] as? Double) ?? Double(m["race_rate"] as? Int ?? 0)
    c.concurrentRate = (m["concurrent_rate"] as? Double) ?? 0
    c.cpus = m["cpus"] as! Int
    c.pfns = m["pfns"] as! Int
    return c
}

/// Every difference between tracecheck's fault records and the expected ones, as sentences.
/// Classes are compared without `unsafe-reuse` and `racy-snapshot` (tracecheck derives them from
/// the inputs and from what other tasks did during the fault; the sidecar predicts neither); a
/// racy snapshot's withdrawn disagreements are not counted as missing.
func differences(_ expected: [ExpectedFault], _ faults: [FaultRecord]) -> [String] {
    var out: [String] = []
    let byLine = Dictionary(faults.map { ($0.line, $0) }, uniquingKeysWith: { a, _ in a })
    if faults.count != expected.count { out.append("tracecheck judged \(faults.count) faults, the sidecar has \(expected.count)") }
    for e in expected {
        guard let f = byLine[e.line] else { out.append("line \(e.line): no fault from tracecheck"); continue }
        let at = "line \(e.line) pfn \(e.pfn)"
        if "0x" + String(f.pfn, radix: 16) != e.pfn { out.append("\(at): tracecheck's pfn is 0x\(String(f.pfn, radix: 16))") }
        if f.observed.word != e.observed { out.append("\(at): observed \(f.observed.word), sidecar \(e.observed)") }
        for (m, v) in f.verdicts {
            guard let want = e.verdicts[m.rawValue] else { continue }
            let got = ExpectedVerdict(v)
            if got != want {
                out.append("\(at) \(m.rawValue): tracecheck \(got.decision) \(got.rules.sorted()) \(got.missing), sidecar \(want.decision) \(want.rules.sorted()) \(want.missing)")
            }
        }
        var classes = Set(f.classes.filter { $0 != .unsafeReuse && $0 != .racySnapshot }.map(\.name))
        // A racy snapshot withdraws disagreements: fewer may be claimed, never others.
        if f.classes.contains(.racySnapshot) {
            let claimed = classes.filter { $0.hasPrefix("observed-vs-") }
            if claimed.isSubset(of: e.classes) { classes.formUnion(e.classes.filter { $0.hasPrefix("observed-vs-") }) }
        }
        if classes != e.classes { out.append("\(at): classes \(classes.sorted()), sidecar \(e.classes.sorted())") }
    }
    return out
}
