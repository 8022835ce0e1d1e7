import TraceCheckCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real binary on an input (a smaller sample: a process per input is slow) and
/// checks its exit (no signal, status 0/1/2) and output.
enum Spawn {
    static func check(_ binary: String, _ paths: [String], _ options: CheckOptions, _ format: OutputFormat, dir: String) -> [String] {
        let outPath = "\(dir)/spawn-stdout", errPath = "\(dir)/spawn-stderr"
        let args = [binary, "--format", format.rawValue] + options.arguments + paths
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, binary, &actions, nil, &argv, environ) == 0 else {
            return ["cannot spawn \(binary)"]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        if signal != 0 { return ["the binary died of signal \(signal)"] }
        let code = (status >> 8) & 0xFF
        var failures: [String] = []
        if !(0...2).contains(code) { failures.append("the binary exited \(code)") }
        failures += OutputCheck.problems(read(outPath), format: format).map { "binary: " + $0 }
        failures += read(errPath).withUnsafeBytes { OutputCheck.stderrProblems($0) }.map { "binary: " + $0 }
        return failures
    }

    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            out += buf.prefix(n)
        }
        return out
    }
}
