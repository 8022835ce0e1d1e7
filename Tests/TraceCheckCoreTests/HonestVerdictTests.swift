import Foundation
import Testing
@testable import TraceCheckCore

/// Small hand-made captures, each built around one way a verdict could claim more than the
/// capture proves. Every model runs (as `--model all`) and every verdict is asserted.
enum HandMade {
    /// A `wp_page` line as a kit prints it (ftrace prefix, 9-decimal clock).
    static func wp(_ pid: Int32, at time: String, _ fields: String) -> String {
        "        cow-\(pid)     [000] ..... \(time): wp_page: tgid=\(pid) \(fields)"
    }

    /// Any other event of a task (the checker only counts it; it ends the task's fault).
    static func other(_ pid: Int32, at time: String) -> String {
        "        cow-\(pid)     [000] ..... \(time): page_fault_user: address=0x1000 ip=0x401000 error_code=0x7"
    }

    /// A page_ref event line of a task (`payload` starts with the event name).
    static func pageRef(_ pid: Int32, at time: String, _ payload: String) -> String {
        "        cow-\(pid)     [000] ..... \(time): \(payload)"
    }

    /// A small anon page as the kit prints it; `fields` adds or overrides keys (later wins).
    static let smallPage = "anon=1 ksm=0 swapcache=0 locked=0 writeback=0 lru=1 large=0 zero=0"

    static func run(
        _ lines: [String], header: String? = nil, kernel: String? = nil,
        models: [KernelModel]? = KernelModel.allCases
    ) -> (CheckResult, [FaultRecord]) {
        var text = header.map { "# tracecheck: \($0)\n" } ?? ""
        text += lines.joined(separator: "\n") + "\n"
        let path = InputFixtures.temporaryFile(Array(text.utf8), suffix: ".txt")
        defer { InputFixtures.remove(path) }
        var checker = TraceChecker(options: CheckOptions(kernel: kernel, models: models))
        var faults: [FaultRecord] = []
        let result = checker.run(paths: [path]) { faults.append($0) }
        return (result, faults)
    }

    /// Every model's verdict in one word list: "reuse A4a", "copy B2", "undetermined anon_exclusive".
    static func verdicts(_ f: FaultRecord) -> [String: String] {
        var out: [String: String] = [:]
        for (m, v) in f.verdicts {
            switch v.decision {
            case .undetermined: out[m.rawValue] = "undetermined " + v.missing.map(\.rawValue).joined(separator: ",")
            case .notCompared, .notAnon: out[m.rawValue] = v.decision.rawValue
            default: out[m.rawValue] = "\(v.decision.rawValue) \(v.rule ?? "")"
            }
        }
        return out
    }
}

@Suite("Verdicts claim only what the capture proves")
struct HonestVerdictTests {
    typealias H = HandMade

    // MARK: Inputs the capture's kernel does not have

