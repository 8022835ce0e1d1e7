import Foundation
import Testing
@testable import TraceCheckCore

/// Real 5.10 captures with page_ref events (a kernel running v5.8's rule, `traces/real/pageref-5.10`):
/// each full capture has a twin whose `wp_page` lines lost their snapshot, so the state must come
/// from the replay. Per fault and per model the replay may know less than the snapshot on the same
/// line, never something else: its verdict equals the snapshot's or is undetermined, and it is never
/// determined where the snapshot itself is not.
@Suite("real page_ref captures: replay against the snapshot")
struct RealPageRefTwinTests {
    static let scenarios = ["a", "b", "c", "d", "e", "f"]

    /// How the replayed twin was made.
    enum Cut: String, CaseIterable, Sendable {
        /// `tgid pfn addr decision` plus `mapping` and `zero`, derived here from the full twin.
        case mappingAndZeroKept = "mapping/zero kept"
        /// The committed `.min` capture (nothing kept), judged with `--assume anon`.
        case nothingKept = "nothing kept, --assume anon"
    }

    struct Comparison {
        var verdicts = 0
        var determined = 0
        var contradictions: [String] = []
        var overCertain: [String] = []
    }

    static func full(_ s: String) -> String { tracePath("real/pageref-5.10/scenario_\(s).txt.zst") }

    /// The full capture with every `wp_page` payload cut to the keys in `keep`.
    static func cutCopy(of path: String, keeping keep: Set<Substring>) throws -> String {
        var out = ""
        for line in try readLines(path) {
            if let r = line.range(of: " wp_page: ") {
                let kept = line[r.upperBound...].split(separator: " ").filter { token in
                    keep.contains(token.split(separator: "=", maxSplits: 1)[0])
                }
                out += line[..<r.upperBound] + kept.joined(separator: " ") + "\n"
            } else {
                out += line + "\n"
            }
        }
        let file = NSTemporaryDirectory() + "pageref-cut-\(UUID().uuidString).txt"
        try out.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    static func replayed(_ scenario: String, _ cut: Cut) throws -> [FaultRecord] {
        switch cut {
        case .mappingAndZeroKept:
            let file = try cutCopy(of: full(scenario), keeping: ["tgid", "pfn", "addr", "decision", "mapping", "zero"])
            defer { try? FileManager.default.removeItem(atPath: file) }
            return runChecker(file, options: CheckOptions(models: KernelModel.allCases)).1
        case .nothingKept:
            var options = CheckOptions(models: KernelModel.allCases)
            options.assumptions = [.anon]
            return runChecker(tracePath("real/pageref-5.10/scenario_\(scenario).min.txt.zst"), options: options).1
        }
    }

    static func compare(_ scenario: String, _ cut: Cut) throws -> Comparison {
        let (_, snapshot) = runChecker(full(scenario), options: CheckOptions(models: KernelModel.allCases))
        let replay = try replayed(scenario, cut)
        var c = Comparison()
        #expect(snapshot.count == replay.count && !snapshot.isEmpty)
        for (s, r) in zip(snapshot, replay) {
            #expect(s.pfn == r.pfn && s.observed == r.observed)
            for model in KernelModel.allCases {
                guard let sv = s.verdict(model), let rv = r.verdict(model) else {
                    Issue.record("line \(s.line): no \(model.rawValue) verdict")
                    continue
                }
                // A swap-in fault is compared with no model; its cut twin no longer says it is one.
                if sv.decision == .notCompared { continue }
                c.verdicts += 1
                guard rv.decision != .undetermined else { continue }
                c.determined += 1
                let at = "\(scenario) line \(s.line) \(model.rawValue): snapshot \(sv.decision.rawValue), replay \(rv.decision.rawValue) (\(rv.rule ?? ""))"
                if sv.decision == .undetermined {
                    c.overCertain.append(at)
                } else if sv.decision != rv.decision {
                    c.contradictions.append(at)
                }
            }
        }
        return c
    }

    @Test("the replay never decides otherwise than the snapshot, nor where it cannot",
          arguments: scenarios, Cut.allCases)
    func replayNeverMoreCertainThanTheSnapshot(_ scenario: String, _ cut: Cut) throws {
        let c = try Self.compare(scenario, cut)
        #expect(c.contradictions.isEmpty, "\(c.contradictions.joined(separator: "\n"))")
        #expect(c.overCertain.isEmpty, "\(c.overCertain.joined(separator: "\n"))")
        #expect(c.verdicts > 0)
    }

    /// The figures the README reports: the replay still determines most verdicts (the rest wait
    /// for inputs no page_ref event shows; README "Replaying real page_ref captures").
    @Test func theReplayDeterminesMostVerdicts() throws {
        for cut in Cut.allCases {
            var verdicts = 0, determined = 0
            for s in Self.scenarios {
                let c = try Self.compare(s, cut)
                verdicts += c.verdicts
                determined += c.determined
            }
            #expect(determined * 2 > verdicts, "\(cut.rawValue): \(determined) of \(verdicts) determined")
        }
    }

    /// The full twins' own snapshots and the `.min` twins name the same faults in the same order
    /// (the cut inserted one comment line after the first).
    @Test(arguments: scenarios)
    func minTwinIsTheSameCaptureCut(_ scenario: String) throws {
        let full = try readLines(Self.full(scenario))
        let min = try readLines(tracePath("real/pageref-5.10/scenario_\(scenario).min.txt.zst"))
        #expect(min.count == full.count + 1)
        let fullFaults = full.filter { $0.contains(" wp_page: ") }
        let minFaults = min.filter { $0.contains(" wp_page: ") }
        #expect(fullFaults.count == minFaults.count)
        for (f, m) in zip(fullFaults, minFaults) {
            let keys = m[m.range(of: " wp_page: ")!.upperBound...].split(separator: " ").map { $0.split(separator: "=")[0] }
            #expect(keys == ["tgid", "pfn", "addr", "decision"])
            #expect(f.hasPrefix(m[..<m.range(of: " wp_page: ")!.upperBound]))
        }
    }
}

/// Real captures from a kernel running v5.8's rule (`traces/real/prepatch-5.8rule`): v5.8
/// explains every decision its verdict determines, and the observed decisions are what the
/// workload saw in /proc/self/pagemap.
@Suite("real captures of a v5.8-rule kernel")
struct RealPrepatchCaptureTests {
    static let captures = ["scenario_a", "scenario_b", "scenario_c", "scenario_d", "scenario_e", "scenario_f", "cow_traces_all"]

