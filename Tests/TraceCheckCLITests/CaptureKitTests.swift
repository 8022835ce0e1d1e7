import Foundation
import Testing

/// The capture kit under traces/capture: the C engine's build, and real recordings. A build
/// needs clang, bpftool, libbpf-dev and the running kernel's BTF; a recording needs root and
/// is only made when TRACECHECK_CAPTURE_TESTS=1 asks for it (it traces the machine's kernel).
let captureDir = packageRoot.appendingPathComponent("traces/capture").path

func onPath(_ tool: String) -> Bool {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
        FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
    }
}

let canBuildEngine = onPath("clang") && onPath("bpftool") && onPath("make") && onPath("cc")
    && FileManager.default.fileExists(atPath: "/usr/include/bpf/libbpf.h")
    && FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux")
let captureTestsAsked = ProcessInfo.processInfo.environment["TRACECHECK_CAPTURE_TESTS"] == "1" && getuid() == 0

struct Exec {
    var status: Int32
    var stdout: String
    var stderr: String
}

func exec(_ path: String, _ args: [String], interruptAfter: Double? = nil) throws -> Exec {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    if let delay = interruptAfter {
        Thread.sleep(forTimeInterval: delay)
        p.interrupt()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Exec(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

func make(_ args: [String]) throws -> Exec { try exec("/usr/bin/make", ["-s", "-C", captureDir] + args) }

@Test(.enabled(if: canBuildEngine, "needs clang, bpftool, libbpf-dev and /sys/kernel/btf/vmlinux"))
func theTracepointEngineBuilds() throws {
    let build = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-engine-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: build) }
    let r = try make(["BUILD=\(build)", "\(build)/wpsnap"])
    #expect(r.status == 0, "\(r.stderr)" as Comment)
    #expect(FileManager.default.isExecutableFile(atPath: build + "/wpsnap"))
    // The skeleton embeds the BPF object compiled against this kernel's BTF.
    #expect(FileManager.default.fileExists(atPath: build + "/wpsnap.skel.h"))
    let usage = try exec(build + "/wpsnap", [])
    #expect(usage.status == 125)
    #expect(usage.stderr.contains("usage: wpsnap"))
}

@Test(.enabled(if: onPath("cc"), "needs a C compiler"))
func theWorkloadsBuild() throws {
    let r = try make(["workloads"])
    #expect(r.status == 0, "\(r.stderr)" as Comment)
    for name in ["d1_gup_pipe", "d2_lru_batch", "d3_swap", "d7_ksm", "d10_page_lock", "d11_thp", "d13_fork_shared"] {
        #expect(FileManager.default.isExecutableFile(atPath: "\(captureDir)/workloads/\(name)"), "\(name)" as Comment)
    }
}

@Test func theEngineProbesAnswerWithoutChangingAnything() throws {
    let r = try exec(captureDir + "/engines/tpbtf/probe", [])
    if r.status == 0 {
        #expect(r.stdout.isEmpty)
    } else {
        #expect(r.status == 1)
        // One sentence saying what is missing.
        #expect(r.stdout.split(separator: "\n").count == 1)
        #expect(r.stdout.hasSuffix(".\n"))
    }
}

/// Instances a recording left behind; an unreadable directory fails the test rather than
/// passing for "none left".
private func leftoverInstances() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: "/sys/kernel/tracing/instances").filter { $0.hasPrefix("tracecheck_") }
}

/// One recording at a time: each checks that it left no tracefs instance behind.
@Suite(.serialized, .enabled(if: captureTestsAsked && canBuildEngine, "set TRACECHECK_CAPTURE_TESTS=1 and run as root to trace this kernel"))
struct RecordingTests {
@Test func recordAWorkloadAndCheckIt() throws {
    #expect(try make(["build/wpsnap", "workloads"]).status == 0)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-rec-\(getpid()).zst").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try exec(try binary().path, ["record", "-o", out, "--duration", "60", "--", captureDir + "/workloads/d13_fork_shared"])
    #expect(r.status == 0, "\(r.stderr)" as Comment)
    #expect(r.stderr.contains("wrote \(out)"))
    #expect(r.stdout.contains("usercheck: scenario=d13"))
    #expect(try leftoverInstances().isEmpty)
    let text = String(decoding: try zstdDecompress(out), as: UTF8.self)
    let lines = text.split(separator: "\n")
    #expect(lines.first?.hasPrefix("# tracecheck: kernel=") == true)
    #expect(lines.first?.hasSuffix(" capture=tpbtf") == true || lines.first?.hasSuffix(" capture=kprobe") == true)
    #expect(lines.contains { $0.contains(" wp_page: ") })
    #expect(lines.contains { $0.contains("tracing_mark_write: usercheck: scenario=d13") })
    let check = try run([out])
    #expect(check.status == 0 || check.status == 1)
    #expect(check.stdout.contains(" 0 malformed"))
}

@Test func anInterruptedRecordingStillWritesAndCleansUp() throws {
    #expect(try make(["build/wpsnap"]).status == 0)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-int-\(getpid()).zst").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try exec(try binary().path, ["record", "-o", out, "--", "/bin/sleep", "30"], interruptAfter: 3)
    // sleep died of the forwarded SIGTERM (128 + 15); the capture was still written.
    #expect(r.status == 143, "\(r.stderr)" as Comment)
    #expect(r.stderr.contains("interrupted"))
    #expect(FileManager.default.fileExists(atPath: out))
    #expect(try leftoverInstances().isEmpty)
}

@Test func aDurationStopsTheCommand() throws {
    #expect(try make(["build/wpsnap"]).status == 0)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-dur-\(getpid()).zst").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try exec(try binary().path, ["record", "-o", out, "--duration", "1", "--", "/bin/sleep", "60"])
    #expect(r.status == 143, "\(r.stderr)" as Comment)
    #expect(FileManager.default.fileExists(atPath: out))
    #expect(try leftoverInstances().isEmpty)
}
}
