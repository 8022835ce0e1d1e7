/// The verdict classes a fault can carry (TraceCheckCore.md, Verdict classes); `name` is the stable
/// JSONL word.
public enum FaultClass: Hashable, Sendable, Comparable {
    case prePost
    case observedVs(KernelModel)
    case unsafeReuse
    case racyReuse
    case stateGap
    /// The fault's entry snapshot may not be the state the kernel decided on (the page changed
    /// during the fault, or another task's fault on it overlapped): its disagreements with the
    /// models are not claimed.
    case racySnapshot
    /// A write fault that swapped the page in first (`caller=do_swap_page`): not compared.
    case swapIn
    /// The expected rules are v6.18's but the kernel is 6.7–6.14, where the large-folio rows
    /// may not apply yet: a large-folio disagreement with them is not claimed.
    case expectedUncertain

    public var name: String {
        switch self {
        case .prePost: "pre-post"
        case .observedVs(let m): "observed-vs-\(m.rawValue)"
        case .unsafeReuse: "unsafe-reuse"
        case .racyReuse: "racy-reuse"
        case .stateGap: "state-gap"
        case .racySnapshot: "racy-snapshot"
        case .swapIn: "swap-in"
        case .expectedUncertain: "expected-uncertain"
        }
    }

    /// Classes that make the exit status 1 (a divergence). The others are facts about the
    /// capture (a gap, a stale snapshot, a path the models do not cover, a rule set whose first
    /// release is not known), not about the kernel.
    public var isDivergence: Bool {
        switch self {
        case .stateGap, .racySnapshot, .swapIn, .expectedUncertain: false
        default: true
        }
    }

    private var order: Int {
        switch self {
        case .prePost: 0
        case .observedVs(let m): 1 + (KernelModel.allCases.firstIndex(of: m) ?? 0)
        case .unsafeReuse: 100
        case .racyReuse: 101
        case .stateGap: 102
        case .racySnapshot: 103
        case .swapIn: 104
        case .expectedUncertain: 105
        }
    }

    public static func < (a: FaultClass, b: FaultClass) -> Bool { a.order < b.order }
}

/// One judged write fault: where it is, what was observed, the inputs, every model's verdict.
public struct FaultRecord: Sendable {
    public var file: String
    public var line: Int
    public var timestamp: Int64?
    public var timestampIsNanoseconds: Bool
    public var pid: Int32?
    public var comm: String?
    public var cpu: Int32?
    public var pfn: UInt64
    /// The faulting address, when the capture prints it.
    public var addr: UInt64?
    public var observed: ObservedDecision
    public var inputs: FaultInputs
    /// In the order of the models that were run.
    public var verdicts: [(model: KernelModel, verdict: Verdict)]
    public var classes: [FaultClass]
    /// Divergence case (D1…D14; DecisionTables.md, Divergence cases D1–D14) of a pre≠post fault,
    /// when the inputs show it.
    public var divergenceCase: String?
    public var gapReason: String?
    /// racy-reuse: the task whose refcount increment landed inside the fault.
    public var racer: Int32?
    /// racy-snapshot: what showed that the entry snapshot may not be what the kernel decided on.
    public var snapshotRace: SnapshotRaceEvidence? = nil
    /// The shared check result `verdicts`, `classes` and `divergenceCase` came from, with their
    /// JSON already rendered (used only while it still describes this record).
    public var checked: FaultCheckResult? = nil

    public func verdict(_ m: KernelModel) -> Verdict? {
        verdicts.first { $0.model == m }?.verdict
    }
}

/// What checking a fault needs to know about the capture besides the fault's own inputs.
public struct CheckContext: Sendable, Equatable {
    /// The rules of the kernel that made the decisions (the expected model), when known.
    public var deciding: KernelModel?
    /// The capture's kernel runs Model F's code but is older than the first release known to
    /// have its large-folio rows (6.7–6.14): a large folio may have met "never reuse" instead.
    public var largeFolioRulesUncertain = false

    public init(deciding: KernelModel? = nil, largeFolioRulesUncertain: Bool = false) {
        self.deciding = deciding
        self.largeFolioRulesUncertain = largeFolioRulesUncertain
    }

    /// For a capture from `release` (`uname -r`), judged against `expected`.
    public init(release: String?, expected: KernelModel?) {
        deciding = expected
        if expected == .v6_18, let v = release.flatMap(KernelModel.parseMajorMinor) {
            largeFolioRulesUncertain = v >= (6, 7) && v < (6, 15)
        }
    }
}

public enum FaultCheck {
    /// Whether a determined model decision agrees with what the kernel did. `nil`: not comparable
    /// (undetermined, not an anon decision, or an observed word other than reuse/copy).
    public static func agrees(_ v: Verdict, _ observed: ObservedDecision) -> Bool? {
        agrees(v.decision, observed)
    }

    @inline(__always)
    static func agrees(_ decision: Decision, _ observed: ObservedDecision) -> Bool? {
        switch (decision, observed) {
        case (.reuse, .reuse), (.copy, .copy): return true
        case (.reuse, .copy), (.copy, .reuse): return false
        case (.pteChanged, .reuse), (.pteChanged, .copy): return false
        default: return nil
        }
    }

    /// Why no model judges a swap-in write fault: each describes the present-PTE path only.
    public static let swapInReason =
        "swap-in write fault (caller=do_swap_page): the model's rules cover the present-PTE write fault only"

