import ArgumentParser
import Foundation
import TraceCheckCore

/// Measures tracecheck against the floor (`zstd -dc`) and a line-counting baseline
/// (`zstd -dc | mawk`) on the same seeded capture, in one run.
///
///     swift run -c release tracecheck-bench                 # 1 GB capture, 5 runs each
///     swift run -c release tracecheck-bench --all           # + 4 GB capture, + 1 000 000 pfns
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracecheck-bench",
        abstract: "Throughput and peak memory of tracecheck against zstd -dc and zstd -dc | mawk.")

    @Option(name: .customLong("size"), help: "Decompressed capture size (repeatable): 1GB, 4GB, 200MB…")
    var sizes: [String] = []

    @Option(help: "Timed runs of each command (the median is reported).")
    var runs = 5

    @Option(help: "Distinct pfns in the capture.")
    var pfns = 100_000

    @Option(help: "Generator seed.")
    var seed: UInt64 = 1

    @Flag(help: "Also measure bytes per tracked page with a 1 000 000-pfn capture of the first size.")
    var pageCost = false

    @Flag(help: "The README table: 1GB and 4GB captures, and the 1 000 000-pfn page cost.")
    var all = false

    @Flag(help: "Skip the debug build of tracecheck (what `swift run tracecheck` runs).")
    var noDebug = false

    @Flag(help: "Skip the `zstd -dc | mawk` baseline.")
    var noMawk = false

    /// `noMawk`, or mawk is not installed.
    var skipMawk = false

    @Flag(help: "Do not build tracecheck first (use the binaries already in .build).")
    var noBuild = false

    @Flag(help: "Only generate (or find) the captures and print their paths (for callgrind runs).")
    var generateOnly = false


    func validate() throws {
        for s in sizes where parseSize(s) == nil { throw ValidationError("cannot read size '\(s)'") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    mutating func run() throws {
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) else {
            throw BenchError("run from the package root (where Package.swift is)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw BenchError("GNU time is needed for peak RSS: sudo apt-get install -y time")
        }
        guard (try? Shell.capture("/bin/sh", ["-c", "command -v zstd"]))?.isEmpty == false else {
            throw BenchError("the zstd command is needed: sudo apt-get install -y zstd")
        }
        var skipMawk = noMawk
        if !skipMawk, (try? Shell.capture("/bin/sh", ["-c", "command -v mawk"]))?.isEmpty != false {
            log("mawk not found (sudo apt-get install -y mawk): its rows are left out")
            skipMawk = true
        }
        self.skipMawk = skipMawk
        var sizeList = sizes.compactMap(parseSize)
        if sizeList.isEmpty { sizeList = all ? [1_000_000_000, 4_000_000_000] : [1_000_000_000] }
        let measurePageCost = pageCost || all

        if generateOnly {
            for size in sizeList {
                let spec = BenchInputs.Spec(bytes: size, pfns: pfns, seed: seed)
                print(try BenchInputs.make(spec, root: root, log: log).path)
            }
            return
        }
        let release = try binary(root, configuration: "release")
        let debug = noDebug ? nil : try binary(root, configuration: "debug")
        let stats = root.appendingPathComponent(".build-bench/time-v.txt")
        try FileManager.default.createDirectory(at: stats.deletingLastPathComponent(), withIntermediateDirectories: true)

        log("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; \(try Shell.capture("/usr/bin/env", ["zstd", "--version"]).trimmingCharacters(in: .whitespacesAndNewlines))")
        var report: [String] = []
        var firstRun: (bytes: Int, rssKiB: Int, pages: Int)?
        for size in sizeList {
            let spec = BenchInputs.Spec(bytes: size, pfns: pfns, seed: seed)
            let file = try BenchInputs.make(spec, root: root, log: log)
            let result = try measure(file: file, release: release, debug: debug, stats: stats)
            report.append(result.table)
            if firstRun == nil { firstRun = (result.bytes, result.releaseRSS, result.pages) }
        }
        if measurePageCost, let base = firstRun {
            let spec = BenchInputs.Spec(bytes: base.bytes >= 1_000_000_000 ? 1_000_000_000 : base.bytes, pfns: 1_000_000, seed: seed)
            let file = try BenchInputs.make(spec, root: root, log: log)
            let big = try pageCost(file: file, release: release, stats: stats)
            let smallFile = try BenchInputs.make(BenchInputs.Spec(bytes: spec.bytes, pfns: pfns, seed: seed), root: root, log: log)
            let small = try pageCost(file: smallFile, release: release, stats: stats)
            let perPage = Double(big.rssKiB - small.rssKiB) * 1024 / Double(max(1, big.pages - small.pages))
            let direct = PageTable.measuredBytesPerPage(pages: 1_000_000)
            report.append("""
                Page cost (\(formatSize(spec.bytes)) captures, median peak RSS of \(runs) runs):
                  \(pfns) pfns:    \(small.pages) pages tracked, peak RSS \(mib(small.rssKiB))
                  1000000 pfns:  \(big.pages) pages tracked, peak RSS \(mib(big.rssKiB))
                  → \(String(format: "%.0f", perPage)) bytes per tracked page (RSS difference / page difference)
                  → page table alone: \(String(format: "%.0f", direct.average)) bytes per page at 1 000 000 pages \
                (\(String(format: "%.0f", direct.peak)) at the peak of its last growth)

                """)
        }
        print("")
        for r in report { print(r) }
    }

    struct Result {
        var table: String
        var bytes: Int
        var releaseRSS: Int
        var pages: Int
    }

    func measure(file: URL, release: URL, debug: URL?, stats: URL) throws -> Result {
        let bytes = try BenchInputs.decompressedSize(file)
        let f = shellQuote(file.path)
        var workloads = [Workload(name: "zstd -dc > /dev/null", command: "zstd -dc \(f)")]
        if !skipMawk {
            workloads.append(Workload(name: "zstd -dc | mawk '{n++} END {print n}'", command: "zstd -dc \(f) | mawk '{n++} END {print n}'"))
            // mawk splits fields only when asked: `{n++}` runs at the speed of decompression.
            // The field-splitting variant is what "mawk field splitting" costs.
            workloads.append(Workload(name: "zstd -dc | mawk '{n+=NF} END {print n}'", command: "zstd -dc \(f) | mawk '{n+=NF} END {print n}'"))
        }
        workloads.append(Workload(name: "tracecheck --format jsonl (release)", command: "\(shellQuote(release.path)) --format jsonl \(f)", okStatuses: [0, 1]))
        if let debug {
            workloads.append(Workload(name: "tracecheck --format jsonl (debug, as `swift run`)", command: "\(shellQuote(debug.path)) --format jsonl \(f)", okStatuses: [0, 1]))
        }
        // What the capture holds, from tracecheck's own summary.
        let summary = try lastLine(of: "\(shellQuote(release.path)) --format jsonl \(f) | tail -n 1")
        log("\(file.lastPathComponent): \(bytes) bytes decompressed; summary: \(summary.prefix(240))…")
        log("warming the page cache…")
        _ = try Shell.run("/bin/sh", ["-c", "cat \(f) > /dev/null"])

        var samples = Array(repeating: [Sample](), count: workloads.count)
        for round in 1...runs {
            // Interleaved rounds: drift in machine speed hits every command alike.
            for (i, w) in workloads.enumerated() {
                let s = try w.sample(statsFile: stats)
                samples[i].append(s)
                log(String(format: "run %d/%d  %-52@ %7.3f s  %6.1f MiB", round, runs, w.name as NSString, s.seconds, Double(s.maxRSSKiB) / 1024))
            }
        }
        let summaries = zip(workloads, samples).map { Summary(name: $0.name, command: $0.command, samples: $1) }
        let floor = summaries[0].seconds
        var t = "Capture: \(file.lastPathComponent), \(String(format: "%.2f", Double(bytes) / 1e9)) GB decompressed, "
        t += "\(String(format: "%.0f", Double(try fileSize(file)) / 1e6)) MB compressed; median of \(runs) runs\n\n"
        t += "| command | median s (min–max) | MB/s | × zstd -dc | peak RSS |\n"
        t += "|---|---:|---:|---:|---:|\n"
        for s in summaries {
            t += String(format: "| `%@` | %.2f (%.2f–%.2f) | %.0f | %.2f× | %@ |\n",
                        s.name.replacingOccurrences(of: "|", with: "\\|") as NSString, s.seconds, s.minSeconds, s.maxSeconds, Double(bytes) / 1e6 / s.seconds,
                        s.seconds / floor, mib(s.maxRSSKiB) as NSString)
        }
        if let tc = summaries.first(where: { $0.name.contains("release") }) {
            t += "\n"
            if let mawk = summaries.first(where: { $0.name.contains("{n++}") }) {
                t += String(format: "tracecheck (release) vs the mawk line count: %.2f× as fast", mawk.seconds / tc.seconds)
            }
            if let nf = summaries.first(where: { $0.name.contains("NF") }) {
                t += String(format: "; vs mawk field splitting: %.2f× as fast", nf.seconds / tc.seconds)
            }
            if let dbg = summaries.first(where: { $0.name.contains("debug") }) {
                t += String(format: "; debug/release = %.2f×", dbg.seconds / tc.seconds)
            }
            t += "\n"
        }
        let pages = pagesTracked(summary)
        let rss = summaries.first(where: { $0.name.contains("release") })?.maxRSSKiB ?? 0
        return Result(table: t, bytes: bytes, releaseRSS: rss, pages: pages)
    }

    func pageCost(file: URL, release: URL, stats: URL) throws -> (rssKiB: Int, pages: Int) {
        let f = shellQuote(file.path)
        let summary = try lastLine(of: "\(shellQuote(release.path)) --format jsonl \(f) | tail -n 1")
        let w = Workload(name: "tracecheck", command: "\(shellQuote(release.path)) --format jsonl \(f)", okStatuses: [0, 1])
        var rss: [Double] = []
        for _ in 1...runs { rss.append(Double(try w.sample(statsFile: stats).maxRSSKiB)) }
        log("\(file.lastPathComponent): peak RSS \(rss.map { mib(Int($0)) })")
        return (Int(median(rss)), pagesTracked(summary))
    }

    func pagesTracked(_ summaryLine: String) -> Int {
        guard let data = summaryLine.data(using: .utf8),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return 0 }
        return o["pages"] as? Int ?? 0
    }

    func lastLine(of command: String) throws -> String {
        try Shell.capture("/bin/sh", ["-c", command]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func fileSize(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    }

    /// Builds the tracecheck product in `configuration` and returns its path.
    func binary(_ root: URL, configuration: String) throws -> URL {
        let args = ["build", "-c", configuration, "--product", "tracecheck"]
        if !noBuild {
            log("swift \(args.joined(separator: " "))")
            let status = try Shell.run("/usr/bin/env", ["swift"] + args, cwd: root)
            guard status == 0 else { throw BenchError("swift build -c \(configuration) failed") }
        }
        let bin = try Shell.capture("/usr/bin/env", ["swift", "build", "-c", configuration, "--show-bin-path"], cwd: root)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return URL(fileURLWithPath: bin).appendingPathComponent("tracecheck")
    }

    func log(_ s: String) {
        FileHandle.standardError.write(Data(("bench: " + s + "\n").utf8))
    }
}

func mib(_ kib: Int) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }
