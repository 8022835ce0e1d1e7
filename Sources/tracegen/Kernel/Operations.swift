/// What processes and kernel threads do to pages, in the order the kernel does it, so the page_ref
/// events land where a real trace has them (TraceFormats.md, Reference patterns; and When a printed
/// value is still current: fork takes the reference before the mapping, swap-in and KSM's
/// replace_page too).
///
/// Simplifications, all self-consistent: one anon_vma per process; a batch drains at 15 pages;
/// a THP is split to PTEs right after its first fault; swap-in only on a read access; GUP
/// references are taken on exclusive (writable) pages only and released in one put.
extension SimKernel {
    // MARK: - Faults that are not write-protect faults

    /// First write to an untouched address: do_anonymous_page.
    @discardableResult
    func touch(_ t: Int32, slot: Int) -> Int32? {
        let m = Int(tasks[Int(t)].mm)
        guard mms[m].slots[slot] == PTE.none else { return nil }
        pageFaultEvent(t, slot: slot, error: 0x6)
        guard let p = allocSmall(by: t) else { return nil }
        var f: SimFlags = [.uptodate, .swapbacked]
        if model.tracksAnonExclusive { f.insert(.anonExclusive) }
        pages[Int(p)].flags = f
        pages[Int(p)].mapping = mms[m].anonVma
        pages[Int(p)].mapcount = 1
        rmapAdd(p, mm: Int32(m), slot: slot)
        lruAdd(p, by: t)
        mms[m].slots[slot] = PTE.present(p, writable: true)
        return p
    }

    /// Read of an untouched address: the shared zero page is mapped (no reference is taken).
    func readZero(_ t: Int32, slot: Int) {
        let m = Int(tasks[Int(t)].mm)
        guard mms[m].slots[slot] == PTE.none else { return }
        pageFaultEvent(t, slot: slot, error: 0x4)
        mms[m].slots[slot] = PTE.zero
    }

    // MARK: - fork and exit

