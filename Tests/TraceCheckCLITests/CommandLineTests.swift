import ArgumentParser
import Foundation
import Testing
@testable import tracecheck
@testable import TraceCheckCore

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func trace(_ relative: String) -> String { packageRoot.appendingPathComponent("traces/" + relative).path }

/// A binary of this package (`tracecheck`, `tracegen`) built next to this test bundle.
func binary(named name: String = "tracecheck") throws -> URL {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent(name)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "\(name) binary near \(Bundle.main.bundleURL.path)"])
}

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

func run(_ args: [String], stdin: Data? = nil) throws -> Run {
    let p = Process()
    p.executableURL = try binary()
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    if stdin != nil { p.standardInput = input }
    try p.run()
    if let stdin {
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
    }
    // Read before waiting so a large output cannot fill the pipe and block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// The system `zstd` tool (CI installs it), for building test inputs.
func zstd(_ args: [String], input: Data) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
    p.arguments = args
    let i = Pipe(), o = Pipe()
    p.standardInput = i
    p.standardOutput = o
    try p.run()
    let writer = Thread { i.fileHandleForWriting.write(input); try? i.fileHandleForWriting.close() }
    writer.start()
    let out = o.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return out
}

func zstdCompress(_ d: Data) throws -> Data { try zstd(["-q", "-c", "-3"], input: d) }
func zstdDecompress(_ path: String) throws -> Data { try zstd(["-q", "-d", "-c"], input: Data(contentsOf: URL(fileURLWithPath: path))) }

