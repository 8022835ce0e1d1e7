import Foundation
import Testing
@testable import TraceCheckCore
@testable import tracegen

/// Random workloads over many seeds, for each kernel: tracegen's simulated kernel and
/// tracecheck's replay and models are two implementations that must agree on every fault.
@Suite("tracegen × tracecheck over many seeds")
struct PropertyTests {
    struct Run: Sendable, CustomTestStringConvertible {
        var seed: UInt64
        var model: GenModel
        var testDescription: String { "seed \(seed) \(model.rawValue)" }

        /// Each seed varies the shape: wp mode, lost spans, races, CPUs, clock.
        var config: GeneratorConfig {
            makeConfig(model, seed: seed, size: .lines(1200)) { c in
                c.pfns = 1024
                c.wpMode = seed % 2 == 0 ? .minimal : .full
                c.cpus = 2 + Int(seed % 3)
                c.lostSpans = seed % 3 == 0 ? 3 : 0
                c.clock = seed % 7 == 6 ? .local : .global
                c.raceRate = c.clock == .global ? 0.15 : 0
                // Another task's events in the fault's own microsecond (minimal lines only matter).
                c.concurrentRate = c.clock == .global && c.lostSpans == 0 ? 0.1 : 0
            }
        }
    }

    static let runs: [Run] = (1...50).flatMap { s in GenModel.allCases.map { Run(seed: UInt64(s), model: $0) } }

    @Test("per-fault verdicts equal the ground truth", arguments: runs)
    func agreement(_ run: Run) throws {
        let g = try generate(run.config)
        let (result, faults) = try check(g)
        let expected = g.truth.faults.map(ExpectedFault.init)
        #expect(result.errors.isEmpty && result.stats.malformed == 0)
        #expect(expected.count > 25)
        let diffs = differences(expected, faults)
        #expect(diffs.isEmpty, "\(diffs.prefix(10).joined(separator: "\n"))")

        // A kernel never breaks its own rules.
        let own = KernelModel(rawValue: run.model.rawValue)!
        #expect(faults.filter { $0.classes.contains(.observedVs(own)) }.map(\.line) == [])

        // Injected races are found, and nothing else is called a race.
        let raced = Set(g.truth.faults.filter { $0.injected.contains("race") }.map(\.line))
        let flagged = Set(faults.filter { $0.classes.contains(.racyReuse) }.map(\.line))
        #expect(flagged == raced)
        for r in g.truth.races {
            #expect(faults.first { $0.line == r.faultLine }?.racer == r.pid)
        }

        // A fault on a page a lost span touched is a state gap, never judged.
        for f in g.truth.faults where f.injected.contains("lost") {
            let got = faults.first { $0.line == f.line }
            #expect(got?.classes.contains(.stateGap) == true, "line \(f.line)")
            #expect(got?.verdicts.allSatisfy { $0.verdict.decision == .undetermined } == true, "line \(f.line)")
        }
    }

    /// The shape of the property runs: they do exercise what they claim to.
    @Test("the runs cover races, lost spans, state gaps and every decision kind")
    func coverage() throws {
        var races = 0, lost = 0, gaps = 0, concurrent = 0
        var rules: Set<String> = []
        for run in Self.runs {
            let g = try generate(run.config)
            races += g.truth.races.count
            lost += g.truth.lost.count
            gaps += g.truth.faults.filter(\.stateGap).count
            concurrent += g.truth.faults.filter { $0.injected.contains("concurrent") }.count
            for f in g.truth.faults { for (_, v) in f.expected { rules.formUnion(v.rules) } }
        }
        #expect(races > 10)
        #expect(lost > 10)
        #expect(gaps > 10)
        #expect(concurrent > 10)
        for r in ["A1", "A3a", "A4a", "A4b", "A4e", "B1", "B2", "B5", "F1", "F2/C1", "F2/C2", "F2/C4", "F2/C5", "F4", "N0"] {
            #expect(rules.contains(r), "no fault reached \(r)")
        }
    }
}
