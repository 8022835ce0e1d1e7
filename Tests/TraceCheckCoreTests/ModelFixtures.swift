import Testing

@testable import TraceCheckCore

/// Fault inputs for the model tests: a fully known, small, private anon page mapped once,
/// not KSM, not in the swap cache, on the LRU, unlocked, not exclusive. Each case edits it.
enum ModelFixtures {
    static func page(_ edit: (inout FaultInputs) -> Void = { _ in }) -> FaultInputs {
        var inputs = FaultInputs(
            zero: false, anon: true, ksm: false, stableNode: false,
            refcount: 1, mapcount: 1, swapcache: false, swapcount: 0,
            locked: false, pteChanged: false, writeback: false, stableWrites: false,
            lru: true, drainReleasesReference: false, anonExclusive: false, large: false,
            largeMapcount: nil, maxSubpageMapcount: nil, mmShared: nil, unshare: false)
        edit(&inputs)
        return inputs
    }

    /// A page of an order-9 THP mapped by PTEs (WpPageLine.md, Results of the real 6.18 captures,
    /// scenario f).
    static func thpPage(
        refcount: Int, largeMapcount: Int, mapcount: Int, mmShared: Bool?,
        _ edit: (inout FaultInputs) -> Void = { _ in }
    ) -> FaultInputs {
        page {
            $0.large = true
            $0.refcount = refcount
            $0.largeMapcount = largeMapcount
            $0.mapcount = mapcount
            $0.maxSubpageMapcount = mapcount
            $0.mmShared = mmShared
            edit(&$0)
        }
    }
}

/// One expected verdict of a model on one input, named for the test report.
struct ModelCase: Sendable, CustomTestStringConvertible {
    var name: String
    var inputs: FaultInputs
    var decision: Decision
    var rule: String?
    var missing: [InputName] = []

    var testDescription: String { name }

    static func reuse(_ rule: String, _ name: String, _ inputs: FaultInputs) -> ModelCase {
        ModelCase(name: name, inputs: inputs, decision: .reuse, rule: rule)
    }
    static func copy(_ rule: String, _ name: String, _ inputs: FaultInputs) -> ModelCase {
        ModelCase(name: name, inputs: inputs, decision: .copy, rule: rule)
    }
    static func undetermined(
        _ missing: [InputName], _ name: String, _ inputs: FaultInputs
    ) -> ModelCase {
        ModelCase(name: name, inputs: inputs, decision: .undetermined, rule: nil, missing: missing)
    }

    var verdict: Verdict { Verdict(decision: decision, rule: rule, missing: missing) }
}
