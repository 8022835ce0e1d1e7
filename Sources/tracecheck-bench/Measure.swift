import Foundation

/// Running commands (Foundation is fine here: none of this is on tracecheck's hot path).
enum Shell {
    /// Runs a command with inherited stdout/stderr; returns its exit status.
    @discardableResult
    static func run(_ exe: String, _ args: [String], cwd: URL? = nil) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Runs a command and returns its stdout.
    static func capture(_ exe: String, _ args: [String], cwd: URL? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// One timed run: wall clock measured here, peak RSS from GNU time's `-v` report.
struct Sample {
    var seconds: Double
    var maxRSSKiB: Int
    var status: Int32
}

/// A command under test: a shell command line whose stdout goes to /dev/null.
struct Workload {
    var name: String
    var command: String
    /// Exit statuses that mean success (tracecheck exits 1 when it finds divergences).
    var okStatuses: Set<Int32> = [0]

    /// Runs `/usr/bin/time -v -o STATS sh -c COMMAND > /dev/null` once.
    /// GNU time reports the largest RSS among the waited-for processes of the command
    /// (for a pipeline: the larger of its members). The wall clock is taken here, around
    /// `posix_spawn` and `waitpid` (Foundation's `Process.waitUntilExit` polls and adds ~50 ms).
    func sample(statsFile: URL) throws -> Sample {
        let args = ["/usr/bin/time", "-v", "-o", statsFile.path, "/bin/sh", "-c", "exec " + command + " > /dev/null"]
        let start = DispatchTime.now().uptimeNanoseconds
        let exit = try spawnAndWait(args)
        let end = DispatchTime.now().uptimeNanoseconds
        let stats = (try? String(contentsOf: statsFile, encoding: .utf8)) ?? ""
        var rss = 0
        var status = exit
        for line in stats.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("Maximum resident set size (kbytes):") {
                rss = Int(t.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) ?? 0
            } else if t.hasPrefix("Exit status:") {
                status = Int32(t.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) ?? status
            }
        }
        guard okStatuses.contains(status) else {
            throw BenchError("\(name): exit status \(status) for `\(command)`")
        }
        return Sample(seconds: Double(end - start) / 1e9, maxRSSKiB: rss, status: status)
    }
}

/// `posix_spawn` of `args[0]` with stdout on /dev/null; returns the exit status.
func spawnAndWait(_ args: [String]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    var pid = pid_t()
    let r = posix_spawn(&pid, args[0], &actions, nil, &cargs, environ)
    guard r == 0 else { throw BenchError("cannot run \(args[0]): \(String(cString: strerror(r)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { throw BenchError("waitpid failed") }
    }
    // WIFEXITED / WEXITSTATUS
    return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
}

/// Median and spread of several samples.
struct Summary {
    var name: String
    var command: String
    var samples: [Sample]

    var seconds: Double { median(samples.map(\.seconds)) }
    var minSeconds: Double { samples.map(\.seconds).min() ?? 0 }
    var maxSeconds: Double { samples.map(\.seconds).max() ?? 0 }
    var maxRSSKiB: Int { samples.map(\.maxRSSKiB).max() ?? 0 }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// `'path'` quoted for /bin/sh.
func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
