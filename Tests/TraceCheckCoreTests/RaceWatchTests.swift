import Testing
@testable import TraceCheckCore

@Suite("Race watch")
struct RaceWatchTests {
    /// The plain definition: every open window looked at for every event.
    struct ReferenceWatch {
        var windows: [RaceWatch.Window] = []
        let maxEvents: UInt64
        let maxSpanNs: Int64

        mutating func open(faultID: Int, pid: Int32, pfn: UInt64, headPfn: UInt64, seq: UInt64, ts: Int64?) -> [RaceWatch.Verdict] {
            let previous = windows.filter { $0.pid == pid }.map { RaceWatch.Verdict(faultID: $0.faultID, racer: Self.racer($0)) }
            windows.removeAll { $0.pid == pid }
            windows.append(RaceWatch.Window(faultID: faultID, pid: pid, pfn: pfn, headPfn: headPfn, openedSeq: seq, openedTs: ts))
            return previous
        }

        mutating func observe(pid: Int32, pageRef: PageRefEvent?, seq: UInt64, ts: Int64?) -> [RaceWatch.Verdict] {
            var closed: [RaceWatch.Verdict] = []
            var i = 0
            while i < windows.count {
                let w = windows[i]
                let onPage = pageRef.map { $0.pfn == w.pfn || $0.pfn == w.headPfn } ?? false
                let expired = seq &- w.openedSeq > maxEvents || (ts != nil && w.openedTs != nil && ts! - w.openedTs! > maxSpanNs)
                if pid == w.pid && !onPage || expired {
                    closed.append(RaceWatch.Verdict(faultID: w.faultID, racer: Self.racer(w)))
                    windows.remove(at: i)
                    continue
                }
                if onPage, pid != w.pid, let e = pageRef {
                    let delta: Int? = switch e.op {
                    case .mod, .modAndTest, .modAndReturn: Int(e.val)
                    case .modUnless: e.ret == 1 ? Int(e.val) : 0
                    case .set, .freeze, .unfreeze: nil
                    }
                    if let delta { windows[i].others[pid, default: 0] += delta }
                }
                i += 1
            }
            return closed
        }

        static func racer(_ w: RaceWatch.Window) -> Int32? { w.others.filter { $0.value > 0 }.keys.min() }
    }

    static func sorted(_ v: [RaceWatch.Verdict]) -> [RaceWatch.Verdict] { v.sorted { $0.faultID < $1.faultID } }

    /// The indexed watch (with and without its O(1) pass-through) closes the same windows with
    /// the same racers as the plain definition, on random streams of faults and page_ref
    /// events, timestamps going backwards now and then.
    @Test(arguments: [true, false])
    func indexedWatchEqualsThePlainDefinition(useSummary: Bool) {
        var rng = InputFixtures.SplitMix64(state: 17)
        for round in 0..<200 {
            var fast = RaceWatch(maxEvents: 50, maxSpanNs: 5_000)
            fast.useSummary = useSummary
            var slow = ReferenceWatch(maxEvents: 50, maxSpanNs: 5_000)
            var ts: Int64 = Int64(rng.next() % 1000)
            for seq in UInt64(1)...400 {
                let pid = Int32(rng.next() % 12) - 1
                let pfn = 0x1000 + rng.next() % 40
                ts += Int64(rng.next() % 200) - 20  // now and then backwards
                let stamp: Int64? = rng.next() % 10 == 0 ? nil : ts
                if rng.next() % 6 == 0 {
                    let order = rng.next() % 3
                    let head = pfn & ~((1 << order) - 1)
                    let a = fast.open(faultID: Int(seq), pid: pid, pfn: pfn, headPfn: head, seq: seq, ts: stamp)
                    let b = slow.open(faultID: Int(seq), pid: pid, pfn: pfn, headPfn: head, seq: seq, ts: stamp)
                    #expect(Self.sorted(a) == Self.sorted(b), "round \(round) seq \(seq)")
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
                #expect(Self.sorted(a) == Self.sorted(b), "round \(round) seq \(seq)")
                if Self.sorted(a) != Self.sorted(b) { return }
            }
            #expect(Self.sorted(fast.closeAll()) == Self.sorted(slow.windows.map { RaceWatch.Verdict(faultID: $0.faultID, racer: ReferenceWatch.racer($0)) }))
        }
    }

    /// The caps close the oldest windows first and count them.
    @Test func capsCloseTheOldestAndCountThem() {
        var w = RaceWatch(maxWindows: 3, maxWindowsPerPage: 2)
        #expect(w.open(faultID: 1, pid: 1, pfn: 0x10, headPfn: 0x10, seq: 1, ts: nil).isEmpty)
        #expect(w.open(faultID: 2, pid: 2, pfn: 0x10, headPfn: 0x10, seq: 2, ts: nil).isEmpty)
        // A third window on page 0x10 closes the oldest one there.
        #expect(w.open(faultID: 3, pid: 3, pfn: 0x10, headPfn: 0x10, seq: 3, ts: nil) == [RaceWatch.Verdict(faultID: 1, racer: nil)])
        #expect(w.open(faultID: 4, pid: 4, pfn: 0x20, headPfn: 0x20, seq: 4, ts: nil).isEmpty)
        // A fourth window in all closes the oldest of all.
        #expect(w.open(faultID: 5, pid: 5, pfn: 0x30, headPfn: 0x30, seq: 5, ts: nil) == [RaceWatch.Verdict(faultID: 2, racer: nil)])
        #expect(w.cutShort == 2)
        #expect(w.openCount == 3)
    }
}
