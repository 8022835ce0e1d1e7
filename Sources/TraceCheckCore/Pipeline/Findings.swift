/// Counts and bounded examples over all judged faults: what the reports print.
///
/// `add` runs once per fault (about one line in ten of a busy capture), so the counts live in
/// flat arrays indexed by model, decision and class; the dictionaries the reports read are
/// built from them on demand.
public struct Findings: Sendable {
    public struct Agreement: Sendable, Equatable {
        public var agree = 0
        public var disagree = 0
        public var undetermined = 0
        /// Not an anon decision (zero page, file page, shared mapping).
        public var notAnon = 0
        /// Observed word other than reuse/copy (unresolved, unmapped, fallback…).
        public var notCompared = 0
    }

    public let models: [KernelModel]
    public let examplesPerClass: Int
    public private(set) var faults = 0
    /// Faults with at least one divergence class.
    public private(set) var divergentFaults = 0
    public private(set) var examples: [FaultClass: [FaultRecord]] = [:]

    private static let modelCount = KernelModel.allCases.count
    private static let decisionCount = Decision.allCases.count
    private static let inputCount = InputName.allCases.count
    private static let classSlots = 7 + modelCount
    private static let agreementKinds = 5

    // All counters live in one array (one uniqueness check per `add`), in sections:
    private static let agreementBase = 0                                        // [model][kind]
    private static let seenBase = agreementBase + modelCount * agreementKinds     // [model] 0/1
    private static let missingBase = seenBase + modelCount                        // [model][input]
    private static let classBase = missingBase + modelCount * inputCount          // [class slot]
    private static let exampleBase = classBase + classSlots                       // [class slot]
    private static let matrixBase = exampleBase + classSlots                      // [word][model][decision]

    /// Observed words in the order first seen: "reuse" and "copy" first, then the others.
    private var observedWords: [String] = ["reuse", "copy"]
    private var observedCounts: [Int] = [0, 0]
    private var counters: [Int]
    private var caseWords: [String] = []
    private var caseCounts: [Int] = []

    public init(models: [KernelModel], examplesPerClass: Int = 5) {
        self.models = models
        self.examplesPerClass = examplesPerClass
        counters = Array(repeating: 0, count: Self.matrixBase + 2 * Self.modelCount * Self.decisionCount)
        for m in models { counters[Self.seenBase + m.index] = 1 }
    }

    @inline(__always) private static func matrixIndex(word: Int, model: Int, decision: Int) -> Int {
        matrixBase + (word * modelCount + model) * decisionCount + decision
    }

    private func agreement(_ m: Int) -> Agreement {
        let b = Self.agreementBase + m * Self.agreementKinds
        return Agreement(agree: counters[b], disagree: counters[b + 1], undetermined: counters[b + 2],
                         notAnon: counters[b + 3], notCompared: counters[b + 4])
    }

    public var observed: [String: Int] {
        var d: [String: Int] = [:]
        for (w, n) in zip(observedWords, observedCounts) where n > 0 { d[w] = n }
        return d
    }

    public var agreement: [KernelModel: Agreement] {
        var d: [KernelModel: Agreement] = [:]
        for m in KernelModel.allCases where counters[Self.seenBase + m.index] != 0 { d[m] = agreement(m.index) }
        return d
    }

    /// [model: [observed word: [model decision word: count]]]
    public var matrix: [KernelModel: [String: [String: Int]]] {
        var d: [KernelModel: [String: [String: Int]]] = [:]
        for m in KernelModel.allCases {
            for w in observedWords.indices {
                for (k, decision) in Decision.allCases.enumerated() {
                    let n = counters[Self.matrixIndex(word: w, model: m.index, decision: k)]
                    if n > 0 { d[m, default: [:]][observedWords[w], default: [:]][decision.rawValue] = n }
                }
            }
        }
        return d
    }

    /// For undetermined verdicts: which inputs were missing, per model.
    public var missing: [KernelModel: [InputName: Int]] {
        var d: [KernelModel: [InputName: Int]] = [:]
        for m in KernelModel.allCases {
            for (k, input) in InputName.allCases.enumerated() {
                let n = counters[Self.missingBase + m.index * Self.inputCount + k]
                if n > 0 { d[m, default: [:]][input] = n }
            }
        }
        return d
    }

    public var classes: [FaultClass: Int] {
        var d: [FaultClass: Int] = [:]
        for c in FaultClass.all where counters[Self.classBase + c.slot] > 0 { d[c] = counters[Self.classBase + c.slot] }
        return d
    }

    public var divergenceCases: [String: Int] {
        Dictionary(uniqueKeysWithValues: zip(caseWords, caseCounts))
    }

    public var divergenceCount: Int {
        var n = 0
        for c in FaultClass.all where c.isDivergence { n += counters[Self.classBase + c.slot] }
        return n
    }

