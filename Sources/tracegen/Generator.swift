#if canImport(Glibc)
import Glibc
#endif

/// Wires a run together: the writer (trace lines, lost spans, clocks), the simulated kernel,
/// the scenario and/or the random workload, and the ground-truth collector.

struct GenerationSummary {
    var lines: Int
    var bytes: Int
    var faults: Int
    var races: Int
    var lostSpans: Int
    var lostEvents: Int
    var familyLines: [Int]
}

enum Generator {
    /// Lines written when neither `--size` nor `--scenario` says how much.
    static let defaultLines = 2000

    static func run(_ config: GeneratorConfig, sink: ByteSink, truth: TruthCollector?) throws -> GenerationSummary {
        let thp = config.scenario == nil ? config.thpFolios : max(config.thpFolios, 1)
        let small = max(config.pfns, 256)
        let writer = TraceWriter(config: config, pages: SimKernel.pageCount(smallPages: small, thpFolios: thp), sink: sink)
        writer.truth = truth
        let expectedEvents: Double
        switch config.size {
        case .lines(let n)?: expectedEvents = Double(n)
        case .bytes(let n)?: expectedEvents = Double(n) / 140
        case nil: expectedEvents = config.scenario == "all" ? 900 : config.scenario != nil ? 60 : Double(defaultLines)
        }
        writer.lostRate = config.lostSpans > 0 ? min(0.5, Double(config.lostSpans) / max(expectedEvents, 1)) : 0

        truth?.meta([
            ("kernel", "\"\(config.model.release)\""), ("model", "\"\(config.model.rawValue)\""),
            ("seed", "\(config.seed)"), ("wp", "\"\(config.wpMode.rawValue)\""), ("clock", "\"\(config.clock.rawValue)\""),
            ("pointers", config.usesRawPointers ? "\"raw\"" : "\"hashed\""),
            ("scenario", config.scenario.map { "\"\($0)\"" } ?? "null"),
            ("size", config.size.map { if case .lines(let n) = $0 { "\"\(n)lines\"" } else if case .bytes(let n) = $0 { "\"\(n)B\"" } else { "null" } } ?? "null"),
            ("lost", "\(config.lostSpans)"), ("race_rate", "\(config.raceRate)"), ("cpus", "\(config.cpus)"),
            ("pfns", "\(config.pfns)"),
        ] + (config.concurrentRate > 0 ? [("concurrent_rate", "\(config.concurrentRate)")] : []))
        header(writer, config)

        let kernel = SimKernel(config: config, writer: writer, smallPages: small, thpFolios: thp)
        if let s = config.scenario { try Scenario.run(s, on: kernel) }
        if config.size != nil || config.scenario == nil {
            let limit = config.size ?? .lines(defaultLines)
            var workload = Workload(kernel: kernel)
            switch limit {
            case .lines(let n): workload.run { writer.lines >= n }
            case .bytes(let n): workload.run { writer.bytesProduced >= n }
            }
            if getenv("TRACEGEN_STATS") != nil {
                writeStandardError(workload.stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n")
            }
        }
        try writer.close()
        let lost = writer.spans.reduce(0) { $0 + $1.count }
        truth?.summary([
            ("lines", writer.lines), ("faults", truth?.faultCount ?? 0), ("races", truth?.races.count ?? 0),
            ("lost_spans", writer.spans.count), ("lost_events", lost),
        ])
        try truth?.close()
        return GenerationSummary(
            lines: writer.lines, bytes: writer.bytesOut, faults: writer.familyLines[Family.wp.rawValue],
            races: truth?.races.count ?? 0, lostSpans: writer.spans.count, lostEvents: lost, familyLines: writer.familyLines)
    }

    /// The metadata line tracecheck reads, then the `trace` file's header for that kernel
    /// (TraceFormats.md, Header lines).
    static func header(_ w: TraceWriter, _ c: GeneratorConfig) {
        w.header("# tracecheck: kernel=\(c.model.release) clock=\(c.clock.rawValue) capture=tracegen seed=\(c.seed)")
        w.header("# tracer: nop")
        w.header("#")
        let lines: [String]
        switch c.model {
        case .v5_8:
            lines = [
                "#                              _-----=> irqs-off",
                "#                             / _----=> need-resched",
                "#                            | / _---=> hardirq/softirq",
                "#                            || / _--=> preempt-depth",
                "#                            ||| /     delay",
                "#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION",
                "#              | |       |   ||||       |         |",
            ]
        case .v5_9:
            lines = [
                "#                                _-----=> irqs-off",
                "#                               / _----=> need-resched",
                "#                              | / _---=> hardirq/softirq",
                "#                              || / _--=> preempt-depth",
                "#                              ||| /     delay",
                "#           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION",
                "#              | |         |   ||||      |         |",
            ]
        case .v6_18:
            lines = [
                "#                                _-----=> irqs-off/BH-disabled",
                "#                               / _----=> need-resched",
                "#                              | / _---=> hardirq/softirq",
                "#                              || / _--=> preempt-depth",
                "#                              ||| / _-=> migrate-disable",
                "#                              |||| /     delay",
                "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
                "#              | |         |   |||||     |         |",
            ]
        }
        for l in lines { w.header(l) }
    }
}
