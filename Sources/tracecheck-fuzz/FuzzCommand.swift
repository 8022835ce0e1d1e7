import ArgumentParser
import TraceCheckCore

#if canImport(Glibc)
import Glibc
#endif

/// A mutation fuzzer for tracecheck: hostile inputs built from the repository's traces,
/// run through the checker in-process (`CommandRun.check`, what the command runs), and now and
/// then through the real binary. Every execution must end with exit status 0, 1 or 2, valid
/// JSON (`json`, and every `jsonl` line), and a text report and stderr free of raw control bytes.
///
///     swift run -c release tracecheck-fuzz --execs 1000000
///
/// The input under test is always written to `<dir>/input-N` before it runs: if the harness
/// dies (a trap in the checker), that file and the printed seed reproduce it.
@main
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracecheck-fuzz",
        abstract: "Mutation fuzzing of tracecheck: no crash, exit 0/1/2, valid JSON, escaped text.")

    @Option(help: "Executions (one input through one output format each).")
    var execs = 100_000

    @Option(help: "Seed of the input generator.")
    var seed: UInt64 = 1

    @Option(help: "Directory of seed traces (plain or .zst), searched recursively.")
    var corpus = "traces"

    @Option(help: "Where inputs and failures are written.")
    var dir = "/dev/shm/tracecheck-fuzz"

    @Option(help: "Also run the tracecheck binary on every Nth input (0: never).")
    var spawnEvery = 200

    @Option(help: "The tracecheck binary for --spawn-every (default: next to this one).")
    var binary: String?

    @Option(help: "Processes to share the executions (seeds seed, seed+1, …; directories dir/job-K).")
    var jobs = 1

    mutating func run() throws {
        _ = mkdir(dir, 0o755)
        if jobs > 1 { return try runJobs() }
        let seeds = try loadSeeds(corpus)
        guard !seeds.isEmpty else { throw ValidationError("no seed traces under \(corpus)") }
        let bin = binary ?? Self.siblingBinary()
        print("tracecheck-fuzz: \(seeds.count) seed traces, seed \(seed), \(execs) executions; inputs under \(dir); binary \(bin)")
        var mutator = Mutator(seeds: seeds, rng: FuzzRandom(state: seed))
        var optionRng = FuzzRandom(state: seed ^ 0x5EED)
        var stats = Stats()
        let out = ByteOutput(capacity: 1 << 16)
        let err = ByteOutput(capacity: 1 << 12)
        let clock = Clock()
        for n in 0..<execs {
            let files = mutator.rng.chance(10) ? 2 : 1
            var paths: [String] = []
            for k in 0..<files {
                let path = "\(dir)/input-\(k)"
                try write(mutator.input(), to: path)
                paths.append(path)
            }
            let options = randomOptions(&optionRng, paths: paths)
            let format = OutputFormat.allCases[n % 3]
            var failures: [String] = []
            let status = runInProcess(paths, options, format, out: out, err: err, failures: &failures)
            stats.count(status)
            if n % 16 == 0 {
                // The three formats agree on the exit status.
                for other in OutputFormat.allCases where other != format {
                    let s = runInProcess(paths, options, other, out: out, err: err, failures: &failures)
                    if s != status { failures.append("\(format) exits \(status) but \(other) exits \(s)") }
                }
            }
            if spawnEvery > 0, n % spawnEvery == 0 {
                stats.spawned += 1
                failures += Spawn.check(bin, paths, options, format, dir: dir)
            }
            if !failures.isEmpty {
                stats.failures += 1
                let saved = "\(dir)/failure-\(n)"
                for (k, p) in paths.enumerated() { _ = rename(p, saved + "-\(k)") }
                print("FAIL exec \(n) (\(format), \(options.describe)): \(failures.joined(separator: "; ")); input saved as \(saved)-*")
                fflush(nil)
            }
            if (n + 1) % 10_000 == 0 || n + 1 == execs {
                print("\(n + 1) executions, \(Int(Double(n + 1) / clock.seconds)) per second; exits \(stats.exits); spawned \(stats.spawned); failures \(stats.failures)")
                fflush(nil)
            }
        }
        print("done: \(execs) executions (\(stats.spawned) through the binary), \(stats.failures) failures, \(Int(clock.seconds)) s")
        if stats.failures > 0 { throw ExitCode(1) }
    }

    /// Runs `jobs` copies of this harness, each on its share of the executions with its own
    /// seed and directory, and fails if any of them does.
    func runJobs() throws {
        let me = Self.ownPath()
        var pids: [pid_t] = []
        for k in 0..<jobs {
            let share = execs / jobs + (k < execs % jobs ? 1 : 0)
            var args = [me, "--execs", String(share), "--seed", String(seed &+ UInt64(k)), "--corpus", corpus,
                        "--dir", "\(dir)/job-\(k)", "--spawn-every", String(spawnEvery)]
            if let binary { args += ["--binary", binary] }
            var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
            defer { for p in argv { free(p) } }
            var pid: pid_t = 0
            guard posix_spawn(&pid, me, nil, nil, &argv, environ) == 0 else { throw ValidationError("cannot start \(me)") }
            pids.append(pid)
        }
        var failed = 0
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            if status != 0 { failed += 1 }
        }
        print("all jobs: \(execs) executions in \(jobs) processes; \(failed) processes reported failures or died")
        if failed > 0 { throw ExitCode(1) }
    }

    struct Stats {
        var exits = [0, 0, 0]
        var spawned = 0
        var failures = 0
        mutating func count(_ s: Int32) { if (0...2).contains(s) { exits[Int(s)] += 1 } }
    }

    /// Runs the checker as the command does and checks what it wrote.
    func runInProcess(
        _ paths: [String], _ options: CheckOptions, _ format: OutputFormat,
        out: ByteOutput, err: ByteOutput, failures: inout [String]
    ) -> Int32 {
        var checked = OutputCheck(format: format)
        out.removeAll(); err.removeAll()
        let status = CommandRun.check(paths, options: options, format: format, version: "fuzz", out: out, err: err) { o in
            checked.feed(o.bytes)
            o.removeAll()
        }
        failures += checked.finish()
        failures += OutputCheck.stderrProblems(err.bytes)
        if !(0...2).contains(status) { failures.append("exit status \(status)") }
        if format != .text, !checked.summaryStatus(is: status) { failures.append("summary exit_status differs from \(status)") }
        return status
    }

    func randomOptions(_ rng: inout FuzzRandom, paths: [String]) -> CheckOptions {
        var o = CheckOptions()
        o.kernel = rng.pick([nil, nil, "5.8.18", "6.18.44", "5.19.0", "junk\u{1B}"])
        o.models = rng.chance(3) ? KernelModel.allCases : nil
        if rng.chance(8) { o.explainPfn = UInt64(0x10 + rng.below(8)) }
        if rng.chance(16) { o.pid = Int32(rng.below(5)) }
        if rng.chance(16) { o.comm = "a" }
        if rng.chance(8) { o.assumptions = [Assumption.allCases[rng.below(Assumption.allCases.count)]] }
        o.pipeline = .off
        return o
    }

    func loadSeeds(_ root: String) throws -> [[[UInt8]]] {
        var seeds: [[[UInt8]]] = []
        for path in Self.files(under: root) where path.hasSuffix(".txt") || path.hasSuffix(".zst") {
            var lines: [[UInt8]] = []
            var splitter = LineSplitter(source: try openByteSource(path: path))
            try? splitter.forEachLine { line, _, _ in
                if lines.count < 5000 { lines.append(Array(line)) }
            }
            if !lines.isEmpty { seeds.append(lines) }
        }
        return seeds
    }

    static func files(under root: String) -> [String] {
        guard let d = opendir(root) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            let path = root + "/" + name
            if e.pointee.d_type == UInt8(DT_DIR) { out += files(under: path) } else { out.append(path) }
        }
        return out.sorted()
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ValidationError("cannot write \(path)") }
        defer { close(fd) }
        var off = 0
        bytes.withUnsafeBytes { b in
            while off < b.count {
                let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    static func ownPath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return "tracecheck-fuzz" }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func siblingBinary() -> String {
        ownPath().replacingLastComponent(with: "tracecheck")
    }
}

