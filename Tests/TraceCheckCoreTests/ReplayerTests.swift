import Testing
@testable import TraceCheckCore

func pageRef(_ op: PageRefOp, pfn: UInt64 = 0x10, count: Int32, mapcount: Int32 = 1, val: Int32, ret: Int32? = nil,
             flags: PageFlags = [.lru, .swapbacked], mapping: UInt64 = 0xffff_8881_0000_0041) -> PageRefEvent {
    PageRefEvent(op: op, pfn: pfn, flags: flags, count: count, printedMapcount: mapcount,
                 mapping: MappingValue(value: mapping, provablyRaw: mapping >> 48 == 0xffff), val: val, ret: ret)
}

@Test func countsThatAddUpKeepThePageCertain() {
    var r = Replayer(facts: KernelFacts(release: "5.8.1"))
    do { let ok = r.apply(pageRef(.set, count: 1, mapcount: 0, val: 1), pid: 1, seq: 1); #expect(ok) }
    do { let ok = r.apply(pageRef(.mod, count: 2, val: 1), pid: 1, seq: 2); #expect(ok) }
    do { let ok = r.apply(pageRef(.modAndTest, count: 1, val: -1, ret: 0), pid: 1, seq: 3); #expect(ok) }
    do { let ok = r.apply(pageRef(.modUnless, count: 2, val: 1, ret: 1), pid: 2, seq: 4); #expect(ok) }
    do { let ok = r.apply(pageRef(.modUnless, count: 2, val: 1, ret: 0), pid: 2, seq: 5); #expect(ok) }
    do { let ok = r.apply(pageRef(.modAndReturn, count: 1, val: -1, ret: 1), pid: 2, seq: 6); #expect(ok) }
    do { let ok = r.apply(pageRef(.freeze, count: 0, val: 1, ret: 1), pid: 1, seq: 7); #expect(ok) }
    do { let ok = r.apply(pageRef(.unfreeze, count: 1, val: 1), pid: 1, seq: 8); #expect(ok) }
    #expect(r.countGaps == 0)
    let j = r.join(WpPageEvent(pfn: 0x10, decision: .reuse))
    #expect(!j.stateGap)
    #expect(j.inputs.refcount == 1)
    #expect(j.inputs.mapcount == 1)
    #expect(j.inputs.anon == true && j.inputs.ksm == false)
}

@Test func aCountThatDoesNotAddUpIsAGapUntilTheNextConsistentEvent() {
    var r = Replayer(facts: KernelFacts(release: "5.8.1"))
    r.apply(pageRef(.set, count: 1, val: 1), pid: 1, seq: 1)
    do { let ok = r.apply(pageRef(.mod, count: 5, val: 1), pid: 1, seq: 2); #expect(!ok) }
    #expect(r.join(WpPageEvent(pfn: 0x10, decision: .copy)).stateGap)
    do { let ok = r.apply(pageRef(.mod, count: 6, val: 1), pid: 1, seq: 3); #expect(ok) }
    #expect(!r.join(WpPageEvent(pfn: 0x10, decision: .copy)).stateGap)
}

@Test func snapshotFieldsWinOverReplayAndDisagreementIsAGap() {
    var r = Replayer(facts: KernelFacts(release: "5.8.1"))
    r.apply(pageRef(.set, count: 3, val: 3), pid: 1, seq: 1)
    var wp = WpPageEvent(pfn: 0x10, decision: .copy)
    wp.refcount = 2
    let j = r.join(wp)
    #expect(j.inputs.refcount == 2)
    #expect(j.stateGap)
    #expect(j.gapReason?.contains("refcount 2") == true)
}

@Test func mapcountConventionFollowsTheKernelOrTheData() {
    var old = Replayer(facts: KernelFacts(release: "6.6.0"))
    old.apply(pageRef(.set, count: 1, mapcount: 1, val: 1), pid: 1, seq: 1)
    #expect(old.join(WpPageEvent(pfn: 0x10, decision: .copy)).inputs.mapcount == 1)

    var new = Replayer(facts: KernelFacts(release: "6.18.2"))
    new.apply(pageRef(.set, count: 2, mapcount: 1, val: 2), pid: 1, seq: 1)
    #expect(new.join(WpPageEvent(pfn: 0x10, decision: .copy)).inputs.mapcount == 2)

    // Unknown kernel: the mapcount stays unknown until a value only one convention prints. A
    // page type's large negative value proves nothing; −1 is an unmapped page's raw _mapcount.
    var unknown = Replayer()
    unknown.apply(pageRef(.mod, count: 2, mapcount: 1, val: 1), pid: 1, seq: 1)
    unknown.apply(pageRef(.mod, pfn: 0x30, count: 2, mapcount: -512, val: 1), pid: 1, seq: 2)
    #expect(unknown.mapcountConvention == .undecided)
    #expect(unknown.join(WpPageEvent(pfn: 0x10, decision: .copy)).inputs.mapcount == nil)
    unknown.apply(pageRef(.set, pfn: 0x20, count: 1, mapcount: -1, val: 1), pid: 1, seq: 3)
    #expect(unknown.mapcountConvention == .raw)
    #expect(unknown.mapcountConventionBasis == .unmappedRawValue)
    // (pid 1 increments and faults: not another task's increment, which could be a fork's)
    #expect(unknown.join(WpPageEvent(pfn: 0x10, decision: .copy), pid: 1).inputs.mapcount == 2)

    // An allocation printing 0 is page_mapcount() of an unmapped page: logical.
    var logical = Replayer()
    logical.apply(pageRef(.set, pfn: 0x20, count: 1, mapcount: 0, val: 1), pid: 1, seq: 1)
    logical.apply(pageRef(.mod, count: 2, mapcount: 1, val: 1), pid: 1, seq: 2)
    #expect(logical.mapcountConvention == .logical)
    #expect(logical.mapcountConventionBasis == .allocationPrintedZero)
    #expect(logical.join(WpPageEvent(pfn: 0x10, decision: .copy), pid: 1).inputs.mapcount == 1)
    #expect(old.mapcountConventionBasis == .kernelVersion)
}

@Test func aForkIncrementMakesTheMapcountALowerBound() {
    var r = Replayer(facts: KernelFacts(release: "5.8.1"))
    r.apply(pageRef(.set, count: 1, val: 1), pid: 7, seq: 1)
    r.apply(pageRef(.mod, count: 2, mapcount: 1, val: 1), pid: 7, seq: 2) // copy_present_pte's get_page
    r.apply(ForkEvent(parentPid: 7, childPid: 8), seq: 3)
    let j = r.join(WpPageEvent(pfn: 0x10, decision: .copy))
    #expect(j.inputs.refcount == 2)
    #expect(j.inputs.mapcount == nil) // never judged as D1 blindly
}

@Test func hashedPointersSayNothingUntilOneIsProvablyRaw() {
    var r = Replayer(facts: KernelFacts(release: "5.8.1"))
    r.apply(pageRef(.set, count: 1, val: 1, mapping: 0xc0ffee11), pid: 1, seq: 1)
    #expect(r.join(WpPageEvent(pfn: 0x10, decision: .copy)).inputs.anon == nil)
    r.apply(pageRef(.set, pfn: 0x20, count: 1, val: 1, mapping: 0xffff_8881_0000_0003), pid: 1, seq: 2)
    #expect(r.rawPointers)
    let ksm = r.join(WpPageEvent(pfn: 0x20, decision: .copy)).inputs
    #expect(ksm.ksm == true && ksm.anon == true && ksm.stableNode == true)
}

@Test func ksmEventsMarkPagesAndRevealTheZeroPage() {
    var r = Replayer()
    r.apply(KsmEvent(kind: .mergeWithKsmPage, pfn: 100, ksmPrefix: true, error: 0))
    r.apply(KsmEvent(kind: .mergeOnePage, pfn: 15156, ksmPrefix: true, error: 0))
    let k = r.join(WpPageEvent(pfn: 100, decision: .copy)).inputs
    #expect(k.ksm == true && k.stableNode == true)
    #expect(r.join(WpPageEvent(pfn: 15156, decision: .copy)).inputs.zero == true)
    r.apply(KsmEvent(kind: .removeKsmPage, pfn: 100, ksmPrefix: false, error: nil))
    #expect(r.join(WpPageEvent(pfn: 100, decision: .copy)).inputs.stableNode == false)
    r.apply(KsmEvent(kind: .mergeWithKsmPage, pfn: 200, ksmPrefix: false, error: -14))
    #expect(r.state(of: 200) == nil) // a failed merge changes nothing
}

@Test func lostEventsMakeEveryPageUncertainUntilResynced() {
    var r = Replayer(facts: KernelFacts(release: "5.8.1"))
    r.apply(pageRef(.set, count: 1, val: 1), pid: 1, seq: 1)
    r.lostEvents()
    #expect(r.join(WpPageEvent(pfn: 0x10, decision: .copy)).stateGap)
    r.apply(pageRef(.mod, count: 2, val: 1), pid: 1, seq: 2)
    #expect(!r.join(WpPageEvent(pfn: 0x10, decision: .copy)).stateGap)
    // A page first seen after the loss: its first delta cannot be checked.
    r.apply(pageRef(.mod, pfn: 0x30, count: 4, val: 1), pid: 1, seq: 3)
    #expect(r.join(WpPageEvent(pfn: 0x30, decision: .copy)).stateGap)
}

@Test func tailPageFaultsReadTheHeadsRefcount() {
    var r = Replayer(facts: KernelFacts(release: "6.6.0"))
    r.apply(pageRef(.mod, pfn: 0x22b600, count: 510, mapcount: 1, val: 1, flags: [.lru, .head, .swapbacked]), pid: 1, seq: 1)
    var wp = WpPageEvent(pfn: 0x22b602, decision: .reuse)
    wp.order = 9
    let i = r.join(wp).inputs
    #expect(i.refcount == 510)
    #expect(i.large == true)
}

@Test func pageStateStaysSmall() {
    // One entry per distinct pfn: keep it compact (issue: ≤ 200 bytes per tracked page in total).
    #expect(MemoryLayout<PageState>.size <= 48)
}

@Test(arguments: [-1, 32, 64, 200])
func implausibleOrdersAreIgnoredNotTrusted(_ order: Int) {
    var wp = WpPageEvent(pfn: 0x22b602, decision: .copy)
    wp.order = order
    #expect(wp.headPfn == 0x22b602)
    #expect(wp.folioPages == nil)
    var r = Replayer()
    _ = r.join(wp) // must not trap
}
