import Testing
@testable import TraceCheckCore

/// TraceFormats.md, When a printed value is still current: the event of a fork's increment is
/// printed before the fork adds the mapping and clears PageAnonExclusive. Found with tracegen:
/// tracecheck used to read owner_2 from it, judged the child's write an F1 reuse and reported the
/// kernel's copy as a violation.
@Test func forkIncrementLeavesMapcountAndAnonExclusiveUnknown() {
    let (_, faults) = runChecker(tracePath("scenarios/replay_v6.18_fork_owner2.txt"))
    #expect(faults.count == 1)
    let f = faults[0]
    #expect(f.inputs.refcount == 2)
    #expect(f.inputs.mapcount == nil)
    #expect(f.inputs.anonExclusive == nil)
    // The lock (refcount 2: a holder may hold the second reference) and `lru` (printed by the
    // parent's increment, which an isolation's would look like) are unknown too.
    #expect(f.verdict(.v6_18) == Verdict(decision: .undetermined, rule: nil, missing: [.locked, .lru, .anon_exclusive]))
    #expect(f.verdict(.v5_8) == Verdict(decision: .undetermined, rule: nil, missing: [.mapcount, .locked, .pte_changed]))
    #expect(f.verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
    #expect(f.classes.isEmpty)
}