    /// Runs every model on the joined inputs and classifies the fault.
    public static func check(
        _ joined: JoinedFault, observed: ObservedDecision, models: [KernelModel],
        assumptions: [Assumption] = [], context: CheckContext = CheckContext()
    ) -> (verdicts: [(model: KernelModel, verdict: Verdict)], classes: [FaultClass], divergenceCase: String?) {
        if joined.inputs.swapIn == true {
            var notCompared = Verdict(decision: .notCompared, rule: nil)
            notCompared.reason = swapInReason
            return (models.map { ($0, notCompared) }, joined.stateGap ? [.swapIn, .stateGap] : [.swapIn], nil)
        }
        var inputs = joined.inputs
        // The facts the user added, kept apart: a verdict lists those it could not do without.
        var assumedInputs = inputs
        let applied = assumptions.filter { $0.apply(to: &assumedInputs) }
        var verdicts: [(model: KernelModel, verdict: Verdict)] = []
        verdicts.reserveCapacity(models.count)
        for m in models {
            if joined.stateGap && joined.inputs.refcount == nil {
                verdicts.append((m, Verdict(decision: .undetermined, rule: nil, missing: [.state])))
                continue
            }
            var v = m.evaluate(inputs)
            if v.decision == .undetermined, !applied.isEmpty {
                var withFacts = m.evaluate(assumedInputs)
                if withFacts.decision != .undetermined {
                    // Name only the facts this verdict needed.
                    withFacts.assumed = applied.filter { fact in
                        var without = inputs
                        for other in applied where other != fact { _ = other.apply(to: &without) }
                        return m.evaluate(without).decision != withFacts.decision
                    }
                    v = withFacts
                }
            }
            verdicts.append((m, v))
        }
        if !applied.isEmpty { inputs = assumedInputs }
        var classes: [FaultClass] = []
        var divergence: String?
        let pre = verdicts.first { $0.model == .v5_8 }?.verdict
        let post = verdicts.first { $0.model == .v5_9 }?.verdict
        if let pre, let post, isDetermined(pre), isDetermined(post), pre.decision != post.decision {
            classes.append(.prePost)
            divergence = divergenceCase(inputs, pre: pre, post: post)
        }
        for (m, v) in verdicts where agrees(v, observed) == false {
            // Between v6.7 and v6.14 a large folio may have met other rules than v6.18's: its
            // large-folio rows (F3–F7) are not claimed there. F1 (exclusive) holds throughout.
            if m == .v6_18, context.largeFolioRulesUncertain, usesLargeFolioRows(v) {
                classes.append(.expectedUncertain)
                continue
            }
            classes.append(.observedVs(m))
        }
        if observed == .reuse, isUnsafeReuse(inputs, deciding: context.deciding) { classes.append(.unsafeReuse) }
        if joined.stateGap { classes.append(.stateGap) }
        return (verdicts, classes, divergence)
    }

    static func isDetermined(_ v: Verdict) -> Bool { v.decision != .undetermined }

    /// The verdict rests on one of v6.18's large-folio rows (F3…F7).
    static func usesLargeFolioRows(_ v: Verdict) -> Bool {
        (v.rule ?? "").split(separator: "|").contains { ["F3", "F4", "F5", "F6", "F7"].contains($0) }
    }

    /// A reuse while a reference existed that the deciding kernel's own procedure could not
    /// have released: more references than the mappings, the swap cache's (one per page of the
    /// folio) and one a per-CPU LRU batch may hold on a page not on the LRU (v5.18+ drains the
    /// batch before deciding; before that the batch's reference is the kernel's own, not a
    /// reader's). From v5.19 an exclusive anon page is reused whatever its refcount: a pin on it
    /// is the owning process's own, so the claim needs the page known not exclusive there.
    /// `deciding` nil (kernel unknown) claims only what holds under every rule set.
    public static func isUnsafeReuse(_ i: FaultInputs, deciding: KernelModel? = nil) -> Bool {
        guard let ref = i.refcount, i.zero != true, i.anon != false else { return false }
        let maps: Int?
        if i.large == true { maps = i.largeMapcount } else { maps = i.mapcount }
        guard let maps, let swapcache = i.swapcache else { return false }
        var swapReferences = 0
        if swapcache {
            guard i.large == false || i.folioPages != nil else { return false }
            swapReferences = i.large == true ? i.folioPages! : 1
        }
        let batchReference = i.lru == true ? 0 : 1
        let flagExists = deciding.map { $0.index >= KernelModel.v5_19.index } ?? true
        if flagExists, i.anonExclusive != false { return false }
        return ref > maps + swapReferences + batchReference
    }

    /// Names the divergence case (DecisionTables.md, Divergence cases D1–D14) behind a v5.8≠v5.9
    /// fault, from the rows that fired.
    static func divergenceCase(_ i: FaultInputs, pre: Verdict, post: Verdict) -> String? {
        let preRule = pre.rule ?? ""
        if pre.decision == .pteChanged { return "D14" }
        if preRule.hasPrefix("A3a") { return "D7" }
        guard pre.decision == .reuse, post.decision == .copy else { return nil }
        if i.locked == true { return "D10" }
        if i.large == true { return "D11" }
        if preRule.hasPrefix("A4b") { return "D3" }
        if preRule.hasPrefix("A4d") { return "D4" }
        if i.swapcache == true { return i.writeback == true ? "D4" : "D3" }
        guard let r = i.refcount, let m = i.mapcount, r > m else { return nil }
        // One extra reference on a page not yet on the LRU: the per-CPU batch's (D2); anything
        // else beyond the mappings is a GUP/pipe reference (D1).
        if i.lru == false, r == m + 1 { return "D2" }
        return "D1"
    }
}
