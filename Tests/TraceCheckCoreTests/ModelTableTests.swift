import Testing

@testable import TraceCheckCore

/// Every row of every decision table of DecisionTables.md, with fully known inputs unless a case
/// says otherwise; each asserts the decision and the row id.
@Suite("Decision tables")
struct ModelTableTests {
    typealias P = ModelFixtures

    // MARK: Model A, v5.8 (DecisionTables.md, Model A — v5.8)

    static let tableA: [ModelCase] = [
        .copy("A1", "A1 KSM with refcount 2", P.page { $0.ksm = true; $0.refcount = 2 }),
        .copy("A1", "A1 KSM in the swap cache", P.page {
            $0.ksm = true; $0.swapcache = true; $0.refcount = 2
        }),
        ModelCase(
            name: "A2 lock waited, PTE changed",
            inputs: P.page { $0.locked = true; $0.pteChanged = true },
            decision: .pteChanged, rule: "A2"),
        .reuse("A4a", "A2 lock waited, PTE unchanged: on to A4", P.page { $0.locked = true }),
        .reuse("A3a", "A3a KSM, refcount 1, stable node", P.page {
            $0.ksm = true; $0.stableNode = true
        }),
        .reuse("A3a", "A3a after a lock wait", P.page {
            $0.ksm = true; $0.stableNode = true; $0.locked = true
        }),
        .copy("A3b", "A3b KSM, no stable node yet", P.page {
            $0.ksm = true; $0.stableNode = false
        }),
        .reuse("A4a", "A4a mapcount 1", P.page()),
        .reuse("A4a", "A4a refcount not read: GUP pin", P.page { $0.refcount = 1025 }),
        .reuse("A4b", "A4b swap cache, swapcount 0, no writeback", P.page {
            $0.swapcache = true; $0.refcount = 2
        }),
        .copy("A4c", "A4c writeback on a stable-writes device", P.page {
            $0.swapcache = true; $0.refcount = 2; $0.writeback = true; $0.stableWrites = true
        }),
        .reuse("A4d", "A4d writeback, device without stable writes", P.page {
            $0.swapcache = true; $0.refcount = 2; $0.writeback = true
        }),
        .copy("A4e", "A4e mapcount 2", P.page { $0.refcount = 2; $0.mapcount = 2 }),
        .copy("A4e", "A4e a swap PTE still refers to it", P.page {
            $0.swapcache = true; $0.swapcount = 1; $0.refcount = 2
        }),
        .reuse("A4a", "A4a THP subpage, largest subpage mapcount 1", P.thpPage(
            refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: nil)),
        .copy("A4e", "A4e THP subpage, another subpage mapped twice", P.thpPage(
            refcount: 1021, largeMapcount: 1021, mapcount: 1, mmShared: nil
        ) { $0.maxSubpageMapcount = 2 }),
        .undetermined([.subpage_mapcounts], "A4 THP without subpage mapcounts", P.thpPage(
            refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: nil
        ) { $0.maxSubpageMapcount = nil }),
    ]

    @Test("Model A, v5.8", arguments: tableA)
    func modelA(_ row: ModelCase) {
        #expect(KernelModel.v5_8.evaluate(row.inputs) == row.verdict)
    }

    // MARK: Model B, v5.9 (DecisionTables.md, Model B — v5.9)

    static let tableB: [ModelCase] = [
        .copy("B1", "B1 KSM, refcount 1", P.page { $0.ksm = true; $0.stableNode = true }),
        .copy("B2", "B2 refcount 2, mapcount 1", P.page { $0.refcount = 2 }),
        .copy("B2", "B2 in the swap cache", P.page { $0.swapcache = true; $0.refcount = 2 }),
        .copy("B3", "B3 trylock fails", P.page { $0.locked = true }),
        // Reachable only if the state moves between the two reads; a snapshot shows it as
        // refcount 1 with mapcount ≠ 1.
        .copy("B4", "B4 mapcount 2 under the lock", P.page { $0.mapcount = 2 }),
        .reuse("B5", "B5 refcount 1, mapcount 1", P.page()),
    ]

