import Testing
@testable import TraceCheckCore

/// Hand-written traces whose `wp_page` lines leave the state to the replay, one per way a printed
/// value can stop being current. Each asserts what every model `--model all` runs says: the
/// decision the evidence proves, or undetermined naming what is missing, never a guess.
@Suite("replay: never more certain than the capture")
struct ReplayHonestyTests {
    static let all = CheckOptions(models: KernelModel.allCases)

    static func undetermined(_ missing: InputName...) -> Verdict {
        Verdict(decision: .undetermined, rule: nil, missing: missing)
    }

    static func expect(_ f: FaultRecord, _ expected: [KernelModel: Verdict], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(f.verdicts.count == KernelModel.allCases.count, sourceLocation: sourceLocation)
        for m in KernelModel.allCases {
            #expect(f.verdict(m) == expected[m], "\(m.rawValue) at pfn 0x\(String(f.pfn, radix: 16))", sourceLocation: sourceLocation)
        }
    }

    static func same(_ v: Verdict) -> [KernelModel: Verdict] {
        Dictionary(uniqueKeysWithValues: KernelModel.allCases.map { ($0, v) })
    }

    /// A free ends a page's identity; states no kernel can be in are gaps, never judged.
    @Test func pageLifetimes() {
        let (_, faults) = runChecker(tracePath("scenarios/replay_v5.8_page_lifetimes.txt"), options: Self.all)
        #expect(faults.count == 3)
        // Reallocated after its KSM life: KSM is unknown, not "still KSM".
        #expect(faults[0].inputs.ksm == nil)
        #expect(faults[0].classes.isEmpty)
        var fresh = Self.same(Self.undetermined(.ksm, .anon_exclusive))
        fresh[.v5_8] = Self.undetermined(.ksm, .stable_node)
        fresh[.v5_9] = Self.undetermined(.ksm)
        fresh[.v5_18] = Self.undetermined(.ksm)
        Self.expect(faults[0], fresh)
        // Freed and never allocated again: a refcount of 0 at a fault.
        #expect(faults[1].classes == [.stateGap])
        #expect(faults[1].gapReason?.contains("refcount is 0") == true)
        Self.expect(faults[1], Self.same(Self.undetermined(.state)))
        // Refcount 1 below mapcount 2.
        #expect(faults[2].classes == [.stateGap])
        #expect(faults[2].gapReason?.contains("below the mapcount") == true)
        Self.expect(faults[2], Self.same(Self.undetermined(.state)))
    }

    /// A tail page is joined with its PMD-aligned head (before v6.8), never with its own count 0;
    /// with no head tracked, the folio's refcount is unknown.
    @Test func thpTailsReadTheHead() {
        let (_, faults) = runChecker(tracePath("scenarios/replay_v5.10_thp_tail.txt"), options: Self.all)
        #expect(faults.count == 3)
        let tail = faults[0]
        #expect(tail.inputs.refcount == 512)
        #expect(tail.inputs.large == true)
        #expect(tail.inputs.mapcount == nil) // per page: the head's events do not show a tail's
        #expect(tail.classes.isEmpty)
        Self.expect(tail, [
            .v5_8: Self.undetermined(.locked, .subpage_mapcounts, .pte_changed),
            .v5_9: Verdict(decision: .copy, rule: "B2"),
            .v5_18: Verdict(decision: .copy, rule: "C1"),
            .v5_19: Self.undetermined(.anon_exclusive),
            .v6_6: Self.undetermined(.anon_exclusive),
            .v6_18: Self.undetermined(.mapcount, .anon_exclusive, .mm_shared),
        ])
        let orphan = faults[1]
        #expect(orphan.inputs.refcount == nil)
        #expect(orphan.inputs.large == true)
        #expect(orphan.verdicts.allSatisfy { $0.verdict.decision == .undetermined })
        #expect(orphan.verdict(.v5_9)?.missing == [.anon, .refcount, .locked])
        // A page-cache folio's head at the PMD-aligned pfn is not this tail's head.
        #expect(faults[2].inputs.refcount == nil)
        #expect(faults[2].verdict(.v5_9)?.decision == .undetermined)
    }

    /// From v6.8 a large folio may have any order: only a printed order names the head.
    @Test func mthpHeadComesFromThePrintedOrder() {
        let (_, faults) = runChecker(tracePath("scenarios/replay_v6.18_mthp_order.txt"), options: Self.all)
        #expect(faults.count == 2)
        #expect(faults[0].inputs.refcount == 16)
        Self.expect(faults[0], [
            .v5_8: Self.undetermined(.locked, .subpage_mapcounts, .pte_changed),
            .v5_9: Verdict(decision: .copy, rule: "B2"),
            .v5_18: Verdict(decision: .copy, rule: "C1"),
            .v5_19: Verdict(decision: .copy, rule: "C1"),
            .v6_6: Verdict(decision: .copy, rule: "C1"),
            .v6_18: Verdict(decision: .reuse, rule: "F7"),
        ])
        // No order on the line: the head (and the refcount) is unknown, though 0x600010 is tracked.
        #expect(faults[1].inputs.refcount == nil)
        #expect(faults[1].inputs.large == true)
        #expect(faults[1].verdicts.allSatisfy { $0.verdict.decision == .undetermined })
    }