    /// copy_page_range: every anon PTE is shared write-protected; the reference is taken before
    /// the mapping is added. v5.9+ copies a possibly pinned page for the child instead.
    @discardableResult
    func fork(_ t: Int32, childCPU: Int? = nil) -> Int32 {
        let pm = Int(tasks[Int(t)].mm)
        let parent = tasks[Int(t)]
        let child = spawnProcess(comm: parent.comm, cpu: childCPU ?? parent.label.cpu, slots: mms[pm].smallSlots,
                                 thp: mms[pm].slots.count > mms[pm].smallSlots)
        let cm = Int(tasks[Int(child)].mm)
        mms[cm].ksm = mms[pm].ksm
        mms[cm].hasPinned = false
        var slot = 0
        let n = mms[pm].slots.count
        while slot < n {
            let pte = mms[pm].slots[slot]
            if PTE.isPMD(pte) {
                // copy_huge_pmd: one head reference, the PMD mapping counted, both write-protected.
                let h = PTE.payload(pte)
                getPage(h, by: t)
                pages[Int(h)].entire += 1
                pages[Int(h)].folioMapcount += 1
                for k in 0..<SimKernel.thpPages { pages[Int(h) + k].flags.remove(.anonExclusive) }
                rmapAdd(h, mm: Int32(cm), slot: slot)
                mms[pm].slots[slot] = PTE.pmd(h, writable: false)
                mms[cm].slots[slot] = PTE.pmd(h, writable: false)
            } else if PTE.isPresent(pte) {
                let i = PTE.payload(pte)
                let h = pages[Int(i)].head
                if pages[Int(h)].order > 0, model.batchesForkReferences {
                    // One folio reference for a run of PTEs mapping consecutive pages of the folio.
                    var run = 1
                    while slot + run < n, PTE.isPresent(mms[pm].slots[slot + run]),
                          PTE.payload(mms[pm].slots[slot + run]) == i + Int32(run),
                          pages[Int(i) + run].head == h { run += 1 }
                    refAdd(h, Int32(run), by: t)
                    for k in 0..<run { shareMapping(Int32(Int(i) + k), parent: pm, child: cm, slot: slot + k) }
                    slot += run
                    continue
                }
                if pages[Int(h)].order == 0, model.copiesPinnedAtFork, mms[pm].hasPinned, pages[Int(h)].refcount >= 1024 {
                    if model == .v6_18 {
                        getPage(h, by: t) // folio_get; folio_try_dup_anon_rmap refuses a maybe-pinned page
                        putPage(h, by: t)
                    }
                    copyForChild(from: h, parent: t, child: cm, slot: slot)
                } else {
                    getPage(h, by: t)
                    shareMapping(i, parent: pm, child: cm, slot: slot)
                }
            } else if PTE.isSwap(pte) {
                let e = PTE.payload(pte)
                swapCount[Int(e)] += 1
                mms[pm].slots[slot] = PTE.swap(e, exclusive: false)
                mms[cm].slots[slot] = PTE.swap(e, exclusive: false)
            } else if PTE.isZero(pte) {
                mms[cm].slots[slot] = PTE.zero
            }
            slot += 1
        }
        otherEvent(t) { b in b.text("tlb_flush: pages:-1 reason:local MM shootdown (3)") }
        let childPid = tasks[Int(child)].pid
        let comm = parent.comm
        let printed = w.event(lbl(t), family: .other) { b in
            b.text("sched_process_fork: comm=")
            b.string(comm)
            b.text(" pid=")
            b.dec(Int(parent.pid))
            b.text(" child_comm=")
            b.string(comm)
            b.text(" child_pid=")
            b.dec(Int(childPid))
        }
        if printed {
            lastForkSeq[parent.pid] = w.eventSeq
            // The fork event decides how a reader takes these pages' last events: keep it ahead.
            if config.clock == .local {
                for slot in 0..<n where PTE.isPresent(mms[pm].slots[slot]) || PTE.isPMD(mms[pm].slots[slot]) {
                    w.stamp(page: pages[Int(PTE.payload(mms[pm].slots[slot]))].head, cpu: parent.label.cpu)
                }
            }
        }
        if mms[cm].ksm, model.hasKsmEvents { ksmEnterEvent(child) }
        return child
    }

    private func shareMapping(_ i: Int32, parent pm: Int, child cm: Int, slot: Int) {
        let h = pages[Int(i)].head
        pages[Int(i)].mapcount += 1
        if pages[Int(h)].order > 0 { pages[Int(h)].folioMapcount += 1 }
        pages[Int(i)].flags.remove(.anonExclusive)
        rmapAdd(i, mm: Int32(cm), slot: slot)
        mms[pm].slots[slot] = PTE.present(i, writable: false)
        mms[cm].slots[slot] = PTE.present(i, writable: false)
    }

    /// copy_present_page: the child gets its own copy at once; the parent keeps its PTE.
    private func copyForChild(from h: Int32, parent t: Int32, child cm: Int, slot: Int) {
        guard let p = allocSmall(by: t) else { return }
        var f: SimFlags = [.uptodate, .swapbacked]
        if model.tracksAnonExclusive { f.insert(.anonExclusive) }
        pages[Int(p)].flags = f
        pages[Int(p)].mapping = mms[cm].anonVma
        pages[Int(p)].mapcount = 1
        rmapAdd(p, mm: Int32(cm), slot: slot)
        lruAdd(p, by: t)
        mms[cm].slots[slot] = PTE.present(p, writable: true)
    }