func jsonObjects(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

// MARK: argument parsing, in process

@Test func parsesTheDocumentedOptions() throws {
    let c = try TraceCheckCommand.parse(["--kernel", "6.18.44", "--model", "v5.8", "--model", "6.18", "--format", "jsonl", "--pid", "42", "--comm", "a.out", "x.zst", "-"])
    #expect(c.kernel == "6.18.44")
    #expect(c.parsedModels() == [.v5_8, .v6_18])
    #expect(c.format == .jsonl)
    #expect(c.pid == 42)
    #expect(c.comm == "a.out")
    #expect(c.traces == ["x.zst", "-"])
}

@Test func rejectsAnUnknownModelAndMissingInput() {
    #expect(throws: (any Error).self) { try TraceCheckCommand.parse(["--model", "v4.0", "x.zst"]) }
    #expect(throws: (any Error).self) { try TraceCheckCommand.parse([]) }
}

@Test func modelsAssumptionsAndPfnsAreTypedArguments() throws {
    let c = try TraceCheckCommand.parse([
        "--model", "5.9", "--model", "v6.18", "--model", "v5.9", "--assume", "no-ksm", "--assume", "anon",
        "--explain", "0x1D412a", "x.zst",
    ])
    #expect(c.models == [.one(.v5_9), .one(.v6_18), .one(.v5_9)])
    #expect(c.parsedModels() == [.v5_9, .v6_18])
    #expect(c.assume == [.noKsm, .anon])
    #expect(c.explain == Pfn(0x1d412a))
    #expect(try TraceCheckCommand.parse(["--explain", "1913130", "x.zst"]).explain == Pfn(1_913_130))
    #expect(try TraceCheckCommand.parse(["--model", "v5.8", "--model", "all", "x.zst"]).parsedModels() == KernelModel.allCases)
    #expect(try TraceCheckCommand.parse(["x.zst"]).parsedModels() == nil)
}

@Test(arguments: [
    ["--model", "v4.0"], ["--model", "6.18.44"], ["--assume", "ksm"], ["--assume", "NO-KSM"],
    ["--explain", "0x"], ["--explain", "0x1g"], ["--explain", "-1"], ["--explain", "18446744073709551616"],
])
func badValuesAreRefusedWhileParsing(_ arguments: [String]) {
    #expect(throws: (any Error).self) { try TraceCheckCommand.parse(arguments + ["x.zst"]) }
}

/// The values are known to ArgumentParser: the error, the help and the completion scripts list them.
@Test func helpErrorsAndCompletionsListTheValues() {
    let models = KernelModel.allCases.map(\.rawValue) + ["all"]
    let facts = Assumption.allCases.map(\.rawValue)
    do {
        _ = try TraceCheckCommand.parse(["--assume", "ksm", "x.zst"])
        Issue.record("--assume ksm was accepted")
    } catch {
        let text = TraceCheckCommand.message(for: error)
        for fact in facts { #expect(text.contains(fact), "\(text)") }
    }
    let help = TraceCheckCommand.helpMessage()
    for word in models + facts { #expect(help.contains(word), "help lacks \(word)") }
    for shell in [CompletionShell.bash, .zsh, .fish] {
        let script = TraceCheckCommand.completionScript(for: shell)
        for word in models + facts { #expect(script.contains(word), "\(shell) completion lacks \(word)") }
    }
}

// MARK: the binary, end to end on real captures

@Test func realCaptureWithDivergencesExitsOne() throws {
    let r = try run([trace("real/scenario_b.txt.zst")])
    #expect(r.status == 1)
    #expect(r.stdout.contains("pre≠post"))
    #expect(r.stdout.contains("D1"))
    #expect(r.stdout.contains("write faults judged: 51"))
}

@Test(arguments: ["a", "b", "c", "e", "f"])
func jsonlHasOneFaultPerWpPageLine(_ scenario: String) throws {
    let path = trace("real/scenario_\(scenario).txt.zst")
    let r = try run(["--format", "jsonl", path])
    #expect(r.status == 0 || r.status == 1)
    let objects = try jsonObjects(r.stdout)
    #expect(objects.first?["type"] as? String == "meta")
    #expect(objects.last?["type"] as? String == "summary")
    let faults = objects.filter { $0["type"] as? String == "fault" }
    let summary = try #require(objects.last)
    #expect(summary["faults"] as? Int == faults.count)
    let events = try #require(summary["events"] as? [String: Any])
    #expect(events["wp_page"] as? Int == faults.count)
    for f in faults {
        let pfn = try #require(f["pfn"] as? String)
        #expect(pfn.hasPrefix("0x") && pfn == pfn.lowercased())
        let verdicts = try #require(f["verdicts"] as? [String: [String: Any]])
        #expect(verdicts.keys.contains("v5.8") && verdicts.keys.contains("v5.9"))
        for v in verdicts.values {
            let d = try #require(v["decision"] as? String)
            #expect(["reuse", "copy", "not-anon", "pte-changed", "undetermined"].contains(d))
        }
    }
    // Faults come in input order.
    let lines = faults.compactMap { $0["line"] as? Int }
    #expect(lines == lines.sorted())
}

@Test func jsonIsOneDocument() throws {
    let r = try run(["--format", "json", trace("real/scenario_a.txt.zst")])
    let doc = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let faults = try #require(doc["faults"] as? [[String: Any]])
    #expect(faults.count == 51)
    #expect(doc["meta"] != nil && doc["summary"] != nil)
}

@Test func kernelOptionAddsTheExpectedModel() throws {
    let r = try run(["--format", "jsonl", "--kernel", "6.18.44", trace("real/scenario_a.txt.zst")])
    let meta = try #require(try jsonObjects(r.stdout).first)
    #expect(meta["kernel"] as? String == "6.18.44")
    #expect(meta["models"] as? [String] == ["v5.8", "v5.9", "v6.18"])
}

@Test func readsStandardInput() throws {
    let text = try Data(contentsOf: URL(fileURLWithPath: trace("scenarios/replay_v5.8_gup_pin.txt")))
    let r = try run(["--format", "jsonl", "-"], stdin: text)
    #expect(r.status == 1)
    let fault = try #require(try jsonObjects(r.stdout).first { $0["type"] as? String == "fault" })
    #expect(fault["divergence"] as? String == "D1")
}

@Test func pidFilterKeepsOnlyThatTask() throws {
    let r = try run(["--format", "jsonl", "--pid", "22406", trace("real/scenario_a.txt.zst")])
    let faults = try jsonObjects(r.stdout).filter { $0["type"] as? String == "fault" }
    #expect(!faults.isEmpty)
    #expect(faults.allSatisfy { $0["pid"] as? Int == 22406 })
}

// MARK: broken input: exit 2, one clear sentence, the report for what was read

@Test func missingFileExitsTwo() throws {
    let r = try run(["/nonexistent/capture.zst"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("/nonexistent/capture.zst"))
}

@Test func truncatedZstdExitsTwoAfterReportingWhatWasRead() throws {
    // Two zstd frames (the capture's two halves); the cut falls inside the second one, so the
    // first half is still readable.
    let plain = try zstdDecompress(trace("real/scenario_a.txt.zst"))
    let half = plain.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let first = Data(half.prefix(half.count / 2).joined(separator: [UInt8(ascii: "\n")])) + Data("\n".utf8)
    let second = Data(half.suffix(from: half.count / 2).joined(separator: [UInt8(ascii: "\n")]))
    let frames = try zstdCompress(first) + zstdCompress(second)
    let cut = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-truncated-\(getpid()).zst")
    try frames.prefix(frames.count - 100).write(to: cut)
    defer { try? FileManager.default.removeItem(at: cut) }
    let r = try run(["--format", "jsonl", cut.path])
    #expect(r.status == 2)
    #expect(r.stderr.contains("truncated"))
    let objects = try jsonObjects(r.stdout)
    #expect(objects.last?["type"] as? String == "summary")
    #expect(objects.filter { $0["type"] as? String == "fault" }.count > 0)
}

@Test func garbageIsNotATrace() throws {
    let junk = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-junk-\(getpid()).txt")
    try Data("this is\nnot a trace\nat all\n".utf8).write(to: junk)
    defer { try? FileManager.default.removeItem(at: junk) }
    let r = try run([junk.path])
    #expect(r.status == 2)
    #expect(r.stderr.contains("not a trace"))
    #expect(r.stdout.contains("malformed-line: 3 lines"))
}

@Test func noDivergenceExitsZero() throws {
    let r = try run([trace("real/scenario_e.txt.zst")])
    #expect(r.status == 0)
    #expect(r.stdout.contains("exit 0"))
}

@Test func severalFilesAreReadInOrderAndNamedInTheFaults() throws {
    let a = trace("real/scenario_e.txt.zst"), b = trace("scenarios/replay_v5.8_gup_pin.txt")
    let r = try run(["--format", "jsonl", a, b])
    let objects = try jsonObjects(r.stdout)
    let meta = try #require(objects.first)
    #expect(meta["inputs"] as? [String] == [a, b])
    let files = objects.filter { $0["type"] as? String == "fault" }.compactMap { $0["file"] as? String }
    #expect(files == [a, a, b])
    #expect(r.status == 1)
}
