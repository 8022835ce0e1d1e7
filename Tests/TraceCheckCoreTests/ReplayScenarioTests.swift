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
    #expect(faults[1].verdict(.v6_18)?.decision == .copy)
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
