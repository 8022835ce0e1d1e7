/// A random workload for property tests and load: processes that touch, fork, write, pin,
/// swap, get merged by ksmd and exit, steered so the lines come out near the mix
/// (about 60% page_ref, 10% wp_page, 5% ksm, 25% other; ksm lines only exist on v6.18).
struct Workload {
    let k: SimKernel
    private var rng: Rng
    private var live: [Int32] = []
    private let slots: Int
    private let maxProcesses: Int
    private let raceRate: Double
    private var heldLocks: [Int32] = []
    private var underWriteback: [Int32] = []
    private let target: [Double]
    private let startLines: [Int]
    /// How often each operation ran (`TRACEGEN_STATS=1` prints it).
    private(set) var stats: [String: Int] = [:]

    init(kernel: SimKernel) {
        k = kernel
        rng = Rng(seed: kernel.config.seed &* 0x9E37_79B9 &+ 17)
        slots = 32
        maxProcesses = max(4, min(4096, kernel.config.pfns / 48))
        raceRate = kernel.config.raceRate
        target = kernel.model.hasKsmEvents ? [0.60, 0.10, 0.05, 0.25] : [0.60, 0.10, 0.0, 0.30]
        startLines = kernel.w.familyLines
        for _ in 0..<4 { spawn() }
    }

    private mutating func spawn() {
        let thp = k.config.thpFolios > 0 && rng.chance(0.15)
        let t = k.spawnProcess(comm: rng.chance(0.5) ? "cow_workload" : "stress-ng-vm", cpu: rng.below(k.config.cpus),
                               slots: slots, thp: thp)
        live.append(t)
        if rng.chance(0.3) { k.ksmEnable(t) }
    }

    /// Runs until `done()`; checks it between operations.
    mutating func run(until done: () -> Bool) {
        while !done() { step() }
    }

    private func share(_ f: Family) -> Double {
        let total = k.w.familyLines.enumerated().reduce(0) { $0 + $1.element - startLines[$1.offset] }
        return Double(k.w.familyLines[f.rawValue] - startLines[f.rawValue]) / Double(max(total, 1))
    }

    mutating func step() {
        if !k.staleKsm.isEmpty { k.ksmHousekeeping(scan: false) }
        if k.freeSmallPages < 160 { relieveMemory(); return }
        // The family furthest below its share goes next.
        var best = Family.pageRef
        var deficit = -Double.infinity
        for f in Family.allCases {
            let d = target[f.rawValue] - share(f)
            if d > deficit { deficit = d; best = f }
        }
        switch best {
        case .wp: writeSomething()
        case .ksm: ksmActivity()
        case .other: filler()
        case .pageRef: pageActivity()
        }
    }

    private mutating func randomTask() -> Int32 {
        if live.isEmpty { spawn() }
        return live[rng.below(live.count)]
    }

    private func mm(_ t: Int32) -> Int { Int(k.tasks[Int(t)].mm) }

    // MARK: - wp_page

    private mutating func writeSomething() {
        var options = FaultOptions(race: raceRate > 0 && rng.chance(raceRate))
        let c = k.config
        if c.concurrentRate > 0, c.clock == .global, c.lostSpans == 0, c.cpus > 1 {
            options.concurrent = rng.chance(c.concurrentRate)
        }
        for _ in 0..<8 {
            let t = randomTask()
            // Mostly small pages: a THP region has 512 slots and would crowd them out.
            let thp = k.mms[mm(t)].slots.count > slots && rng.chance(0.1)
            let slot = thp ? slots + rng.below(SimKernel.thpPages) : rng.below(slots)
            if k.faultSite(t, slot: slot) != nil {
                k.writeFault(t, slot: slot, options)
                return
            }
        }
        for _ in 0..<4 {
            let t = randomTask()
            let start = rng.below(slots)
            for d in 0..<slots where k.faultSite(t, slot: (start + d) % slots) != nil {
                k.writeFault(t, slot: (start + d) % slots, options)
                return
            }
        }
        // Nothing write-protected around: fork makes plenty.
        stats["write-fallback", default: 0] += 1
        if live.count < maxProcesses { forkOne() } else { exitOne() }
    }

    // MARK: - page_ref-heavy operations

    private mutating func pageActivity() {
        let r = rng.below(100)
        switch r {
        case 0..<26: touchOne()
        case 26..<32: if live.count < maxProcesses { forkOne() } else { exitOne() }
        case 32..<37: if live.count > 3 { exitOne() } else { forkOne() }
        case 37..<41: let t = randomTask(); k.gupGet(t, slot: rng.below(slots))
        case 41..<43: let t = randomTask(); k.gupPin(t, slot: rng.below(slots))
        case 43..<48: if !k.gupHeld.isEmpty { k.gupRelease(rng.below(k.gupHeld.count)) } else { touchOne() }
        case 48..<52:
            let c = rng.below(k.config.cpus)
            k.setCPU(k.kworker, c)
            k.drain(cpu: c, by: k.kworker)
        case 52..<60: lockSomething(reclaim: true)
        case 60..<68: releaseSomething()
        case 68..<72: if let x = underWriteback.popLast() { k.writebackDone(x) } else { touchOne() }
        case 72..<75: reclaimSwapCacheSomewhere()
        case 75..<83: swapInSomething()
        case 83..<86: lockSomething(reclaim: false)
        case 86..<87:
            let t = randomTask()
            if k.thpFault(t) == nil { touchOne() }
        case 87..<94: ksmMerge()
        default:
            let t = randomTask()
            k.readZero(t, slot: rng.below(slots))
        }
    }

