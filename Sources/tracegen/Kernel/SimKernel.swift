/// The simulated kernel's page bookkeeping: every page's refcount, mapcounts, flags and
/// mapping; processes and their page tables; per-CPU LRU batches; the swap map; KSM stable
/// nodes; page locks held by other tasks. Every refcount change goes through the helpers at
/// the bottom, which print the `page_ref_*` event the kernel's page_ref.h hook would print.
///
/// Each page also keeps `view`: what the last *printed* event showed (a dropped event does not
/// update it). At a fault that tells the generator what a reader of the trace can know.

/// A page-table entry: 0 none; low two bits 1 present, 2 swap entry, 3 zero page.
enum PTE {
    static let none: UInt64 = 0
    static func present(_ page: Int32, writable: Bool) -> UInt64 { UInt64(UInt32(bitPattern: page)) << 8 | (writable ? 4 : 0) | 1 }
    /// `exclusive`: the swap PTE remembers PG_anon_exclusive (v5.19+).
    static func swap(_ entry: Int32, exclusive: Bool) -> UInt64 { UInt64(UInt32(bitPattern: entry)) << 8 | (exclusive ? 8 : 0) | 2 }
    static let zero: UInt64 = 3
    /// A PMD mapping of a whole THP (kept in the first slot of the THP region).
    static func pmd(_ head: Int32, writable: Bool) -> UInt64 { present(head, writable: writable) | 16 }
    static func isPMD(_ p: UInt64) -> Bool { p & 3 == 1 && p & 16 != 0 }

    static func kind(_ p: UInt64) -> UInt64 { p & 3 }
    /// A present PTE (not a PMD).
    static func isPresent(_ p: UInt64) -> Bool { p & 3 == 1 && p & 16 == 0 }
    static func isSwap(_ p: UInt64) -> Bool { p & 3 == 2 }
    static func isZero(_ p: UInt64) -> Bool { p & 3 == 3 }
    static func writable(_ p: UInt64) -> Bool { p & 4 != 0 }
    static func swapExclusive(_ p: UInt64) -> Bool { p & 8 != 0 }
    static func payload(_ p: UInt64) -> Int32 { Int32(truncatingIfNeeded: p >> 8) }
}

/// What the last printed event of a page showed, as a reader decodes it.
struct PageView {
    var printed = false
    var count: Int32 = 0
    /// Logical mapcount as the reader derives it (raw + 1 in v6.18).
    var mapcount: Int32 = 0
    var flags: SimFlags = []
    /// Last non-NULL `mapping=` printed, and whether its text proved it raw.
    var lastMapping: UInt64 = 0
    var lastMappingRaw = false
    /// PageAnon / PageKsm / stable node as decoded or learned from ksm events.
    var anon: Bool?
    var ksm: Bool?
    var stableNode: Bool?
    /// The task whose increment was the last printed event (-1: not an increment).
    var incrementPid: Int32 = -1
    /// The last printed event was a successful speculative get (`page_ref_mod_unless`): a
    /// swap-cache lookup or GUP-fast, which may be followed by an rmap add that prints nothing.
    var speculativeGet = false
    var seq: UInt64 = 0
}

struct Page {
    var refcount: Int32 = 0
    /// PTE mappings of this page (logical: `_mapcount + 1`).
    var mapcount: Int32 = 0
    /// Head of a large folio: PMD mappings, and every mapping of the folio.
    var entire: Int32 = 0
    var folioMapcount: Int32 = 0
    var flags: SimFlags = []
    var order: UInt8 = 0
    var batchCPU: Int8 = -1
    var head: Int32 = 0
    var mapping: UInt64 = 0
    var swapEntry: Int32 = -1
    var lockHolder: Int32 = -1
    var rmap: Int32 = -1
    var allocated = false
    var ksmNode: Int32 = -1
    /// References held by GUP (FOLL_GET, pipe buffers) and pins (FOLL_PIN, ×1024).
    var gupRefs: Int32 = 0
    var view = PageView()
}