    /// `locked`, `lru`, `swapcache` and `writeback` are taken from an event only where no
    /// silent change can have followed it.
    @Test func flagsOnlyAsFreshAsTheirRules() {
        let (_, faults) = runChecker(tracePath("scenarios/replay_v5.8_flag_freshness.txt"), options: Self.all)
        #expect(faults.count == 4)
        // A lock bit seen a second earlier on a page whose only reference is the mapping.
        #expect(faults[0].inputs.locked == false)
        Self.expect(faults[0], [
            .v5_8: Verdict(decision: .reuse, rule: "A4a"), .v5_9: Verdict(decision: .reuse, rule: "B5"),
            // No PG_anon_exclusive on this kernel: exclusive or not, the later models reuse.
            .v5_18: Verdict(decision: .reuse, rule: "C5"), .v5_19: Verdict(decision: .reuse, rule: "C5|D-1"),
            .v6_6: Verdict(decision: .reuse, rule: "C5|D-1"), .v6_18: Verdict(decision: .reuse, rule: "F2/C5|F1"),
        ])
        // kswapd's increment printed lru: an isolation clears it right after.
        #expect(faults[1].inputs.lru == nil && faults[1].inputs.locked == nil)
        var isolated = Self.same(Self.undetermined(.locked, .lru, .anon_exclusive))
        isolated[.v5_18] = Self.undetermined(.locked, .lru)
        // A speculative get's mapcount is only a lower bound (it prints before any rmap add).
        isolated[.v5_8] = Self.undetermined(.mapcount, .locked, .pte_changed)
        isolated[.v5_9] = Verdict(decision: .copy, rule: "B2")
        Self.expect(faults[1], isolated)
        // kswapd's increment on a locked page printed no swapcache: the flag may follow it.
        #expect(faults[2].inputs.swapcache == nil)
        var entering = Self.same(Self.undetermined(.swapcount, .swapcache, .lru, .anon_exclusive))
        entering[.v5_18] = Self.undetermined(.swapcount, .swapcache, .lru)
        entering[.v5_8] = Self.undetermined(.mapcount, .swapcount, .swapcache)
        entering[.v5_9] = Verdict(decision: .copy, rule: "B2")
        Self.expect(faults[2], entering)
        // writeback on 5.8: its end prints nothing.
        #expect(faults[3].inputs.writeback == nil)
        var writeback = Self.same(Self.undetermined(.writeback, .anon_exclusive))
        writeback[.v5_18] = Self.undetermined(.writeback)
        writeback[.v5_8] = Self.undetermined(.writeback, .stable_writes)
        writeback[.v5_9] = Verdict(decision: .copy, rule: "B2")
        Self.expect(faults[3], writeback)
    }

    @Test func speculativeGetLeavesTheMapcountOpen() {
        let (_, faults) = runChecker(tracePath("scenarios/replay_v5.8_swapin_lookup.txt"), options: Self.all)
        #expect(faults.count == 1)
        // Another process's swap-cache lookup printed mapcount 1 before its silent rmap add.
        #expect(faults[0].inputs.mapcount == nil)
        #expect(faults[0].inputs.refcount == 3)
        #expect(faults[0].verdict(.v5_8)?.decision == .undetermined)
        #expect(faults[0].verdict(.v5_8)?.missing.contains(.mapcount) == true)
        #expect(faults[0].verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
    }

