/// Splits a `ByteSource` into lines, handing each one out as a non-owning byte slice.
///
/// - Reads `chunkSize` bytes at a time into one reused buffer (for zstd, libzstd
///   decompresses straight into it) and finds newlines with `memchr`.
/// - A line is delivered without its `"\n"` and without one trailing `"\r"`; empty lines
///   are delivered; a last line without `"\n"` is delivered.
/// - A line split across two reads is stitched once into a carry buffer: the bytes already
///   scanned are copied, never rescanned (swift-nio's `LineBasedFrameDecoder` keeps
///   `lastScanOffset` for the same reason).
/// - A line longer than `maxLineLength` bytes is delivered once, cut to its first
///   `maxLineLength` bytes and flagged `cut`; the rest of it is skipped up to the next
///   newline, never buffered (`NIOSplitLinesMessageDecoder(maximumBufferSize:)`).
///   The carry buffer holds at most `maxLineLength + 1` bytes.
/// - Lines are numbered from 1; a cut line counts as one line.
///
/// No allocation per line: two buffers per `forEachLine` call.
public struct LineSplitter<Source: ByteSource> {
    public static var defaultChunkSize: Int { 1 << 20 }
    public static var defaultMaxLineLength: Int { 64 << 10 }

    public var source: Source
    public let chunkSize: Int
    public let maxLineLength: Int
    /// Lines delivered so far (the number of the last one).
    public private(set) var lineCount: Int = 0
    /// Lines delivered cut so far.
    public private(set) var cutLineCount: Int = 0

    public init(
        source: Source,
        chunkSize: Int = LineSplitter.defaultChunkSize,
        maxLineLength: Int = LineSplitter.defaultMaxLineLength
    ) {
        precondition(chunkSize > 0, "chunkSize must be positive")
        precondition(maxLineLength > 0, "maxLineLength must be positive")
        self.source = source
        self.chunkSize = chunkSize
        self.maxLineLength = maxLineLength
    }

    /// Calls `body` for every line, in order, until the source ends.
    ///
    /// - `line` is valid only during the call.
    /// - `number` is the 1-based line number.
    /// - `cut` is true when the line was longer than `maxLineLength` and `line` holds only
    ///   its first `maxLineLength` bytes.
    ///
    /// Errors from the source (`InputError`) are thrown after every complete line read
    /// before the error was delivered; an incomplete last line is then dropped. Errors
    /// thrown by `body` stop the split and propagate.
    public mutating func forEachLine(
        _ body: (_ line: UnsafeRawBufferPointer, _ number: Int, _ cut: Bool) throws -> Void
    ) throws {
        let max = maxLineLength
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { chunk.deallocate() }
        let carryCapacity = max + 1  // room for a "\r" after a line of exactly `max` bytes
        let carry = UnsafeMutableRawPointer.allocate(byteCount: carryCapacity, alignment: 16)
        defer { carry.deallocate() }
        var carryCount = 0
        var skipping = false  // inside the remainder of a line already delivered cut
        var number = lineCount
        var cuts = 0
        defer {
            lineCount = number
            cutLineCount &+= cuts
        }

        /// Delivers `count` bytes at `base`, a whole line without its "\n".
        @inline(__always)
        func deliver(_ base: UnsafeRawPointer, _ count: Int) throws {
            var n = count
            if n > 0 && base.load(fromByteOffset: n - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                n -= 1
            }
            number &+= 1
            if n > max {
                cuts &+= 1
                try body(UnsafeRawBufferPointer(start: base, count: max), number, true)
            } else {
                try body(UnsafeRawBufferPointer(start: base, count: n), number, false)
            }
        }

        /// The carry plus `count` more bytes exceed the cap: deliver the first `max` bytes cut.
        @inline(__always)
        func deliverCut(appending base: UnsafeRawPointer, _ count: Int) throws {
            if carryCount < max {
                (carry + carryCount).copyMemory(from: base, byteCount: Swift.min(max - carryCount, count))
            }
            carryCount = 0
            number &+= 1
            cuts &+= 1
            try body(UnsafeRawBufferPointer(start: carry, count: max), number, true)
        }

        let chunkBase = UnsafeRawPointer(chunk.baseAddress!)
        while true {
            let filled = try source.read(into: chunk)
            if filled == 0 { break }
            var start = 0
            while start < filled {
                let segment = chunkBase + start
                let remaining = filled - start
                guard let newline = Syscalls.findByte(UInt8(ascii: "\n"), in: segment, count: remaining) else {
                    // No newline in the rest of this chunk: a partial line.
                    if !skipping {
                        if carryCount + remaining > carryCapacity {
                            try deliverCut(appending: segment, remaining)
                            skipping = true
                        } else {
                            (carry + carryCount).copyMemory(from: segment, byteCount: remaining)
                            carryCount += remaining
                        }
                    }
                    break
                }
                let length = newline - segment
                if skipping {
                    skipping = false
                } else if carryCount == 0 {
                    try deliver(segment, length)
                } else if carryCount + length > carryCapacity {
                    try deliverCut(appending: segment, length)
                } else {
                    (carry + carryCount).copyMemory(from: segment, byteCount: length)
                    let total = carryCount + length
                    carryCount = 0
                    try deliver(carry, total)
                }
                start += length + 1
            }
        }
        // End of input: a last line without "\n".
        if carryCount > 0 {
            let total = carryCount
            carryCount = 0
            try deliver(carry, total)
        }
    }
}