    @Test("a pinned page on 5.10: anon-exclusive is unknown to v5.19+, and a printed 0 is not evidence")
    func pinnedPageOnAKernelWithoutTheFlag() {
        let (_, faults) = H.run(
            [H.wp(100, at: "10.000000000", "pfn=0x1000 refcount=1025 mapcount=1 \(H.smallPage) anon_exclusive=0 decision=reuse")],
            header: "kernel=5.10.223-amd64 clock=mono")
        #expect(faults[0].inputs.anonExclusive == nil)
        #expect(H.verdicts(faults[0]) == [
            "v5.8": "reuse A4a", "v5.9": "copy B2", "v5.18": "copy C1",
            "v5.19": "undetermined anon_exclusive", "v6.6": "undetermined anon_exclusive",
            "v6.18": "undetermined anon_exclusive",
        ])
        #expect(!faults[0].classes.contains(.observedVs(.v5_19)))
        #expect(!faults[0].classes.contains(.observedVs(.v6_18)))
    }

    @Test("on 6.1 the printed flag decides; without it a pin does not make the page exclusive")
    func pinnedPageOnAKernelWithTheFlag() {
        let pinned = "pfn=0x1000 refcount=1025 mapcount=1 \(H.smallPage)"
        let (_, faults) = H.run(
            [H.wp(100, at: "10.000000000", "\(pinned) anon_exclusive=1 decision=reuse"),
             H.wp(101, at: "10.000001000", "\(pinned) decision=reuse")],
            header: "kernel=6.1.0-50-amd64 clock=mono")
        #expect(H.verdicts(faults[0]) == [
            "v5.8": "reuse A4a", "v5.9": "copy B2", "v5.18": "copy C1",
            "v5.19": "reuse D-1", "v6.6": "reuse D-1", "v6.18": "reuse F1",
        ])
        #expect(H.verdicts(faults[1]) == [
            "v5.8": "reuse A4a", "v5.9": "copy B2", "v5.18": "copy C1",
            "v5.19": "undetermined anon_exclusive", "v6.6": "undetermined anon_exclusive",
            "v6.18": "undetermined anon_exclusive",
        ])
    }

    @Test("invariants settle the missing flag: a page mapped twice, or a KSM page, is never exclusive")
    func invariantsSettleTheMissingFlag() {
        let (_, faults) = H.run(
            [H.wp(100, at: "10.000000000", "pfn=0x1000 refcount=2 mapcount=2 \(H.smallPage) decision=copy"),
             H.wp(101, at: "10.000001000", "pfn=0x2000 refcount=1 mapcount=1 \(H.smallPage) ksm=1 decision=copy")],
            header: "kernel=5.10.223-amd64 clock=mono")
        #expect(H.verdicts(faults[0]) == [
            "v5.8": "copy A4e", "v5.9": "copy B2", "v5.18": "copy C2",
            "v5.19": "copy C2", "v6.6": "copy C2", "v6.18": "copy F2/C2",
        ])
        #expect(faults[1].verdict(.v5_19) == Verdict(decision: .copy, rule: "C1"))
        #expect(faults[1].verdict(.v6_6) == Verdict(decision: .copy, rule: "C1"))
        #expect(faults[1].verdict(.v6_18) == Verdict(decision: .copy, rule: "F2/C1"))
        #expect(faults[1].verdict(.v5_9) == Verdict(decision: .copy, rule: "B1"))
        #expect(faults.allSatisfy { $0.classes.isEmpty })
    }

    @Test("the MM-id shared bit printed by a kernel before 6.15 is not evidence")
    func sharedBitBeforeItExisted() {
        let thp = "pfn=0x40001 order=9 large=1 refcount=510 folio_mapcount=510 mapcount=1 anon=1 ksm=0 "
            + "swapcache=0 locked=0 writeback=0 lru=1 zero=0 anon_exclusive=0 mm_shared=0 decision=reuse"
        let (_, old) = H.run([H.wp(100, at: "10.000000000", thp)], kernel: "6.12.10")
        let (_, new) = H.run([H.wp(100, at: "10.000000000", thp)], kernel: "6.18.2")
        #expect(old[0].inputs.mmShared == nil)
        #expect(old[0].verdict(.v6_18) == Verdict(decision: .undetermined, rule: nil, missing: [.mm_shared]))
        #expect(new[0].verdict(.v6_18) == Verdict(decision: .reuse, rule: "F7"))
        for faults in [old, new] {
            #expect(faults[0].verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
            for m in [KernelModel.v5_18, .v5_19, .v6_6] {
                #expect(faults[0].verdict(m) == Verdict(decision: .copy, rule: "C1"))
            }
            // v5.8 needs every subpage's mapcount, which the line does not print.
            #expect(faults[0].verdict(.v5_8)?.decision == .undetermined)
            #expect(faults[0].verdict(.v5_8)?.missing == [.subpage_mapcounts])
        }
    }

    // MARK: Large folios in the swap cache

    @Test("v6.18: freeing a large folio's swap cache needs every subpage's swap entries gone, and the folio size")
    func largeFolioInTheSwapCache() {
        let folio = "pfn=0x40001 large=1 refcount=8 folio_mapcount=4 mapcount=1 anon=1 ksm=0 swapcache=1 swapcount=0 "
            + "locked=0 writeback=0 lru=1 zero=0 anon_exclusive=0 mm_shared=0"
        let (_, faults) = H.run(
            [H.wp(100, at: "10.000000000", "\(folio) order=2 folio_swapcount=1 decision=copy"),
             H.wp(101, at: "10.000001000", "\(folio) order=2 folio_swapcount=0 decision=reuse"),
             H.wp(102, at: "10.000002000", "\(folio) order=2 decision=reuse"),
             H.wp(103, at: "10.000003000", "\(folio) folio_swapcount=0 decision=reuse")],
            header: "kernel=6.18.2 clock=mono")
        let v618 = faults.map { $0.verdict(.v6_18)! }
        #expect(v618[0] == Verdict(decision: .copy, rule: "F6")) // this page's swapcount 0 is not enough
        #expect(v618[1] == Verdict(decision: .reuse, rule: "F7")) // 8 − 4 pages = the 4 mappings
        #expect(v618[2] == Verdict(decision: .undetermined, rule: nil, missing: [.folio_swapcount]))
        #expect(v618[3] == Verdict(decision: .undetermined, rule: nil, missing: [.folio_order]))
        for f in faults {
            #expect(f.verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
            for m in [KernelModel.v5_18, .v5_19, .v6_6] { #expect(f.verdict(m) == Verdict(decision: .copy, rule: "C1")) }
            // v5.8's THP count (largest subpage mapcount + swapcount) is not printed.
            #expect(f.verdict(.v5_8) == Verdict(decision: .undetermined, rule: nil, missing: [.subpage_mapcounts]))
        }
        #expect(faults.allSatisfy { !$0.classes.contains(.observedVs(.v6_18)) })
    }

    @Test("v5.8: a THP's swap count is the largest subpage mapcount + swapcount, and A4b–A4d need all its swap references on this subpage")
    func v58ThpSwapCount() {
        let thp = "pfn=0x40001 order=9 large=1 refcount=514 mapcount=1 subpage_mapcount_max=1 anon=1 ksm=0 swapcache=1 "
            + "swapcount=0 locked=0 writeback=1 lru=1 zero=0"
        let (_, faults) = H.run(
            [H.wp(100, at: "10.000000000", "\(thp) thp_map_swapcount=1 folio_swapcount=1 decision=reuse"),
             H.wp(101, at: "10.000001000", "\(thp) thp_map_swapcount=1 folio_swapcount=0 decision=reuse"),
             H.wp(102, at: "10.000002000", "\(thp) folio_swapcount=1 decision=reuse"),
             H.wp(103, at: "10.000003000", "\(thp) thp_map_swapcount=2 folio_swapcount=1 decision=copy")],
            header: "kernel=5.8.18 clock=mono")
        let v58 = faults.map { $0.verdict(.v5_8)! }
        // Swap references on other subpages: reuse_swap_page() skips the swap-cache branch (so no
        // A4c copy on a stable-writes device) and returns count ≤ 1.
        #expect(v58[0] == Verdict(decision: .reuse, rule: "A4a"))
        // All on this subpage, under writeback: the device's stable-writes flag decides.
        #expect(v58[1] == Verdict(decision: .undetermined, rule: nil, missing: [.stable_writes]))
        #expect(v58[2] == Verdict(decision: .undetermined, rule: nil, missing: [.subpage_mapcounts]))
        #expect(v58[3] == Verdict(decision: .copy, rule: "A4e"))
        for f in faults {
            #expect(f.verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
            #expect(f.verdict(.v5_18) == Verdict(decision: .copy, rule: "C1"))
            // No PG_anon_exclusive on 5.8: exclusive (reuse) or not (C1 copy) is unknown.
            for m in [KernelModel.v5_19, .v6_6, .v6_18] {
                #expect(f.verdict(m)?.decision == .undetermined)
                #expect(f.verdict(m)?.missing.contains(.anon_exclusive) == true)
            }
        }
    }

    // MARK: Unsafe reuse

    @Test("unsafe reuse needs a reference the deciding kernel could not release (not an LRU batch's, not an exclusive page's pin)")
    func unsafeReuseOnlyWhenProven() {
        let (_, v618) = H.run(
            [H.wp(100, at: "10.000000000", "pfn=0x1000 refcount=2 mapcount=1 \(H.smallPage) lru=0 anon_exclusive=0 decision=reuse"),
             H.wp(101, at: "10.000001000", "pfn=0x2000 refcount=3 mapcount=1 \(H.smallPage) lru=0 anon_exclusive=0 decision=reuse"),
             H.wp(102, at: "10.000002000", "pfn=0x3000 refcount=1025 mapcount=1 \(H.smallPage) anon_exclusive=1 decision=reuse")],
            header: "kernel=6.18.2 clock=mono")
        // The selftest shape: refcount 2, mapcount 1, not on the LRU. v6.18 drains first.
        #expect(!v618[0].classes.contains(.unsafeReuse))
        #expect(H.verdicts(v618[0]) == [
            "v5.8": "reuse A4a", "v5.9": "copy B2", "v5.18": "undetermined lru",
            "v5.19": "undetermined lru", "v6.6": "undetermined lru", "v6.18": "undetermined lru",
        ])
        // One reference more than the batch could hold: claimed.
        #expect(v618[1].classes.contains(.unsafeReuse))
        #expect(H.verdicts(v618[1]) == [
            "v5.8": "reuse A4a", "v5.9": "copy B2", "v5.18": "copy C2",
            "v5.19": "copy C2", "v6.6": "copy C2", "v6.18": "copy F2/C2",
        ])
        // An exclusive page's pin is its own process's.
        #expect(!v618[2].classes.contains(.unsafeReuse))
        #expect(v618[2].verdict(.v6_18) == Verdict(decision: .reuse, rule: "F1"))

        let (_, v510) = H.run(
            [H.wp(100, at: "10.000000000", "pfn=0x1000 refcount=2 mapcount=1 \(H.smallPage) decision=reuse"),
             H.wp(101, at: "10.000001000", "pfn=0x2000 refcount=2 mapcount=1 \(H.smallPage) lru=0 decision=reuse")],
            header: "kernel=5.10.223-amd64 clock=mono")
        #expect(v510[0].classes.contains(.unsafeReuse)) // on the LRU: a GUP/pipe reference
        #expect(!v510[1].classes.contains(.unsafeReuse)) // may be the batch's
    }

    // MARK: Swap-in write faults

    @Test("a write fault that swapped in first is tagged and compared with no model")
    func swapInFaultsAreNotCompared() {
        let (result, faults) = H.run(
            [H.wp(100, at: "10.000000000", "pfn=0x1000 caller=do_swap_page refcount=2 mapcount=1 \(H.smallPage) swapcache=1 swapcount=0 decision=reuse"),
             H.wp(101, at: "10.000001000", "pfn=0x2000 caller=handle_mm_fault refcount=1 mapcount=1 \(H.smallPage) decision=reuse")],
            header: "kernel=5.10.223-amd64 clock=mono")
        #expect(faults[0].classes == [.swapIn])
        for (_, v) in faults[0].verdicts {
            #expect(v.decision == .notCompared)
            #expect(v.reason == FaultCheck.swapInReason)
        }
        #expect(faults[0].inputs.swapIn == true)
        #expect(faults[1].inputs.swapIn == false)
        #expect(faults[1].verdict(.v5_8) == Verdict(decision: .reuse, rule: "A4a"))
        for m in KernelModel.allCases {
            #expect(result.findings.agreement[m]?.notCompared == 1)
        }
        #expect(result.exitStatus == 0)
        let json = JSONReport.fault(faults[0], multipleInputs: false).text
        #expect(json.contains("\"decision\":\"not-compared\""))
        #expect(json.contains("\"swap-in\""))
    }

    // MARK: The kernel fingerprint

    @Test("without a kernel every model runs and the ranking names the consistent rule generations")
    func fingerprintWithoutAKernel() {
        let (result, _) = H.run(
            [H.wp(100, at: "10.000000000", "pfn=0x1000 refcount=3 mapcount=1 \(H.smallPage) anon_exclusive=1 decision=reuse"),
             H.wp(101, at: "10.000001000", "pfn=0x2000 refcount=1 mapcount=1 \(H.smallPage) anon_exclusive=0 decision=reuse"),
             H.wp(102, at: "10.000002000", "pfn=0x3000 refcount=2 mapcount=2 \(H.smallPage) anon_exclusive=0 decision=copy")],
            models: nil)
        #expect(result.kernel == nil)
        #expect(result.models == KernelModel.allCases)
        let ranking = result.fingerprint
        #expect(ranking.map(\.model) == [.v6_18, .v6_6, .v5_19, .v5_8, .v5_18, .v5_9])
        #expect(ranking.filter(\.isConsistent).map(\.model) == [.v6_18, .v6_6, .v5_19])
        #expect(ranking.first { $0.model == .v5_9 }?.disagree == 1)
        // v5.8 fits these faults but cannot be the kernel's: it has no PG_anon_exclusive.
        #expect(ranking.first { $0.model == .v5_8 }?.ruledOut != nil)
        let text = TextReport.render(result)
        #expect(text.contains("consistent with v6.18 rules: 0 of 3 determined faults disagree"))
        #expect(text.contains("contradicts v5.18 on 1, v5.9 on 1"))
        let summary = JSONReport.summary(result).text
        #expect(summary.contains("\"fingerprint\":[{\"model\":\"v6.18\",\"disagree\":0,\"determined\":3"))
    }

    @Test("a real 6.18 capture without --kernel is named as v6.18 rules", arguments: ["a", "b", "c", "f"])
    func realCaptureFingerprint(_ scenario: String) {
        let (result, _) = runChecker(tracePath("real/scenario_\(scenario).txt.zst"))
        #expect(result.kernel == nil)
        #expect(result.fingerprint.first?.model == .v6_18)
        #expect(result.fingerprint.first?.isConsistent == true)
        #expect(TextReport.headline(result).hasPrefix("no kernel given: consistent with v6.18 rules: 0 of"))
    }

    // MARK: Rules whose first release is not known

    @Test("on 6.7–6.14 a large folio's disagreement with v6.18's large-folio rows is not claimed")
    func largeFolioRulesUncertainBefore615() {
        let thp = "pfn=0x40001 order=9 large=1 refcount=511 folio_mapcount=510 mapcount=1 anon=1 ksm=0 "
            + "swapcache=0 locked=0 writeback=0 lru=1 zero=0"
        let lines = [H.wp(100, at: "10.000000000", "\(thp) anon_exclusive=0 decision=reuse"),
                     H.other(100, at: "10.000000500"),
                     H.wp(101, at: "10.000001000", "\(thp) anon_exclusive=1 decision=copy"),
                     H.other(101, at: "10.000001500")]
        let (r610, f610) = H.run(lines, kernel: "6.10.3")
        let (_, f618) = H.run(lines, kernel: "6.18.2")
        #expect(r610.expectedModel == .v6_18)
        #expect(f610[0].verdict(.v6_18) == Verdict(decision: .copy, rule: "F6|F4"))
        #expect(f610[0].classes.contains(.expectedUncertain))
        #expect(!f610[0].classes.contains(.observedVs(.v6_18)))
        // F1 (an exclusive page is reused) holds on every kernel since 5.19: still claimed.
        #expect(f610[1].verdict(.v6_18) == Verdict(decision: .reuse, rule: "F1"))
        #expect(f610[1].classes.contains(.observedVs(.v6_18)))
        #expect(f618[0].classes.contains(.observedVs(.v6_18)))
        #expect(!f618[0].classes.contains(.expectedUncertain))
        for faults in [f610, f618] {
            #expect(faults[0].verdict(.v5_9) == Verdict(decision: .copy, rule: "B2"))
            #expect(faults[0].verdict(.v6_6) == Verdict(decision: .copy, rule: "C1"))
        }
    }

    // MARK: Racy snapshots

    @Test("a snapshot another task's overlapping fault or the re-read shows stale is a racy snapshot, not a divergence")
    func racySnapshots() {
        let shared = "refcount=2 mapcount=2 \(H.smallPage)"
        let (result, faults) = H.run(
            [// Task 102 enters while task 101 copies the same page: 101's copy unmapped it first.
             H.wp(101, at: "10.000000000", "pfn=0x2000 \(shared) decision=copy dt_ns=5000"),
             H.wp(102, at: "10.000001000", "pfn=0x2000 \(shared) decision=reuse dt_ns=3000"),
             // The line's own re-read: the other mapping was gone when the outcome was read.
             H.wp(103, at: "20.000000000", "pfn=0x3000 \(shared) decision=reuse old_mapcount_after=1 old_refcount_after=1 dt_ns=100"),
             // Nothing changed and nobody overlapped: the kernel is flagged.
             H.wp(104, at: "30.000000000", "pfn=0x4000 \(shared) decision=reuse old_mapcount_after=2 old_refcount_after=2 dt_ns=100"),
             H.other(104, at: "31.000000000"),
             // No dt_ns: another task's fault on the page before this task's next event.
             H.wp(105, at: "40.000000000", "pfn=0x5000 \(shared) decision=reuse"),
             H.wp(106, at: "40.000001000", "pfn=0x5000 \(shared) decision=copy"),
             H.other(105, at: "40.000002000"),
             // No dt_ns, but the task moved on before the other fault: no overlap possible.
             H.wp(107, at: "50.000000000", "pfn=0x6000 \(shared) decision=reuse"),
             H.other(107, at: "50.000001000"),
             H.wp(108, at: "50.000002000", "pfn=0x6000 \(shared) decision=copy"),
             H.other(108, at: "50.000003000"),
             // Another task drops a reference while the fault is in flight: explains a reuse.
             H.wp(109, at: "60.000000000", "pfn=0x7000 \(shared) decision=reuse"),
             H.pageRef(110, at: "60.000001000", "page_ref_mod_and_test: pfn=0x7000 flags=uptodate|lru|swapbacked count=1 mapcount=1 mapping=00000000deadbeef mt=1 val=-1 ret=0"),
             H.other(109, at: "60.000002000"),
             // Another task takes a reference: that cannot explain a reuse (it is a racy reuse).
             H.wp(111, at: "70.000000000", "pfn=0x8000 \(shared) decision=reuse"),
             H.pageRef(112, at: "70.000001000", "page_ref_mod: pfn=0x8000 flags=uptodate|lru|swapbacked count=3 mapcount=2 mapping=00000000deadbeef mt=1 val=1"),
             H.other(111, at: "70.000002000")],
            kernel: "5.8.18")
        #expect(faults.map(\.line) == [1, 2, 3, 4, 6, 7, 9, 11, 13, 16])
        let byPid = Dictionary(uniqueKeysWithValues: faults.map { ($0.pid!, $0) })
        #expect(byPid[102]?.snapshotRace == .overlappingFault)
        #expect(byPid[103]?.snapshotRace == .rereadChanged)
        #expect(byPid[104]?.snapshotRace == nil)
        #expect(byPid[105]?.snapshotRace == .overlapNotExcluded)
        #expect(byPid[107]?.snapshotRace == nil)
        #expect(byPid[109]?.snapshotRace == .otherTaskChangedPage)
        #expect(byPid[111]?.snapshotRace == nil)
        #expect(byPid[111]?.classes.contains(.observedVs(.v5_8)) == true)
        #expect(byPid[111]?.classes.contains(.racyReuse) == true)
        for pid: Int32 in [102, 103, 105, 109] {
            // No model's disagreement is claimed on a state that may be stale.
            #expect(byPid[pid]?.classes == [.racySnapshot], "pid \(pid)")
            // The verdicts stay what each model says of the snapshot.
            #expect(byPid[pid]?.verdict(.v5_8) == Verdict(decision: .copy, rule: "A4e"))
        }
        for pid: Int32 in [104, 107] {
            #expect(byPid[pid]?.classes.contains(.observedVs(.v5_8)) == true, "pid \(pid)")
        }
        // A racy snapshot's disagreements are not compared; the other faults are.
        let v58 = result.findings.agreement[.v5_8]!
        #expect(v58.notCompared == 4)
        #expect(v58.disagree == 3)
        #expect(v58.agree == 3)
        let json = JSONReport.fault(byPid[102]!, multipleInputs: false).text
        #expect(json.contains("\"snapshot_race\":\"overlapping-fault\""))
        #expect(json.contains("\"racy-snapshot\""))
    }
}
