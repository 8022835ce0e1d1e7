/// Splits a `ByteSource` into lines, handing each one out as a non-owning byte slice.
///
/// - Reads `chunkSize` bytes at a time into a reused buffer (for zstd, libzstd decompresses
///   straight into it) and finds newlines with `memchr`.
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
/// Two ways to run it, with identical results: `forEachLine` reads and splits on the calling
/// thread; `forEachLineConcurrently` moves the reading (the zstd decompression) to a second
/// thread that fills a few fixed buffers ahead of the split (`ChunkPipeline`).
///
/// No allocation per line: a fixed set of buffers per call.
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
        var cutter = LineCutter(maxLineLength: maxLineLength, firstNumber: lineCount)
        defer {
            lineCount = cutter.number
            cutLineCount &+= cutter.cuts
            cutter.release()
        }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { chunk.deallocate() }
        while true {
            let filled = try source.read(into: chunk)
            if filled == 0 { break }
            try cutter.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<filled]), body)
        }
        try cutter.finish(body)
    }

    /// `forEachLine`, with the source read on a second thread: it fills up to `bufferCount`
    /// buffers of `chunkSize` bytes ahead of the split (a bounded queue; the buffers are
    /// reused, nothing else is buffered), while this thread splits and calls `body`.
    ///
    /// Lines, numbers, cuts and errors are exactly those of `forEachLine`. The source is used
    /// only by the reading thread until this call returns. When `body` throws, the source may
    /// have been read up to `bufferCount` buffers past the last line delivered.
    public mutating func forEachLineConcurrently(
        bufferCount: Int = 4,
        _ body: (_ line: UnsafeRawBufferPointer, _ number: Int, _ cut: Bool) throws -> Void
    ) throws {
        try forEachLineConcurrently(bufferCount: bufferCount, prepare: nil as ((UnsafeRawBufferPointer, inout Int?) -> Void)?) {
            line, number, cut, _ in try body(line, number, cut)
        }
    }

    /// `forEachLineConcurrently`, and when the split falls behind, the reader thread also runs
    /// `prepare` on complete lines (see `ChunkPipeline`); `body` then gets its result (a pointer
    /// valid during the call). `prepare` must be a pure function of the line (the one `body`
    /// receives): the caller uses the result in place of computing the same thing itself. A nil
    /// result, or a line not prepared, comes with nil.
    mutating func forEachLineConcurrently<Prepared>(
        bufferCount: Int = 4,
        prepare: ((UnsafeRawBufferPointer, inout Prepared?) -> Void)?,
        _ body: (_ line: UnsafeRawBufferPointer, _ number: Int, _ cut: Bool, _ prepared: UnsafePointer<Prepared?>?) throws -> Void
    ) throws {
        var cutter = LineCutter(maxLineLength: maxLineLength, firstNumber: lineCount)
        defer {
            lineCount = cutter.number
            cutLineCount &+= cutter.cuts
            cutter.release()
        }
        let pipeline = ChunkPipeline<Source, Prepared>(
            source: source, bufferCount: bufferCount, chunkSize: chunkSize, maxLineLength: maxLineLength,
            prepare: prepare)
        defer { source = pipeline.stop() }
        while let chunk = try pipeline.next() {
            if chunk.records.isEmpty {
                try cutter.feed(chunk.bytes) { try body($0, $1, $2, nil) }
            } else {
                try cutter.feed(chunk.bytes, records: chunk.records, resume: chunk.resume, body)
            }
        }
        try cutter.finish { try body($0, $1, $2, nil) }
    }
}

/// The splitting state carried from one chunk to the next: the stitched partial line, whether
/// the rest of a cut line is being skipped, and the counters.
struct LineCutter {
    let max: Int
    let carryCapacity: Int
    let carry: UnsafeMutableRawPointer
    var carryCount = 0
    /// Inside the remainder of a line already delivered cut.
    var skipping = false
    var number: Int
    var cuts = 0