struct Clock {
    let start = Clock.now()
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    var seconds: Double { max(Clock.now() - start, 1e-9) }
}

extension String {
    func replacingLastComponent(with name: String) -> String {
        guard let slash = lastIndex(of: "/") else { return name }
        return String(self[...slash]) + name
    }
}

extension CheckOptions {
    var describe: String {
        var parts: [String] = []
        if let k = kernel { parts.append("--kernel \(k.debugDescription)") }
        if models != nil { parts.append("--model all") }
        if let p = explainPfn { parts.append("--explain 0x\(String(p, radix: 16))") }
        if let p = pid { parts.append("--pid \(p)") }
        if let c = comm { parts.append("--comm \(c)") }
        for a in assumptions { parts.append("--assume \(a.rawValue)") }
        parts.append("--pipeline \(pipeline.rawValue)")
        return parts.joined(separator: " ")
    }

    var arguments: [String] {
        var a: [String] = []
        if let k = kernel { a += ["--kernel", k] }
        if models != nil { a += ["--model", "all"] }
        if let p = explainPfn { a += ["--explain", "0x" + String(p, radix: 16)] }
        if let p = pid { a += ["--pid", String(p)] }
        if let c = comm { a += ["--comm", c] }
        for x in assumptions { a += ["--assume", x.rawValue] }
        a += ["--pipeline", pipeline.rawValue]
        return a
    }
}

/// Checks one output as it streams out.
struct OutputCheck {
    let format: OutputFormat
    var all: [UInt8] = []

    init(format: OutputFormat) { self.format = format }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) { all += bytes }

    func finish() -> [String] {
        OutputCheck.problems(all, format: format)
    }

    static func problems(_ all: [UInt8], format: OutputFormat) -> [String] {
        var failures: [String] = []
        all.withUnsafeBytes { b in
            switch format {
            case .json:
                if let p = JSONCheck.problem(b) { failures.append("invalid JSON: \(p)") }
            case .jsonl:
                var start = 0
                var lineNumber = 0
                for i in 0..<b.count where b[i] == 0x0A {
                    lineNumber += 1
                    if let p = JSONCheck.problem(UnsafeRawBufferPointer(rebasing: b[start..<i])) {
                        failures.append("invalid JSON on output line \(lineNumber): \(p)")
                        break
                    }
                    start = i + 1
                }
                if start != b.count { failures.append("jsonl output does not end with a newline") }
            case .text:
                if let i = b.firstIndex(where: { $0 < 0x20 && $0 != 0x0A }) {
                    failures.append("raw control byte 0x\(String(b[i], radix: 16)) in the text report at byte \(i)")
                }
            }
        }
        return failures
    }

    static func stderrProblems(_ b: UnsafeRawBufferPointer) -> [String] {
        if let i = b.firstIndex(where: { $0 < 0x20 && $0 != 0x0A }) {
            return ["raw control byte 0x\(String(b[i], radix: 16)) on stderr"]
        }
        return []
    }

    /// The summary (last object) carries the same exit status.
    func summaryStatus(is status: Int32) -> Bool {
        let text = String(decoding: all.suffix(200), as: UTF8.self)
        return text.contains("\"exit_status\":\(status)}")
    }
}
