import Foundation
import Testing
@testable import TraceCheckCore

/// The 6.18 captures made with `tracecheck record` (traces/real/kit618_*), checked end to end.
let kitWorkloads = ["d1_gup_pipe", "d2_lru_batch", "d3_swap", "d7_ksm", "d10_page_lock", "d11_thp", "d13_fork_shared"]
let kitCaptures = kitWorkloads + ["cow_selftest"]

func kitPath(_ name: String) -> String { tracePath("real/kit618_\(name).txt.zst") }

@Test(arguments: kitCaptures)
func kitCaptureReadsCleanly(_ name: String) throws {
    let path = kitPath(name)
    let lines = try readLines(path)
    #expect(lines.first?.hasPrefix("# tracecheck: kernel=6.18.44") == true)
    #expect(lines.first?.hasSuffix("clock=mono capture=tpbtf") == true)
    let wpLines = lines.filter { $0.contains(" wp_page: ") }.count
    let (result, faults) = runChecker(path)
    #expect(wpLines > 0)
    #expect(faults.count == wpLines)
    #expect(result.stats.malformed == 0)
    #expect(result.errors.isEmpty)
    // The header alone tells the checker which rules the kernel follows.
    #expect(result.expectedModel == .v6_18)
}

/// Every labelled write of a workload against what /proc/self/pagemap saw: the pfn changed
/// exactly when the capture says `copy`.
@Test(arguments: kitWorkloads)
func kitObservedDecisionMatchesPagemap(_ name: String) throws {
    let path = kitPath(name)
    let lines = try readLines(path)
    let (_, faults) = runChecker(path)
    let byLine = Dictionary(uniqueKeysWithValues: faults.map { ($0.line, $0) })
    let log = try String(contentsOfFile: tracePath("real/kit618_\(name).usercheck.log"), encoding: .utf8)
    let logged = log.split(separator: "\n").compactMap { UserCheck(String($0)) }
    var markers: [(line: Int, check: UserCheck)] = []
    for (i, text) in lines.enumerated() where text.contains("tracing_mark_write: usercheck: ") {
        if let u = UserCheck(text) { markers.append((i + 1, u)) }
    }
    // The log and the markers inside the trace tell the same story, step for step.
    #expect(markers.count == logged.count)
    #expect(markers.map(\.check.step) == logged.map(\.step))

    var previousMarker: [Int32: Int] = [:]
    var judged = 0
    for (marker, u) in markers {
        defer { previousMarker[u.pid] = marker }
        guard u.op == "write", u.presentBefore else { continue }
        let page = u.addr & ~UInt64(0xfff)
        let from = previousMarker[u.pid] ?? 0
        let fault = (from + 1 ..< marker).compactMap { byLine[$0] }.last { f in
            f.pid == u.pid && ((f.addr ?? 0) & ~UInt64(0xfff)) == page
        }
        guard let fault else { continue } // still writable: no fault to judge
        let truth: ObservedDecision = u.pfnBefore != u.pfnAfter ? .copy : .reuse
        #expect(fault.observed == truth, "step \(u.step) at line \(fault.line)" as Comment)
        judged += 1
    }
    #expect(judged > 0)
}

/// The v6.18 rules explain every determined decision. One fault of the d10 capture is a real
/// race: parent and child wrote the same shared page at once, both snapshots say
/// refcount 2 / mapcount 2, the parent copied first and the child then reused (its
/// `old_*_after` shows refcount 1, mapcount 1; `dt_ns` spans the parent's fault): a racy
/// snapshot, not a divergence.
@Test(arguments: kitCaptures)
func kitCapturesFollowTheV618Rules(_ name: String) {
    let (result, _) = runChecker(kitPath(name), options: CheckOptions(kernel: "6.18"))
    let against = result.findings.classes[.observedVs(.v6_18)] ?? 0
    #expect(against == 0)
    if name == "d10_page_lock" {
        // The race is classed as a racy snapshot, with the evidence that showed it.
        #expect((result.findings.classes[.racySnapshot] ?? 0) >= 1)
    }
}