    /// Without a kernel version, only a value a page type cannot print decides the convention,
    /// and the result says how.
    @Test func mapcountConventionFromEvidence() {
        let (result, faults) = runChecker(tracePath("scenarios/replay_mapcount_convention.txt"), options: Self.all)
        #expect(result.mapcountConvention == .logical)
        #expect(result.mapcountConventionBasis == .allocationPrintedZero)
        #expect(TextReport.render(result).contains("mapcount convention: logical (page_mapcount()), decided by a page allocation"))
        #expect(JSONReport.summary(result).text.contains(
            "\"mapcount_convention\":{\"convention\":\"logical\",\"decided_by\":\"a page allocation"))
        #expect(faults[0].inputs.mapcount == 1)
        Self.expect(faults[0], [
            .v5_8: Verdict(decision: .reuse, rule: "A4a"), .v5_9: Verdict(decision: .reuse, rule: "B5"),
            .v5_18: Verdict(decision: .reuse, rule: "C5"), .v5_19: Verdict(decision: .reuse, rule: "C5|D-1"),
            .v6_6: Verdict(decision: .reuse, rule: "C5|D-1"), .v6_18: Verdict(decision: .reuse, rule: "F2/C5|F1"),
        ])
    }

    /// No sched_process_fork in the capture: another task's plain increment may be a fork's,
    /// printed before the child's mapping existed.
    @Test func forkStalenessWithoutForkEvents() {
        let (result, faults) = runChecker(tracePath("scenarios/replay_v6.18_fork_unseen.txt"), options: Self.all)
        #expect(result.stats.eventsByFamily["sched_process_fork"] == nil)
        let f = faults[0]
        #expect(f.inputs.mapcount == nil && f.inputs.anonExclusive == nil)
        #expect(!f.classes.contains(.observedVs(.v6_18)))
        Self.expect(f, [
            .v5_8: Self.undetermined(.mapcount, .locked, .pte_changed),
            .v5_9: Verdict(decision: .copy, rule: "B2"),
            .v5_18: Self.undetermined(.locked, .lru),
            .v5_19: Self.undetermined(.locked, .lru, .anon_exclusive),
            .v6_6: Self.undetermined(.locked, .lru, .anon_exclusive),
            .v6_18: Self.undetermined(.locked, .lru, .anon_exclusive),
        ])
    }

    /// Shapes seen in real 5.10 output: 5-level raw pointers, a swap-in's stale mapcount, another
    /// task's event within a microsecond of the fault, the zero page's PG_reserved.
    @Test func realCaptureShapes() {
        let (_, faults) = runChecker(tracePath("scenarios/replay_v5.10_real_shapes.txt"), options: Self.all)
        #expect(faults.count == 5)
        // ff11… is a raw pointer: anon read from the replay.
        #expect(faults[0].inputs.anon == true)
        Self.expect(faults[0], [
            .v5_8: Verdict(decision: .reuse, rule: "A4a"), .v5_9: Verdict(decision: .reuse, rule: "B5"),
            // No PG_anon_exclusive on this kernel: exclusive or not, the later models reuse.
            .v5_18: Verdict(decision: .reuse, rule: "C5"), .v5_19: Verdict(decision: .reuse, rule: "C5|D-1"),
            .v6_6: Verdict(decision: .reuse, rule: "C5|D-1"), .v6_18: Verdict(decision: .reuse, rule: "F2/C5|F1"),
        ])
        // Swap-in: printed mapcount 0 is stale, not "unmapped".
        #expect(faults[1].inputs.mapcount == nil)
        #expect(faults[1].inputs.refcount == 3 && faults[1].inputs.swapcache == true)
        #expect(faults[1].verdict(.v5_8)?.decision == .undetermined)
        #expect(faults[1].verdict(.v5_8)?.missing.contains(.mapcount) == true)
        for m in [KernelModel.v5_9, .v5_18] { #expect(faults[1].verdict(m)?.decision == .copy) }
        // 5.10 has no PG_anon_exclusive, and the unknown mapcount cannot rule it out.
        for m in [KernelModel.v5_19, .v6_6, .v6_18] {
            #expect(faults[1].verdict(m) == Self.undetermined(.anon_exclusive))
        }
        // Within the clock's resolution: concurrent, the state is unknown.
        #expect(faults[2].classes == [.stateGap])
        #expect(faults[2].gapReason?.contains("within the clock's resolution") == true)
        Self.expect(faults[2], Self.same(Self.undetermined(.state)))
        // PG_reserved: not anonymous.
        Self.expect(faults[3], Self.same(Verdict(decision: .notAnon, rule: "N1")))
        // Printed after the fault line, but within the resolution: a state gap as well.
        #expect(faults[4].classes == [.stateGap])
        #expect(faults[4].gapReason?.contains("34.300001000") == true)
        Self.expect(faults[4], Self.same(Self.undetermined(.state)))
        // --explain shows the verdicts the fault ended with.
        var explain = Self.all
        explain.explainPfn = 0xb300
        let (explained, _) = runChecker(tracePath("scenarios/replay_v5.10_real_shapes.txt"), options: explain)
        let entry = explained.history.first { $0.text.contains(" wp_page: ") }
        #expect(entry?.verdicts?.hasSuffix("state-gap") == true)
        #expect(entry?.verdicts?.contains("v5.9 undetermined") == true)
    }

    /// Printed times stand for intervals one resolution wide; any pair of inputs is safe.
    @Test func printedTimesOverlapOnlyWithinHalfTheirResolutions() {
        #expect(RecentPageRefs.mayOverlap(1_000, 1_000, 1_500, 1))       // µs event, ns fault, 500 ns apart
        #expect(!RecentPageRefs.mayOverlap(1_000, 1_000, 1_501, 1))
        #expect(RecentPageRefs.mayOverlap(1_000, 1_000, 1_999, 1_000))   // two µs stamps, adjacent
        #expect(!RecentPageRefs.mayOverlap(1_000, 1_000, 2_000, 1_000))  // a whole µs apart: ordered
        #expect(!RecentPageRefs.mayOverlap(.max, 1_000, .min, 1_000))    // no overflow
        #expect(!RecentPageRefs.mayOverlap(5, 1, 6, 1))                  // ns clocks: 1 ns apart is ordered
    }
}