struct Task {
    var pid: Int32
    var comm: String
    var label: TaskLabel
    var mm: Int32
    var alive = true
}

struct MM {
    var anonVma: UInt64
    var slots: [UInt64]
    /// Slots 0..<smallSlots hold small pages; a 512-slot THP region follows.
    var smallSlots: Int
    var hasPinned = false
    var ksm = false
    var task: Int32
    var alive = true
    var pointer: UInt64
}

/// What a task holding a page lock does when it is done (the v5.8 fault waits for it).
enum LockAction {
    /// Holds no reference; just unlocks (the pure D10 state).
    case unlockOnly
    /// Migration gave up: unlock, put back on the LRU, drop the isolation reference.
    case migrateAbort
    /// Reclaim: add to the swap cache, unmap every PTE, start writeback, unlock.
    case swapOut(device: Int)
}

struct RmapNode {
    var mm: Int32
    var slot: Int32
    var next: Int32
}

final class SimKernel {
    let config: GeneratorConfig
    let model: GenModel
    let w: TraceWriter
    var rng: Rng

    let pfnBase: UInt64 = 0x140000
    let zeroPfn: UInt64 = 0x3B34
    static let batchSize = 15
    static let thpOrder: UInt8 = 9
    static let thpPages = 512

    var pages: [Page]
    let smallCount: Int
    let thpBase: Int
    private var freeRing: [Int32]
    private var freeHead = 0
    private var freeCount = 0
    var freeTHP: [Int32] = []

    var tasks: [Task] = []
    var mms: [MM] = []
    var batches: [[Int32]]
    private var rmapNodes: [RmapNode] = []
    private var rmapFree: [Int32] = []

    // Swap: count of swap PTEs per entry, the page in the swap cache (-1: none), the device.
    var swapCount: [Int32] = []
    var swapCache: [Int32] = []
    var swapDevice: [UInt8] = []
    var swapInUse: [Bool] = []
    private var swapFreeList: [Int32] = []
    /// Device 1 has SWP_STABLE_WRITES (a block device that needs stable pages).
    let deviceStableWrites = [false, true]

    var lockActions: [Int32: LockAction] = [:]
    /// Outstanding GUP references: (head page, amount, the task that took it).
    var gupHeld: [(page: Int32, amount: Int32, task: Int32, pid: Int32)] = []
    var nextStableNode = 1
    /// Pages that got a stable node (some may have stopped being KSM since).
    var ksmPages: [Int32] = []
    var rmapItems = 0
    var ksmScanSeq = 0
    /// KSM pages that lost their last mapping: ksmd reports the stale node (v6.18 events).
    var staleKsm: [(pfn: UInt64, items: Int)] = []

    var lastForkSeq: [Int32: UInt64] = [:]
    var rawSeen = false

    var ksmd: Int32 = -1
    var kswapd: Int32 = -1
    var kcompactd: Int32 = -1
    var kworker: Int32 = -1
    private var nextPid: Int32 = 1200
    private var nextAddressSpace = 0
    private var freeMMSlots: [Int32] = []
    private var freeTaskSlots: [Int32] = []

    init(config: GeneratorConfig, writer: TraceWriter, smallPages: Int, thpFolios: Int) {
        self.config = config
        model = config.model
        w = writer
        rng = Rng(seed: config.seed)
        smallCount = smallPages
        thpBase = (smallPages + SimKernel.thpPages - 1) / SimKernel.thpPages * SimKernel.thpPages
        let total = thpBase + thpFolios * SimKernel.thpPages
        pages = [Page](repeating: Page(), count: total)
        for i in 0..<total { pages[i].head = Int32(i) }
        freeRing = (0..<Int32(smallPages)).map { $0 }
        freeCount = smallPages
        for f in 0..<thpFolios { freeTHP.append(Int32(thpBase + f * SimKernel.thpPages)) }
        batches = Array(repeating: [], count: config.cpus)
        ksmd = spawnKernelThread("ksmd", pid: 31, cpu: config.cpus > 1 ? 1 : 0)
        kswapd = spawnKernelThread("kswapd0", pid: 84, cpu: 0)
        kcompactd = spawnKernelThread("kcompactd0", pid: 83, cpu: config.cpus > 1 ? 1 : 0)
        kworker = spawnKernelThread("kworker/u4:2", pid: 118, cpu: config.cpus > 1 ? 1 : 0)
    }

