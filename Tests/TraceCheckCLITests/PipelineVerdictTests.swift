import Foundation
import Testing
@testable import TraceCheckCore

/// The verdicts (the JSONL output) are identical with and without the decompression
/// thread, on a generated capture with the benchmark's event mix.
@Suite("Pipeline verdicts")
struct PipelineVerdictTests {
    /// A few MB of the realistic mix, zstd-compressed: several of the pipeline's 1 MiB buffers,
    /// lines split across them, a few thousand faults.
    static func generatedCapture() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("tracecheck-pipeline-\(UUID().uuidString).txt.zst").path
        let p = Process()
        p.executableURL = try binary(named: "tracegen")
        p.arguments = ["--model", "v6.18", "--seed", "7", "--pfns", "3000", "--size", "3500KB", "--no-truth", "-o", path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return path
    }

    /// Everything `--format jsonl` writes, produced in process.
    static func jsonl(_ path: String, _ mode: PipelineMode) -> String {
        var options = CheckOptions()
        options.pipeline = mode
        var checker = TraceChecker(options: options)
        let out = ByteOutput()
        let result = checker.run(paths: [path], onStart: { start in
            out.append(contentsOf: JSONReport.meta(start, version: "test").text + "\n")
        }, onFault: { fault in
            JSONReport.appendFault(fault, multipleInputs: false, to: out)
            out.append(contentsOf: "\n")
        })
        out.append(contentsOf: JSONReport.summary(result).text + "\n")
        return String(decoding: out.bytes, as: UTF8.self)
    }

    @Test func identicalInProcess() throws {
        let path = try Self.generatedCapture()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let threaded = Self.jsonl(path, .on)
        let single = Self.jsonl(path, .off)
        #expect(threaded == single)
        let faults = threaded.split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"fault\"") }.count
        #expect(faults > 1000)
    }

    @Test func identicalFromTheCommandLine() throws {
        let path = try Self.generatedCapture()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for format in ["jsonl", "text"] {
            let threaded = try run(["--format", format, "--pipeline", "on", path])
            let single = try run(["--format", format, "--pipeline", "off", path])
            #expect(threaded.status == single.status)
            #expect(threaded.stdout == single.stdout)
            #expect(!threaded.stdout.isEmpty)
        }
    }
}
