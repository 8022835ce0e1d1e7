import Testing
@testable import TraceCheckCore

/// Parses a full line and decodes its event with the decoder its name selects.
enum DecodedEvent: Equatable {
    case pageRef(PageRefEvent?)
    case ksm(KsmEvent?)
    case wpPage(WpPageEvent?)
    case fork(ForkEvent?)
    case name(EventName)
}

func decode(_ line: String) -> DecodedEvent {
    var s = line
    return s.withUTF8 { buf in
        let b = UnsafeRawBufferPointer(buf)
        let p = LineParser.parse(b)
        switch EventName.classify(b, p.name) {
        case .pageRef(let op): return .pageRef(PageRefEvent.parse(op, b, p.payload))
        case .ksm(let k): return .ksm(KsmEvent.parse(k, b, p.payload))
        case .wpPage: return .wpPage(WpPageEvent.parse(b, p.payload))
        case .processFork: return .fork(ForkEvent.parse(b, p.payload))
        case let other: return .name(other)
        }
    }
}

let prefix = "           a.out-1234    [002] .....  5012.123456: "

// MARK: page_ref (TraceFormats.md, page_ref events): 7 events in two classes.

@Test(arguments: PageRefOp.allCases)
func everyPageRefEventDecodes(_ op: PageRefOp) {
    let hasRet = [.modAndTest, .modAndReturn, .modUnless, .freeze].contains(op)
    let line = prefix + "\(op.eventName): pfn=0x1a2b3c flags=uptodate|dirty|lru|active|swapbacked count=2 mapcount=1 "
        + "mapping=00000000c0ffee11 mt=1 val=-1" + (hasRet ? " ret=0" : "")
    guard case .pageRef(let e?) = decode(line) else { Issue.record("not decoded: \(line)"); return }
    #expect(e.op == op)
    #expect(e.pfn == 0x1a2b3c)
    #expect(e.count == 2)
    #expect(e.printedMapcount == 1)
    #expect(e.val == -1)
    #expect(e.ret == (hasRet ? 0 : nil))
    #expect(e.flags.contains(.lru) && e.flags.contains(.dirty) && e.flags.contains(.swapbacked))
    #expect(!e.flags.swapcache)
    #expect(e.mapping == MappingValue(value: 0xc0ffee11, provablyRaw: false))
}

@Test func pageRefMissingRetInTestClassIsMalformed() {
    #expect(decode(prefix + "page_ref_freeze: pfn=0x10 flags=none count=0 mapcount=0 mapping=0000000000000000 mt=1 val=1")
        == .pageRef(nil))
}

@Test func pageRefRawMappingAndV618Flags() {
    let line = prefix + "page_ref_mod_unless: pfn=0x22b600 flags=uptodate|lru|head|owner_2|swapbacked|owner_priv_1 count=3 "
        + "mapcount=-1 mapping=ffff88817edb0823 mt=1 val=1 ret=1"
    guard case .pageRef(let e?) = decode(line) else { Issue.record("not decoded"); return }
    #expect(e.printedMapcount == -1)
    #expect(e.mapping == MappingValue(value: 0xffff88817edb0823, provablyRaw: true))
    #expect(e.flags.contains(.owner2) && e.flags.contains(.head))
    #expect(e.flags.swapcache)
}

@Test func traceCmdPointerForms() {
    let a = decode("  a.out-1  [000] .....  1.000000: page_ref_set:       pfn=0x5 flags=none count=1 mapcount=0 mapping=(nil) mt=1 val=1")
    guard case .pageRef(let e?) = a else { Issue.record("not decoded"); return }
    #expect(e.mapping == MappingValue(value: 0, provablyRaw: true))
    let b = decode("  a.out-1  [000] .....  1.000000: page_ref_set:       pfn=0x5 flags=none count=1 mapcount=0 mapping=0x3 mt=1 val=1")
    guard case .pageRef(let f?) = b else { Issue.record("not decoded"); return }
    #expect(f.mapping == MappingValue(value: 3, provablyRaw: true))
}

// MARK: ksm (TraceFormats.md, ksm events): 9 events, decimal pfns.

@Test func allNineKsmEventsDecode() {
    let lines: [(String, KsmEventKind, UInt64?, Bool, Int32?)] = [
        ("ksm_start_scan: seq 12 rmap size 0", .startScan, nil, false, nil),
        ("ksm_stop_scan: seq 12 rmap size 10", .stopScan, nil, false, nil),
        ("ksm_enter: mm 0000000077c05ae0", .enter, nil, false, nil),
        ("ksm_exit: mm 0000000077c05ae0", .exit, nil, false, nil),
        ("ksm_merge_one_page: ksm pfn 15156 rmap_item 0000000045c659e2 mm 0000000077c05ae0 error 0", .mergeOnePage, 15156, true, 0),
        ("ksm_merge_with_ksm_page: pfn 1117511 rmap_item 00000000eb942c2f mm 0000000077c05ae0 error 0", .mergeWithKsmPage, 1_117_511, false, 0),
        ("ksm_merge_with_ksm_page: ksm pfn 1117511 rmap_item 000000000002c8d3 mm 0000000077c05ae0 error -14", .mergeWithKsmPage, 1_117_511, true, -14),
        ("ksm_remove_ksm_page: pfn 1117511", .removeKsmPage, 1_117_511, false, nil),
        ("ksm_remove_rmap_item: pfn 1117511 rmap_item 00000000c2536696 mm 0000000077c05ae0", .removeRmapItem, 1_117_511, false, nil),
        ("ksm_advisor: ksm scan time 1234 pages_to_scan 100 cpu percent 10", .advisor, nil, false, nil),
    ]
    for (text, kind, pfn, prefixed, error) in lines {
        let decoded = decode("            ksmd-37      [000] .....  1063.904144: " + text)
        #expect(decoded == .ksm(KsmEvent(kind: kind, pfn: pfn, ksmPrefix: prefixed, error: error)), "\(text)")
    }
    #expect(Set(lines.map(\.1)).count == KsmEventKind.allCases.count)
}

