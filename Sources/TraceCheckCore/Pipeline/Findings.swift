/// Counts and bounded examples over all judged faults: what the reports print.
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
    public private(set) var observed: [String: Int] = [:]
    public private(set) var agreement: [KernelModel: Agreement] = [:]
    /// [model: [observed word: [model decision word: count]]]
    public private(set) var matrix: [KernelModel: [String: [String: Int]]] = [:]
    /// For undetermined verdicts: which inputs were missing, per model.
    public private(set) var missing: [KernelModel: [InputName: Int]] = [:]
    public private(set) var classes: [FaultClass: Int] = [:]
    public private(set) var divergenceCases: [String: Int] = [:]
    public private(set) var examples: [FaultClass: [FaultRecord]] = [:]

    public init(models: [KernelModel], examplesPerClass: Int = 5) {
        self.models = models
        self.examplesPerClass = examplesPerClass
        for m in models { agreement[m] = Agreement() }
    }

    public var divergenceCount: Int {
        classes.filter { $0.key.isDivergence }.values.reduce(0, +)
    }

    /// Faults with at least one divergence class.
    public private(set) var divergentFaults = 0

    public mutating func add(_ f: FaultRecord) {
        faults += 1
        observed[f.observed.word, default: 0] += 1
        for (m, v) in f.verdicts {
            var a = agreement[m] ?? Agreement()
            switch FaultCheck.agrees(v, f.observed) {
            case true?: a.agree += 1
            case false?: a.disagree += 1
            case nil:
                if v.decision == .undetermined {
                    a.undetermined += 1
                    for input in v.missing { missing[m, default: [:]][input, default: 0] += 1 }
                } else if v.decision == .notAnon {
                    a.notAnon += 1
                } else {
                    a.notCompared += 1
                }
            }
            agreement[m] = a
            matrix[m, default: [:]][f.observed.word, default: [:]][v.decision.rawValue, default: 0] += 1
        }
        if f.classes.contains(where: \.isDivergence) { divergentFaults += 1 }
        for c in f.classes {
            classes[c, default: 0] += 1
            if examples[c, default: []].count < examplesPerClass { examples[c, default: []].append(f) }
        }
        if let d = f.divergenceCase { divergenceCases[d, default: 0] += 1 }
    }

    /// The model that agrees with the most determined faults (ties: the newest).
    public var bestExplainingModel: (model: KernelModel, agree: Int, determined: Int)? {
        var best: (KernelModel, Int, Int)?
        for m in models {
            guard let a = agreement[m] else { continue }
            if best == nil || a.agree >= best!.1 { best = (m, a.agree, a.agree + a.disagree) }
        }
        return best
    }
}
