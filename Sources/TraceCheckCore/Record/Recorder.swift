/// `tracecheck record`: run one command under a capture engine and write a trace.
///
/// The engines live in `traces/capture/engines/<name>/` (a `probe` and a `run` executable,
/// see traces/capture/README.md). The recorder picks one, lets it trace the command into a
/// work directory, merges the engine's text files by timestamp under a metadata header, and
/// compresses the result.
public struct RecordOptions: Sendable {
    public var output: String
    public var duration: Double?
    public var command: [String]
    /// traces/capture; found next to the executable or the working directory when nil.
    public var captureDirectory: String?
    /// Force an engine by name instead of choosing.
    public var engine: String?
    public var level: Int32
    public var keepWorkdir: Bool

    public init(output: String = "capture.zst", duration: Double? = nil, command: [String],
                captureDirectory: String? = nil, engine: String? = nil, level: Int32 = 12, keepWorkdir: Bool = false) {
        self.output = output
        self.duration = duration
        self.command = command
        self.captureDirectory = captureDirectory
        self.engine = engine
        self.level = level
        self.keepWorkdir = keepWorkdir
    }
}

/// What a finished capture holds, for the summary line.
public struct CaptureCounts: Sendable, Equatable {
    public var lines = 0
    public var wpPage = 0
    public var mmFault = 0
    public var markers = 0
    public var outOfOrder = 0

    public init() {}

    mutating func count(_ line: ArraySlice<UInt8>) {
        lines += 1
        if line.containsToken(" wp_page: ") { wpPage += 1 }
        else if line.containsToken(" mm_fault: ") { mmFault += 1 }
        else if line.containsToken(" tracing_mark_write: ") { markers += 1 }
    }
}

public struct RecordSummary: Sendable {
    public var engine: String
    public var output: String
    public var counts: CaptureCounts
    /// Events the engine knows it lost (ring-buffer overruns, full BPF ring buffer).
    public var lost: Int
    /// Faults of the traced tasks the engine saw (all kinds, before filtering).
    public var faultsSeen: Int?
    public var commandStatus: Int32
    public var seconds: Double
    public var engineEnv: [String: String]
}

public enum Recorder {
    /// Where the engines are: an explicit directory, else `traces/capture` above the
    /// executable (a build tree inside the package) or above the working directory.
    public static func captureDirectory(explicit: String?) -> String? {
        if let explicit { return explicit }
        var starts: [String] = []
        if let exe = RecordSystem.executableDirectory() { starts.append(exe) }
        starts.append(RecordSystem.currentDirectory())
        for start in starts {
            var dir = start
            for _ in 0..<8 {
                let candidate = dir + "/traces/capture"
                if RecordSystem.exists(candidate + "/engines") { return candidate }
                guard let slash = dir.lastIndex(of: "/"), dir != "/" else { break }
                dir = slash == dir.startIndex ? "/" : String(dir[..<slash])
            }
        }
        return nil
    }

    /// Asks every installed engine whether it can run here.
    public static func probeEngines(in captureDirectory: String) -> [EngineProbe] {
        let root = captureDirectory + "/engines"
        return RecordSystem.listDirectory(root).compactMap { name -> EngineProbe? in
            let probe = root + "/" + name + "/probe"
            guard RecordSystem.isExecutable(probe), RecordSystem.isExecutable(root + "/" + name + "/run") else { return nil }
            do {
                let (status, output) = try RecordSystem.runCapturing([probe])
                return EngineProbe(name: name, usable: status == 0, reason: output)
            } catch {
                return EngineProbe(name: name, usable: false, reason: "\(error)")
            }
        }
    }

    /// `key=value` lines.
    public static func parseEnv(_ text: String) -> [String: String] {
        var env: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return env
    }

    /// Merges a work directory's `*.txt` files (sorted by name, so ties are stable) under the
    /// header into a zstd file.
    public static func writeCapture(workdir: String, header: String, to output: String, level: Int32) throws(RecordError) -> CaptureCounts {
        let names = RecordSystem.listDirectory(workdir).filter { $0.hasSuffix(".txt") }
        var sources: [CaptureMerge.Source] = []
        for name in names {
            guard let bytes = RecordSystem.readBytes(workdir + "/" + name) else { throw RecordError("cannot read \(workdir)/\(name)") }
            sources.append(CaptureMerge.Source(name: name, text: bytes))
        }
        let writer = try ZstdFileWriter(path: output, level: level)
        try writer.write(Array((header + "\n").utf8))
        var counts = CaptureCounts()
        counts.outOfOrder = sources.reduce(0) { $0 + $1.outOfOrder }
        let newline: [UInt8] = [UInt8(ascii: "\n")]
        do {
            try CaptureMerge.merge(sources) { line in
                counts.count(line)
                try writer.write(line)
                try writer.write(newline)
            }
        } catch let e as RecordError {
            throw e
        } catch {
            throw RecordError("\(error)")
        }
        try writer.finish()
        return counts
    }