    /// exit_mmap: each PTE's mapping goes, then its reference; swap PTEs drop their swap count.
    func exit(_ t: Int32) {
        let m = Int(tasks[Int(t)].mm)
        for slot in 0..<mms[m].slots.count {
            let pte = mms[m].slots[slot]
            if PTE.isPMD(pte) {
                let h = PTE.payload(pte)
                pages[Int(h)].entire -= 1
                pages[Int(h)].folioMapcount -= 1
                rmapRemove(h, mm: Int32(m), slot: slot)
                putPage(h, by: t)
            } else if PTE.isPresent(pte) {
                unmapPTE(PTE.payload(pte), mm: m, slot: slot, by: t)
            } else if PTE.isSwap(pte) {
                let e = PTE.payload(pte)
                swapCount[Int(e)] -= 1
                releaseSwapEntryIfUnused(e)
            }
            mms[m].slots[slot] = PTE.none
        }
        mms[m].alive = false
        tasks[Int(t)].alive = false
        if mms[m].ksm, model.hasKsmEvents {
            let ptr = mms[m].pointer
            otherKsm(t) { b in
                b.text("ksm_exit: mm ")
                self.w.pointers.write(ptr, into: &b)
            }
        }
        let task = tasks[Int(t)]
        w.event(lbl(t), family: .other) { b in
            b.text("sched_process_exit: comm=")
            b.string(task.comm)
            b.text(" pid=")
            b.dec(Int(task.pid))
            b.text(" prio=120")
            if model == .v6_18 { b.text(" group_dead=true") }
        }
        reap(t)
    }

    /// page_remove_rmap then the PTE's put_page.
    func unmapPTE(_ i: Int32, mm m: Int, slot: Int, by t: Int32) {
        let h = pages[Int(i)].head
        pages[Int(i)].mapcount -= 1
        if pages[Int(h)].order > 0 { pages[Int(h)].folioMapcount -= 1 }
        rmapRemove(i, mm: Int32(m), slot: slot)
        putPage(h, by: t)
    }

    // MARK: - GUP

    /// A page a process may have pinned or spliced: small, anon, not KSM, mapped writable.
    func exclusivePage(_ t: Int32, slot: Int) -> Int32? {
        let m = Int(tasks[Int(t)].mm)
        let pte = mms[m].slots[slot]
        guard PTE.isPresent(pte), PTE.writable(pte) else { return nil }
        let i = PTE.payload(pte)
        guard pages[Int(i)].order == 0, pages[Int(i)].mapping & 3 == 1 else { return nil }
        return i
    }

    /// vmsplice into a pipe (FOLL_GET): one reference, held by the pipe buffer.
    @discardableResult
    func gupGet(_ t: Int32, slot: Int) -> Bool {
        guard let i = exclusivePage(t, slot: slot) else { return false }
        refAdd(i, 1, by: t)
        pages[Int(i)].gupRefs += 1
        gupHeld.append((i, 1, t, tasks[Int(t)].pid))
        return true
    }

    /// pin_user_pages (FOLL_PIN) on a small page: GUP_PIN_COUNTING_BIAS references.
    @discardableResult
    func gupPin(_ t: Int32, slot: Int) -> Bool {
        guard let i = exclusivePage(t, slot: slot) else { return false }
        refAdd(i, 1024, by: t)
        pages[Int(i)].gupRefs += 1024
        mms[Int(tasks[Int(t)].mm)].hasPinned = true
        gupHeld.append((i, 1024, t, tasks[Int(t)].pid))
        return true
    }

    /// The pipe is read or the pin released (by the task, or a worker once it has exited).
    func gupRelease(_ index: Int) {
        let g = gupHeld.remove(at: index)
        let task = tasks[Int(g.task)]
        let by = task.alive && task.pid == g.pid ? g.task : kworker
        pages[Int(g.page)].gupRefs -= g.amount
        refSubAndTest(g.page, g.amount, by: by)
    }

    // MARK: - Page locks held by other tasks

    /// Migration (kcompactd) isolates and locks a page, then gives up later.
    @discardableResult
    func migrationLock(_ h: Int32) -> Bool {
        guard lockable(h) else { return false }
        getPage(h, by: kcompactd) // isolate_lru_page: the flags printed still say lru
        pages[Int(h)].flags.remove(.lru)
        lock(h, holder: kcompactd, then: .migrateAbort)
        return true
    }

    /// Reclaim (kswapd) isolates and locks a page; `releaseLock` swaps it out.
    @discardableResult
    func reclaimLock(_ h: Int32, device: Int) -> Bool {
        guard lockable(h), pages[Int(h)].mapping & 3 == 1, pages[Int(h)].refcount == pages[Int(h)].mapcount else { return false }
        getPage(h, by: kswapd)
        pages[Int(h)].flags.remove(.lru)
        lock(h, holder: kswapd, then: .swapOut(device: device))
        return true
    }

