/// Scripted workloads that bring a page into the state of each divergence case (DecisionTables.md,
/// Divergence cases D1–D14) and then write to it, plus the keyhole race (DecisionTables.md, The
/// keyhole-reference race). Whatever `--model` decides, the fault is the same state; the sidecar
/// has every model's verdict.

enum Scenario {
    static let names = (1...14).map { "d\($0)" } + ["race"]

    static func run(_ name: String, on k: SimKernel) throws(ScenarioError) {
        if name == "all" {
            for n in names { try run(n, on: k) }
            return
        }
        var s = Script(k: k, name: name)
        switch name {
        case "d1": s.d1()
        case "d2": s.d2()
        case "d3": s.swapCache(writeback: false, device: 0, sharedSwap: false, caseID: "D3")
        case "d4": s.swapCache(writeback: true, device: 0, sharedSwap: false, caseID: "D4")
        case "d5": s.swapCache(writeback: true, device: 1, sharedSwap: false, caseID: "D5")
        case "d6": s.swapCache(writeback: false, device: 0, sharedSwap: true, caseID: "D6")
        case "d7": s.d7()
        case "d8": s.d8()
        case "d9": s.d9()
        case "d10": s.d10()
        case "d11": s.d11()
        case "d12": s.d12()
        case "d13": s.d13()
        case "d14": s.d14()
        case "race": try s.race()
        default: throw ScenarioError(description: "unknown scenario '\(name)'; known: \(names.joined(separator: ", ")), all")
        }
        k.ksmHousekeeping(scan: false)
    }
}

struct ScenarioError: Error, CustomStringConvertible {
    var description: String
}

private struct Script {
    let k: SimKernel
    let name: String

    init(k: SimKernel, name: String) {
        self.k = k
        self.name = name
    }

    // MARK: - Helpers

    /// A process on CPU 0 with a few pages, announced by a marker line.
    func start(_ what: String, thp: Bool = false) -> Int32 {
        k.w.pause(microseconds: 500)
        let p = k.spawnProcess(comm: "cow_workload", cpu: 0, slots: 8, thp: thp)
        k.otherEvent(p) { b in
            b.text("tracing_mark_write: tracegen scenario=")
            b.string(name)
            b.byte(0x20)
            b.string(what)
        }
        return p
    }

    /// Every CPU's LRU batch drained (lru_add_drain_all's workers).
    func settle() {
        for c in 0..<k.config.cpus where !k.batches[c].isEmpty {
            k.setCPU(k.kworker, c)
            k.drain(cpu: c, by: k.kworker)
        }
        k.w.pause(microseconds: 100)
    }

    func page(_ t: Int32, _ slot: Int) -> Int32 {
        PTE.payload(k.mms[Int(k.tasks[Int(t)].mm)].slots[slot])
    }

    @discardableResult
    func fault(_ t: Int32, _ slot: Int, caseID: String? = nil, race: Bool = false, probe: Bool = false) -> FaultResult? {
        k.w.pause(microseconds: 50)
        return k.writeFault(t, slot: slot, FaultOptions(scenario: name, caseID: caseID, race: race, ksmdProbesFrozenPage: probe))
    }

    /// A page written by `p` after its child has come and gone: mapped once, refcount 1, not
    /// anon-exclusive (fork cleared it), on the LRU.
    func unsharedPage(_ p: Int32, slot: Int) {
        k.touch(p, slot: slot)
        settle()
        let c = k.fork(p)
        k.w.pause(microseconds: 200)
        k.exit(c)
        settle()
    }

    // MARK: - Cases

    /// D1: a pipe holds a reference (vmsplice, FOLL_GET) taken before fork.
    mutating func d1() {
        let p = start("vmsplice reference, fork, child copies and exits, parent writes")
        k.touch(p, slot: 0)
        settle()
        k.gupGet(p, slot: 0)
        let c = k.fork(p)
        fault(c, 0)
        k.exit(c)
        fault(p, 0, caseID: "D1")
        k.gupRelease(k.gupHeld.count - 1)
    }

    /// D2: the page's only extra reference is the allocating CPU's LRU batch.
    mutating func d2() {
        let p = start("fresh page still in the LRU batch, fork and child exit, parent writes")
        k.touch(p, slot: 0)
        let c = k.fork(p)
        k.exit(c)
        fault(p, 0, caseID: "D2")
        settle()
    }

    /// D3–D6: the page went to swap and came back read-only, still in the swap cache.
    mutating func swapCache(writeback: Bool, device: Int, sharedSwap: Bool, caseID: String) {
        let what = sharedSwap ? "page shared with a child swapped out; parent swaps it in and writes"
            : "page swapped out and read back from the swap cache\(writeback ? " during writeback" : ""), then written"
        let p = start(what + (device == 1 ? " (swap device with stable writes)" : ""))
        var child: Int32 = -1
        if sharedSwap {
            k.touch(p, slot: 0)
            settle()
            child = k.fork(p)
        } else {
            unsharedPage(p, slot: 0)
        }
        let x = page(p, 0)
        k.reclaimLock(x, device: device)
        k.w.pause(microseconds: 30)
        k.releaseLock(x)
        if !writeback { k.writebackDone(x) }
        k.w.pause(microseconds: 300)
        k.swapIn(p, slot: 0)
        fault(p, 0, caseID: caseID)
        if writeback { k.writebackDone(x) }
        if child >= 0 { k.exit(child) }
    }

