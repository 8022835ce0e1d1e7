import Testing
@testable import TraceCheckCore

@Suite("FaultCheck cache")
struct FaultCheckCacheTests {
    /// Inputs of every shape the models branch on: known, unknown, contradictory.
    static func inputs(count: Int, seed: UInt64) -> [FaultInputs] {
        var rng = InputFixtures.SplitMix64(state: seed)
        func b() -> Bool? { [nil, false, true][Int(rng.next() % 3)] }
        func n() -> Int? { rng.next() % 3 == 0 ? nil : Int(rng.next() % 5) }
        return (0..<count).map { _ in
            FaultInputs(zero: b(), anon: b(), ksm: b(), stableNode: b(), refcount: n(), mapcount: n(),
                        swapcache: b(), swapcount: n(), locked: b(), pteChanged: b(), writeback: b(),
                        stableWrites: b(), lru: b(), anonExclusive: b(), large: b(), largeMapcount: n(),
                        maxSubpageMapcount: n(), mmShared: b(), unshare: b())
        }
    }

    @Test func cachedResultsEqualFreshChecks() {
        let models = KernelModel.allCases
        let pool = Self.inputs(count: 400, seed: 3)
        var cache = FaultCheckCache(models: models)
        var rng = InputFixtures.SplitMix64(state: 9)
        // More distinct keys than the cache holds, so it also starts over on the way.
        for round in 0..<(FaultCheckCache.maxCount * 3) {
            let inputs = round < FaultCheckCache.maxCount * 2
                ? Self.inputs(count: 1, seed: UInt64(round) &+ 1000)[0]
                : pool[Int(rng.next() % UInt64(pool.count))]
            var joined = JoinedFault()
            joined.inputs = inputs
            joined.stateGap = rng.next() % 5 == 0
            let observed: ObservedDecision = [.reuse, .copy, .other("unresolved")][Int(rng.next() % 3)]
            // The user's facts are fixed for a run; a new set starts the cache over.
            let assumptions: [Assumption] = (round / 1000) % 3 == 1 ? [.anon, .noSwap] : []
            let got = cache.result(joined, observed: observed, models: models, assumptions: assumptions)
            let want = FaultCheck.check(joined, observed: observed, models: models, assumptions: assumptions)
            #expect(got.verdicts.map(\.model) == want.verdicts.map(\.model))
            #expect(got.verdicts.map(\.verdict) == want.verdicts.map(\.verdict), "round \(round)")
            #expect(got.classes == want.classes.sorted())
            #expect(got.divergenceCase == want.divergenceCase)
            #expect(cache.count <= FaultCheckCache.maxCount)
        }
        #expect(cache.hits > 0)
    }

    @Test func aDifferentModelSetStartsAFreshCache() {
        var joined = JoinedFault()
        joined.inputs = FaultInputs(anon: true, ksm: false, refcount: 2, mapcount: 1, swapcache: false, locked: false)
        var cache = FaultCheckCache(models: [.v5_8])
        let a = cache.result(joined, observed: .copy, models: [.v5_8])
        let b = cache.result(joined, observed: .copy, models: [.v5_9])
        #expect(a.verdicts.map(\.model) == [.v5_8])
        #expect(b.verdicts.map(\.model) == [.v5_9])
    }
}
