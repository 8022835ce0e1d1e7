// The one seam around C calls made by the Input layer (swift-system's
// `Internals/Syscalls.swift` is the model): POSIX file descriptors and libzstd's
// streaming decoder. Nothing outside this file calls Glibc or CZstd directly.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZstd

/// An `errno` value kept with its readable text (swift-system's `Errno`, in small).
struct SystemErrno: Error, Equatable {
    var code: Int32

    /// `strerror(code)`; cold path only.
    var text: String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s)
    }

    static var isDirectory: SystemErrno { SystemErrno(code: EISDIR) }
}

enum Syscalls {
    /// The file descriptor of standard input.
    static let standardInput: Int32 = STDIN_FILENO

    /// `open(path, O_RDONLY | O_CLOEXEC)`, retried on `EINTR`.
    static func openForReading(_ path: String) throws(SystemErrno) -> Int32 {
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            let code = errno
            if code != EINTR { throw SystemErrno(code: code) }
        }
    }

    /// `read(fd, buffer, count)`, retried on `EINTR`. Returns 0 at end of file.
    @inline(__always)
    static func readBytes(
        _ fd: Int32, into base: UnsafeMutableRawPointer, count: Int
    ) throws(SystemErrno) -> Int {
        while true {
            let n = read(fd, base, count)
            if n >= 0 { return n }
            let code = errno
            if code != EINTR { throw SystemErrno(code: code) }
        }
    }

    static func closeDescriptor(_ fd: Int32) {
        _ = close(fd)
    }

    /// What `fstat` says that matters here: a directory cannot be read as a trace,
    /// and a regular file has a size (`--progress` shows a fraction of it).
    static func describe(_ fd: Int32) -> (isDirectory: Bool, regularFileSize: Int?) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (false, nil) }
        let kind = st.st_mode & S_IFMT
        return (kind == S_IFDIR, kind == S_IFREG ? Int(st.st_size) : nil)
    }

    /// Tells the kernel we read front to back (larger read-ahead); harmless on pipes.
    static func adviseSequential(_ fd: Int32) {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    /// `memchr` for the newline scan.
    @inline(__always)
    static func findByte(
        _ byte: UInt8, in base: UnsafeRawPointer, count: Int
    ) -> UnsafeRawPointer? {
        UnsafeRawPointer(memchr(base, Int32(byte), count))
    }
}

// MARK: - libzstd

/// A libzstd error code kept with `ZSTD_getErrorName`.
struct ZstdError: Error, Equatable {
    var code: Int

    var name: String { String(cString: ZSTD_getErrorName(code)) }

    /// The frame needs more memory than the decoder allows (a window past `windowLogMax`) or
    /// than could be allocated: a limit, not damage.
    var isMemoryLimit: Bool {
        let e = ZSTD_getErrorCode(code)
        return e == ZSTD_error_frameParameter_windowTooLarge || e == ZSTD_error_memory_allocation
    }
}

/// libzstd's streaming decoder (`ZSTD_DStream`). A plain wrapper: the owner calls
/// `free()` exactly once (FileByteSource does it in `deinit`).
struct ZstdDecoder {
    private let stream: OpaquePointer

    /// Largest window accepted: 2 GiB (`zstd --long=31`). libzstd's default (128 MiB)
    /// refuses frames written with `--long=28…31`, which big captures may use; memory
    /// stays bounded by the window the file declares.
    static let windowLogMax: Int32 = 31

    /// Recommended input buffer size (one block plus a header).
    static var recommendedInputSize: Int { ZSTD_DStreamInSize() }
    /// Recommended output buffer size (one block).
    static var recommendedOutputSize: Int { ZSTD_DStreamOutSize() }

    /// Returns nil if libzstd cannot allocate a context.
    init?() {
        guard let s = ZSTD_createDStream() else { return nil }
        let r = ZSTD_initDStream(s)
        if ZSTD_isError(r) != 0 {
            _ = ZSTD_freeDStream(s)
            return nil
        }
        _ = ZSTD_DCtx_setParameter(s, ZSTD_d_windowLogMax, Self.windowLogMax)
        stream = s
    }

    func free() {
        _ = ZSTD_freeDStream(stream)
    }

    /// One `ZSTD_decompressStream` call. Advances `inPos` and `outPos`; returns libzstd's
    /// hint: 0 when a frame has just been completed and fully flushed, otherwise > 0
    /// (more input expected, or output still to flush).
    @inline(__always)
    func decompress(
        into out: UnsafeMutableRawPointer, outSize: Int, outPos: inout Int,
        from input: UnsafeRawPointer, inSize: Int, inPos: inout Int
    ) throws(ZstdError) -> Int {
        var o = ZSTD_outBuffer(dst: out, size: outSize, pos: outPos)
        var i = ZSTD_inBuffer(src: input, size: inSize, pos: inPos)
        let r = ZSTD_decompressStream(stream, &o, &i)
        outPos = o.pos
        inPos = i.pos
        if ZSTD_isError(r) != 0 { throw ZstdError(code: r) }
        return r
    }
}

// MARK: - Threads (the decompression pipeline)

/// A POSIX counting semaphore, heap-allocated so its address never moves.
final class CountingSemaphore: @unchecked Sendable {
    private let s: UnsafeMutablePointer<sem_t>

    init(_ value: UInt32) {
        s = .allocate(capacity: 1)
        sem_init(s, 0, value)
    }

    deinit {
        sem_destroy(s)
        s.deallocate()
    }

    /// Waits for a count (retried on EINTR).
    func wait() {
        while sem_wait(s) != 0 && errno == EINTR {}
    }

    func signal() {
        sem_post(s)
    }
}

/// A joinable POSIX thread running one closure.
final class NativeThread: @unchecked Sendable {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private var thread = pthread_t()
    private var joined = false

    /// Starts `body` on a new thread; nil if the system refuses one.
    init?(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let r = pthread_create(&thread, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if r != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
    }

    /// Waits for the thread to end; everything it wrote is visible afterwards.
    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }
}
