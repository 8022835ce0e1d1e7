import Foundation
import Testing
@testable import TraceCheckCore
@testable import tracegen

/// Hiding an input may cost a verdict, never flip it: over tracegen captures of every kernel,
/// removing one key from the `wp_page` lines, the fork events, or a page's earlier events may
/// turn a determined verdict into `undetermined`, never into the other decision.
///
/// The default run samples the keys (each seed takes every fifth, so the 50 seeds of a kernel
/// cover every key about ten times) and one page per capture. `TRACECHECK_HIDE_ALL=1` hides
/// every key and three pages per capture.
@Suite("Hiding an input never flips a verdict")
struct HideInputPropertyTests {
    static let exhaustive = ProcessInfo.processInfo.environment["TRACECHECK_HIDE_ALL"] == "1"

    /// Keys a reader never needs (`pfn` and `decision` are required; `tgid` and `addr` locate
    /// the fault).
    static let kept: Set<String> = ["pfn", "decision", "tgid", "addr"]

    static let runs = PropertyTests.runs

    @Test("removing a key, the fork events or a page's earlier events never flips a verdict", arguments: runs)
    func hidingNeverFlips(_ run: PropertyTests.Run) throws {
        let g = try generate(run.config)
        let lines = g.lines.map(String.init)
        let base = try checkAll(lines)
        #expect(base.count > 25)

        var hidings: [(what: String, lines: [String])] = []
        let keys = wpPageKeys(lines).subtracting(Self.kept).sorted()
        for (k, key) in keys.enumerated() where Self.exhaustive || k % 5 == Int(run.seed % 5) {
            hidings.append(("key \(key)", lines.map { removingKey(key, from: $0) }))
        }
        hidings.append(("fork events", lines.map { $0.contains(" sched_process_fork: ") ? "" : $0 }))
        let faultLines = base.keys.sorted()
        let samples = Self.exhaustive ? 3 : 1
        for s in 0..<samples {
            let line = faultLines[(Int(run.seed) * 7 + s * 13) % faultLines.count]
            let pfn = base[line]!.pfn
            hidings.append(("events of pfn 0x\(String(pfn, radix: 16)) before line \(line)",
                            removingEvents(of: pfn, before: line, from: lines)))
        }

        var flips: [String] = []
        for (what, hidden) in hidings {
            let after = try checkAll(hidden)
            for (line, f) in base {
                guard let g = after[line] else {
                    flips.append("\(what): fault at line \(line) disappeared")
                    continue
                }
                for (m, v) in f.verdicts where v.decision != .undetermined {
                    let w = g.verdict(m)?.decision
                    if w != v.decision && w != .undetermined {
                        let flip = "\(what): line \(line) \(m.rawValue) \(v.decision.rawValue) (\(v.rule ?? "")) became \(w?.rawValue ?? "nothing") (\(g.verdict(m)?.rule ?? ""))"
                        flips.append(flip)
                    }
                }
            }
        }
        #expect(flips.isEmpty, "\(flips.prefix(10).joined(separator: "\n"))")
    }

    /// Every model's verdicts, by line; removing lines keeps the numbering (blank lines).
    func checkAll(_ lines: [String]) throws -> [Int: FaultRecord] {
        let path = try temporaryFile(Array((lines.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var checker = TraceChecker(options: CheckOptions(models: KernelModel.allCases))
        var faults: [Int: FaultRecord] = [:]
        _ = checker.run(paths: [path]) { faults[$0.line] = $0 }
        return faults
    }

    func wpPageKeys(_ lines: [String]) -> Set<String> {
        var keys: Set<String> = []
        for l in lines {
            guard let r = l.range(of: " wp_page: ") else { continue }
            for token in l[r.upperBound...].split(separator: " ") {
                if let eq = token.firstIndex(of: "=") { keys.insert(String(token[..<eq])) }
            }
        }
        return keys
    }

    func removingKey(_ key: String, from line: String) -> String {
        guard let r = line.range(of: " wp_page: ") else { return line }
        let kept = line[r.upperBound...].split(separator: " ").filter { !$0.hasPrefix(key + "=") }
        return String(line[..<r.upperBound]) + kept.joined(separator: " ")
    }

    /// The page_ref and ksm events of `pfn` (or of its 2 MiB-aligned head) before `line`,
    /// blanked so the line numbers stay.
    func removingEvents(of pfn: UInt64, before line: Int, from lines: [String]) -> [String] {
        let head = pfn & ~511
        let pageRef = ["pfn=0x\(String(pfn, radix: 16)) ", "pfn=0x\(String(head, radix: 16)) "]
        let ksm = ["pfn \(pfn) ", "pfn \(head) "]
        return lines.enumerated().map { k, text in
            guard k + 1 < line else { return text }
            let isPageRef = text.contains(" page_ref_") && pageRef.contains { text.contains($0) }
            let isKsm = text.contains(" ksm_") && ksm.contains { text.contains($0) || text.hasSuffix($0.dropLast()) }
            return isPageRef || isKsm ? "" : text
        }
    }
}
