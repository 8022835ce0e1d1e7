/// A write fault on a write-protected PTE: the `wp_page` line at fault entry (before anything
/// the fault prints), the chosen kernel's procedure run live, and the ground truth for every
/// model, from the same procedures run dry on the pre-fault state.

struct FaultSite {
    var task: Int32
    var mm: Int
    var slot: Int
    /// -1 for the shared zero page.
    var page: Int32
    var head: Int32
}

/// Options of one fault (scenarios and the workload set them).
struct FaultOptions {
    var scenario: String?
    var caseID: String?
    /// Inject a racing lockless increment by ksmd right after the decision's last check.
    var race = false
    /// v5.8 KSM reuse: ksmd's lockless get lands inside the freeze window and fails (ret=0).
    var ksmdProbesFrozenPage = false
    /// ksmd gets and puts the page in the microsecond the fault is stamped in: a reader of
    /// microsecond timestamps cannot tell whether the kernel read the page before or after.
    var concurrent = false
}

struct FaultResult {
    var decision: GDecision
    var rule: String
    /// Whether a race could be injected here (reuse, nothing printed before the last check).
    var raceable: Bool
}

extension SimKernel {
    /// The fault's state as `do_wp_page()` sees it.
    func world(_ s: FaultSite) -> WPWorld {
        var w = WPWorld()
        guard s.page >= 0 else {
            w.zero = true
            w.anon = false
            return w
        }
        let p = pages[Int(s.page)]
        let hp = pages[Int(s.head)]
        w.large = hp.order > 0
        w.anon = hp.mapping & 1 == 1
        w.ksm = hp.mapping & 3 == 3
        w.stableNode = w.ksm && hp.mapping & ~3 != 0
        w.refcount = Int(hp.refcount)
        w.mapcount = Int(p.mapcount + (w.large ? hp.entire : 0))
        if w.large {
            var top: Int32 = 0
            for k in 0..<SimKernel.thpPages { top = max(top, pages[Int(s.head) + k].mapcount) }
            w.maxSubpageMapcount = Int(top + hp.entire)
            w.largeMapcount = Int(hp.folioMapcount)
            w.mmShared = folioMappedByMany(s.head)
        } else {
            w.maxSubpageMapcount = w.mapcount
            w.largeMapcount = w.mapcount
        }
        w.swapcache = hp.flags.contains(.swapcache)
        if w.swapcache, hp.swapEntry >= 0 {
            w.swapcount = Int(swapCount[Int(hp.swapEntry)])
            w.stableWrites = deviceStableWrites[Int(swapDevice[Int(hp.swapEntry)])]
        }
        w.writeback = hp.flags.contains(.writeback)
        w.lru = hp.flags.contains(.lru)
        w.anonExclusive = p.flags.contains(.anonExclusive)
        w.lockedBySelf = hp.lockHolder == s.task
        w.lockedByOther = hp.lockHolder >= 0 && hp.lockHolder != s.task
        if w.lockedByOther, let a = lockActions[s.head] {
            switch a {
            case .swapOut: w.pteChangesOnWait = true
            case .migrateAbort: w.holderPutsReference = true
            case .unlockOnly: break
            }
        }
        w.inLocalBatch = hp.batchCPU >= 0 && Int(hp.batchCPU) == cpu(s.task)
        return w
    }

    /// A fault on `slot` if its PTE is present and write-protected (or maps the zero page).
    func faultSite(_ t: Int32, slot: Int) -> FaultSite? {
        let m = Int(tasks[Int(t)].mm)
        let pte = mms[m].slots[slot]
        if PTE.isZero(pte) { return FaultSite(task: t, mm: m, slot: slot, page: -1, head: -1) }
        guard PTE.isPresent(pte), !PTE.writable(pte) else { return nil }
        let i = PTE.payload(pte)
        return FaultSite(task: t, mm: m, slot: slot, page: i, head: pages[Int(i)].head)
    }

    /// What the chosen kernel will decide at this fault (no side effects).
    func preview(_ s: FaultSite) -> FaultResult {
        var o = DryOps(world(s))
        let (d, r) = Procedures.run(model, &o)
        return FaultResult(decision: d, rule: r, raceable: d == .reuse && o.reachedCheckpoint && o.eventsBeforeCheckpoint == 0)
    }

    @discardableResult
    func writeFault(_ t: Int32, slot: Int, _ opts: FaultOptions = FaultOptions()) -> FaultResult? {
        guard let site = faultSite(t, slot: slot) else { return nil }
        pageFaultEvent(t, slot: slot, error: 0x7)
        let world = self.world(site)
        let before = preview(site)
        let race = opts.race && before.raceable && config.cpus > 1 && config.clock == .global
        let lines = wpLine(site, world)
        let concurrent = opts.concurrent && site.page >= 0 && ksmd >= 0 && lines.replayMode

        var token = 0
        if let truth = w.truth {
            let expected = GenModel.allCases.map { ($0, Expectation.verdict($0, world, hidden: lines.hidden)) }
            token = truth.register(FaultTruth(
                pfn: site.page >= 0 ? pfn(site.page) : zeroPfn, tgid: tasks[Int(t)].pid, cpu: cpu(t),
                observed: observedWord(before.decision), model: model, expected: expected,
                scenario: opts.scenario, caseID: opts.caseID,
                injected: (race ? ["race"] : []) + (concurrent ? ["concurrent"] : []),
                headPage: site.head >= 0 ? Int(site.head) : -1, replayMode: lines.replayMode))
        }
        let fields = lines.fields
        if concurrent {
            // A lockless get and its put, then the fault stamped in the same microsecond.
            _ = getUnlessZero(site.head, by: ksmd, race: -1)
            putPage(site.head, by: ksmd)
        }
        w.faultLine(lbl(t), token: token, page: site.head, sameMicrosecond: concurrent) { b, flags in
            self.writeWpPayload(&b, &flags, site, world, fields, decision: before.decision)
        }

        var live = LiveOps(kernel: self, site: site, raceToken: race ? token : 0, probeFrozen: opts.ksmdProbesFrozenPage)
        let (d, r) = Procedures.run(model, &live)
        precondition(d == before.decision && r == before.rule, "live and dry runs of \(model.rawValue) disagree: \(r) vs \(before.rule)")
        switch d {
        case .reuse:
            mms[site.mm].slots[slot] = PTE.present(site.page, writable: true)
        case .copy, .notAnon:
            wpPageCopy(site)
        case .pteChanged, .undetermined:
            break
        }
        // A reuse prints nothing of its own: the task's next kernel entry closes the window in
        // which another CPU's increment counts as a race (a copy's own events close it).
        if d == .reuse { syscallEvent(t) }
        if let racer = live.racingReference { putPage(racer, by: ksmd) }
        return before
    }