    private mutating func touchOne() {
        let t = randomTask()
        for _ in 0..<8 {
            let s = rng.below(slots)
            if k.mms[mm(t)].slots[s] == PTE.none {
                if rng.chance(0.1) { k.readZero(t, slot: s) } else { k.touch(t, slot: s) }
                return
            }
        }
        if live.count < maxProcesses { spawn() } else { exitOne() }
    }

    private mutating func forkOne() {
        let t = randomTask()
        let c = k.fork(t, childCPU: rng.below(k.config.cpus))
        live.append(c)
    }

    private mutating func exitOne() {
        guard !live.isEmpty else { return }
        let i = rng.below(live.count)
        let t = live.remove(at: i)
        k.exit(t)
        if live.count < 2 { spawn() }
    }

    /// Low on free pages: processes exit, pipes are read, clean swap cache is reclaimed.
    private mutating func relieveMemory() {
        while !k.gupHeld.isEmpty, rng.chance(0.5) { k.gupRelease(rng.below(k.gupHeld.count)) }
        exitOne()
        for _ in 0..<4 { reclaimSwapCacheSomewhere() }
        if live.count < 2 { spawn() }
    }

    /// A mapped small page of a random process (searched from a random slot).
    private mutating func randomPage() -> Int32? {
        let t = randomTask()
        let m = mm(t)
        let start = rng.below(slots)
        for d in 0..<slots {
            let pte = k.mms[m].slots[(start + d) % slots]
            if PTE.isPresent(pte) { return PTE.payload(pte) }
        }
        return nil
    }

    private mutating func lockSomething(reclaim: Bool) {
        guard heldLocks.count < 8, let x = randomPage() else { stats["lock-none", default: 0] += 1; return }
        let ok = reclaim ? k.reclaimLock(x, device: rng.below(2)) : k.migrationLock(x)
        stats[reclaim ? "reclaim-lock-\(ok)" : "migration-lock-\(ok)", default: 0] += 1
        if ok { heldLocks.append(x) }
    }

    private mutating func releaseSomething() {
        heldLocks.removeAll { k.lockActions[$0] == nil } // a v5.8 fault may have waited it out
        guard !heldLocks.isEmpty else { touchOne(); return }
        let x = heldLocks.remove(at: rng.below(heldLocks.count))
        let swapping = { if case .swapOut = k.lockActions[x] { true } else { false } }()
        k.releaseLock(x)
        if swapping { underWriteback.append(x) }
    }

    private mutating func reclaimSwapCacheSomewhere() {
        for _ in 0..<4 {
            let e = rng.below(max(k.swapCache.count, 1))
            guard e < k.swapCache.count, k.swapCache[e] >= 0 else { continue }
            if k.reclaimSwapCache(k.swapCache[e]) { return }
        }
    }

    private mutating func swapInSomething() {
        for _ in 0..<4 {
            let t = randomTask()
            let start = rng.below(slots)
            for d in 0..<slots where PTE.isSwap(k.mms[mm(t)].slots[(start + d) % slots]) {
                if k.swapIn(t, slot: (start + d) % slots) != nil { return }
            }
        }
        touchOne()
    }

    // MARK: - KSM

    /// A mergeable page of a KSM-enabled process, searched from a random slot.
    private mutating func mergeCandidate() -> (mm: Int, slot: Int)? {
        for _ in 0..<4 {
            let t = randomTask()
            let m = mm(t)
            guard k.mms[m].ksm else { continue }
            let start = rng.below(slots)
            for d in 0..<slots {
                let s = (start + d) % slots
                if let p = k.pageAt(m, s), k.ksmMergeable(p) { return (m, s) }
            }
        }
        return nil
    }

    private mutating func ksmMerge() {
        guard let a = mergeCandidate() else { touchOne(); return }
        // A stable-tree page first (merge into an existing KSM page), else two fresh pages.
        k.ksmPages.removeAll { k.pages[Int($0)].ksmNode < 0 }
        if !k.ksmPages.isEmpty, rng.chance(0.5), k.ksmMergeInto(k.ksmPages[rng.below(k.ksmPages.count)], a) { return }
        guard let b = mergeCandidate(), b.mm != a.mm || b.slot != a.slot else { return }
        k.ksmMergeTwo(a, b)
    }

    private mutating func ksmActivity() {
        switch rng.below(4) {
        case 0: k.ksmHousekeeping(scan: true)
        case 1: let t = randomTask(); k.ksmEnable(t); ksmMerge()
        default: ksmMerge()
        }
    }

    // MARK: - Other events

    private mutating func filler() {
        let t = randomTask()
        switch rng.below(10) {
        case 0..<6:
            // A context switch; now and then the task moves to another CPU.
            let other = randomTask()
            let prev = k.tasks[Int(t)], next = k.tasks[Int(other)]
            k.otherEvent(t) { b in
                b.text("sched_switch: prev_comm=")
                b.string(prev.comm)
                b.text(" prev_pid=")
                b.dec(Int(prev.pid))
                b.text(" prev_prio=120 prev_state=S ==> next_comm=")
                b.string(next.comm)
                b.text(" next_pid=")
                b.dec(Int(next.pid))
                b.text(" next_prio=120")
            }
            if rng.chance(0.2) { k.setCPU(t, rng.below(k.config.cpus)) }
        case 6..<8:
            k.otherEvent(t) { b in b.text("tlb_flush: pages:1 reason:local MM shootdown (3)") }
        default:
            k.readZero(t, slot: rng.below(slots))
            k.otherEvent(t) { b in b.text("sys_enter: NR 0 (3, 7ffd2a1c, 1000, 0, 0, 0)") }
        }
    }
}
