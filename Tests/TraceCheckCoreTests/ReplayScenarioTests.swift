import Foundation
import Testing
@testable import TraceCheckCore

/// Hand-written traces in traces/scenarios/ whose `wp_page` lines carry only `pfn` and
/// `decision`: every input comes from the page_ref/ksm replay.

@Test func gupPinnedPageDivergesAsD1() {
    let (result, faults) = runChecker(tracePath("scenarios/replay_v5.8_gup_pin.txt"))
    #expect(faults.count == 1)
    let f = faults[0]
    #expect(f.inputs.refcount == 1025)
    #expect(f.inputs.mapcount == 1)
    #expect(f.inputs.anon == true)
    #expect(f.verdict(.v5_8) == Verdict(decision: .reuse, rule: "A4a"))
    #expect(f.verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
    #expect(f.classes == [.prePost, .observedVs(.v5_9), .unsafeReuse])
    #expect(f.divergenceCase == "D1")
    #expect(result.kernel == "5.8.18") // from the metadata header
    #expect(result.expectedModel == .v5_8)
    #expect(result.exitStatus == 1)
}

@Test func ksmPageWithStableNodeDivergesAsD7() {
    let (_, faults) = runChecker(tracePath("scenarios/replay_v5.8_ksm_reuse.txt"))
    let f = faults[0]
    #expect(f.inputs.ksm == true)
    #expect(f.inputs.stableNode == true)
    #expect(f.inputs.refcount == 1)
    #expect(f.verdict(.v5_8) == Verdict(decision: .reuse, rule: "A3a"))
    #expect(f.verdict(.v5_9) == Verdict(decision: .copy, rule: "B1"))
    #expect(f.divergenceCase == "D7")
}

@Test func lostEventsAndCountGapsAreStateGapsNeverJudged() {
    let (result, faults) = runChecker(tracePath("scenarios/replay_lost_events.txt"))
    #expect(faults.count == 3)
    for i in [0, 2] {
        #expect(faults[i].classes == [.stateGap])
        #expect(faults[i].verdicts.allSatisfy { $0.verdict == Verdict(decision: .undetermined, rule: nil, missing: [.state]) })
    }
    // Re-synced in between: judged on the replayed state.
    #expect(faults[1].classes.isEmpty)
    #expect(faults[1].verdict(.v5_8) == Verdict(decision: .copy, rule: "A4e"))
    #expect(faults[1].verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
    #expect(result.stats.lostMarkers == 1)
    #expect(result.stats.lostEvents == 12)
    #expect(result.stats.issueCounts[.countGap] == 1)
    #expect(result.exitStatus == 0)
}

@Test func v618RawMapcountAndOwner2AreRead() {
    let (result, faults) = runChecker(tracePath("scenarios/replay_v6.18_raw_mapcount.txt"))
    #expect(result.models == [.v5_8, .v5_9, .v6_18])
    #expect(faults[0].inputs.mapcount == 1) // printed raw 0
    #expect(faults[0].inputs.anonExclusive == true)
    #expect(faults[0].verdict(.v6_18)?.decision == .reuse)
    #expect(faults[0].classes.isEmpty)
    #expect(faults[1].inputs.refcount == 2)
    #expect(faults[1].inputs.mapcount == 1)
    #expect(faults[1].verdict(.v5_8) == Verdict(decision: .reuse, rule: "A4a"))
    // owner_2 clear in the last event proves nothing: a reuse or a new mapping sets the bit
    // without printing, so v6.18 (F1 reuse or F2/C2 copy) is undetermined.
    #expect(faults[1].inputs.anonExclusive == nil)
    #expect(faults[1].verdict(.v6_18) == Verdict(decision: .undetermined, rule: nil, missing: [.anon_exclusive]))
    #expect(faults[1].classes == [.prePost, .observedVs(.v5_8)])
}

@Test func kernelOptionOverridesTheMetadataHeader() {
    let (result, _) = runChecker(tracePath("scenarios/replay_v5.8_gup_pin.txt"), options: CheckOptions(kernel: "6.18.44"))
    #expect(result.kernel == "6.18.44")
    #expect(result.expectedModel == .v6_18)
}