    /// Pages a trace of the configuration needs (the writer sizes its per-page tables by it).
    static func pageCount(smallPages: Int, thpFolios: Int) -> Int {
        (smallPages + thpPages - 1) / thpPages * thpPages + thpFolios * thpPages
    }

    // MARK: - Tasks and address spaces

    func label(comm: String, pid: Int32, cpu: Int) -> TaskLabel {
        var b = LineBuffer(capacity: 32)
        let c = Array(comm.utf8)
        b.rightAligned(c, width: 16)
        b.byte(0x2D)
        b.decPadded(Int(pid), width: model.pidWidth, left: true)
        b.byte(0x20)
        return TaskLabel(column: Array(b.bytes), cpu: cpu, pid: pid)
    }

    private func spawnKernelThread(_ comm: String, pid: Int32, cpu: Int) -> Int32 {
        tasks.append(Task(pid: pid, comm: comm, label: label(comm: comm, pid: pid, cpu: cpu), mm: -1))
        return Int32(tasks.count - 1)
    }

    /// A new process with an empty address space.
    /// A new process with an empty address space. The slots of exited processes are reused,
    /// so memory follows the live processes, not the trace length; pids and kernel pointers
    /// stay unique.
    func spawnProcess(comm: String, cpu: Int, slots: Int, thp: Bool = false) -> Int32 {
        let pid = nextPid
        nextPid += 1 + Int32(rng.below(3))
        let id = nextAddressSpace
        nextAddressSpace += 1
        let mmIndex = freeMMSlots.popLast() ?? Int32(mms.count)
        let taskIndex = freeTaskSlots.popLast() ?? Int32(tasks.count)
        let mm = MM(anonVma: KernelAddress.anonVma(id) | 1,
                    slots: Array(repeating: PTE.none, count: slots + (thp ? SimKernel.thpPages : 0)),
                    smallSlots: slots, task: taskIndex, pointer: KernelAddress.mm(id))
        let task = Task(pid: pid, comm: comm, label: label(comm: comm, pid: pid, cpu: cpu % config.cpus), mm: mmIndex)
        if Int(mmIndex) == mms.count { mms.append(mm) } else { mms[Int(mmIndex)] = mm }
        if Int(taskIndex) == tasks.count { tasks.append(task) } else { tasks[Int(taskIndex)] = task }
        return taskIndex
    }

    /// An exited process's slots become free for the next one.
    func reap(_ t: Int32) {
        let m = tasks[Int(t)].mm
        mms[Int(m)].slots = []
        freeMMSlots.append(m)
        freeTaskSlots.append(t)
    }

    func setCPU(_ t: Int32, _ cpu: Int) { tasks[Int(t)].label.cpu = cpu % config.cpus }
    func cpu(_ t: Int32) -> Int { tasks[Int(t)].label.cpu }
    func lbl(_ t: Int32) -> TaskLabel { tasks[Int(t)].label }

    func address(_ slot: Int) -> UInt64 { 0x7F3A_C000_0000 + UInt64(slot) * 4096 }

    func pfn(_ page: Int32) -> UInt64 { pfnBase + UInt64(page) }

    // MARK: - Reverse map

    func rmapAdd(_ page: Int32, mm: Int32, slot: Int) {
        let node = RmapNode(mm: mm, slot: Int32(slot), next: pages[Int(page)].rmap)
        if let i = rmapFree.popLast() {
            rmapNodes[Int(i)] = node
            pages[Int(page)].rmap = i
        } else {
            rmapNodes.append(node)
            pages[Int(page)].rmap = Int32(rmapNodes.count - 1)
        }
    }

