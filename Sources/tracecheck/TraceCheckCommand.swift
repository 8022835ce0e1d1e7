import ArgumentParser
import TraceCheckCore

#if canImport(Glibc)
import Glibc
#endif

struct TraceCheckCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "tracecheck",
        abstract: "Check every copy-on-write reuse/copy decision in a kernel trace against the v5.8 and v5.9 rules (and later kernels').",
        discussion: """
            Exit status: 0 no divergence, 1 divergences found, 2 the input is broken \
            (unreadable file, corrupt or truncated zstd, not a trace). \
            To make a capture: tracecheck record [-o capture.zst] [--duration S] -- <command> [args].
            """,
        version: version)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, jsonl
    }

    @Option(help: "The kernel release the capture came from, e.g. 6.18.44 (overrides the capture's metadata header).")
    var kernel: String?

    @Option(name: .customLong("model"), help: ArgumentHelp("A model to run (repeatable), or all. Default: v5.8, v5.9 and the expected one.", valueName: "model"))
    var models: [ModelChoice] = []

    @Option(help: "Output format: text, json (one document), jsonl (one object per fault, then a summary).")
    var format: Format = .text

    @Option(help: "Only judge faults of this pid (thread id or tgid).")
    var pid: Int32?

    @Option(help: "Only judge faults of tasks with this comm.")
    var comm: String?

    @Option(help: ArgumentHelp("Show everything the capture says happened to this pfn (hex 0x… or decimal), with the verdicts of its faults.", valueName: "pfn"))
    var explain: Pfn?

    @Option(help: ArgumentHelp("A fact the capture does not show but you know (repeatable). Verdicts that need it say so.", valueName: "fact"))
    var assume: [Assumption] = []

    /// Testing and benchmarking: force the decompression thread on or off (same output either way).
    @Option(help: .hidden)
    var pipeline: PipelineMode = .auto

    @Argument(help: "Trace files, zstd-compressed or plain text; '-' reads standard input.")
    var traces: [String]

    func validate() throws {
        if traces.isEmpty { throw ValidationError("name at least one trace file, or '-' for standard input") }
    }

    /// The models asked for, in order and without repeats; nil for the default set.
    func parsedModels() -> [KernelModel]? {
        guard !models.isEmpty else { return nil }
        var out: [KernelModel] = []
        for choice in models {
            switch choice {
            case .all: return KernelModel.allCases
            case .one(let m): if !out.contains(m) { out.append(m) }
            }
        }
        return out
    }

    func run() throws {
        var options = CheckOptions(kernel: kernel, models: parsedModels(), pid: pid, comm: comm)
        options.assumptions = assume
        options.explainPfn = explain?.value
        options.pipeline = pipeline
        let status = Self.check(traces, options: options, format: format, out: StandardStream.output, err: StandardStream.error)
        if status != 0 { throw ExitCode(status) }
    }

    /// The whole job, writing to the given streams; returns the exit status.
    static func check(_ paths: [String], options: CheckOptions, format: Format, out: StandardStream, err: StandardStream) -> Int32 {
        var checker = TraceChecker(options: options)
        let multiple = paths.count > 1
        var firstFault = true
        let result = checker.run(paths: paths, onStart: { start in
            switch format {
            case .jsonl: out.write(JSONReport.meta(start, version: version).text + "\n")
            case .json: out.write("{\"meta\":" + JSONReport.meta(start, version: version).text + ",\"faults\":[\n")
            case .text: break
            }
        }, onFault: { fault in
            switch format {
            case .jsonl:
                JSONReport.appendFault(fault, multipleInputs: multiple, to: out.buffer)
                out.buffer.append(contentsOf: "\n")
                out.flushIfFull()
            case .json:
                if !firstFault { out.write(",\n") }
                JSONReport.appendFault(fault, multipleInputs: multiple, to: out.buffer)
                out.flushIfFull()
                firstFault = false
            case .text: break
            }
        })
        switch format {
        case .jsonl:
            for h in result.history { out.write(JSONReport.history(h).text + "\n") }
            out.write(JSONReport.summary(result).text + "\n")
        case .json: out.write("\n],\"summary\":" + JSONReport.summary(result).text + "}\n")
        case .text: out.write(TextReport.render(result))
        }
        out.flush()
        for e in result.errors { err.write("tracecheck: \(e.message)\n") }
        for p in result.notATrace { err.write("tracecheck: \(p): not a trace: no event line found\n") }
        err.flush()
        return result.exitStatus
    }
}

/// stdout/stderr through write(2) with a buffer: no Foundation, no shared C `FILE` globals.
final class StandardStream: @unchecked Sendable {
    let fd: Int32
    /// Callers may append to it directly (the per-fault JSON path), then call `flushIfFull`.
    let buffer = ByteOutput(capacity: 1 << 17)
    static let flushThreshold = 1 << 16

    init(fd: Int32) { self.fd = fd }

    static let output = StandardStream(fd: 1)
    static let error = StandardStream(fd: 2)

    func write(_ s: String) {
        buffer.append(contentsOf: s)
        flushIfFull()
    }

    @inline(__always) func flushIfFull() {
        if buffer.count >= Self.flushThreshold { flush() }
    }

    func flush() {
        let raw = buffer.bytes
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { if n < 0 && errno == EINTR { continue }; break } // a closed pipe ends the output
            offset += n
        }
        buffer.removeAll()
    }
}