    @Test(arguments: captures)
    func v58AgreesWithEveryDeterminedDecision(_ name: String) {
        let (result, faults) = runChecker(tracePath("real/prepatch-5.8rule/\(name).txt.zst"),
                                          options: CheckOptions(models: KernelModel.allCases))
        #expect(result.errors.isEmpty && result.stats.malformed == 0)
        #expect(!faults.isEmpty)
        #expect(result.findings.classes[.observedVs(.v5_8)] == nil)
        let decided = faults.filter { $0.verdict(.v5_8)?.decision != .undetermined }
        #expect(decided.count * 2 > faults.count)
        for f in decided {
            let d = f.verdict(.v5_8)!.decision
            #expect(d == .notAnon || d == .notCompared || d.rawValue == f.observed.word, "line \(f.line)")
        }
    }

    /// Every labelled write step's fault: observed as the pagemap says, and v5.8 decides it the
    /// same way or leaves it undetermined.
    @Test(arguments: captures.dropLast())
    func labelledStepsAreGroundTruth(_ name: String) throws {
        let path = tracePath("real/prepatch-5.8rule/\(name).txt.zst")
        let lines = try readLines(path)
        let (_, faults) = runChecker(path, options: CheckOptions(models: [.v5_8]))
        let byLine = Dictionary(uniqueKeysWithValues: faults.map { ($0.line, $0) })
        var previousMarker: [Int32: Int] = [:]
        var judged = 0
        for (index, text) in lines.enumerated() where text.contains("tracing_mark_write: usercheck: ") {
            guard let u = UserCheck(text) else { continue }
            let marker = index + 1
            defer { previousMarker[u.pid] = marker }
            guard u.op == "write", u.presentBefore else { continue }
            let page = u.addr & ~UInt64(0xfff)
            let fault = ((previousMarker[u.pid] ?? 0) + 1 ..< marker).compactMap { byLine[$0] }.last {
                $0.pid == u.pid && ($0.addr ?? 0) & ~UInt64(0xfff) == page
            }
            guard let fault else { continue }
            let truth: ObservedDecision = u.pfnBefore != u.pfnAfter ? .copy : .reuse
            #expect(fault.observed == truth, "step \(u.step) at line \(fault.line)")
            let v58 = fault.verdict(.v5_8)?.decision
            // The zero page's copy is not an anon decision.
            #expect(v58 == .undetermined || v58 == .notAnon || v58?.rawValue == truth.word,
                    "step \(u.step) at line \(fault.line)")
            judged += 1
        }
        #expect(judged > 0)
    }
}