@Test func ksmMergeWithoutErrorIsMalformed() {
    #expect(decode(prefix + "ksm_merge_with_ksm_page: pfn 12 rmap_item 0 mm 0") == .ksm(nil))
    #expect(decode(prefix + "ksm_remove_ksm_page: pfn twelve") == .ksm(nil))
}

// MARK: wp_page (WpPageLine.md, Fields of the 6.18 capture).

let realWpPage = "    cow_workload-22405   [001] .....  1058.969289151: wp_page: tgid=22405 pfn=0x1d412a addr=0x7fa3bfa79000 ip=0x401b19 err=0x7 kmode=0 lvl=pte pte=0x84000001d412a025 refcount=2 mapcount=2 mapcount_raw=1 folio_mapcount=2 order=0 entire_mapcount=0 pincount=0 flags=0x20028 pgflags=uptodate|lru|swapbacked mapping=0xffff88810907a001 anon=1 ksm=0 swapcache=0 locked=0 writeback=0 lru=1 large=0 anon_exclusive=0 zero=0 decision=copy new_lvl=pte new_pte=0x80000001b6385067 new_pfn=0x1b6385 new_refcount=2 new_mapcount=1 new_order=0 new_flags=0x20808 new_pgflags=uptodate|swapbacked new_anon=1 new_ksm=0 new_swapcache=0 new_anon_exclusive=1 new_zero=0 old_refcount_after=1 old_mapcount_after=1 old_swapcache_after=0 old_anon_exclusive_after=0 old_pgflags_after=uptodate|lru|swapbacked nalloc=1 alloc0_pfn=0x1b6385 ntlb=1 done=syscall done_cpu=1 dt_ns=4781"

@Test func realWpPageLineDecodesEveryField() {
    guard case .wpPage(let e?) = decode(realWpPage) else { Issue.record("not decoded"); return }
    #expect(e.pfn == 0x1d412a)
    #expect(e.decision == .copy)
    #expect(e.tgid == 22405)
    #expect(e.addr == 0x7fa3bfa79000)
    #expect(e.level == "pte")
    #expect(e.refcount == 2 && e.mapcount == 2 && e.mapcountRaw == 1 && e.folioMapcount == 2)
    #expect(e.order == 0 && e.entireMapcount == 0 && e.pincount == 0)
    #expect(e.anon == true && e.ksm == false && e.swapcache == false && e.locked == false)
    #expect(e.writeback == false && e.lru == true && e.large == false && e.anonExclusive == false && e.zero == false)
    #expect(e.mapping == MappingValue(value: 0xffff88810907a001, provablyRaw: true))
    #expect(e.pgflags == [.lru, .swapbacked])
}

@Test func minimalWpPageNeedsOnlyPfnAndDecision() {
    guard case .wpPage(let e?) = decode(prefix + "wp_page: pfn=0x42 decision=reuse") else { Issue.record("not decoded"); return }
    #expect(e == WpPageEvent(pfn: 0x42, decision: .reuse))
}

@Test func wpPageOptionalKeysAndUnknownKeys() {
    let line = prefix + "wp_page: pfn=0x42 some_future_key=zz mm_shared=1 swapcount=2 caller=do_swap_page fault_flags=0x255 decision=fallback"
    guard case .wpPage(let e?) = decode(line) else { Issue.record("not decoded"); return }
    #expect(e.mmShared == true)
    #expect(e.swapcount == 2)
    #expect(e.caller == "do_swap_page")
    #expect(e.faultFlags == 0x255)
    #expect(e.decision == .other("fallback"))
}

@Test(arguments: [
    "wp_page: decision=copy",                  // no pfn
    "wp_page: pfn=0x42",                       // no decision
    "wp_page: pfn=zz decision=copy",           // bad pfn
])
func wpPageWithoutRequiredKeysIsMalformed(_ text: String) {
    #expect(decode(prefix + text) == .wpPage(nil))
}

@Test func forkEventDecodes() {
    let line = "    cow_workload-22405   [001] .....  1058.968000: sched_process_fork: comm=cow_workload pid=22405 child_comm=cow_workload child_pid=22406"
    #expect(decode(line) == .fork(ForkEvent(parentPid: 22405, childPid: 22406)))
}

@Test(arguments: ["mm_page_alloc", "page_fault_user", "tlb_flush", "page_ref", "page_ref_modx", "ksm_foo", "wp_pagex"])
func otherEventsAreClassifiedOther(_ name: String) {
    #expect(decode(prefix + name + ": x=1") == .name(.other))
}

@Test func markerIsClassified() {
    #expect(decode(prefix + "tracing_mark_write: usercheck: scenario=a") == .name(.marker))
}
