import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

@main
struct TracegenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracegen",
        abstract: "Generate kernel-format COW traces from a simulated kernel, with the right answer alongside.",
        discussion: """
            Scenarios: \(Scenario.names.joined(separator: ", ")), all. Without --scenario a random \
            workload runs until --size. The ground truth goes to <output>.truth.jsonl (or --truth).
            """)

    enum ModelArg: String, ExpressibleByArgument, CaseIterable {
        case v58 = "v5.8", v59 = "v5.9", v618 = "v6.18"
        var model: GenModel { GenModel(rawValue: rawValue)! }
    }

    @Option(help: "The kernel whose do_wp_page() decides the faults and whose trace format is written: v5.8, v5.9, v6.18.")
    var model: ModelArg = .v58

    @Option(help: "Random seed: the same seed and options give the same bytes.")
    var seed: UInt64 = 1

    @Option(help: "How much to write: 2000lines, 500KB, 200MB, 1GB (streamed). Without it: the scenario alone, or 2000 lines.")
    var size: String?

    @Option(help: "d1…d14, race, or all (every case, distinct pages, one trace).")
    var scenario: String?

    @Option(help: "wp_page lines: full (the whole snapshot) or minimal (only what page_ref events cannot show).")
    var wp: String = "minimal"

    @Option(help: "global, or local (per-CPU clocks with unsynchronised offsets).")
    var clock: String = "global"

    @Option(help: "Inject this many lost-event spans (the events are really dropped).")
    var lost: Int = 0

    @Option(help: "Probability that an eligible reuse fault of the random workload gets a racing increment by ksmd.")
    var raceRate: Double = 0

    @Option(help: "Probability that a fault of the random workload has another task's get and put on its page in the fault's own microsecond.")
    var concurrentRate: Double = 0

    @Option(help: "Distinct small-page pfns the workload cycles through.")
    var pfns: Int = 4096

    @Option(help: "Number of CPUs.")
    var cpus: Int = 2

    @Flag(help: "Print mapping pointers raw (ffff…) in v5.8/v5.9 traces, as nohash-ptr or trace-cmd would.")
    var rawPointers = false

    @Flag(help: "Print pointers hashed in v6.18 traces (the kernel's default hash-ptr).")
    var hashedPointers = false

    @Option(name: .shortAndLong, help: "Output file ('-' for stdout); zstd when it ends in .zst.")
    var output: String = "-"

    @Option(help: "Ground-truth JSONL file (default: <output>.truth.jsonl for a regular output file).")
    var truth: String?

    @Flag(help: "Do not write the ground truth.")
    var noTruth = false

    func validate() throws {
        if let s = scenario, s != "all", !Scenario.names.contains(s) {
            throw ValidationError("unknown scenario '\(s)'; known: \(Scenario.names.joined(separator: ", ")), all")
        }
        if let s = size, SizeLimit.parse(s) == nil { throw ValidationError("--size: say e.g. 2000lines, 500KB, 200MB or 1GB") }
        if WpMode(rawValue: wp) == nil { throw ValidationError("--wp: full or minimal") }
        if ClockMode(rawValue: clock) == nil { throw ValidationError("--clock: global or local") }
        if cpus < 1 || cpus > 256 { throw ValidationError("--cpus: 1 to 256") }
        if pfns < 256 { throw ValidationError("--pfns: at least 256") }
        if rawPointers && hashedPointers { throw ValidationError("--raw-pointers and --hashed-pointers exclude each other") }
        if (scenario == "race" || scenario == "all" || raceRate > 0), clock == "local" || cpus < 2 {
            throw ValidationError("races need two CPUs and --clock global: a per-CPU clock cannot order them")
        }
    }

    var config: GeneratorConfig {
        var c = GeneratorConfig()
        c.model = model.model
        c.seed = seed
        c.size = size.flatMap(SizeLimit.parse)
        c.scenario = scenario
        c.wpMode = WpMode(rawValue: wp)!
        c.clock = ClockMode(rawValue: clock)!
        c.lostSpans = lost
        c.raceRate = raceRate
        c.concurrentRate = concurrentRate
        c.pfns = pfns
        c.cpus = cpus
        if rawPointers { c.rawPointers = true }
        if hashedPointers { c.rawPointers = false }
        return c
    }

    /// Where the truth goes: --truth, else next to a regular output file, else nowhere.
    var truthPath: String? {
        if noTruth { return nil }
        if let truth { return truth }
        if output == "-" || output.hasPrefix("/dev/") { return nil }
        return output + ".truth.jsonl"
    }

    func run() throws {
        do {
            let sink = try openSink(path: output)
            let truthSink = try truthPath.map { try FileSink(path: $0) }
            let collector = truthSink.map { TruthCollector(sink: $0, keep: false) }
            let start = timespec.now
            let s = try Generator.run(config, sink: sink, truth: collector)
            let secs = max(timespec.now - start, 1e-9)
            var msg = "tracegen: \(s.lines) lines, \(s.bytes) bytes (\(Int(Double(s.bytes) / secs / 1e6)) MB/s), \(s.faults) faults"
            if s.races > 0 { msg += ", \(s.races) races" }
            if s.lostSpans > 0 { msg += ", \(s.lostSpans) lost spans (\(s.lostEvents) events)" }
            if let p = truthPath { msg += "; truth: \(p)" }
            writeStandardError(msg + "\n")
        } catch let e as OutputError {
            writeStandardError("tracegen: \(e.description)\n")
            throw ExitCode(2)
        } catch let e as ScenarioError {
            writeStandardError("tracegen: \(e.description)\n")
            throw ExitCode(2)
        }
    }
}

extension timespec {
    /// Monotonic seconds, for the throughput line.
    static var now: Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
