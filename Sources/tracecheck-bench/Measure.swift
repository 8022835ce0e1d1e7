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
    /// (for a pipeline: the larger of its members).
    func sample(statsFile: URL) throws -> Sample {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-v", "-o", statsFile.path, "/bin/sh", "-c", "exec " + command + " > /dev/null"]
        p.standardOutput = FileHandle.nullDevice
        let start = DispatchTime.now().uptimeNanoseconds
        try p.run()
        p.waitUntilExit()
        let end = DispatchTime.now().uptimeNanoseconds
        let stats = (try? String(contentsOf: statsFile, encoding: .utf8)) ?? ""
        var rss = 0
        var status = p.terminationStatus
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
