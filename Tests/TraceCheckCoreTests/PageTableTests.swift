import Testing
@testable import TraceCheckCore

@Suite("PageTable")
struct PageTableTests {
    func state(_ n: Int) -> PageState {
        var s = PageState()
        s.refcount = Int32(truncatingIfNeeded: n)
        s.lastRefSeq = UInt64(n)
        s.hasRefEvent = true
        return s
    }

    @Test func behavesLikeADictionary() {
        var rng = InputFixtures.SplitMix64(state: 11)
        var table = PageTable()
        var reference: [UInt64: PageState] = [:]
        // Clustered pfns, a few extreme ones (including the empty-slot marker), growth, removal.
        let special: [UInt64] = [0, 1, .max, .max - 1, 1 << 63]
        for step in 0..<60_000 {
            let r = rng.next()
            let pfn: UInt64 = r % 10 == 0 ? special[Int(r >> 8) % special.count] : 0x10_0000 + (r >> 16) % 20_000
            switch r % 7 {
            case 0:
                table[pfn] = nil
                reference[pfn] = nil
            case 1, 2, 3:
                table[pfn] = state(step)
                reference[pfn] = state(step)
            default:
                #expect(table[pfn] == reference[pfn], "step \(step) pfn \(pfn)")
            }
            if step % 5000 == 0 { #expect(table.count == reference.count) }
        }
        #expect(table.count == reference.count)
        for (pfn, s) in reference { #expect(table[pfn] == s) }
        var seen: [UInt64: PageState] = [:]
        table.forEach { seen[$0] = $1 }
        #expect(seen == reference)
    }

    @Test func costPerPageStaysBelowTheBudget() {
        // The memory budget: at most 200 bytes per tracked page with 1 000 000 pfns, growth peak included.
        let cost = PageTable.measuredBytesPerPage(pages: 1_000_000)
        #expect(cost.average <= 200)
        #expect(cost.peak <= 200)
        #expect(MemoryLayout<PageState>.size <= 48)
    }
}
