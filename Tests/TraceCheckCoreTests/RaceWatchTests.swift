import Testing
@testable import TraceCheckCore

@Suite("Race watch")
struct RaceWatchTests {
    /// The O(1) pass-through for events no window cares about changes nothing: random streams
    /// of faults and page_ref events close the same windows with the same racers either way.
    @Test func summaryPassThroughEqualsThePlainWalk() {
        var rng = InputFixtures.SplitMix64(state: 17)
        for round in 0..<200 {
            var fast = RaceWatch(maxEvents: 50, maxSpanNs: 5_000)
            var slow = RaceWatch(maxEvents: 50, maxSpanNs: 5_000)
            slow.useSummary = false
            var ts: Int64 = Int64(rng.next() % 1000)
            for seq in UInt64(1)...400 {
                let pid = Int32(rng.next() % 12) - 1
                let pfn = 0x1000 + rng.next() % 40
                ts += Int64(rng.next() % 200) - 20  // now and then backwards
                let stamp: Int64? = rng.next() % 10 == 0 ? nil : ts
                if rng.next() % 6 == 0 {
                    let order = rng.next() % 3
                    fast.open(faultID: Int(seq), pid: pid, pfn: pfn, headPfn: pfn & ~((1 << order) - 1), seq: seq, ts: stamp)
                    slow.open(faultID: Int(seq), pid: pid, pfn: pfn, headPfn: pfn & ~((1 << order) - 1), seq: seq, ts: stamp)
                    continue
                }
                var e: PageRefEvent?
                if rng.next() % 2 == 0 {
                    let op = PageRefOp.allCases[Int(rng.next() % 7)]
                    e = PageRefEvent(op: op, pfn: pfn, flags: [], count: 2, printedMapcount: 1, mapping: nil,
                                     val: Int32(rng.next() % 3) - 1, ret: Int32(rng.next() % 2))
                }
                let a = fast.observe(pid: pid, pageRef: e, seq: seq, ts: stamp)
                let b = slow.observe(pid: pid, pageRef: e, seq: seq, ts: stamp)
                #expect(a == b, "round \(round) seq \(seq)")
                if a != b { return }
            }
            #expect(fast.closeAll() == slow.closeAll())
        }
    }
}