    init(maxLineLength: Int, firstNumber: Int) {
        max = maxLineLength
        carryCapacity = maxLineLength + 1  // room for a "\r" after a line of exactly `max` bytes
        carry = .allocate(byteCount: carryCapacity, alignment: 16)
        number = firstNumber
    }

    /// Frees the carry buffer; the owner calls it once, when the split ends.
    func release() { carry.deallocate() }

    /// Delivers `count` bytes at `base`, a whole line without its "\n".
    @inline(__always)
    mutating func deliver(
        _ base: UnsafeRawPointer, _ count: Int,
        _ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void
    ) rethrows {
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
    mutating func deliverCut(
        appending base: UnsafeRawPointer, _ count: Int,
        _ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void
    ) rethrows {
        if carryCount < max {
            (carry + carryCount).copyMemory(from: base, byteCount: Swift.min(max - carryCount, count))
        }
        carryCount = 0
        number &+= 1
        cuts &+= 1
        try body(UnsafeRawBufferPointer(start: carry, count: max), number, true)
    }

    /// Splits one chunk; a line running past its end is carried into the next one.
    @inline(__always)
    mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void
    ) throws {
        guard let chunkBase = chunk.baseAddress else { return }
        let filled = chunk.count
        var start = 0
        while start < filled {
            let segment = chunkBase + start
            let remaining = filled - start
            guard let newline = Syscalls.findByte(UInt8(ascii: "\n"), in: segment, count: remaining) else {
                // No newline in the rest of this chunk: a partial line.
                if !skipping {
                    if carryCount + remaining > carryCapacity {
                        try deliverCut(appending: segment, remaining, body)
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
                try deliver(segment, length, body)
            } else if carryCount + length > carryCapacity {
                try deliverCut(appending: segment, length, body)
            } else {
                (carry + carryCount).copyMemory(from: segment, byteCount: length)
                let total = carryCount + length
                carryCount = 0
                try deliver(carry, total, body)
            }
            start += length + 1
        }
    }

    /// `feed` for a buffer whose complete lines the reader thread prepared (`records`, in
    /// order, ending at `resume`): the lines before the first record and from `resume` on go
    /// through the usual split; each record's line is delivered with its prepared value.
    mutating func feed<P>(
        _ chunk: UnsafeRawBufferPointer, records: UnsafeBufferPointer<PreparedLineRecord<P>>, resume: Int,
        _ body: (UnsafeRawBufferPointer, Int, Bool, UnsafePointer<P?>?) throws -> Void
    ) throws {
        guard let base = chunk.baseAddress, let first = records.first else { return }
        let count = records.count
        let records = records.baseAddress!
        // Up to the first prepared line: it starts right after a "\n", so nothing is left over.
        try feed(UnsafeRawBufferPointer(start: base, count: Int(first.start))) { try body($0, $1, $2, nil) }
        for k in 0..<count {
            let r = records + k
            let start = base + Int(r.pointee.start)
            if r.pointee.value != nil {
                var n = Int(r.pointee.rawLength)
                if n > 0 && start.load(fromByteOffset: n - 1, as: UInt8.self) == UInt8(ascii: "\r") { n -= 1 }
                number &+= 1
                // The value in place (the record outlives the call): no copy of it.
                let value = UnsafeRawPointer(r).advanced(by: MemoryLayout<PreparedLineRecord<P>>.offset(of: \.value)!)
                    .assumingMemoryBound(to: P?.self)
                try body(UnsafeRawBufferPointer(start: start, count: n), number, false, value)
            } else {
                try deliver(start, Int(r.pointee.rawLength)) { try body($0, $1, $2, nil) }
            }
        }
        try feed(UnsafeRawBufferPointer(start: base + resume, count: chunk.count - resume)) { try body($0, $1, $2, nil) }
    }

    /// End of input: delivers a last line without "\n".
    mutating func finish(_ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void) throws {
        if carryCount > 0 {
            let total = carryCount
            carryCount = 0
            try deliver(carry, total, body)
        }
    }
}
