import Foundation
import Testing
@testable import TraceCheckCore

/// The one-pass decoders taken for the kernel's own line shapes must agree with the general
/// walks they shortcut, on real lines and on lines broken in every small way.
@Suite("Parser fast paths")
struct ParserFastPathTests {
    static let pageRefPayloads: [String] = {
        var lines: [String] = [
            "pfn=0x1a2b3c flags=uptodate|lru|swapbacked count=2 mapcount=1 mapping=ffff888100b5ae41 mt=1 val=1",
            "pfn=0x1a2b3c flags=locked|referenced|uptodate|dirty|lru|active|swapbacked count=0 mapcount=-1 mapping=0000000000000003 mt=1 val=1 ret=1",
            "pfn=0X1A2B3C flags=none count=+2 mapcount=1 mapping=(nil) mt=0 val=-1 ret=0",
            "pfn=1a2b3c flags=owner_priv_1|swapbacked|owner_2|mappedtodisk|head|writeback|swapcache count=3 mapcount=2 mapping=0x0 mt=1 val=1024",
        ]
        for name in try! FileManager.default.contentsOfDirectory(atPath: tracePath("scenarios")) where name.hasSuffix(".txt") {
            let text = try! String(contentsOfFile: tracePath("scenarios/" + name), encoding: .utf8)
            for line in text.split(separator: "\n") {
                if let r = line.range(of: ": page_ref_") , let p = line[r.upperBound...].range(of: ": ") {
                    lines.append(String(line[p.upperBound...]))
                }
            }
        }
        return lines
    }()

    static func mutations(of s: String, count: Int, seed: UInt64) -> [String] {
        var rng = InputFixtures.SplitMix64(state: seed)
        let alphabet = Array(" \t=|-+0123456789abcdefxX(),".utf8) + [0xFF]
        let bytes = Array(s.utf8)
        return (0..<count).map { _ in
            var m = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let pos = m.isEmpty ? 0 : Int(rng.next() % UInt64(m.count))
                let c = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                switch rng.next() % 3 {
                case 0: m.insert(c, at: pos)
                case 1: if !m.isEmpty { m.remove(at: pos) }
                default: if !m.isEmpty { m[pos] = c }
                }
            }
            return String(decoding: m, as: UTF8.self)
        }
    }

    @Test func canonicalPageRefDecodingAgreesWithTheGeneralWalk() {
        var canonicalHits = 0
        let cache = FlagsCache()
        for (k, payload) in Self.pageRefPayloads.enumerated() {
            for text in [payload] + Self.mutations(of: payload, count: 300, seed: UInt64(k)) {
                let bytes = Array(text.utf8)
                bytes.withUnsafeBytes { b in
                    let r = ByteRange(0, b.count)
                    for op in PageRefOp.allCases {
                        let general = PageRefEvent.parseAnyOrder(op, b, r)
                        if let fast = PageRefEvent.parseCanonical(op, b, r) {
                            canonicalHits += 1
                            #expect(fast == general, "\(op) \(text.debugDescription)")
                        }
                        #expect(PageRefEvent.parse(op, b, r, flagsCache: cache) == general, "\(op) \(text.debugDescription)")
                    }
                }
            }
        }
        #expect(canonicalHits > 100)
    }

    @Test func cachedFlagsEqualParsedFlags() {
        let cache = FlagsCache()
        var rng = InputFixtures.SplitMix64(state: 5)
        let names = ["locked", "lru", "head", "dirty", "owner_2", "writeback", "swapcache", "swapbacked",
                     "owner_priv_1", "mappedtodisk", "referenced", "uptodate", "active", "reserved", "x"]
        for _ in 0..<5000 {
            let n = 1 + Int(rng.next() % 8)
            let text = (0..<n).map { _ in names[Int(rng.next() % UInt64(names.count))] }.joined(separator: "|")
            Array(text.utf8).withUnsafeBytes { b in
                let r = ByteRange(0, b.count)
                #expect(PageFlags.parse(b, r, cache: cache) == PageFlags.parse(b, r), "\(text)")
            }
        }
    }

    @Test func hexAndDecimalEdgeCases() {
        let cases: [(String, UInt64?)] = [
            ("0", 0), ("0x0", 0), ("0x", nil), ("x", nil), ("ffffffffffffffff", .max), ("0xffffffffffffffff", .max),
            ("1ffffffffffffffff", nil), ("0123456789abcdef", 0x0123_4567_89ab_cdef), ("0123456789ABCDEF", 0x0123_4567_89ab_cdef),
            ("0123456789abcdeg", nil), ("12345678", 0x1234_5678), ("1234567g", nil), ("g2345678", nil),
            ("ffff888100b5ae41", 0xffff_8881_00b5_ae41), ("@", nil), ("`", nil), ("G", nil), ("1 2", nil),
        ]
        for (text, want) in cases {
            Array(text.utf8).withUnsafeBytes { b in
                #expect(b.hex(ByteRange(0, b.count)) == want, "\(text)")
            }
        }
    }
}
