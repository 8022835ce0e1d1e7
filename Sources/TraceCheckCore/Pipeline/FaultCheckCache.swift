/// `FaultCheck.check` for one set of joined inputs, with its JSON fragments rendered once.
///
/// Shared by every fault with the same inputs (a busy capture has millions of faults but few
/// distinct input combinations), so it is immutable.
public final class FaultCheckResult: Sendable {
    public let inputs: FaultInputs
    public let stateGap: Bool
    public let observed: ObservedDecision
    public let verdicts: [(model: KernelModel, verdict: Verdict)]
    /// Sorted (report order).
    public let classes: [FaultClass]
    public let divergenceCase: String?
    /// `{"v5.8":{…},…}` as `JSONReport.fault` renders `verdicts`.
    let verdictsJSON: [UInt8]
    /// `{…}` as `JSONReport.fault` renders `inputs`.
    let inputsJSON: [UInt8]
    /// `[…]` as `JSONReport.fault` renders `classes`.
    let classesJSON: [UInt8]

    init(
        _ joined: JoinedFault, observed: ObservedDecision, models: [KernelModel], assumptions: [Assumption],
        context: CheckContext
    ) {
        inputs = joined.inputs
        stateGap = joined.stateGap
        self.observed = observed
        let (v, c, d) = FaultCheck.check(
            joined, observed: observed, models: models, assumptions: assumptions, context: context)
        verdicts = v
        classes = c.sorted()
        divergenceCase = d
        verdictsJSON = Array(JSONReport.verdictsObject(v).text.utf8)
        inputsJSON = Array(JSONReport.inputs(joined.inputs).text.utf8)
        let out = ByteOutput(capacity: 256)
        JSONReport.appendClasses(classes, to: out)
        classesJSON = Array(out.bytes)
    }

    /// True when the record's `verdicts` and `inputs` are still the ones this result was made
    /// from (the very same array storage: a record whose verdicts were changed has its own).
    @inline(__always) func describes(_ f: FaultRecord) -> Bool {
        sameStorage(f.verdicts, verdicts) && f.inputs == inputs
    }
}

/// Two arrays share one buffer (so they hold the same elements).
@inline(__always) func sameStorage<T>(_ a: [T], _ b: [T]) -> Bool {
    a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress && x.count == y.count }
    }
}

/// Memoises `FaultCheck.check`: the verdicts, classes and divergence case of a fault are a pure
/// function of its joined inputs, its state-gap flag, the observed decision, the models run, the
/// facts the user assumes (`--assume`) and what is known of the capture's kernel.
///
/// A small open-addressing table with a cheap hash (`FaultInputs.quickHash`) and exact keys
/// (the synthesized `==`). Bounded: when it fills up it starts over.
struct FaultCheckCache {
    static let capacity = 4096
    static let maxCount = 3072

    private(set) var models: [KernelModel]
    private(set) var assumptions: [Assumption] = []
    private(set) var context = CheckContext()
    private var slots: [FaultCheckResult?]
    private var hashes: [UInt64]
    private(set) var count = 0
    private(set) var hits = 0
    private(set) var misses = 0

    init(models: [KernelModel]) {
        self.models = models
        slots = Array(repeating: nil, count: Self.capacity)
        hashes = Array(repeating: 0, count: Self.capacity)
    }

    mutating func result(
        _ joined: JoinedFault, observed: ObservedDecision, models: [KernelModel], assumptions: [Assumption] = [],
        context: CheckContext = CheckContext()
    ) -> FaultCheckResult {
        if models != self.models || assumptions != self.assumptions || context != self.context {
            self = FaultCheckCache(models: models)
            self.assumptions = assumptions
            self.context = context
        }
        var h = joined.inputs.quickHash
        switch observed {
        case .reuse: h ^= 0x1111
        case .copy: h ^= 0x2222
        case .other: h ^= 0x3333
        }
        if joined.stateGap { h = ~h }
        h = (h ^ (h >> 31)) &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        let mask = Self.capacity - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while let r = slots[i] {
            if hashes[i] == h, r.stateGap == joined.stateGap, r.observed == observed, r.inputs == joined.inputs {
                hits &+= 1
                return r
            }
            i = (i + 1) & mask
        }
        misses &+= 1
        let r = FaultCheckResult(joined, observed: observed, models: models, assumptions: assumptions, context: context)
        if count >= Self.maxCount {
            for k in 0..<Self.capacity { slots[k] = nil }
            count = 0
            i = Int(truncatingIfNeeded: h) & mask
        }
        slots[i] = r
        hashes[i] = h
        count += 1
        return r
    }
}