/// With the swap count and the MM-id bit recorded, what v6.18 leaves undetermined is only the
/// per-CPU LRU drain's outcome (D2: the drain decides, and the capture cannot see it).
@Test(arguments: kitCaptures)
func kitV618UndeterminedOnlyForTheLruDrain(_ name: String) {
    let (_, faults) = runChecker(kitPath(name), options: CheckOptions(kernel: "6.18"))
    for f in faults where f.verdict(.v6_18)?.decision == .undetermined {
        #expect(f.verdict(.v6_18)?.missing == [.lru], "line \(f.line)" as Comment)
        #expect(f.inputs.lru == false)
    }
    let swapCache = faults.filter { $0.inputs.swapcache == true && $0.inputs.anon == true }
    let large = faults.filter { $0.inputs.large == true && $0.inputs.anon == true }
    #expect(swapCache.allSatisfy { $0.verdict(.v6_18)?.missing.contains(.swapcount) != true })
    #expect(large.allSatisfy { $0.verdict(.v6_18)?.missing.contains(.mm_shared) != true })
    #expect(large.allSatisfy { $0.verdict(.v6_18)?.decision != .undetermined })
}

@Test func kitCapturesLeaveUnderOnePercentUndetermined() {
    var anon = 0, undetermined = 0, swapCache = 0, large = 0
    for name in kitCaptures {
        let (_, faults) = runChecker(kitPath(name), options: CheckOptions(kernel: "6.18"))
        let anonFaults = faults.filter { $0.inputs.anon == true }
        anon += anonFaults.count
        undetermined += anonFaults.filter { $0.verdict(.v6_18)?.decision == .undetermined }.count
        swapCache += anonFaults.filter { $0.inputs.swapcache == true }.count
        large += anonFaults.filter { $0.inputs.large == true }.count
    }
    // Swap-cache pages and large folios are a real share of these captures, not a corner.
    #expect(swapCache > 1000)
    #expect(large > 10000)
    #expect(undetermined * 100 < anon)
}

/// v5.8's rules need, for large folios, the largest subpage mapcount (+ swap count): the
/// engine records them as `subpage_mapcount_max` and `thp_map_swapcount`.
@Test func kitCaptureRecordsWhatV58NeedsForLargeFolios() throws {
    let lines = try readLines(kitPath("d11_thp")).filter { $0.contains(" wp_page: ") && $0.contains(" large=1 ") }
    #expect(!lines.isEmpty)
    for line in lines {
        for key in ["subpage_mapcount_max=", "thp_map_swapcount=", "mm_shared=", "folio_mapcount=", "dt_ns=", "dt_kind=next_entry", "old_refcount_after="] {
            #expect(line.contains(" " + key), "\(key) missing" as Comment)
        }
    }
    let (_, faults) = runChecker(kitPath("d11_thp"), options: CheckOptions(kernel: "6.18"))
    let largeFaults = faults.filter { $0.inputs.large == true && $0.inputs.anon == true }
    #expect(largeFaults.allSatisfy { $0.verdict(.v5_8)?.decision != .undetermined })
}

/// Swap-cache faults carry the swap count of their slot, which v5.8 and v6.18 need.
@Test func kitCaptureRecordsSwapCounts() throws {
    let lines = try readLines(kitPath("d3_swap")).filter { $0.contains(" wp_page: ") && $0.contains(" swapcache=1 ") }
    #expect(lines.count >= 2)
    #expect(lines.allSatisfy { $0.contains(" swapcount=") && $0.contains(" folio_swapcount=") })
    // The workload made one page with swap count 0 (reused) and one with swap count 1 (copied).
    #expect(lines.contains { $0.contains(" swapcount=0 ") && $0.contains(" decision=reuse ") })
    #expect(lines.contains { $0.contains(" swapcount=1 ") && $0.contains(" decision=copy ") })
}
