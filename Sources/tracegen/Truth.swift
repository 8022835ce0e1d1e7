/// The ground-truth sidecar: per fault what each model decides (and what a reader of the
/// trace can know of it), plus the injected races and lost-event spans. JSONL, one object per
/// line, in line order of the trace (README "tracegen" documents the schema).

enum GDecision: String, Sendable {
    case reuse, copy
    case notAnon = "not-anon"
    case pteChanged = "pte-changed"
    case undetermined
}

/// A model's expected verdict. `rules` lists the decision-table rows reached (several when an
/// input the trace cannot show does not change the decision); `missing` names those inputs
/// when it does, with tracecheck's words (`lru`, `pte_changed`, `state`…).
struct GVerdict: Equatable, Sendable {
    var decision: GDecision
    var rules: [String]
    var missing: [String]

    static func determined(_ d: GDecision, _ rules: [String]) -> GVerdict { GVerdict(decision: d, rules: rules, missing: []) }
    static func undetermined(_ missing: [String]) -> GVerdict { GVerdict(decision: .undetermined, rules: [], missing: missing) }
    static let stateGap = GVerdict.undetermined(["state"])

    var rule: String? { rules.isEmpty ? nil : rules.joined(separator: "|") }
}

struct FaultTruth: Sendable {
    var token = 0
    var line = 0
    var pfn: UInt64
    var tgid: Int32
    var cpu: Int
    var observed: String
    /// The model that decided the fault in the simulation.
    var model: GenModel
    var expected: [(model: GenModel, verdict: GVerdict)]
    var scenario: String?
    /// Divergence case (D1…D14) the scenario built (DecisionTables.md, Divergence cases D1–D14),
    /// when it built one.
    var caseID: String?
    var injected: [String] = []
    var stateGap = false
    /// Index of the folio head in the simulator (for the reader's certainty at the fault's line).
    var headPage: Int
    /// Replay mode: the fault line carries no refcount, so an uncertain page is a state gap.
    var replayMode: Bool

    func verdict(_ m: GenModel) -> GVerdict? { expected.first { $0.model == m }?.verdict }

    /// The classes tracecheck should report, except `unsafe-reuse` (computed from inputs there).
    var classes: [String] {
        var c: [String] = []
        if let pre = verdict(.v5_8), let post = verdict(.v5_9),
           pre.decision != .undetermined, post.decision != .undetermined, pre.decision != post.decision {
            c.append("pre-post")
        }
        for (m, v) in expected {
            let disagrees: Bool
            switch (v.decision, observed) {
            case (.reuse, "copy"), (.copy, "reuse"), (.pteChanged, "reuse"), (.pteChanged, "copy"): disagrees = true
            default: disagrees = false
            }
            if disagrees { c.append("observed-vs-\(m.rawValue)") }
        }
        if injected.contains("race") { c.append("racy-reuse") }
        if stateGap { c.append("state-gap") }
        return c
    }
}

struct RaceTruth: Sendable {
    var token: Int
    var faultToken: Int
    var line = 0
    var faultLine = 0
    var pfn: UInt64
    var comm: String
    var pid: Int32
    var cpu: Int
}

struct LostTruth: Sendable {
    var line: Int
    var cpu: Int
    var count: Int
    var fromLine: Int
    var pfns: [UInt64]
}

/// Collects truth records as their lines get numbers, and writes them as JSONL.
final class TruthCollector {
    private let sink: ByteSink?
    private let keep: Bool
    private(set) var faults: [FaultTruth] = []
    private(set) var races: [RaceTruth] = []
    private(set) var lost: [LostTruth] = []
    private(set) var faultCount = 0
    private var pending: [Int: FaultTruth] = [:]
    private var pendingRaces: [Int: RaceTruth] = [:]
    private var faultLines: [Int: Int] = [:]
    private var nextToken = 1
    private var buffer = LineBuffer(capacity: 1 << 16)
    private var error: OutputError?

    init(sink: ByteSink?, keep: Bool) {
        self.sink = sink
        self.keep = keep
    }

    func meta(_ fields: [(String, String)]) {
        buffer.text("{\"type\":\"meta\",\"schema\":1,\"tool\":\"tracegen\"")
        for (k, v) in fields {
            buffer.text(",\"")
            buffer.string(k)
            buffer.text("\":")
            buffer.string(v)
        }
        buffer.text("}\n")
    }

    func register(_ f: FaultTruth) -> Int {
        var f = f
        f.token = nextToken
        nextToken += 1
        pending[f.token] = f
        return f.token
    }

    func registerRace(_ r: RaceTruth) -> Int {
        var r = r
        r.token = nextToken
        nextToken += 1
        pendingRaces[r.token] = r
        return r.token
    }

    /// The fault's line is final: decide the state gap as a reader at that line must.
    func faultLine(token: Int, line: Int, certain: (Int) -> Bool?, touchedByLoss: (Int) -> Bool) {
        guard var f = pending.removeValue(forKey: token) else { return }
        f.line = line
        faultLines[token] = line
        if f.replayMode, certain(f.headPage) == false {
            f.stateGap = true
            if touchedByLoss(f.headPage) { f.injected.append("lost") }
            f.expected = f.expected.map { ($0.model, GVerdict.stateGap) }
        } else if f.injected.contains("concurrent") {
            // Another task's events share the fault's microsecond: their order is unknown.
            f.stateGap = true
            f.expected = f.expected.map { ($0.model, GVerdict.stateGap) }
        }
        faultCount += 1
        write(f)
        if keep { faults.append(f) }
    }