    /// A lock taken without a reference of its own (the minimal D10 state).
    func plainLock(_ h: Int32, holder: Int32) {
        lock(h, holder: holder, then: .unlockOnly)
    }

    func lockable(_ h: Int32) -> Bool {
        let p = pages[Int(h)]
        return p.allocated && p.order == 0 && p.flags.contains(.lru) && p.batchCPU < 0 && p.lockHolder < 0
            && !p.flags.contains(.swapcache) && !p.flags.contains(.writeback) && p.mapcount >= 1
    }

    private func lock(_ h: Int32, holder: Int32, then action: LockAction) {
        pages[Int(h)].lockHolder = holder
        pages[Int(h)].flags.insert(.locked)
        lockActions[h] = action
    }

    /// The holder finishes what it locked the page for, and unlocks it.
    func releaseLock(_ h: Int32) {
        guard let action = lockActions.removeValue(forKey: h) else { return }
        let holder = pages[Int(h)].lockHolder
        switch action {
        case .unlockOnly:
            unlockPage(h)
        case .migrateAbort:
            unlockPage(h)
            pages[Int(h)].flags.insert(.lru)
            putPage(h, by: holder)
        case .swapOut(let device):
            swapOut(h, device: device, by: holder)
        }
    }

    func unlockPage(_ h: Int32) {
        pages[Int(h)].lockHolder = -1
        pages[Int(h)].flags.remove(.locked)
    }

    // MARK: - Swap

    /// shrink_page_list for a locked, isolated anon page: add_to_swap, try_to_unmap (each PTE
    /// becomes a swap entry), pageout starts writeback, unlock, put back on the LRU.
    private func swapOut(_ h: Int32, device: Int, by t: Int32) {
        let e = allocSwapEntry(device: device)
        swapCache[Int(e)] = h
        pages[Int(h)].swapEntry = e
        pages[Int(h)].flags.insert(.swapcache)
        refAdd(h, 1, by: t)
        let exclusive = pages[Int(h)].flags.contains(.anonExclusive)
        for (mm, slot) in mappers(h) {
            mms[Int(mm)].slots[slot] = PTE.swap(e, exclusive: exclusive)
            swapCount[Int(e)] += 1
            pages[Int(h)].mapcount -= 1
            rmapRemove(h, mm: mm, slot: slot)
            putPage(h, by: t)
        }
        pages[Int(h)].flags.remove(.anonExclusive) // exclusivity moves to the swap PTE
        pages[Int(h)].flags.insert(.writeback)
        unlockPage(h)
        pages[Int(h)].flags.insert(.lru)
        putPage(h, by: t)
    }

    /// end_page_writeback. Kernels whose end of writeback holds a reference around clearing the
    /// flag (get, clear, put) print the cleared flags with the put; older ones print nothing.
    func writebackDone(_ h: Int32) {
        guard model.writebackEndPrints else {
            pages[Int(h)].flags.remove(.writeback)
            return
        }
        getPage(h, by: kworker)
        pages[Int(h)].flags.remove(.writeback)
        putPage(h, by: kworker)
    }

    /// A later reclaim pass frees an unmapped, clean swap-cache page: freeze at 2 (isolation +
    /// swap cache), drop it from the swap cache, free it. A failed freeze puts it back.
    @discardableResult
    func reclaimSwapCache(_ h: Int32) -> Bool {
        let p = pages[Int(h)]
        guard p.allocated, p.order == 0, p.flags.contains(.swapcache), !p.flags.contains(.writeback), p.mapcount == 0,
              p.flags.contains(.lru), p.batchCPU < 0, p.lockHolder < 0 else { return false }
        getPage(h, by: kswapd)
        pages[Int(h)].flags.remove(.lru)
        pages[Int(h)].flags.insert(.locked)
        if freeze(h, 2, by: kswapd) {
            let e = pages[Int(h)].swapEntry
            swapCache[Int(e)] = -1
            pages[Int(h)].swapEntry = -1
            releaseSwapEntryIfUnused(e)
            free(h, by: kswapd)
            return true
        }
        pages[Int(h)].flags.remove(.locked)
        pages[Int(h)].flags.insert(.lru)
        putPage(h, by: kswapd)
        return false
    }