    /// D7: a KSM page left with one mapping, its stable node present, the lock free.
    mutating func d7() {
        let p = start("two identical pages merged by ksmd; one copy written, then the KSM page")
        k.ksmEnable(p)
        k.touch(p, slot: 0)
        k.touch(p, slot: 1)
        settle()
        k.ksmHousekeeping(scan: true)
        k.ksmMergeTwo((Int(k.tasks[Int(p)].mm), 0), (Int(k.tasks[Int(p)].mm), 1))
        fault(p, 1)
        fault(p, 0, caseID: "D7")
    }

    /// D8: the write lands while ksmd is inserting the new KSM page (no stable node yet); ksmd
    /// still holds its scan reference, so the count is 2.
    mutating func d8() {
        let p = start("write during ksmd's merge, before the stable node is inserted")
        k.ksmEnable(p)
        k.touch(p, slot: 0)
        k.touch(p, slot: 1)
        settle()
        let m = Int(k.tasks[Int(p)].mm)
        let a = page(p, 0), b = page(p, 1)
        k.ksmMergeBegin(a: (m, 0), b: b)
        fault(p, 0, caseID: "D8")
        k.ksmMergeFinish(a: a, b: (m, 1))
    }

    /// D9: a KSM page mapped by two processes.
    mutating func d9() {
        let p = start("KSM page shared by two processes, one writes")
        let q = k.spawnProcess(comm: "cow_workload", cpu: 0, slots: 8)
        k.ksmEnable(p)
        k.ksmEnable(q)
        k.touch(p, slot: 0)
        k.touch(q, slot: 0)
        settle()
        k.ksmMergeTwo((Int(k.tasks[Int(p)].mm), 0), (Int(k.tasks[Int(q)].mm), 0))
        fault(p, 0, caseID: "D9")
        k.exit(q)
    }

    /// D10: a task holds the page lock without a reference of its own.
    mutating func d10() {
        let p = start("page lock held elsewhere (no extra reference) while the owner writes")
        unsharedPage(p, slot: 0)
        let x = page(p, 0)
        k.plainLock(x, holder: k.kworker)
        fault(p, 0, caseID: "D10")
        k.releaseLock(x)
    }

    /// D11: a PTE-mapped THP, shared at fork as a PMD, split after the child left.
    mutating func d11() {
        let p = start("THP shared at fork, child exits, PMD split, parent writes one subpage", thp: true)
        k.thpFault(p, split: false)
        settle()
        let c = k.fork(p)
        k.exit(c)
        k.splitPMD(p)
        fault(p, k.mms[Int(k.tasks[Int(p)].mm)].smallSlots + 7, caseID: "D11")
    }

    /// D12: refcount 1, mapcount 1, lock free: every model reuses.
    mutating func d12() {
        let p = start("the last mapping of a once-shared page is written")
        unsharedPage(p, slot: 0)
        fault(p, 0, caseID: "D12")
    }

    /// D13: mapped twice after fork. The first write follows the fork's own events (the printed
    /// mapcount is stale, TraceFormats.md, When a printed value is still current); the second comes
    /// after a later event.
    mutating func d13() {
        let p = start("pages shared after fork; write right after fork, and after migration gave up")
        k.touch(p, slot: 0)
        k.touch(p, slot: 1)
        settle()
        let c = k.fork(p)
        fault(p, 1, caseID: "D13")
        k.migrationLock(page(p, 0))
        k.releaseLock(page(p, 0))
        fault(p, 0, caseID: "D13")
        k.exit(c)
    }

    /// D14: reclaim holds the lock and unmaps the page while a v5.8 fault sleeps on it.
    mutating func d14() {
        let p = start("reclaim holds the lock and swaps the page out while the owner writes")
        unsharedPage(p, slot: 0)
        let x = page(p, 0)
        k.reclaimLock(x, device: 0)
        fault(p, 0, caseID: "D14")
        k.releaseLock(x)
        k.writebackDone(x)
    }

    /// The keyhole race (DecisionTables.md, The keyhole-reference race): ksmd raises the count of a
    /// page being reused, after the fault's last check. A plain reuse before it is the control;
    /// under v5.8 a KSM reuse whose freeze makes ksmd's lockless get fail (ret=0) must not count as
    /// a race either.
    mutating func race() throws(ScenarioError) {
        guard k.config.cpus > 1, k.config.clock == .global else {
            throw ScenarioError(description: "the race scenario needs two CPUs and --clock global (cross-CPU order)")
        }
        let p = start("reuse with a racing lockless increment by ksmd on another CPU")
        unsharedPage(p, slot: 0)
        unsharedPage(p, slot: 1)
        fault(p, 1)
        fault(p, 0, race: true)
        let q = start("KSM page reused under v5.8 while ksmd's lockless get hits the frozen count")
        k.ksmEnable(q)
        k.touch(q, slot: 0)
        k.touch(q, slot: 1)
        settle()
        k.ksmMergeTwo((Int(k.tasks[Int(q)].mm), 0), (Int(k.tasks[Int(q)].mm), 1))
        fault(q, 1)
        fault(q, 0, probe: true)
    }
}
