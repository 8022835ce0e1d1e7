// The one seam around the C calls `tracecheck record` makes: files and directories,
// processes and signals, and libzstd's streaming encoder.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CZstd
import Synchronization

enum RecordSystem {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    static func isRoot() -> Bool { geteuid() == 0 }

    static func isWritableDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR && access(path, W_OK) == 0
    }

    static func kernelRelease() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func makeTemporaryDirectory(prefix: String) -> String? {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buf in mkdtemp(buf.baseAddress!) != nil }
        return made ? cString(template) : nil
    }

    /// Removes a directory the recorder made, and the plain files in it.
    static func removeDirectory(_ path: String) {
        for name in listDirectory(path) { unlink(path + "/" + name) }
        rmdir(path)
    }

    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return "." }
        return cString(buf)
    }

    /// The directory of the running executable (/proc/self/exe).
    static func executableDirectory() -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        let path = cString(buf)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }

    static func cString(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func errorText(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s)
    }

    /// posix_spawn with the given argv; stdout goes to `stdoutFd` when given.
    static func spawn(_ argv: [String], stdoutFd: Int32? = nil) throws(RecordError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let fd = stdoutFd { posix_spawn_file_actions_adddup2(&actions, fd, 1) }
        // The engine gets a clean signal state whatever ours is (a caller may have blocked
        // or ignored signals): its clean-up depends on receiving SIGINT and SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = cArgs.withUnsafeBufferPointer { args in
            posix_spawn(&pid, argv[0], &actions, &attributes, UnsafeMutablePointer(mutating: args.baseAddress!), environ)
        }
        if rc != 0 { throw RecordError("cannot run \(argv[0]): \(errorText(rc))") }
        return pid
    }

    /// Exit status as a shell reports it: the code, or 128 + the signal.
    static func exitStatus(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// nil while the process runs.
    static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        return r == pid ? exitStatus(status) : nil
    }

    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 { if errno != EINTR { return 125 } }
        return exitStatus(status)
    }

    static func signal(_ pid: pid_t, _ sig: Int32) { kill(pid, sig) }

    static func sleep(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Runs argv to completion; returns its status and stdout.
    static func runCapturing(_ argv: [String]) throws(RecordError) -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RecordError("pipe: \(errorText(errno))") }
        let pid: pid_t
        do { pid = try spawn(argv, stdoutFd: fds[1]) } catch { close(fds[0]); close(fds[1]); throw error }
        close(fds[1])
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        close(fds[0])
        return (wait(pid), String(decoding: out, as: UTF8.self))
    }

    // MARK: signals

    /// SIGINT/SIGTERM/SIGHUP seen while the engine runs. The recorder keeps going so it
    /// can let the engine restore the kernel's settings and still write what was captured.
    static let interrupts = Atomic<Int32>(0)

    static func catchInterrupts() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            RecordSystem.interrupts.add(1, ordering: .relaxed)
        }
        Glibc.signal(SIGINT, handler)
        Glibc.signal(SIGTERM, handler)
        Glibc.signal(SIGHUP, handler)
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }

    static func restoreInterrupts() {
        Glibc.signal(SIGINT, SIG_DFL)
        Glibc.signal(SIGTERM, SIG_DFL)
        Glibc.signal(SIGHUP, SIG_DFL)
    }
}

public struct RecordError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One zstd frame written to a file as lines arrive.
final class ZstdFileWriter {
    private let fd: Int32
    private let cctx: OpaquePointer
    private var out: [UInt8]
    private(set) var bytesIn = 0

    init(path: String, level: Int32) throws(RecordError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RecordError("cannot write \(path): \(RecordSystem.errorText(errno))") }
        guard let c = ZSTD_createCCtx() else { close(fd); throw RecordError("zstd: cannot create a compression context") }
        self.fd = fd
        cctx = c
        _ = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)
        _ = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
        out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        close(fd)
    }

    func write(_ bytes: some Collection<UInt8>) throws(RecordError) {
        let chunk = Array(bytes)
        bytesIn += chunk.count
        var failure: RecordError?
        chunk.withUnsafeBytes { raw in
            var input = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
            do {
                while input.pos < input.size { _ = try step(&input, ZSTD_e_continue) }
            } catch {
                failure = error as? RecordError ?? RecordError("\(error)")
            }
        }
        if let failure { throw failure }
    }

    func finish() throws(RecordError) {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
    }

    private func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws(RecordError) -> Int {
        let count = out.count
        let (remaining, produced) = out.withUnsafeMutableBytes { raw -> (Int, Int) in
            var output = ZSTD_outBuffer(dst: raw.baseAddress, size: count, pos: 0)
            let r = ZSTD_compressStream2(cctx, &output, &input, mode)
            return (r, output.pos)
        }
        if ZSTD_isError(remaining) != 0 { throw RecordError("zstd: \(String(cString: ZSTD_getErrorName(remaining)))") }
        var done = 0
        while done < produced {
            let n = out.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, produced - done) }
            if n < 0 { if errno == EINTR { continue }; throw RecordError("write: \(RecordSystem.errorText(errno))") }
            done += n
        }
        return remaining
    }
}