    func rmapRemove(_ page: Int32, mm: Int32, slot: Int) {
        var prev: Int32 = -1
        var i = pages[Int(page)].rmap
        while i >= 0 {
            let n = rmapNodes[Int(i)]
            if n.mm == mm, n.slot == Int32(slot) {
                if prev < 0 { pages[Int(page)].rmap = n.next } else { rmapNodes[Int(prev)].next = n.next }
                rmapFree.append(i)
                return
            }
            prev = i
            i = n.next
        }
    }

    func mappers(_ page: Int32) -> [(mm: Int32, slot: Int)] {
        var out: [(Int32, Int)] = []
        var i = pages[Int(page)].rmap
        while i >= 0 {
            let n = rmapNodes[Int(i)]
            out.append((n.mm, Int(n.slot)))
            i = n.next
        }
        return out
    }

    /// Distinct address spaces mapping any page of the folio (the v6.18 MM-id "shared" bit).
    func folioMappedByMany(_ head: Int32) -> Bool {
        let n = pages[Int(head)].order > 0 ? SimKernel.thpPages : 1
        var first: Int32 = -1
        for k in 0..<n {
            var i = pages[Int(head) + k].rmap
            while i >= 0 {
                let m = rmapNodes[Int(i)].mm
                if first < 0 { first = m } else if m != first { return true }
                i = rmapNodes[Int(i)].next
            }
        }
        return false
    }

    // MARK: - Allocation

    /// A free small page, oldest freed first so the workload cycles through every pfn.
    func allocSmall(by t: Int32) -> Int32? {
        guard freeCount > 0 else { return nil }
        let p = freeRing[freeHead]
        freeHead = (freeHead + 1) % freeRing.count
        freeCount -= 1
        prepareNew(p, order: 0, by: t)
        return p
    }

    func allocTHP(by t: Int32) -> Int32? {
        guard !freeTHP.isEmpty else { return nil }
        let h = freeTHP.removeFirst()
        prepareNew(h, order: SimKernel.thpOrder, by: t)
        return h
    }

    /// prep_new_page: refcount 1 (`page_ref_set`), then the allocator's `mm_page_alloc`.
    private func prepareNew(_ p: Int32, order: UInt8, by t: Int32) {
        let i = Int(p)
        let keep = pages[i].view
        pages[i] = Page()
        pages[i].head = p
        pages[i].view = keep
        pages[i].allocated = true
        pages[i].order = order
        if order > 0 {
            pages[i].flags = [.head]
            for k in 1..<SimKernel.thpPages {
                pages[i + k] = Page(head: p, allocated: true, view: pages[i + k].view)
            }
        }
        setCount(p, 1, by: t)
        // prep_compound_page: every tail's own count is set to 0 (the folio's lives on the head).
        if order > 0 {
            for k in 1..<SimKernel.thpPages { setCount(p + Int32(k), 0, by: t) }
        }
        w.event(lbl(t), family: .other) { b in
            b.text("mm_page_alloc: page=")
            w.pointers.write(KernelAddress.structPage(pfn: pfn(p)), into: &b)
            b.text(" pfn=0x")
            b.hex(pfn(p))
            b.text(" order=")
            b.dec(Int(order))
            b.text(" migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_ZERO")
            if order > 0 { b.text("|__GFP_COMP") }
        }
    }

    /// The last reference went: the page returns to the allocator.
    func free(_ h: Int32, by t: Int32) {
        let i = Int(h)
        let order = pages[i].order
        let wasKsm = pages[i].mapping & 3 == 3
        w.event(lbl(t), family: .other) { b in
            b.text("mm_page_free: page=")
            w.pointers.write(KernelAddress.structPage(pfn: pfn(h)), into: &b)
            b.text(" pfn=0x")
            b.hex(pfn(h))
            b.text(" order=")
            b.dec(Int(order))
        }
        if wasKsm, model.hasKsmEvents { staleKsm.append((pfn(h), 1)) }
        let n = order > 0 ? SimKernel.thpPages : 1
        for k in 0..<n {
            pages[i + k].allocated = false
            pages[i + k].flags = []
            pages[i + k].mapping = 0
            pages[i + k].ksmNode = -1
            pages[i + k].mapcount = 0
        }
        if order > 0 {
            freeTHP.append(h)
        } else {
            freeRing[(freeHead + freeCount) % freeRing.count] = h
            freeCount += 1
        }
    }