    @Test("Model B, v5.9", arguments: tableB)
    func modelB(_ row: ModelCase) {
        #expect(KernelModel.v5_9.evaluate(row.inputs) == row.verdict)
    }

    // MARK: Model C body: v5.18, and the non-exclusive rows of v5.19, v6.6, v6.18

    static let tableC: [ModelCase] = [
        .copy("C1", "C1 KSM", P.page { $0.ksm = true; $0.stableNode = true }),
        .copy("C1", "C1 refcount 4", P.page { $0.refcount = 4; $0.mapcount = 2 }),
        .copy("C1", "C1 GUP pin", P.page { $0.refcount = 1025 }),
        .copy("C1", "C1 before any drain", P.page {
            $0.refcount = 4; $0.lru = false; $0.drainReleasesReference = true
        }),
        .copy("C2", "C2 refcount 2, extra reference", P.page { $0.refcount = 2 }),
        .copy("C2", "C2 mapcount 2", P.page { $0.refcount = 2; $0.mapcount = 2 }),
        .copy("C2", "C2 swap cache plus one reference", P.page {
            $0.swapcache = true; $0.refcount = 3
        }),
        .copy("C2", "C2 drain keeps the batch reference", P.page {
            $0.refcount = 2; $0.lru = false; $0.drainReleasesReference = false
        }),
        .reuse("C5", "C5 drain releases the batch reference", P.page {
            $0.refcount = 2; $0.lru = false; $0.drainReleasesReference = true
        }),
        .undetermined([.lru], "drain outcome unknown and deciding", P.page {
            $0.refcount = 2; $0.lru = false; $0.drainReleasesReference = nil
        }),
        .copy("C2", "drain outcome unknown, copy either way", P.page {
            $0.refcount = 3; $0.mapcount = 2; $0.lru = false; $0.drainReleasesReference = nil
        }),
        .reuse("C5", "drain outcome unknown, nothing to release", P.page {
            $0.lru = false; $0.drainReleasesReference = nil
        }),
        .copy("C3", "C3 trylock fails", P.page { $0.locked = true }),
        .copy("C4", "C4 swap cache not freed: swap PTE left", P.page {
            $0.swapcache = true; $0.refcount = 2; $0.swapcount = 1
        }),
        .copy("C4", "C4 swap cache not freed: writeback", P.page {
            $0.swapcache = true; $0.refcount = 2; $0.writeback = true
        }),
        .undetermined([.swapcount, .writeback], "swap cache, freeing unknown", P.page {
            $0.swapcache = true; $0.refcount = 2; $0.writeback = nil; $0.swapcount = nil
        }),
        .reuse("C5", "C5 refcount 1", P.page()),
        .reuse("C5", "C5 swap cache freed", P.page { $0.swapcache = true; $0.refcount = 2 }),
    ]

    @Test("Model C, v5.18", arguments: tableC)
    func modelC(_ row: ModelCase) {
        #expect(KernelModel.v5_18.evaluate(row.inputs) == row.verdict)
    }

    // MARK: Models D, v5.19, and E, v6.6 (DecisionTables.md, Model D — v5.19): D-1, then C1–C5

    static let tableExclusive: [ModelCase] = [
        .reuse("D-1", "D-1 exclusive, refcount ignored", P.page {
            $0.anonExclusive = true; $0.refcount = 1025
        }),
        .reuse("D-1", "D-1 exclusive, locked and in the swap cache", P.page {
            $0.anonExclusive = true; $0.locked = true; $0.swapcache = true; $0.refcount = 3
        }),
        .undetermined([.anon_exclusive], "exclusive bit unknown", P.page {
            $0.anonExclusive = nil; $0.refcount = 2
        }),
        .copy("C1", "KSM is never exclusive", P.page {
            $0.ksm = true; $0.anonExclusive = nil
        }),
    ]

    @Test(
        "Models D and E: PageAnonExclusive",
        arguments: [KernelModel.v5_19, .v6_6], tableExclusive)
    func exclusive(_ model: KernelModel, _ row: ModelCase) {
        #expect(model.evaluate(row.inputs) == row.verdict)
    }