    public mutating func add(_ f: FaultRecord) {
        faults += 1
        let w = observedIndex(f.observed)
        observedCounts[w] += 1
        let examplesPerClass = self.examplesPerClass
        var newExamples: [FaultClass] = []
        var divergent = false
        // A snapshot that may not be what the kernel decided on.
        let snapshotStale = f.snapshotRace != nil
        counters.withUnsafeMutableBufferPointer { c in
            // Read the verdicts in place: copying each (model, verdict) out retains its strings.
            f.verdicts.withUnsafeBufferPointer { verdicts in
                for k in verdicts.indices {
                    let mi = verdicts[k].model.index
                    let decision = verdicts[k].verdict.decision
                    let a = Self.agreementBase + mi * Self.agreementKinds
                    c[Self.seenBase + mi] = 1
                    var agrees = FaultCheck.agrees(decision, f.observed)
                    // A disagreement withdrawn for a racy snapshot is not compared.
                    if snapshotStale, agrees == false, !f.classes.contains(.observedVs(verdicts[k].model)) {
                        agrees = nil
                    }
                    switch agrees {
                    case true?: c[a] += 1
                    case false?: c[a + 1] += 1
                    case nil:
                        if decision == .undetermined {
                            c[a + 2] += 1
                            let base = Self.missingBase + mi * Self.inputCount
                            verdicts[k].verdict.missing.withUnsafeBufferPointer { missing in
                                for input in missing { c[base + input.index] += 1 }
                            }
                        } else if decision == .notAnon {
                            c[a + 3] += 1
                        } else {
                            c[a + 4] += 1
                        }
                    }
                    c[Self.matrixIndex(word: w, model: mi, decision: decision.index)] += 1
                }
            }
            for cls in f.classes {
                if cls.isDivergence { divergent = true }
                let s = cls.slot
                c[Self.classBase + s] += 1
                if c[Self.exampleBase + s] < examplesPerClass {
                    c[Self.exampleBase + s] += 1
                    newExamples.append(cls)
                }
            }
        }
        for cls in newExamples { examples[cls, default: []].append(f) }
        if divergent { divergentFaults += 1 }
        if let d = f.divergenceCase {
            if let k = caseWords.firstIndex(of: d) { caseCounts[k] += 1 } else { caseWords.append(d); caseCounts.append(1) }
        }
    }

    private mutating func observedIndex(_ o: ObservedDecision) -> Int {
        switch o {
        case .reuse: return 0
        case .copy: return 1
        case .other(let word):
            if let k = observedWords.firstIndex(of: word) { return k }
            observedWords.append(word)
            observedCounts.append(0)
            counters += Array(repeating: 0, count: Self.modelCount * Self.decisionCount)
            return observedWords.count - 1
        }
    }

    /// One model's standing in the kernel fingerprint.
    public struct Standing: Sendable, Equatable {
        public var model: KernelModel
        /// Determined faults on which the model contradicts the kernel.
        public var disagree: Int
        /// Faults the model decided (agree + disagree).
        public var determined: Int
        /// Faults the model would judge: determined plus undetermined.
        public var judged: Int
        /// Why the capture cannot come from a kernel of this generation, when it shows so.
        public var ruledOut: String?

        /// No determined fault contradicts it, it decided at least one, and nothing in the
        /// capture rules its generation out.
        public var isConsistent: Bool { disagree == 0 && determined > 0 && ruledOut == nil }

        /// Determined share of the judged faults (0 when none).
        public var determinedShare: Double { judged == 0 ? 0 : Double(determined) / Double(judged) }
    }

    /// Every model run, ranked as an account of the capture: fewest contradictions first, then
    /// the generations the capture does not rule out, then the largest determined share, then
    /// the newer rules (a newer kernel keeps the older rows where they agree, so a tie says the
    /// newest is as consistent as the older ones).
    ///
    /// `anonExclusiveSeen`: some line showed PG_anon_exclusive set, which kernels before v5.19
    /// do not have.
    public func fingerprint(anonExclusiveSeen: Bool = false) -> [Standing] {
        var standings: [Standing] = []
        for m in models where counters[Self.seenBase + m.index] != 0 {
            let a = agreement(m.index)
            var s = Standing(model: m, disagree: a.disagree, determined: a.agree + a.disagree,
                             judged: a.agree + a.disagree + a.undetermined)
            if anonExclusiveSeen, m.index < KernelModel.v5_19.index {
                s.ruledOut = "the capture shows PageAnonExclusive set, which kernels before v5.19 lack"
            }
            standings.append(s)
        }
        return standings.sorted { x, y in
            if x.disagree != y.disagree { return x.disagree < y.disagree }
            if (x.ruledOut == nil) != (y.ruledOut == nil) { return x.ruledOut == nil }
            if x.determinedShare != y.determinedShare { return x.determinedShare > y.determinedShare }
            return x.model.index > y.model.index
        }
    }

    /// The head of `fingerprint()`, with its agreement counts.
    public var bestExplainingModel: (model: KernelModel, agree: Int, determined: Int)? {
        guard let best = fingerprint().first else { return nil }
        return (best.model, best.determined - best.disagree, best.determined)
    }
}

/// The position of a payload-free enum case in `allCases`: its stored tag (cases are numbered
/// in declaration order, which is `allCases` order for a synthesized `CaseIterable`).
/// `FindingsTests` checks it against `allCases.firstIndex(of:)` for every case.
@inline(__always) func caseIndex<T: CaseIterable>(_ value: T) -> Int {
    withUnsafeBytes(of: value) { Int($0[0]) }
}

extension KernelModel {
    @inline(__always) var index: Int { caseIndex(self) }
}

extension Decision {
    @inline(__always) var index: Int { caseIndex(self) }
}

extension InputName {
    @inline(__always) var index: Int { caseIndex(self) }
}

extension FaultClass {
    /// Every class, in report order.
    static var all: [FaultClass] {
        [.prePost] + KernelModel.allCases.map { .observedVs($0) }
            + [.unsafeReuse, .racyReuse, .stateGap, .racySnapshot, .swapIn, .expectedUncertain]
    }

    /// A dense index: pre-post, observed-vs-<each model>, then the other classes in `all` order.
    @inline(__always) var slot: Int {
        switch self {
        case .prePost: 0
        case .observedVs(let m): 1 + m.index
        case .unsafeReuse: 1 + KernelModel.allCases.count
        case .racyReuse: 2 + KernelModel.allCases.count
        case .stateGap: 3 + KernelModel.allCases.count
        case .racySnapshot: 4 + KernelModel.allCases.count
        case .swapIn: 5 + KernelModel.allCases.count
        case .expectedUncertain: 6 + KernelModel.allCases.count
        }
    }
}