    /// Read access to a swapped-out address: do_swap_page maps the page read-only. From the swap
    /// cache (a lockless lookup reference) or read back into a new swap-cache page.
    @discardableResult
    func swapIn(_ t: Int32, slot: Int) -> Int32? {
        let m = Int(tasks[Int(t)].mm)
        let pte = mms[m].slots[slot]
        guard PTE.isSwap(pte) else { return nil }
        let e = PTE.payload(pte)
        var h = swapCache[Int(e)]
        if h >= 0, pages[Int(h)].lockHolder >= 0 { return nil }
        pageFaultEvent(t, slot: slot, error: 0x4)
        if h >= 0 {
            getUnlessZero(h, by: t)
        } else {
            guard let p = allocSmall(by: t) else { return nil }
            h = p
            pages[Int(h)].flags = [.swapbacked, .locked]
            swapCache[Int(e)] = h
            pages[Int(h)].swapEntry = e
            pages[Int(h)].flags.insert(.swapcache)
            refAdd(h, 1, by: t) // add_to_swap_cache
            lruAdd(h, by: t)
            pages[Int(h)].flags.insert(.uptodate) // the read completed
            pages[Int(h)].flags.remove(.locked)
        }
        if pages[Int(h)].mapping == 0 { pages[Int(h)].mapping = mms[m].anonVma }
        pages[Int(h)].mapcount += 1
        rmapAdd(h, mm: Int32(m), slot: slot)
        if model.tracksAnonExclusive, PTE.swapExclusive(pte) { pages[Int(h)].flags.insert(.anonExclusive) }
        swapCount[Int(e)] -= 1
        mms[m].slots[slot] = PTE.present(h, writable: false)
        return h
    }

    // MARK: - KSM (ksmd)

    func ksmEnterEvent(_ t: Int32) {
        let ptr = mms[Int(tasks[Int(t)].mm)].pointer
        otherKsm(t) { b in
            b.text("ksm_enter: mm ")
            self.w.pointers.write(ptr, into: &b)
        }
    }

    /// madvise(MADV_MERGEABLE).
    func ksmEnable(_ t: Int32) {
        let m = Int(tasks[Int(t)].mm)
        guard !mms[m].ksm else { return }
        mms[m].ksm = true
        if model.hasKsmEvents { ksmEnterEvent(t) }
    }

    /// A ksm_* line (v6.18 only); `page` when it names a pfn, so it keeps its place among the
    /// page's events under a local clock.
    @discardableResult
    func otherKsm(_ t: Int32, page: Int32 = -1, _ payload: (inout LineBuffer) -> Void) -> Bool {
        model.hasKsmEvents && w.event(lbl(t), family: .ksm, page: page, pfn: page >= 0 ? pfn(page) : 0, payload)
    }

    /// A page ksmd can merge: small, anon, on the LRU, unlocked, mapped once, no other reference.
    func ksmMergeable(_ i: Int32) -> Bool {
        let p = pages[Int(i)]
        return p.allocated && p.order == 0 && p.mapping & 3 == 1 && p.flags.contains(.lru) && p.batchCPU < 0
            && p.lockHolder < 0 && !p.flags.contains(.swapcache) && !p.flags.contains(.writeback)
            && p.mapcount == 1 && p.refcount == 1
    }

    func pageAt(_ mm: Int, _ slot: Int) -> Int32? {
        let pte = mms[mm].slots[slot]
        return PTE.isPresent(pte) ? PTE.payload(pte) : nil
    }

