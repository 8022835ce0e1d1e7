import ArgumentParser
import TraceCheckCore

/// `tracecheck record [-o capture.zst] [--duration S] -- <command> [args]`
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracecheck record",
        abstract: "Run a command under a capture engine and write a trace tracecheck reads (needs root).",
        discussion: """
            Picks the kprobe engine where the kernel has kprobes, else the tp_btf engine (BPF raw \
            tracepoints with BTF). Traces only the command and its children. Exit status: the \
            command's, or 125 when nothing could be captured.
            """)

    @Option(name: .shortAndLong, help: "The capture to write (zstd).")
    var output: String = "capture.zst"

    @Option(help: "Stop the command after this many seconds.")
    var duration: Double?

    @Option(help: "Use this engine (a directory under traces/capture/engines) instead of choosing.")
    var engine: String?

    @Option(help: "Where the engines are (default: traces/capture above the executable or the working directory).")
    var captureDir: String?

    @Option(help: "zstd level.")
    var level: Int32 = 12

    @Flag(help: "Keep the engine's work directory and say where it is.")
    var keepWorkdir = false

    @Argument(parsing: .postTerminator, help: "The command to trace and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("name the command to trace after --, e.g. tracecheck record -o x.zst -- ./workload") }
        if let d = duration, !(d > 0) { throw ValidationError("--duration takes a positive number of seconds") }
    }

    func run() throws {
        let options = RecordOptions(output: output, duration: duration, command: command, captureDirectory: captureDir,
                                    engine: engine, level: level, keepWorkdir: keepWorkdir)
        let err = StandardStream.error
        do {
            let summary = try Recorder.record(options) { line in
                err.write("tracecheck record: \(line)\n")
                err.flush()
            }
            err.write("tracecheck record: \(Recorder.describe(summary))\n")
            err.flush()
            if summary.commandStatus != 0 { throw ExitCode(summary.commandStatus) }
        } catch let e as RecordError {
            err.write("tracecheck record: \(e.description)\n")
            err.flush()
            throw ExitCode(125)
        }
    }
}