    /// The whole recording. `progress` gets one line at a time for stderr.
    public static func record(_ options: RecordOptions, progress: (String) -> Void) throws(RecordError) -> RecordSummary {
        guard !options.command.isEmpty else { throw RecordError("name a command to trace after --") }
        guard let captureDir = captureDirectory(explicit: options.captureDirectory) else {
            throw RecordError("cannot find traces/capture (the engines); pass --capture-dir")
        }
        let facts = TracingCapabilities.probe()
        let engine: String
        if let forced = options.engine {
            engine = forced
        } else {
            switch EngineSelection.choose(facts, probes: probeEngines(in: captureDir)) {
            case .engine(let name): engine = name
            case .none(let why): throw RecordError(why)
            }
        }
        // Fail before tracing anything if the capture could not be written afterwards.
        let outputDir = options.output.contains("/") ? String(options.output[..<options.output.lastIndex(of: "/")!]) : "."
        guard RecordSystem.isWritableDirectory(outputDir.isEmpty ? "/" : outputDir) else {
            throw RecordError("cannot write \(options.output): \(outputDir) is not a writable directory")
        }
        let run = captureDir + "/engines/" + engine + "/run"
        guard RecordSystem.isExecutable(run) else { throw RecordError("no engine named \(engine) in \(captureDir)/engines") }
        guard let workdir = RecordSystem.makeTemporaryDirectory(prefix: "/tmp/tracecheck-record.") else {
            throw RecordError("cannot make a work directory in /tmp")
        }
        defer { if !options.keepWorkdir { RecordSystem.removeDirectory(workdir) } }
        progress("recording with the \(engine) engine (kernel \(facts.release)): \(options.command.joined(separator: " "))")

        var argv = [run, "--workdir", workdir]
        if let d = options.duration { argv += ["--duration", String(d)] }
        argv += ["--"] + options.command
        let started = RecordSystem.monotonicSeconds()
        RecordSystem.catchInterrupts()
        defer { RecordSystem.restoreInterrupts() }
        let pid = try RecordSystem.spawn(argv)
        let status = waitForEngine(pid, duration: options.duration, progress: progress)
        let seconds = RecordSystem.monotonicSeconds() - started

        let env = parseEnv(RecordSystem.readText(workdir + "/engine.env") ?? "")
        if status == 125 || env["engine"] == nil {
            throw RecordError("the \(engine) engine failed (status \(status)); nothing was written")
        }
        let header = CaptureMerge.header(kernel: facts.release, clock: env["clock"] ?? "mono", engine: env["engine"] ?? engine)
        let counts = try writeCapture(workdir: workdir, header: header, to: options.output, level: options.level)
        if options.keepWorkdir { progress("engine files kept in \(workdir)") }
        return RecordSummary(engine: engine, output: options.output, counts: counts,
                             lost: Int(env["lost"] ?? "") ?? 0, faultsSeen: Int(env["faults"] ?? ""),
                             commandStatus: status, seconds: seconds, engineEnv: env)
    }

    /// Waits for the engine. An interrupt is passed on once as SIGTERM (the engine then stops
    /// the command and restores its settings); an engine that overstays its duration by a
    /// minute gets SIGTERM, and SIGKILL 20 s later.
    static func waitForEngine(_ pid: Int32, duration: Double?, progress: (String) -> Void) -> Int32 {
        let start = RecordSystem.monotonicSeconds()
        var forwarded = false
        var termAt: Double?
        var killed = false
        var lastReport = start
        while true {
            if let status = RecordSystem.poll(pid) { return status }
            RecordSystem.sleep(milliseconds: 100)
            let now = RecordSystem.monotonicSeconds()
            if !forwarded && RecordSystem.interrupts.load(ordering: .relaxed) > 0 {
                forwarded = true
                progress("interrupted: stopping the command; the engine restores its settings")
                RecordSystem.signal(pid, 15)
            }
            if let d = duration, termAt == nil, now - start > d + 60 {
                progress("the engine did not stop \(Int(d)) s after the command's deadline; sending SIGTERM")
                RecordSystem.signal(pid, 15)
                termAt = now
            }
            if let t = termAt, !killed, now - t > 20 {
                progress("the engine still runs; SIGKILL (its tracefs instances may be left behind)")
                RecordSystem.signal(pid, 9)
                killed = true
            }
            if now - lastReport >= 10 {
                progress(String(format10s: Int(now - start)))
                lastReport = now
            }
        }
    }

    /// The summary line(s) for stderr.
    public static func describe(_ s: RecordSummary) -> String {
        var text = "wrote \(s.output): \(s.counts.lines) events (\(s.counts.wpPage) wp_page, \(s.counts.mmFault) mm_fault, \(s.counts.markers) markers)"
        text += ", lost \(s.lost)"
        if let f = s.faultsSeen { text += ", faults seen \(f)" }
        text += "; the command exited with \(s.commandStatus)"
        if s.counts.outOfOrder > 0 { text += "; \(s.counts.outOfOrder) lines were out of time order in their source file" }
        return text
    }
}

extension String {
    init(format10s seconds: Int) { self = "still recording (\(seconds) s)" }
}

extension ArraySlice where Element == UInt8 {
    /// Plain substring search, for summary counting (cold path).
    func containsToken(_ token: StaticString) -> Bool {
        let n = token.utf8CodeUnitCount
        guard count >= n else { return false }
        return token.withUTF8Buffer { t in
            var i = startIndex
            let last = endIndex - n
            while i <= last {
                if self[i] == t[0] {
                    var j = 1
                    while j < n && self[i + j] == t[j] { j += 1 }
                    if j == n { return true }
                }
                i += 1
            }
            return false
        }
    }
}