    var freeSmallPages: Int { freeCount }

    // MARK: - page_ref.h: every refcount change prints its event

    /// The mapcount page_ref prints for a head/small page, in logical units: page_mapcount()
    /// (which adds the PMD mappings) up to v6.6; v6.18 prints the page's own `_mapcount`.
    func printedMapcount(_ h: Int32) -> Int32 {
        let p = pages[Int(h)]
        return model.rawMapcount ? p.mapcount : p.mapcount + p.entire
    }

    private func emit(_ op: RefOp, _ h: Int32, val: Int32, ret: Int32, by t: Int32, race: Int = 0) {
        let p = pages[Int(h)]
        let printed = w.pageRef(lbl(t), op: op, page: h, pfn: pfn(h), flags: p.flags, count: p.refcount,
                                mapcount: printedMapcount(h), mapping: p.mapping, val: val, ret: ret, race: race)
        guard printed else { return }
        var v = pages[Int(h)].view
        v.printed = true
        v.count = p.refcount
        v.mapcount = printedMapcount(h)
        v.flags = p.flags
        if p.mapping != 0 {
            let raw = config.usesRawPointers && p.mapping >> 48 == 0xFFFF
            if raw { rawSeen = true }
            v.lastMapping = p.mapping
            v.lastMappingRaw = raw
            if raw || (config.usesRawPointers && rawSeen) {
                let bits = p.mapping & 3
                v.anon = bits & 1 == 1
                v.ksm = bits == 3
                v.stableNode = bits == 3 ? (p.mapping & ~3) != 0 : nil
            }
        }
        let increment = (op == .mod || op == .modAndReturn || (op == .modUnless && ret == 1)) && val > 0
        v.incrementPid = increment ? tasks[Int(t)].pid : -1
        v.speculativeGet = op == .modUnless && ret == 1
        v.seq = w.eventSeq
        pages[Int(h)].view = v
    }

    func setCount(_ h: Int32, _ v: Int32, by t: Int32) {
        pages[Int(h)].refcount = v
        emit(.set, h, val: v, ret: 0, by: t)
    }

    /// get_page / page_ref_add / GUP: `page_ref_mod val=n`.
    func refAdd(_ h: Int32, _ n: Int32, by t: Int32) {
        pages[Int(h)].refcount += n
        emit(.mod, h, val: n, ret: 0, by: t)
    }

    /// page_ref_sub without a test (delete_from_swap_cache): `page_ref_mod val=-n`.
    func refSub(_ h: Int32, _ n: Int32, by t: Int32) {
        pages[Int(h)].refcount -= n
        emit(.mod, h, val: -n, ret: 0, by: t)
    }

    /// put_page / page_ref_sub_and_test: frees the page when the count reaches 0.
    func refSubAndTest(_ h: Int32, _ n: Int32, by t: Int32) {
        pages[Int(h)].refcount -= n
        let zero = pages[Int(h)].refcount == 0
        emit(.modAndTest, h, val: -n, ret: zero ? 1 : 0, by: t)
        if zero { free(h, by: t) }
    }

    func getPage(_ h: Int32, by t: Int32) { refAdd(h, 1, by: t) }
    func putPage(_ h: Int32, by t: Int32) { refSubAndTest(h, 1, by: t) }

