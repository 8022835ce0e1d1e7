/// The first stage of the pipeline: bytes of the (decompressed) trace, in order.
///
/// `read(into:)` fills a prefix of `buffer` and returns how many bytes it wrote, or 0 at
/// the end of the input. A short count does not mean the end. After throwing, a source
/// keeps throwing the same error.
public protocol ByteSource {
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
}

/// Opens a trace input: a path, or `"-"` for standard input. The first four bytes decide
/// the format: a zstd frame (`28 B5 2F FD`) or a skippable frame (`5? 2A 4D 18`) means
/// streaming zstd decompression (concatenated and skippable frames included); anything
/// else is plain text, delivered byte for byte (sniffed bytes included).
public func openByteSource(path: String) throws(InputError) -> FileByteSource {
    try FileByteSource(path: path)
}

/// A file or standard input, plain or zstd-compressed, read with constant memory.
///
/// One concrete type whatever the format (a branch per `read`, not an existential), so
/// `LineSplitter<FileByteSource>` is fully specialised. zstd output is decompressed
/// straight into the caller's buffer: no intermediate copy.
public final class FileByteSource: ByteSource {
    public enum Format: Sendable, Equatable {
        case plain
        case zstd
    }

    /// The path as given (`"-"` for standard input).
    public let path: String
    public let format: Format
    /// Size of the file in bytes when it is a regular file (for `--progress`); nil for
    /// pipes, terminals and standard input that is not a file.
    public let fileSize: Int?
    /// Bytes read from the file so far (compressed bytes for zstd). Compare with `fileSize`.
    public private(set) var compressedBytesRead: Int = 0
    /// Bytes delivered by `read(into:)` so far (decompressed bytes for zstd).
    public private(set) var decompressedBytesProduced: Int = 0

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let decoder: ZstdDecoder?
    /// zstd: compressed input. plain: holds the sniffed bytes until they are delivered.
    private let inBuffer: UnsafeMutableRawBufferPointer
    private var inPos = 0
    private var inEnd = 0
    private var atEndOfFile = false
    /// The last return of `ZSTD_decompressStream`: 0 iff the last frame is complete.
    private var lastHint = 0
    /// Frames completed so far, and where (in compressed bytes) the current one began: for
    /// an error's message.
    private var framesCompleted = 0
    private var frameStart = 0
    /// An error met after some bytes were produced; thrown by the next `read`.
    private var pendingError: InputError?

