import Testing

@testable import TraceCheckCore

/// The three-valued engine: unknown inputs, merging of branches, not-anon handling, cost.
@Suite("Three-valued evaluation")
struct ThreeValuedEvaluationTests {
    typealias P = ModelFixtures

    @Test("Unknown inputs that cannot change the decision leave it determined")
    func irrelevantUnknowns() {
        // Only what B1/B2 read is known; zero is implied by anon.
        let inputs = FaultInputs(anon: true, ksm: false, refcount: 2, unshare: nil)
        #expect(KernelModel.v5_9.evaluate(inputs) == Verdict(decision: .copy, rule: "B2"))
        // KSM copies in every model that excludes KSM, whatever else is unknown.
        let ksm = FaultInputs(anon: true, ksm: true, refcount: 2, mapcount: 2)
        #expect(KernelModel.v5_8.evaluate(ksm) == Verdict(decision: .copy, rule: "A1"))
        #expect(KernelModel.v5_18.evaluate(ksm) == Verdict(decision: .copy, rule: "C1"))
        #expect(KernelModel.v6_18.evaluate(ksm) == Verdict(decision: .copy, rule: "F2/C1"))
    }

    @Test("Unknown inputs that decide make it undetermined, naming them")
    func relevantUnknowns() {
        let trylock = P.page { $0.locked = nil }
        #expect(
            KernelModel.v5_9.evaluate(trylock)
                == Verdict(decision: .undetermined, rule: nil, missing: [.locked]))
        // TraceCheckCore.md's example (Inputs are three-valued): in the swap cache with mapcount 1,
        // v5.8 depends on swapcount.
        let swap = P.page { $0.swapcache = true; $0.refcount = 2; $0.swapcount = nil }
        #expect(
            KernelModel.v5_8.evaluate(swap)
                == Verdict(decision: .undetermined, rule: nil, missing: [.swapcount]))
        // Not known to be anon: a not-anon verdict is one of the possibilities.
        let anon = FaultInputs(ksm: false, refcount: 2)
        #expect(
            KernelModel.v5_9.evaluate(anon)
                == Verdict(decision: .undetermined, rule: nil, missing: [.anon]))
        // Only inputs read where branches disagree are named: v5.9 reads refcount, locked
        // and mapcount here, but with refcount 1 the mapcount can only be 1.
        let several = FaultInputs(anon: true, ksm: nil, refcount: 1)
        #expect(
            KernelModel.v5_9.evaluate(several)
                == Verdict(decision: .undetermined, rule: nil, missing: [.ksm, .locked]))
    }

    @Test("Branches that agree through different rows report every row")
    func agreeingRows() {
        let writeback = P.page { $0.swapcache = true; $0.refcount = 2; $0.writeback = nil }
        #expect(KernelModel.v5_8.evaluate(writeback) == Verdict(decision: .reuse, rule: "A4b|A4d"))
        let ksm = P.page { $0.ksm = nil; $0.refcount = 2; $0.mapcount = 2 }
        #expect(KernelModel.v5_9.evaluate(ksm) == Verdict(decision: .copy, rule: "B2|B1"))
    }

    @Test("Counts stay consistent with what is known")
    func consistentDomains() {
        // refcount ≥ mapcount: a page mapped twice has at least two references.
        let shared = FaultInputs(anon: true, ksm: false, refcount: nil, mapcount: 2)
        #expect(KernelModel.v5_9.evaluate(shared) == Verdict(decision: .copy, rule: "B2"))
        let sharedPage = P.page { $0.refcount = nil; $0.mapcount = 2 }
        #expect(KernelModel.v5_18.evaluate(sharedPage) == Verdict(decision: .copy, rule: "C2|C1"))
        // refcount ≥ 2 for a mapped page in the swap cache.
        let swap = P.page { $0.swapcache = true; $0.refcount = nil }
        #expect(KernelModel.v5_9.evaluate(swap) == Verdict(decision: .copy, rule: "B2"))
    }

    @Test("The zero page is not anon (N0) in every model", arguments: KernelModel.allCases)
    func zeroPage(_ model: KernelModel) {
        let notAnon = Verdict(decision: .notAnon, rule: "N0")
        #expect(model.evaluate(FaultInputs(zero: true)) == notAnon)
        #expect(model.evaluate(P.page { $0.zero = true; $0.anon = false }) == notAnon)
    }

    @Test("A page known not to be anon is N1, zero page or not", arguments: KernelModel.allCases)
    func notAnon(_ model: KernelModel) {
        let notAnon = Verdict(decision: .notAnon, rule: "N1")
        #expect(model.evaluate(FaultInputs(anon: false)) == notAnon)
        #expect(model.evaluate(FaultInputs(zero: false, anon: false)) == notAnon)
        #expect(model.evaluate(FaultInputs()).missing.first == .anon)
    }

    @Test("Fully known inputs take a single pass", arguments: KernelModel.allCases)
    func singlePass(_ model: KernelModel) {
        let pages = [
            P.page(), P.page { $0.refcount = 2 }, P.page { $0.ksm = true },
            P.page { $0.swapcache = true; $0.refcount = 2 }, P.page { $0.anonExclusive = true },
            P.thpPage(refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: false),
        ]
        for page in pages {
            var passes = 0
            let verdict = model.evaluate(page, passes: &passes)
            #expect(passes == 1)
            #expect(verdict.decision != .undetermined)
        }
    }

    @Test("Nothing known: undetermined, bounded work", arguments: KernelModel.allCases)
    func nothingKnown(_ model: KernelModel) {
        var passes = 0
        let verdict = model.evaluate(FaultInputs(unshare: nil), passes: &passes)
        #expect(verdict.decision == .undetermined)
        #expect(verdict.rule == nil)
        #expect(verdict.missing.first == .anon)
        #expect(verdict.missing == verdict.missing.sorted())
        #expect(passes < 2_000)
    }

    /// Soundness of the walk for Bool inputs free of consistency constraints: forgetting one
    /// of them gives the common verdict of its two values, or undetermined naming it when
    /// they differ.
    @Test(
        "Forgetting one Bool input agrees with both of its values",
        arguments: KernelModel.allCases)
    func forgetOneBool(_ model: KernelModel) {
        let fields: [WritableKeyPath<FaultInputs, Bool?>] = [
            \.ksm, \.stableNode, \.locked, \.pteChanged, \.writeback, \.stableWrites, \.lru,
            \.mmShared,
        ]
        var random = Random(seed: 0x5eed)
        for _ in 0..<400 {
            let base = Self.randomPage(&random)
            // A large folio is never KSM, so forgetting KSM there is not a free choice.
            for field in fields where !(field == \.ksm && base.large == true) {
                var forgotten = base
                forgotten[keyPath: field] = nil
                let verdict = model.evaluate(forgotten)
                var when = [Verdict]()
                for value in [false, true] {
                    var known = base
                    known[keyPath: field] = value
                    when.append(model.evaluate(known))
                }
                if when.contains(where: { $0.decision == .undetermined }) {
                    // The large-folio swap-cache path can leave a fully known fault open.
                    #expect(verdict.decision == .undetermined)
                } else if when[0].decision == when[1].decision {
                    #expect(verdict.decision == when[0].decision)
                    let rules = Set((verdict.rule ?? "").split(separator: "|").map(String.init))
                    #expect(rules == Set(when.compactMap(\.rule)))
                } else {
                    #expect(verdict.decision == .undetermined)
                    #expect(verdict.missing.count == 1)
                }
            }
        }
    }

    /// A random consistent, fully known anon page (small or a page of a large folio).
    static func randomPage(_ random: inout Random) -> FaultInputs {
        P.page {
            let ksm = random.bool()
            $0.ksm = ksm
            $0.stableNode = random.bool()
            $0.mapcount = random.int(1...3)
            $0.swapcache = random.bool()
            $0.swapcount = random.int(0...1)
            $0.refcount = $0.mapcount! + ($0.swapcache! ? 1 : 0) + random.int(0...2)
            $0.locked = random.bool()
            $0.pteChanged = random.bool()
            $0.writeback = random.bool()
            $0.stableWrites = random.bool()
            $0.lru = random.bool()
            $0.drainReleasesReference = !$0.lru! && random.bool()
            $0.anonExclusive = !ksm && random.bool()
            if !ksm, random.bool() {
                $0.large = true
                $0.maxSubpageMapcount = $0.mapcount! + random.int(0...1)
                $0.largeMapcount = $0.mapcount! + random.int(0...3)
                $0.refcount = $0.largeMapcount! + ($0.swapcache! ? 4 : 0) + random.int(0...1)
                $0.mmShared = random.bool()
            }
        }
    }

    /// SplitMix64: a small deterministic generator for reproducible random cases.
    struct Random {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func bool() -> Bool { next() & 1 == 1 }
        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }
    }
}
