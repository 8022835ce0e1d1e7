import Foundation
import Testing

// The kprobe capture engine (traces/capture/engines/kprobe/) is shell, awk and bpftrace. These
// tests run its pieces on inputs committed next to it: a BTF sample, the layouts of Debian's
// 5.10 and 6.1 kernels (read in the QEMU guests), and raw records bpftrace printed there.

let kprobeEngine = packageRoot.appendingPathComponent("traces/capture/engines/kprobe")
func kprobeFile(_ name: String) -> String { kprobeEngine.appendingPathComponent(name).path }

struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program with arguments and extra environment; stdout and stderr are read to the end.
func runTool(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws -> ToolRun {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ToolRun(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

func which(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// `NAME=VALUE` lines as a dictionary.
func assignments(_ text: String) -> [String: String] {
    var d: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 { d[String(parts[0])] = String(parts[1]) }
    }
    return d
}

func temporaryFile(_ contents: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tracecheck-kprobe-\(UUID().uuidString)").path
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

let awkPath = which("awk")

@Test(.enabled(if: awkPath != nil, "needs awk"))
func btfLayoutResolvesAnonymousMembersEnumsAndParameters() throws {
    let queries = try temporaryFile("""
        off ADDR vm_fault address
        off FLAGS vm_fault flags
        off ORIG_PMD vm_fault orig_pmd
        off PTE vm_fault pte
        off MISSING vm_fault no_such_member
        off NESTED holder inner.field
        off BITFIELD holder bits
        size SIZE vm_fault
        enum LOCKED PG_locked
        enum SWAPCACHE PG_swapcache
        enum EXCL PG_anon_exclusive
        nparams PARAMS do_huge_pmd_wp_page
        nparams NOFUNC no_such_function

        """)
    defer { try? FileManager.default.removeItem(atPath: queries) }
    let r = try runTool(awkPath!, ["-f", kprobeFile("btf-layout.awk"), queries, kprobeFile("testdata/btf-sample.raw")])
    #expect(r.status == 0)
    let v = assignments(r.stdout)
    // address sits 24 bytes into an anonymous const struct at offset 0; orig_pmd in an
    // anonymous union at 64; inner.field goes through a typedef.
    #expect(v["ADDR"] == "24")
    #expect(v["FLAGS"] == "40")
    #expect(v["ORIG_PMD"] == "64")
    #expect(v["PTE"] == "88")
    #expect(v["NESTED"] == "12")
    #expect(v["SIZE"] == "112")
    #expect(v["LOCKED"] == "0")
    #expect(v["SWAPCACHE"] == "10")
    #expect(v["PARAMS"] == "2")
    // What the kernel lacks is answered empty, never guessed; a bitfield has no byte offset.
    #expect(v["MISSING"] == "")
    #expect(v["BITFIELD"] == "")
    #expect(v["EXCL"] == "")
    #expect(v["NOFUNC"] == "")
    #expect(v.count == 13)
}

/// The layouts the engine read from the BTF of Debian's 5.10 and 6.1 kernels in QEMU.
let guestKernels = ["5.10", "6.1"]

func guestLayout(_ kernel: String) throws -> [String: String] {
    assignments(try String(contentsOfFile: kprobeFile("testdata/layout-\(kernel).env"), encoding: .utf8))
}

@Test(arguments: guestKernels)
func guestLayoutsMatchTheKernelsKnownFacts(_ kernel: String) throws {
    let v = try guestLayout(kernel)
    // Facts of both kernels (pahole in the guests, the Debian sources): struct page and the
    // vm_fault fields the probes read, and PG_anon_exclusive only from 5.19 on.
    #expect(v["PAGE_STRUCT_SIZE"] == "64")
    #expect(v["PAGE_MAPPING"] == "24")
    #expect(v["PAGE_MAPCOUNT"] == "48")
    #expect(v["PAGE_REFCOUNT"] == "52")
    #expect(v["VMF_ADDRESS"] == "24")
    #expect(v["LARGE_KIND"] == "page")
    if kernel == "5.10" {
        #expect(v["VMF_ORIG_PTE"] == "48")
        #expect(v["VMF_PTE"] == "72")
        #expect(v["VMF_FLAGS"] == "8")
        #expect(v["PG_ANON_EXCLUSIVE"] == "")
        #expect(v["HUGE_PMD_WP_NPARAMS"] == "2")
        #expect(v["PIN_AT"] == "144")
    } else {
        #expect(v["VMF_ORIG_PTE"] == "64")
        #expect(v["VMF_PTE"] == "88")
        #expect(v["VMF_FLAGS"] == "40")
        #expect(v["PG_ANON_EXCLUSIVE"] == "17")
        #expect(v["HUGE_PMD_WP_NPARAMS"] == "1")
        #expect(v["PIN_AT"] == "88")
    }
}

/// The generated bpftrace program for a guest layout, with stand-in symbol addresses.
func generatedProgram(_ kernel: String) throws -> ToolRun {
    var env = try guestLayout(kernel)
    env["VMEMMAP_BASE_SYM"] = "0xffffffff82a00000"
    env["ZERO_PFN_SYM"] = "0xffffffff82a00008"
    env["SWAP_INFO_SYM"] = "0xffffffff82a00010"
    env["FORK_FUNCTION"] = "kernel_clone"
    return try runTool("/bin/bash", [kprobeFile("gen-bpftrace")], environment: env)
}

@Test(arguments: guestKernels)
func generatedProgramUsesTheLayoutOfItsKernel(_ kernel: String) throws {
    let r = try generatedProgram(kernel)
    #expect(r.status == 0, "\(r.stderr)")
    let v = try guestLayout(kernel)
    #expect(r.stdout.contains("kprobe:do_wp_page /@traced[pid]/"))
    #expect(r.stdout.contains("*(uint64*)($vmf + \(v["VMF_ORIG_PTE"]!))"))
    // 5.10 passes the PMD as a second argument, 6.1 keeps it in the vm_fault.
    #expect(r.stdout.contains("$pmd = arg1;") == (kernel == "5.10"))
}

let bpftracePath = which("bpftrace")

@Test(.enabled(if: bpftracePath != nil && getuid() == 0, "needs bpftrace and root for its compile-only run (-d)"),
      arguments: guestKernels)
func generatedProgramCompilesWithBpftrace(_ kernel: String) throws {
    let program = try generatedProgram(kernel)
    let path = try temporaryFile(program.stdout)
    defer { try? FileManager.default.removeItem(atPath: path) }
    // -d parses, checks and compiles to BPF without loading it, so it works on kernels without
    // kprobes (the warnings about untraceable functions are expected there).
    let r = try runTool(bpftracePath!, ["-d", path, "1"])
    #expect(r.status == 0, "\(r.stderr.suffix(2000))")
    #expect(r.stdout.contains("define") || r.stderr.contains("define"), "no LLVM IR printed")
}

/// The calibration faults as bpftrace printed them in the guest, joined into wp_page lines.
func joinedCalibration(_ kernel: String, records: String? = nil) throws -> (lines: String, run: ToolRun) {
    let raw = try records.map { try temporaryFile($0) } ?? kprobeFile("testdata/bpftrace-\(kernel)-calibrate.raw")
    defer { if records != nil { try? FileManager.default.removeItem(atPath: raw) } }
    let r = try runTool("/bin/bash", [kprobeFile("join-records"), kprobeFile("testdata/layout-\(kernel).env"), raw, "bpftrace", "1"])
    return (r.stdout, r)
}

func checkCalibration(_ kernel: String, lines: String) throws -> ToolRun {
    let path = try temporaryFile(lines)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let exclusiveBit = try guestLayout(kernel)["PG_ANON_EXCLUSIVE"] ?? ""
    return try runTool("/bin/bash", [kprobeFile("check-calibration"), kprobeFile("testdata/calibrate-\(kernel).out"), path, exclusiveBit])
}

@Test(.enabled(if: awkPath != nil, "needs awk"), arguments: guestKernels)
func guestRecordsJoinIntoLinesThatPassTheCalibration(_ kernel: String) throws {
    let (lines, run) = try joinedCalibration(kernel)
    #expect(run.status == 0, "\(run.stderr)")
    let wp = lines.split(separator: "\n")
    #expect(!wp.isEmpty)
    // One line per E1 record, each with the agreed fields and an outcome.
    let raw = try String(contentsOfFile: kprobeFile("testdata/bpftrace-\(kernel)-calibrate.raw"), encoding: .utf8)
    #expect(wp.count == raw.split(separator: "\n").filter { $0.hasPrefix("E1 ") }.count)
    #expect(wp.allSatisfy { $0.contains(" wp_page: ") && $0.contains(" caller=") && $0.contains(" dt_kind=service") })
    #expect(wp.allSatisfy { $0.contains(" decision=copy ") || $0.contains(" decision=reuse ") })
    #expect(wp.contains { $0.contains(" anon_exclusive=") } == (kernel == "6.1"))
    let check = try checkCalibration(kernel, lines: lines)
    #expect(check.status == 0, "\(check.stderr)")
    // Every joined line is one fault for the checker, none malformed.
    let trace = try temporaryFile(lines)
    defer { try? FileManager.default.removeItem(atPath: trace) }
    let (result, faults) = runChecker(trace)
    #expect(faults.count == wp.count)
    #expect(result.stats.malformed == 0)
}

/// A wrong offset shows up as a wrong value; the self-check must refuse it. Here the cow
/// page's mapcount is misread (as if `_mapcount` were elsewhere), then its pfn.
@Test(.enabled(if: awkPath != nil, "needs awk"), arguments: guestKernels)
func calibrationRefusesMisreadRecords(_ kernel: String) throws {
    let raw = try String(contentsOfFile: kprobeFile("testdata/bpftrace-\(kernel)-calibrate.raw"), encoding: .utf8)
    let calibration = try String(contentsOfFile: kprobeFile("testdata/calibrate-\(kernel).out"), encoding: .utf8)
    let cowAddr = try #require(calibration.split(separator: "\n").first { $0.contains("kind=cow") }?
        .split(separator: " ").first { $0.hasPrefix("addr=") }?.dropFirst(5))
    let records = raw.split(separator: "\n").map(String.init)
    // The cow fault's key (thread and sequence) from its E2 record, which carries the address.
    let e2 = try #require(records.first { $0.hasPrefix("E2 ") && $0.split(separator: " ")[4] == cowAddr })
    let key = e2.split(separator: " ")[1...2].joined(separator: " ")

    let wrongMapcount = records.map { line -> String in
        guard line.hasPrefix("E3 \(key) ") else { return line }
        var f = line.split(separator: " ").map(String.init)
        f[4] = "5"       // mapcount_raw
        return f.joined(separator: " ")
    }.joined(separator: "\n") + "\n"
    let joined = try joinedCalibration(kernel, records: wrongMapcount)
    let refused = try checkCalibration(kernel, lines: joined.lines)
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("mapcount"))

    let wrongPfn = records.map { line -> String in
        guard line.hasPrefix("E2 \(key) ") else { return line }
        var f = line.split(separator: " ").map(String.init)
        f[3] = "0x1"     // pfn
        return f.joined(separator: " ")
    }.joined(separator: "\n") + "\n"
    let refusedPfn = try checkCalibration(kernel, lines: try joinedCalibration(kernel, records: wrongPfn).lines)
    #expect(refusedPfn.status == 1)
    #expect(refusedPfn.stderr.contains("pfn"))
}

/// The engine's tracefs mode (no bpftrace): the kprobe events the 5.10 guest recorded for the
/// calibration program, joined the same way.
@Test(.enabled(if: awkPath != nil, "needs awk"))
func tracefsEventsJoinIntoLinesThatPassTheCalibration() throws {
    let events = kprobeFile("testdata/kprobe-events-5.10-calibrate.raw")
    let join = try runTool("/bin/bash", [kprobeFile("join-records"), kprobeFile("testdata/layout-5.10.env"), events, "tracefs", "1"])
    #expect(join.status == 0, "\(join.stderr)")
    let lines = join.stdout.split(separator: "\n")
    #expect(lines.count > 10)
    // The return address at entry is the kretprobe trampoline; the return line names the caller.
    #expect(lines.allSatisfy { $0.contains(" caller=handle_mm_fault ") })
    #expect(lines.allSatisfy { $0.contains(" dt_kind=service") && !$0.contains(" anon_exclusive=") })
    let path = try temporaryFile(join.stdout)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let check = try runTool("/bin/bash", [kprobeFile("check-calibration"), kprobeFile("testdata/calibrate-5.10-tracefs.out"), path, ""])
    #expect(check.status == 0, "\(check.stderr)")

    // A misread mapcount must be refused: the cow fault's page state (the wp_page_ret after
    // its wp_enter) is changed to mapraw=4.
    let raw = try String(contentsOfFile: events, encoding: .utf8)
    let calibration = try String(contentsOfFile: kprobeFile("testdata/calibrate-5.10-tracefs.out"), encoding: .utf8)
    let cowLine = try #require(calibration.split(separator: "\n").first { $0.contains("kind=cow") })
    let cowAddr = try #require(cowLine.split(separator: " ").first { $0.hasPrefix("addr=") })
    var rawLines = raw.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let enter = try #require(rawLines.firstIndex { $0.contains(": wp_enter: ") && $0.contains(" \(cowAddr) ") })
    let state = try #require(rawLines[enter...].firstIndex { $0.contains(": wp_page_ret: ") })
    #expect(rawLines[state].contains(" mapraw=1 "))
    rawLines[state] = rawLines[state].replacingOccurrences(of: " mapraw=1 ", with: " mapraw=4 ")
    let mutated = rawLines.joined(separator: "\n")
    let mutatedEvents = try temporaryFile(mutated)
    defer { try? FileManager.default.removeItem(atPath: mutatedEvents) }
    let rejoined = try runTool("/bin/bash", [kprobeFile("join-records"), kprobeFile("testdata/layout-5.10.env"), mutatedEvents, "tracefs", "1"])
    let mutatedLines = try temporaryFile(rejoined.stdout)
    defer { try? FileManager.default.removeItem(atPath: mutatedLines) }
    let refused = try runTool("/bin/bash", [kprobeFile("check-calibration"), kprobeFile("testdata/calibrate-5.10-tracefs.out"), mutatedLines, ""])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("mapcount"))
}