    /// Two identical pages from the unstable tree become one KSM page (try_to_merge_two_pages,
    /// then stable_tree_insert). `a` keeps its page; `b`'s PTE is replaced by it.
    @discardableResult
    func ksmMergeTwo(_ a: (mm: Int, slot: Int), _ b: (mm: Int, slot: Int)) -> Int32? {
        guard let pa = pageAt(a.mm, a.slot), let pb = pageAt(b.mm, b.slot), pa != pb,
              ksmMergeable(pa), ksmMergeable(pb) else { return nil }
        ksmMergeBegin(a: a, b: pb)
        ksmMergeFinish(a: pa, b: b)
        return pa
    }

    /// ksmd takes its references (the scanned page, the unstable tree's page) and turns the
    /// scanned page into a KSM page with no stable node yet (try_to_merge_one_page(a, NULL)).
    func ksmMergeBegin(a: (mm: Int, slot: Int), b pb: Int32) {
        guard let pa = pageAt(a.mm, a.slot) else { return }
        getPage(pa, by: ksmd) // follow_page(FOLL_GET) of the scanned page
        getPage(pb, by: ksmd) // the unstable tree's page
        mms[a.mm].slots[a.slot] = PTE.present(pa, writable: false)
        pages[Int(pa)].flags.remove(.anonExclusive)
        pages[Int(pa)].mapping = 3
        mergeEvent(page: pa, ksmPrefix: false, mm: a.mm)
    }

    /// The other page's PTE is replaced by the KSM page, the stable node inserted (no page_ref
    /// event: the mapping alone changes), ksmd's references dropped.
    func ksmMergeFinish(a pa: Int32, b: (mm: Int, slot: Int)) {
        guard let pb = pageAt(b.mm, b.slot) else { return }
        replacePage(old: pb, with: pa, at: b)
        mergeEvent(page: pa, ksmPrefix: true, mm: b.mm)
        putPage(pb, by: ksmd)
        let node = nextStableNode
        nextStableNode += 1
        pages[Int(pa)].ksmNode = Int32(node)
        pages[Int(pa)].mapping = KernelAddress.stableNode(node) | 3
        ksmPages.append(pa)
        putPage(pa, by: ksmd)
        rmapItems += 2
    }

    /// A page matches a stable-tree KSM page: get_ksm_page(GET_KSM_PAGE_NOLOCK) raises the KSM
    /// page's count without its lock (the "keyhole"), then replace_page maps it.
    @discardableResult
    func ksmMergeInto(_ kp: Int32, _ c: (mm: Int, slot: Int)) -> Bool {
        guard pages[Int(kp)].ksmNode >= 0, pages[Int(kp)].mapping & 3 == 3,
              let pc = pageAt(c.mm, c.slot), pc != kp, ksmMergeable(pc) else { return false }
        let k = ksmd
        getPage(pc, by: k)
        guard getUnlessZero(kp, by: k) else {
            putPage(pc, by: k)
            return false
        }
        replacePage(old: pc, with: kp, at: c)
        mergeEvent(page: kp, ksmPrefix: true, mm: c.mm)
        putPage(pc, by: k)
        putPage(kp, by: k)
        rmapItems += 1
        return true
    }

    /// write_protect_page + replace_page: the KSM page's reference comes before its mapping.
    private func replacePage(old: Int32, with kp: Int32, at s: (mm: Int, slot: Int)) {
        mms[s.mm].slots[s.slot] = PTE.present(kp, writable: false)
        getPage(kp, by: ksmd)
        pages[Int(kp)].mapcount += 1
        rmapAdd(kp, mm: Int32(s.mm), slot: s.slot)
        pages[Int(old)].mapcount -= 1
        rmapRemove(old, mm: Int32(s.mm), slot: s.slot)
        putPage(old, by: ksmd)
    }

    private func mergeEvent(page: Int32, ksmPrefix: Bool, mm: Int) {
        guard model.hasKsmEvents else { return }
        let item = KernelAddress.rmapItem(rmapItems)
        let mmPtr = mms[mm].pointer
        let n = pfn(page)
        let printed = otherKsm(ksmd, page: page) { b in
            b.text("ksm_merge_with_ksm_page: ")
            if ksmPrefix { b.text("ksm ") }
            b.text("pfn ")
            b.dec(Int(n))
            b.text(" rmap_item ")
            self.w.pointers.write(item, into: &b)
            b.text(" mm ")
            self.w.pointers.write(mmPtr, into: &b)
            b.text(" error 0")
        }
        if printed {
            // A reader learns "KSM"; with the prefix the page was already in the stable tree.
            pages[Int(page)].view.ksm = true
            pages[Int(page)].view.anon = true
            pages[Int(page)].view.stableNode = ksmPrefix ? true : nil
        }
    }