    @Test(
        "Models D and E: not exclusive, rows C1–C5 (D-2..6)",
        arguments: [KernelModel.v5_19, .v6_6], tableC)
    func notExclusive(_ model: KernelModel, _ row: ModelCase) {
        #expect(model.evaluate(row.inputs) == row.verdict)
    }

    // MARK: Model F, v6.18 (DecisionTables.md, Model F — v6.18)

    @Test("Model F: small folios take rows F2/C1–F2/C5", arguments: tableC)
    func smallFolio(_ row: ModelCase) {
        var expected = row.verdict
        expected.rule = row.rule.map { "F2/" + $0 }
        #expect(KernelModel.v6_18.evaluate(row.inputs) == expected)
    }

    static let tableF: [ModelCase] = [
        .reuse("F1", "F1 exclusive small page", P.page {
            $0.anonExclusive = true; $0.refcount = 1025
        }),
        .reuse("F1", "F1 exclusive page of a large folio", P.thpPage(
            refcount: 1021, largeMapcount: 1021, mapcount: 2, mmShared: true
        ) { $0.anonExclusive = true }),
        .copy("F3", "F3 large mapcount 1", P.thpPage(
            refcount: 1, largeMapcount: 1, mapcount: 1, mmShared: false)),
        // Capture, scenario f: the parent's PTE write while the child still maps the THP.
        .copy("F4", "F4 capture ref 512 map 2, shared with the child", P.thpPage(
            refcount: 512, largeMapcount: 512, mapcount: 2, mmShared: true)),
        .undetermined([.mm_shared], "F4/F7 capture ref 512 map 2, shared bit unknown", P.thpPage(
            refcount: 512, largeMapcount: 512, mapcount: 2, mmShared: nil)),
        // Capture, scenario f: the child's PTE write, the folio also mapped by the parent.
        .copy("F4", "F4 capture ref 1021 map 2", P.thpPage(
            refcount: 1021, largeMapcount: 1021, mapcount: 2, mmShared: true)),
        .copy("F5", "F5 swap cache, trylock fails", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.locked = true }),
        .copy("F6", "F6 one reference beyond the mappings", P.thpPage(
            refcount: 511, largeMapcount: 510, mapcount: 1, mmShared: false)),
        .copy("F6", "F6 swap cache kept: swap PTE left", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.swapcount = 1 }),
        .copy("F6", "F6 swap cache freed, refcount left is not the mappings", P.thpPage(
            refcount: 7, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.folioSwapcount = 0 }),
        .reuse("F7", "F7 swap cache freed: one reference per page goes (order 2)", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.folioSwapcount = 0; $0.folioPages = 4 }),
        .copy("F6", "F6 swap cache freed, refcount left is not the mappings (order 1)", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.folioSwapcount = 0; $0.folioPages = 2 }),
        .undetermined([.folio_order], "swap cache freed, folio size unknown", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.folioSwapcount = 0 }),
        .copy("F6", "F6 swap cache kept: another subpage still has swap entries", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.folioSwapcount = 1; $0.folioPages = 4 }),
        .undetermined([.folio_swapcount], "swap cache: whether any subpage has swap entries is unknown", P.thpPage(
            refcount: 8, largeMapcount: 4, mapcount: 1, mmShared: false
        ) { $0.swapcache = true; $0.folioPages = 4 }),
        // Capture, scenario f: after the child exited the parent reuses pages of the folio.
        .reuse("F7", "F7 capture ref 510 map 1", P.thpPage(
            refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: false)),
        .undetermined([.mm_shared], "F7 capture ref 510 map 1, shared bit unknown", P.thpPage(
            refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: nil)),
        .undetermined([.mapcount], "large mapcount unknown", P.thpPage(
            refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: false
        ) { $0.largeMapcount = nil }),
    ]

    @Test("Model F, v6.18", arguments: tableF)
    func modelF(_ row: ModelCase) {
        #expect(KernelModel.v6_18.evaluate(row.inputs) == row.verdict)
    }
}
