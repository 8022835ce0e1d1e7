import Testing
@testable import TraceCheckCore

@Suite("Byte output")
struct OutputTests {
    static let integers: [Int64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 99_999, 100_000,
                                    1_058_969_289_151, .max, .min, -1, -9, -10, -100, -1_000_000, .min + 1]

    @Test func decimalsAndHexPrintAsTheStandardLibraryDoes() {
        let out = ByteOutput(capacity: 8)  // grows as it goes
        for v in Self.integers {
            out.removeAll()
            out.appendDecimal64(v)
            #expect(String(decoding: out.bytes, as: UTF8.self) == String(v))
            out.removeAll()
            out.appendHex(UInt64(bitPattern: v))
            #expect(String(decoding: out.bytes, as: UTF8.self) == String(UInt64(bitPattern: v), radix: 16))
        }
        for shift in 0..<64 {
            let v = UInt64(1) << shift
            out.removeAll()
            out.appendHex(v)
            #expect(String(decoding: out.bytes, as: UTF8.self) == String(v, radix: 16))
        }
    }

    @Test func stringsEscapeAsJSONObjectDoes() {
        let samples = ["", "plain", "cow_workload", "a\"b", "back\\slash", "tab\there", "nl\nx", "cr\r",
                       "\u{01}\u{1f}", "ünïcödé ✓", "kworker/u8:2", String(repeating: "x\"", count: 100)]
        let out = ByteOutput()
        for s in samples {
            out.removeAll()
            out.appendJSONString(s)
            var expected = ""
            JSONObject.appendEscaped(s, to: &expected)
            #expect(String(decoding: out.bytes, as: UTF8.self) == expected)
        }
    }

    /// Every fault of the sample captures, as the checker produces it and altered the ways the
    /// pipeline alters records (race, classes), written both ways.
    @Test func faultBytesEqualTheJSONObjectRendering() throws {
        var records: [FaultRecord] = []
        for s in realScenarios {
            var checker = TraceChecker(options: CheckOptions())
            _ = checker.run(paths: [tracePath("real/scenario_\(s).txt.zst")]) { records.append($0) }
        }
        #expect(records.count > 100)
        let out = ByteOutput()
        for (k, original) in records.enumerated() {
            var variants = [original]
            var raced = original
            raced.racer = 4242
            raced.classes.append(.racyReuse)
            variants.append(raced)
            var uncached = original
            uncached.checked = nil
            variants.append(uncached)
            var edited = original
            edited.inputs.refcount = 99
            edited.comm = "we\"ird\tname"
            edited.gapReason = "a \"gap\""
            variants.append(edited)
            for f in variants {
                for multiple in [false, true] {
                    out.removeAll()
                    JSONReport.appendFault(f, multipleInputs: multiple, to: out)
                    #expect(String(decoding: out.bytes, as: UTF8.self) == JSONReport.fault(f, multipleInputs: multiple).text,
                            "record \(k)")
                }
            }
        }
    }

    @Test func caseIndexIsThePositionInAllCases() {
        for (k, m) in KernelModel.allCases.enumerated() { #expect(m.index == k) }
        for (k, d) in Decision.allCases.enumerated() { #expect(d.index == k) }
        for (k, i) in InputName.allCases.enumerated() { #expect(i.index == k) }
        for (k, c) in FaultClass.all.enumerated() { #expect(c.slot == k) }
    }
}