    /// See `openByteSource(path:)`.
    public init(path: String) throws(InputError) {
        self.path = path
        let fd: Int32
        if path == "-" {
            fd = Syscalls.standardInput
            ownsDescriptor = false
        } else {
            do {
                fd = try Syscalls.openForReading(path)
            } catch {
                throw InputError.cannotOpen(path: path, errno: error.code, reason: error.text)
            }
            ownsDescriptor = true
        }
        self.fd = fd
        let info = Syscalls.describe(fd)
        if info.isDirectory {
            if ownsDescriptor { Syscalls.closeDescriptor(fd) }
            let e = SystemErrno.isDirectory
            throw InputError.cannotOpen(path: path, errno: e.code, reason: e.text)
        }
        fileSize = info.regularFileSize
        Syscalls.adviseSequential(fd)

        // Sniff: up to 4 bytes (a pipe may deliver fewer per read).
        var magic: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        var sniffed = 0
        do {
            try withUnsafeMutableBytes(of: &magic) { (raw) throws(SystemErrno) in
                while sniffed < 4 {
                    let n = try Syscalls.readBytes(fd, into: raw.baseAddress! + sniffed, count: 4 - sniffed)
                    if n == 0 { break }
                    sniffed += n
                }
            }
        } catch {
            if ownsDescriptor { Syscalls.closeDescriptor(fd) }
            throw InputError.readError(path: path, errno: error.code, reason: error.text)
        }
        compressedBytesRead = sniffed
        if sniffed < 4 { atEndOfFile = true }

        let word = UInt32(magic.0) | UInt32(magic.1) << 8 | UInt32(magic.2) << 16 | UInt32(magic.3) << 24
        let isZstd = sniffed == 4 && (word == 0xFD2F_B528 || word & 0xFFFF_FFF0 == 0x184D_2A50)
        if isZstd {
            guard let d = ZstdDecoder() else {
                if ownsDescriptor { Syscalls.closeDescriptor(fd) }
                throw InputError.outOfMemory(path: path)
            }
            format = .zstd
            decoder = d
            inBuffer = .allocate(byteCount: max(ZstdDecoder.recommendedInputSize, 4), alignment: 16)
        } else {
            format = .plain
            decoder = nil
            inBuffer = .allocate(byteCount: 4, alignment: 16)
        }
        withUnsafeBytes(of: &magic) { raw in
            inBuffer.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: sniffed)
        }
        inPos = 0
        inEnd = sniffed
    }

    deinit {
        decoder?.free()
        inBuffer.deallocate()
        if ownsDescriptor { Syscalls.closeDescriptor(fd) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if let e = pendingError { throw e }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n: Int
        switch format {
        case .plain: n = try readPlain(base, buffer.count)
        case .zstd: n = try readZstd(base, buffer.count)
        }
        decompressedBytesProduced &+= n
        return n
    }

    /// Throws `error` now if nothing was produced in this call, else keeps it for the next
    /// call so the bytes produced before the failure are delivered first.
    private func fail(_ error: InputError, produced: Int) throws(InputError) -> Int {
        pendingError = error
        if produced == 0 { throw error }
        return produced
    }

    private func readError(_ e: SystemErrno) -> InputError {
        .readError(path: path, errno: e.code, reason: e.text)
    }

    private func readPlain(_ base: UnsafeMutableRawPointer, _ count: Int) throws(InputError) -> Int {
        var n = 0
        if inPos < inEnd {
            n = min(inEnd - inPos, count)
            base.copyMemory(from: inBuffer.baseAddress! + inPos, byteCount: n)
            inPos += n
            if n == count { return n }
        }
        if atEndOfFile { return n }
        let r: Int
        do {
            r = try Syscalls.readBytes(fd, into: base + n, count: count - n)
        } catch {
            return try fail(readError(error), produced: n)
        }
        if r == 0 { atEndOfFile = true }
        compressedBytesRead &+= r
        return n + r
    }

    private func readZstd(_ base: UnsafeMutableRawPointer, _ count: Int) throws(InputError) -> Int {
        let decoder = decoder.unsafelyUnwrapped
        let input = UnsafeRawPointer(inBuffer.baseAddress!)
        var outPos = 0
        while outPos < count {
            if inPos == inEnd {
                if !atEndOfFile {
                    let r: Int
                    do {
                        r = try Syscalls.readBytes(fd, into: inBuffer.baseAddress!, count: inBuffer.count)
                    } catch {
                        return try fail(readError(error), produced: outPos)
                    }
                    if r > 0 {
                        inPos = 0
                        inEnd = r
                        compressedBytesRead &+= r
                        continue
                    }
                    atEndOfFile = true
                }
                // End of file and every input byte consumed.
                if lastHint == 0 { break }  // the last frame is complete: clean end
                // A frame is in progress. If libzstd still held output (our buffer was full)
                // an empty-input call would flush it. (libzstd keeps a "hostage" input byte
                // until its output is flushed, so in practice this call finds nothing and the
                // frame is truncated; the call is defensive.) It is safe only because the
                // frame is unfinished: after a finished frame (hint 0) an empty call would
                // start a new frame and every file would look truncated.
                let before = outPos
                var emptyPos = 0
                do {
                    lastHint = try decoder.decompress(
                        into: base, outSize: count, outPos: &outPos,
                        from: input, inSize: 0, inPos: &emptyPos)
                } catch {
                    return try fail(corrupt(error), produced: outPos)
                }
                if lastHint != 0 && outPos == before {
                    return try fail(.truncated(
                        path: path, compressedBytesRead: compressedBytesRead,
                        frame: framesCompleted + 1, frameOffset: frameStart), produced: outPos)
                }
                continue
            }
            do {
                // At most one step of output per call: given room for a whole frame, libzstd
                // decodes it in one shot and, if the frame turns out damaged, reports no output
                // at all, losing every line before the damage.
                lastHint = try decoder.decompress(
                    into: base, outSize: min(count, outPos + Self.decodeStep), outPos: &outPos,
                    from: input, inSize: inEnd, inPos: &inPos)
            } catch {
                return try fail(corrupt(error), produced: outPos)
            }
            if lastHint == 0 {
                framesCompleted += 1
                frameStart = compressedBytesRead - (inEnd - inPos)
            }
        }
        return outPos
    }

    /// libzstd's own streaming output size (`ZSTD_DStreamOutSize()`, one block).
    static let decodeStep = 128 * 1024

    private func corrupt(_ error: ZstdError) -> InputError {
        if error.isMemoryLimit {
            return .frameTooLarge(path: path, frame: framesCompleted + 1, frameOffset: frameStart, zstdError: error.name)
        }
        return .corrupt(path: path, zstdError: error.name, frame: framesCompleted + 1, frameOffset: frameStart, line: nil)
    }
}

/// Bytes held in memory, delivered at most `maxReadSize` at a time (tests use small
/// sizes to exercise short reads; parser tests use it as their input).
public struct MemoryByteSource: ByteSource {
    public let bytes: [UInt8]
    public private(set) var offset = 0
    public var maxReadSize: Int

    public init(_ bytes: [UInt8], maxReadSize: Int = .max) {
        precondition(maxReadSize > 0)
        self.bytes = bytes
        self.maxReadSize = maxReadSize
    }

    public init(_ text: String, maxReadSize: Int = .max) {
        self.init(Array(text.utf8), maxReadSize: maxReadSize)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, maxReadSize, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