@Test func racingLocklessIncrementIsRacyReuseAndOnlyThatOne() {
    let (result, faults) = runChecker(tracePath("scenarios/replay_v5.9_racy_reuse.txt"))
    #expect(faults.map(\.pfn) == [0x6000, 0x7000, 0x8000]) // held back, still in input order
    #expect(faults[0].classes == [.racyReuse])
    #expect(faults[0].racer == 30)
    #expect(faults[1].classes.isEmpty) // +1 then -1 inside the window
    #expect(faults[2].classes.isEmpty) // +1 after the task's next event
    #expect(result.racesChecked)
    #expect(result.exitStatus == 1)
}

@Test func aPerCPUClockDisablesTheRaceCheck() throws {
    let text = try String(contentsOfFile: tracePath("scenarios/replay_v5.9_racy_reuse.txt"), encoding: .utf8)
        .replacingOccurrences(of: "clock=global", with: "clock=local")
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("racy-local-\(getpid()).txt").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let (result, faults) = runChecker(path)
    #expect(!result.racesChecked)
    #expect(faults.allSatisfy { $0.classes.isEmpty })
    #expect(TextReport.render(result).contains("racy reuse was not checked"))
}

@Test func explainKeepsThePagesHistoryWithItsVerdicts() {
    var options = CheckOptions()
    options.explainPfn = 0x3000
    let (result, _) = runChecker(tracePath("scenarios/replay_lost_events.txt"), options: options)
    #expect(result.historyTotal == 9) // 5 page_ref, 3 wp_page, 1 lost marker
    #expect(result.history.map(\.line) == [5, 6, 7, 8, 9, 10, 11, 12, 13])
    #expect(result.history.first { $0.line == 11 }?.verdicts == "observed copy; v5.8 copy (A4e), v5.9 copy (B2)")
    #expect(result.history.first { $0.line == 7 }?.text == "CPU:1 [LOST 12 EVENTS]")
    #expect(TextReport.render(result).contains("History of pfn 0x3000: 9 events"))
}

@Test func assumptionsSettleVerdictsAndAreListed() {
    // A wp_page line with counts but neither anon nor ksm: undetermined until the user says.
    let joined = JoinedFault(inputs: FaultInputs(refcount: 1, mapcount: 1, locked: false))
    let strict = FaultCheck.check(joined, observed: .reuse, models: [.v5_8, .v5_9])
    #expect(strict.verdicts.allSatisfy { $0.verdict.decision == .undetermined })
    let assumed = FaultCheck.check(joined, observed: .reuse, models: [.v5_8, .v5_9],
                                   assumptions: [.anon, .noKsm, .noSwap, .noThp])
    #expect(assumed.verdicts[0].verdict.decision == .reuse)
    #expect(assumed.verdicts[0].verdict.rule == "A4a")
    #expect(assumed.verdicts[1].verdict.rule == "B5")
    // Only the facts each verdict needed are named: no-swap and no-thp did not matter here.
    #expect(assumed.verdicts.allSatisfy { $0.verdict.assumed == [.anon, .noKsm] })
    // A verdict settled by evidence alone lists no assumption.
    let known = JoinedFault(inputs: FaultInputs(zero: false, anon: true, ksm: false, refcount: 2, mapcount: 2))
    let v = FaultCheck.check(known, observed: .copy, models: [.v5_9], assumptions: [.anon, .noKsm]).verdicts[0].verdict
    #expect(v == Verdict(decision: .copy, rule: "B2"))
}

@Test(arguments: [
    // (refcount, mapcount, lru, swapcache, writeback, large, locked, expected case)
    (2, 1, true, false, false, false, false, "D1"),
    (1025, 1, true, false, false, false, false, "D1"),
    (2, 1, false, false, false, false, false, "D2"),
    (3, 1, false, false, false, false, false, "D1"),
    (2, 1, true, true, false, false, false, "D3"),
    (2, 1, true, true, true, false, false, "D4"),
])
func divergenceCasesAreNamedFromTheInputs(_ c: (Int, Int, Bool, Bool, Bool, Bool, Bool, String)) {
    let i = FaultInputs(zero: false, anon: true, ksm: false, refcount: c.0, mapcount: c.1, swapcache: c.3,
                        swapcount: 0, locked: c.6, pteChanged: false, writeback: c.4, stableWrites: false,
                        lru: c.2, large: c.5)
    let r = FaultCheck.check(JoinedFault(inputs: i), observed: .copy, models: [.v5_8, .v5_9])
    #expect(r.classes.contains(.prePost))
    #expect(r.divergenceCase == c.7)
}
