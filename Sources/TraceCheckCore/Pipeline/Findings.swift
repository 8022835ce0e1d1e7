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
    private static let classSlots = 4 + modelCount

    /// Observed words in the order first seen: "reuse" and "copy" first, then the others.
    private var observedWords: [String] = ["reuse", "copy"]
    private var observedCounts: [Int] = [0, 0]
    /// Per model (KernelModel.allCases order).
    private var agreements: [Agreement]
    /// A model appears in `agreement` when it was run or received a verdict.
    private var modelSeen: [Bool]
    /// Flat: ((observed word index × models) + model) × decisions + decision.
    private var matrixCounts: [Int]
    /// [model * inputCount + input]
    private var missingCounts: [Int]
    /// By `FaultClass.slot`.
    private var classCounts: [Int]
    private var exampleCounts: [Int]
    private var caseWords: [String] = []
    private var caseCounts: [Int] = []

    public init(models: [KernelModel], examplesPerClass: Int = 5) {
        self.models = models
        self.examplesPerClass = examplesPerClass
        agreements = Array(repeating: Agreement(), count: Self.modelCount)
        modelSeen = Array(repeating: false, count: Self.modelCount)
        matrixCounts = Array(repeating: 0, count: 2 * Self.modelCount * Self.decisionCount)
        missingCounts = Array(repeating: 0, count: Self.modelCount * Self.inputCount)
        classCounts = Array(repeating: 0, count: Self.classSlots)
        exampleCounts = Array(repeating: 0, count: Self.classSlots)
        for m in models { modelSeen[m.index] = true }
    }

    public var observed: [String: Int] {
        var d: [String: Int] = [:]
        for (w, n) in zip(observedWords, observedCounts) where n > 0 { d[w] = n }
        return d
    }

    public var agreement: [KernelModel: Agreement] {
        var d: [KernelModel: Agreement] = [:]
        for m in KernelModel.allCases where modelSeen[m.index] { d[m] = agreements[m.index] }
        return d
    }

    /// [model: [observed word: [model decision word: count]]]
    public var matrix: [KernelModel: [String: [String: Int]]] {
        var d: [KernelModel: [String: [String: Int]]] = [:]
        for m in KernelModel.allCases {
            for w in observedWords.indices {
                for (k, decision) in Decision.allCases.enumerated() {
                    let n = matrixCounts[Self.matrixIndex(word: w, model: m.index, decision: k)]
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
                let n = missingCounts[m.index * Self.inputCount + k]
                if n > 0 { d[m, default: [:]][input] = n }
            }
        }
        return d
    }

    public var classes: [FaultClass: Int] {
        var d: [FaultClass: Int] = [:]
        for c in FaultClass.all where classCounts[c.slot] > 0 { d[c] = classCounts[c.slot] }
        return d
    }

    public var divergenceCases: [String: Int] {
        Dictionary(uniqueKeysWithValues: zip(caseWords, caseCounts))
    }

    public var divergenceCount: Int {
        var n = 0
        for c in FaultClass.all where c.isDivergence { n += classCounts[c.slot] }
        return n
    }

    public mutating func add(_ f: FaultRecord) {
        faults += 1
        let w = observedIndex(f.observed)
        observedCounts[w] += 1
        // Read the verdicts in place: copying each (model, verdict) out retains its strings.
        f.verdicts.withUnsafeBufferPointer { verdicts in
            for k in verdicts.indices {
                let mi = verdicts[k].model.index
                let decision = verdicts[k].verdict.decision
                modelSeen[mi] = true
                switch FaultCheck.agrees(decision, f.observed) {
                case true?: agreements[mi].agree += 1
                case false?: agreements[mi].disagree += 1
                case nil:
                    if decision == .undetermined {
                        agreements[mi].undetermined += 1
                        verdicts[k].verdict.missing.withUnsafeBufferPointer { missing in
                            for input in missing { missingCounts[mi * Self.inputCount + input.index] += 1 }
                        }
                    } else if decision == .notAnon {
                        agreements[mi].notAnon += 1
                    } else {
                        agreements[mi].notCompared += 1
                    }
                }
                matrixCounts[Self.matrixIndex(word: w, model: mi, decision: decision.index)] += 1
            }
        }
        var divergent = false
        for c in f.classes {
            if c.isDivergence { divergent = true }
            let s = c.slot
            classCounts[s] += 1
            if exampleCounts[s] < examplesPerClass {
                exampleCounts[s] += 1
                examples[c, default: []].append(f)
            }
        }
        if divergent { divergentFaults += 1 }
        if let d = f.divergenceCase {
            if let k = caseWords.firstIndex(of: d) { caseCounts[k] += 1 } else { caseWords.append(d); caseCounts.append(1) }
        }
    }

    @inline(__always) private static func matrixIndex(word: Int, model: Int, decision: Int) -> Int {
        (word * modelCount + model) * decisionCount + decision
    }

    private mutating func observedIndex(_ o: ObservedDecision) -> Int {
        switch o {
        case .reuse: return 0
        case .copy: return 1
        case .other(let word):
            if let k = observedWords.firstIndex(of: word) { return k }
            observedWords.append(word)
            observedCounts.append(0)
            matrixCounts += Array(repeating: 0, count: Self.modelCount * Self.decisionCount)
            return observedWords.count - 1
        }
    }

    /// The model that agrees with the most determined faults (ties: the newest).
    public var bestExplainingModel: (model: KernelModel, agree: Int, determined: Int)? {
        var best: (KernelModel, Int, Int)?
        for m in models {
            guard modelSeen[m.index] else { continue }
            let a = agreements[m.index]
            if best == nil || a.agree >= best!.1 { best = (m, a.agree, a.agree + a.disagree) }
        }
        return best
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
        [.prePost] + KernelModel.allCases.map { .observedVs($0) } + [.unsafeReuse, .racyReuse, .stateGap]
    }

    /// A dense index: pre-post, observed-vs-<each model>, unsafe, racy, state gap.
    @inline(__always) var slot: Int {
        switch self {
        case .prePost: 0
        case .observedVs(let m): 1 + m.index
        case .unsafeReuse: 1 + KernelModel.allCases.count
        case .racyReuse: 2 + KernelModel.allCases.count
        case .stateGap: 3 + KernelModel.allCases.count
        }
    }
}