    func observedWord(_ d: GDecision) -> String {
        switch d {
        case .reuse: "reuse"
        case .copy, .notAnon: "copy"
        case .pteChanged: "unmapped" // reclaim unmapped the page while the fault slept
        case .undetermined: "unresolved"
        }
    }

    /// wp_page_copy: the old page's extra reference (taken by do_wp_page), a new page mapped in
    /// its place, then the old mapping and both references go.
    private func wpPageCopy(_ s: FaultSite) {
        let t = s.task
        if s.page >= 0 { getPage(s.head, by: t) }
        guard let n = allocSmall(by: t) else { fatalError("tracegen: out of pages (raise --pfns)") }
        var f: SimFlags = [.uptodate, .swapbacked]
        if model.tracksAnonExclusive { f.insert(.anonExclusive) }
        pages[Int(n)].flags = f
        pages[Int(n)].mapping = mms[s.mm].anonVma
        pages[Int(n)].mapcount = 1
        rmapAdd(n, mm: Int32(s.mm), slot: s.slot)
        lruAdd(n, by: t)
        mms[s.mm].slots[s.slot] = PTE.present(n, writable: true)
        if s.page >= 0 {
            unmapPTE(s.page, mm: s.mm, slot: s.slot, by: t)
            putPage(s.head, by: t)
        }
    }
}

/// Runs a procedure against the kernel: every step's side effects and events.
struct LiveOps: WPOps {
    unowned let kernel: SimKernel
    let site: FaultSite
    let raceToken: Int
    let probeFrozen: Bool
    private(set) var racingReference: Int32?

    init(kernel: SimKernel, site: FaultSite, raceToken: Int, probeFrozen: Bool) {
        self.kernel = kernel
        self.site = site
        self.raceToken = raceToken
        self.probeFrozen = probeFrozen
    }

    var w: WPWorld { kernel.world(site) }
    private var t: Int32 { site.task }
    private var h: Int32 { site.head }

    mutating func getPage() { kernel.getPage(h, by: t) }
    mutating func putPage() { kernel.putPage(h, by: t) }

    mutating func trylock() -> Bool {
        guard kernel.pages[Int(h)].lockHolder < 0 else { return false }
        kernel.pages[Int(h)].lockHolder = t
        kernel.pages[Int(h)].flags.insert(.locked)
        return true
    }

    mutating func lockWait() -> Bool {
        let before = kernel.mms[site.mm].slots[site.slot]
        kernel.releaseLock(h)
        kernel.pages[Int(h)].lockHolder = t
        kernel.pages[Int(h)].flags.insert(.locked)
        return kernel.mms[site.mm].slots[site.slot] == before
    }

    mutating func unlock() { kernel.unlockPage(h) }

    mutating func freeze(_ n: Int) -> Bool {
        let ok = kernel.freeze(h, Int32(n), by: t)
        if ok, probeFrozen {
            // ksmd's get_ksm_page() inside the window: get_page_unless_zero() fails on 0.
            kernel.setCPU(kernel.ksmd, kernel.cpu(t) + 1)
            kernel.getUnlessZero(h, by: kernel.ksmd)
        }
        return ok
    }

    mutating func unfreeze(_ n: Int) { kernel.unfreeze(h, Int32(n), by: t) }

    mutating func moveAnonRmap() {
        let anonVma = kernel.mms[site.mm].anonVma
        if kernel.pages[Int(h)].mapping & 3 == 3 { kernel.pages[Int(h)].ksmNode = -1 }
        kernel.pages[Int(h)].mapping = anonVma
    }

    mutating func deleteFromSwapCache() {
        kernel.deleteFromSwapCache(h, by: t)
        kernel.pages[Int(h)].flags.insert(.dirty)
    }

    mutating func drainLocal() { kernel.drain(cpu: kernel.cpu(t), by: t) }

    mutating func setAnonExclusive() {
        kernel.pages[Int(site.page)].flags.insert(.anonExclusive)
    }

    mutating func checkpoint() {
        guard raceToken != 0, racingReference == nil else { return }
        // The keyhole: ksmd on another CPU raises the count without the page lock, after the
        // fault's last look at it and before its PTE is writable.
        let k = kernel.ksmd
        kernel.setCPU(k, kernel.cpu(t) + 1)
        let pid = kernel.tasks[Int(k)].pid
        let token = kernel.w.truth?.registerRace(RaceTruth(
            token: 0, faultToken: raceToken, pfn: kernel.pfn(h), comm: kernel.tasks[Int(k)].comm, pid: pid,
            cpu: kernel.cpu(k))) ?? 0
        kernel.getUnlessZero(h, by: k, race: token == 0 ? -1 : token)
        racingReference = h
    }
}