    /// ksmd's periodic work: scan markers, and stable nodes whose page is gone.
    func ksmHousekeeping(scan: Bool) {
        guard model.hasKsmEvents else { staleKsm.removeAll(); return }
        for (n, _) in staleKsm {
            let item = KernelAddress.rmapItem(rmapItems)
            let i = Int(n - pfnBase)
            otherKsm(ksmd, page: Int32(i)) { b in
                b.text("ksm_remove_rmap_item: pfn ")
                b.dec(Int(n))
                b.text(" rmap_item ")
                self.w.pointers.write(item, into: &b)
                b.text(" mm ")
                self.w.pointers.write(KernelAddress.mm(0), into: &b)
            }
            let printed = otherKsm(ksmd, page: Int32(i)) { b in
                b.text("ksm_remove_ksm_page: pfn ")
                b.dec(Int(n))
            }
            if printed { pages[i].view.stableNode = false }
        }
        staleKsm.removeAll()
        if scan {
            ksmScanSeq += 1
            let seq = ksmScanSeq, size = rmapItems
            otherKsm(ksmd) { b in
                b.text("ksm_start_scan: seq ")
                b.dec(seq)
                b.text(" rmap size ")
                b.dec(size)
            }
            otherKsm(ksmd) { b in
                b.text("ksm_stop_scan: seq ")
                b.dec(seq)
                b.text(" rmap size ")
                b.dec(size)
            }
        }
    }

    // MARK: - THP

    /// A PMD-sized anon THP mapped by a PMD; with `split`, a partial mprotect splits it at once.
    @discardableResult
    func thpFault(_ t: Int32, split: Bool = true) -> Int32? {
        let m = Int(tasks[Int(t)].mm)
        let base = mms[m].smallSlots
        guard mms[m].slots.count >= base + SimKernel.thpPages, mms[m].slots[base] == PTE.none else { return nil }
        pageFaultEvent(t, slot: base, error: 0x6)
        guard let h = allocTHP(by: t) else { return nil }
        pages[Int(h)].flags = [.head, .uptodate, .swapbacked]
        pages[Int(h)].mapping = mms[m].anonVma
        pages[Int(h)].entire = 1
        pages[Int(h)].folioMapcount = 1
        if model.tracksAnonExclusive {
            for k in 0..<SimKernel.thpPages { pages[Int(h) + k].flags.insert(.anonExclusive) }
        }
        rmapAdd(h, mm: Int32(m), slot: base)
        mms[m].slots[base] = PTE.pmd(h, writable: true)
        lruAdd(h, by: t)
        if split { splitPMD(t) }
        return h
    }

    /// __split_huge_pmd: each of the 512 PTEs holds a head reference (page_ref_add 511, printed
    /// before the mapcounts move) and each page gets a PTE mapping; exclusivity is inherited.
    func splitPMD(_ t: Int32) {
        let m = Int(tasks[Int(t)].mm)
        let base = mms[m].smallSlots
        let pmd = mms[m].slots[base]
        guard PTE.isPMD(pmd) else { return }
        let h = PTE.payload(pmd)
        refAdd(h, Int32(SimKernel.thpPages - 1), by: t)
        pages[Int(h)].entire -= 1
        rmapRemove(h, mm: Int32(m), slot: base)
        for k in 0..<SimKernel.thpPages {
            let i = Int32(Int(h) + k)
            pages[Int(i)].mapcount += 1
            rmapAdd(i, mm: Int32(m), slot: base + k)
            mms[m].slots[base + k] = PTE.present(i, writable: PTE.writable(pmd))
        }
        pages[Int(h)].folioMapcount += Int32(SimKernel.thpPages - 1)
    }
}
