import Testing

@testable import TraceCheckCore

/// DecisionTables.md, Divergence cases D1–D14: the minimal state of each divergence case D1–D14,
/// with what v5.8 (Model A) and v5.9 (Model B) decide and which row decides it.
@Suite("Divergence cases v5.8 vs v5.9")
struct DivergenceCaseTests {
    typealias P = ModelFixtures

    struct Case: Sendable, CustomTestStringConvertible {
        var id: String
        var inputs: FaultInputs
        var v5_8: Verdict
        var v5_9: Verdict
        var testDescription: String { id }
    }

    static func reuse(_ rule: String) -> Verdict { Verdict(decision: .reuse, rule: rule) }
    static func copy(_ rule: String) -> Verdict { Verdict(decision: .copy, rule: rule) }

    static let cases: [Case] = [
        Case(id: "D1 GUP reference (FOLL_GET)", inputs: P.page { $0.refcount = 2 },
            v5_8: reuse("A4a"), v5_9: copy("B2")),
        Case(id: "D1 GUP pin (FOLL_PIN, +1024)", inputs: P.page { $0.refcount = 1025 },
            v5_8: reuse("A4a"), v5_9: copy("B2")),
        Case(id: "D2 LRU batch reference", inputs: P.page { $0.refcount = 2; $0.lru = false },
            v5_8: reuse("A4a"), v5_9: copy("B2")),
        Case(id: "D3 swap cache, swapcount 0, no writeback",
            inputs: P.page { $0.swapcache = true; $0.refcount = 2 },
            v5_8: reuse("A4b"), v5_9: copy("B2")),
        Case(id: "D4 swap cache under writeback, no stable writes",
            inputs: P.page { $0.swapcache = true; $0.refcount = 2; $0.writeback = true },
            v5_8: reuse("A4d"), v5_9: copy("B2")),
        Case(id: "D5 swap cache under writeback, stable writes",
            inputs: P.page {
                $0.swapcache = true; $0.refcount = 2; $0.writeback = true; $0.stableWrites = true
            },
            v5_8: copy("A4c"), v5_9: copy("B2")),
        Case(id: "D6 swap cache, another swap PTE",
            inputs: P.page { $0.swapcache = true; $0.refcount = 2; $0.swapcount = 1 },
            v5_8: copy("A4e"), v5_9: copy("B2")),
        Case(id: "D7 KSM, refcount 1, stable node",
            inputs: P.page { $0.ksm = true; $0.stableNode = true },
            v5_8: reuse("A3a"), v5_9: copy("B1")),
        Case(id: "D8 KSM, no stable node yet",
            inputs: P.page { $0.ksm = true; $0.stableNode = false },
            v5_8: copy("A3b"), v5_9: copy("B1")),
        Case(id: "D9 KSM, refcount 2",
            inputs: P.page {
                $0.ksm = true; $0.stableNode = true; $0.refcount = 2; $0.mapcount = 2
            },
            v5_8: copy("A1"), v5_9: copy("B1")),
        Case(id: "D9 KSM in the swap cache",
            inputs: P.page {
                $0.ksm = true; $0.stableNode = true; $0.swapcache = true; $0.refcount = 2
            },
            v5_8: copy("A1"), v5_9: copy("B1")),
        Case(id: "D10 page lock held elsewhere, PTE unchanged",
            inputs: P.page { $0.locked = true },
            v5_8: reuse("A4a"), v5_9: copy("B3")),
        Case(id: "D11 PTE-mapped THP subpage",
            inputs: P.thpPage(refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: false),
            v5_8: reuse("A4a"), v5_9: copy("B2")),
        Case(id: "D11 PTE-mapped THP subpage, subpage mapcounts unknown",
            inputs: P.thpPage(refcount: 510, largeMapcount: 510, mapcount: 1, mmShared: false) {
                $0.maxSubpageMapcount = nil
            },
            v5_8: Verdict(decision: .undetermined, rule: nil, missing: [.subpage_mapcounts]),
            v5_9: copy("B2")),
        Case(id: "D12 refcount 1, mapcount 1, lock free", inputs: P.page(),
            v5_8: reuse("A4a"), v5_9: reuse("B5")),
        Case(id: "D13 shared after fork", inputs: P.page { $0.refcount = 2; $0.mapcount = 2 },
            v5_8: copy("A4e"), v5_9: copy("B2")),
        Case(id: "D14 PTE changed during the lock wait",
            inputs: P.page { $0.locked = true; $0.pteChanged = true },
            v5_8: Verdict(decision: .pteChanged, rule: "A2"), v5_9: copy("B3")),
    ]

    @Test("v5.8 and v5.9 verdicts", arguments: cases)
    func divergence(_ c: Case) {
        #expect(KernelModel.v5_8.evaluate(c.inputs) == c.v5_8)
        #expect(KernelModel.v5_9.evaluate(c.inputs) == c.v5_9)
    }

    @Test("All fourteen cases are covered")
    func coverage() {
        let ids = Set(Self.cases.map { String($0.id.prefix { $0 != " " }) })
        #expect(ids == Set((1...14).map { "D\($0)" }))
    }
}