    func raceLine(token: Int, line: Int) {
        guard var r = pendingRaces.removeValue(forKey: token) else { return }
        r.line = line
        r.faultLine = faultLines[r.faultToken] ?? 0
        write(r)
        if keep { races.append(r) }
    }

    func lostSpan(_ s: TraceWriter.LostSpan) {
        let l = LostTruth(line: s.markerLine, cpu: s.cpu, count: s.count, fromLine: s.fromLine, pfns: s.pfns)
        write(l)
        if keep { lost.append(l) }
    }

    func summary(_ fields: [(String, Int)]) {
        buffer.text("{\"type\":\"summary\"")
        for (k, v) in fields {
            buffer.text(",\"")
            buffer.string(k)
            buffer.text("\":")
            buffer.dec(v)
        }
        buffer.text("}\n")
        flushIfNeeded(force: true)
    }

    func close() throws(OutputError) {
        flushIfNeeded(force: true)
        if let error { throw error }
        try sink?.finish()
    }

    // MARK: - JSON

    private func write(_ f: FaultTruth) {
        buffer.text("{\"type\":\"fault\",\"line\":")
        buffer.dec(f.line)
        buffer.text(",\"pfn\":\"0x")
        buffer.hex(f.pfn)
        buffer.text("\",\"tgid\":")
        buffer.dec(Int(f.tgid))
        buffer.text(",\"cpu\":")
        buffer.dec(f.cpu)
        buffer.text(",\"model\":\"")
        buffer.string(f.model.rawValue)
        buffer.text("\",\"observed\":\"")
        buffer.string(f.observed)
        buffer.text("\",\"expected\":{")
        for (i, (m, v)) in f.expected.enumerated() {
            if i > 0 { buffer.byte(0x2C) }
            buffer.byte(0x22)
            buffer.string(m.rawValue)
            buffer.text("\":{\"decision\":\"")
            buffer.string(v.decision.rawValue)
            buffer.text("\",\"rule\":")
            if let r = v.rule { quoted(r) } else { buffer.text("null") }
            if v.decision == .undetermined {
                buffer.text(",\"missing\":")
                strings(v.missing)
            }
            buffer.byte(0x7D)
        }
        buffer.text("},\"classes\":")
        strings(f.classes)
        buffer.text(",\"state_gap\":")
        buffer.text(f.stateGap ? "true" : "false")
        buffer.text(",\"scenario\":")
        if let s = f.scenario { quoted(s) } else { buffer.text("null") }
        buffer.text(",\"case\":")
        if let s = f.caseID { quoted(s) } else { buffer.text("null") }
        buffer.text(",\"injected\":")
        strings(f.injected)
        buffer.text("}\n")
        flushIfNeeded()
    }

    private func write(_ r: RaceTruth) {
        buffer.text("{\"type\":\"race\",\"line\":")
        buffer.dec(r.line)
        buffer.text(",\"fault_line\":")
        buffer.dec(r.faultLine)
        buffer.text(",\"pfn\":\"0x")
        buffer.hex(r.pfn)
        buffer.text("\",\"task\":")
        quoted(r.comm)
        buffer.text(",\"pid\":")
        buffer.dec(Int(r.pid))
        buffer.text(",\"cpu\":")
        buffer.dec(r.cpu)
        buffer.text("}\n")
        flushIfNeeded()
    }

    private func write(_ l: LostTruth) {
        buffer.text("{\"type\":\"lost\",\"line\":")
        buffer.dec(l.line)
        buffer.text(",\"cpu\":")
        buffer.dec(l.cpu)
        buffer.text(",\"count\":")
        buffer.dec(l.count)
        buffer.text(",\"from_line\":")
        buffer.dec(l.fromLine)
        buffer.text(",\"pfns\":[")
        for (i, p) in l.pfns.enumerated() {
            if i > 0 { buffer.byte(0x2C) }
            buffer.text("\"0x")
            buffer.hex(p)
            buffer.byte(0x22)
        }
        buffer.text("]}\n")
        flushIfNeeded()
    }

    private func quoted(_ s: String) {
        buffer.byte(0x22)
        buffer.string(s) // our strings never need escaping (model names, rule ids, task names)
        buffer.byte(0x22)
    }

    private func strings(_ a: [String]) {
        buffer.byte(0x5B)
        for (i, s) in a.enumerated() {
            if i > 0 { buffer.byte(0x2C) }
            quoted(s)
        }
        buffer.byte(0x5D)
    }

    private func flushIfNeeded(force: Bool = false) {
        guard force || buffer.count >= 1 << 20, buffer.count > 0 else { return }
        if let sink, error == nil {
            do { try sink.write(buffer.bytes) } catch { self.error = error }
        }
        buffer.removeAll()
    }
}