    /// get_page_unless_zero: the lockless raise (`page_ref_mod_unless val=1`).
    /// `race`: the truth token when this raise is an injected race (never dropped).
    @discardableResult
    func getUnlessZero(_ h: Int32, by t: Int32, race: Int = 0) -> Bool {
        let ok = pages[Int(h)].refcount != 0
        if ok { pages[Int(h)].refcount += 1 }
        emit(.modUnless, h, val: 1, ret: ok ? 1 : 0, by: t, race: race)
        return ok
    }

    /// page_ref_freeze: count → 0 only if it is exactly `n`.
    func freeze(_ h: Int32, _ n: Int32, by t: Int32) -> Bool {
        let ok = pages[Int(h)].refcount == n
        if ok { pages[Int(h)].refcount = 0 }
        emit(.freeze, h, val: n, ret: ok ? 1 : 0, by: t)
        return ok
    }

    func unfreeze(_ h: Int32, _ n: Int32, by t: Int32) {
        pages[Int(h)].refcount = n
        emit(.unfreeze, h, val: n, ret: 0, by: t)
    }

    // MARK: - Per-CPU LRU batches

    /// lru_cache_add / folio_add_lru: the batch holds a reference until it is drained.
    func lruAdd(_ h: Int32, by t: Int32) {
        let c = cpu(t)
        pages[Int(h)].flags.remove(.lru)
        getPage(h, by: t)
        pages[Int(h)].batchCPU = Int8(c)
        batches[c].append(h)
        if batches[c].count >= SimKernel.batchSize || pages[Int(h)].order > 0 { drain(cpu: c, by: t) }
    }

    /// lru_add_drain on `cpu`: every page goes onto the LRU and the batch's reference is put.
    func drain(cpu c: Int, by t: Int32) {
        let b = batches[c]
        batches[c].removeAll(keepingCapacity: true)
        for h in b {
            pages[Int(h)].batchCPU = -1
            pages[Int(h)].flags.insert(.lru)
            putPage(h, by: t)
        }
    }

    // MARK: - Swap map

    func allocSwapEntry(device: Int) -> Int32 {
        if let e = swapFreeList.popLast() {
            swapCount[Int(e)] = 0
            swapCache[Int(e)] = -1
            swapDevice[Int(e)] = UInt8(device)
            swapInUse[Int(e)] = true
            return e
        }
        swapCount.append(0)
        swapCache.append(-1)
        swapDevice.append(UInt8(device))
        swapInUse.append(true)
        return Int32(swapCount.count - 1)
    }

    /// The entry is free once no swap PTE and no swap-cache page refers to it.
    func releaseSwapEntryIfUnused(_ e: Int32) {
        let i = Int(e)
        if swapInUse[i], swapCount[i] == 0, swapCache[i] < 0 {
            swapInUse[i] = false
            swapFreeList.append(e)
        }
    }

    /// delete_from_swap_cache: the swap cache's reference goes (`page_ref_mod val=-1`).
    func deleteFromSwapCache(_ h: Int32, by t: Int32) {
        let e = pages[Int(h)].swapEntry
        pages[Int(h)].flags.remove(.swapcache)
        pages[Int(h)].swapEntry = -1
        if e >= 0 {
            swapCache[Int(e)] = -1
            releaseSwapEntryIfUnused(e)
        }
        refSub(h, 1, by: t)
    }

    // MARK: - Small events

    func otherEvent(_ t: Int32, _ payload: (inout LineBuffer) -> Void) {
        w.event(lbl(t), family: .other, payload)
    }

    func pageFaultEvent(_ t: Int32, slot: Int, error: Int) {
        let a = address(slot)
        w.event(lbl(t), family: .other) { b in
            b.text("page_fault_user: address=0x")
            b.hex(a)
            b.text(" ip=0x")
            b.hex(0x401B19)
            b.text(" error_code=0x")
            b.hex(UInt64(error))
        }
    }

    /// The faulting task's next kernel entry (cowtrace's completion point: `getppid()`).
    func syscallEvent(_ t: Int32) {
        w.event(lbl(t), family: .other, protected: true) { b in
            b.text("sys_enter: NR 110 (0, 0, 0, 0, 0, 0)")
        }
    }
}
