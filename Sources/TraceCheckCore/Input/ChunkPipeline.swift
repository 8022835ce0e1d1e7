import Synchronization

/// One complete line inside a pipeline buffer, prepared on the reader thread.
struct PreparedLineRecord<Prepared> {
    /// Offset of the line in the buffer.
    var start: Int32
    /// Its length up to (not including) the "\n".
    var rawLength: Int32
    /// What `prepare` made of the line (without its "\r"), or nil: not prepared (too long,
    /// or `prepare` declined).
    var value: Prepared?
}

/// The two-thread front of the pipeline: a reader thread fills fixed-size buffers from a
/// `ByteSource` (for zstd, this is where the decompression runs) and hands them, in order,
/// through a bounded queue to the thread that splits and parses them.
///
/// - `bufferCount` buffers of `chunkSize` bytes are allocated once and reused: the reader
///   waits for a free one, fills it completely (or to the end of the input), and queues it;
///   the consumer gives a buffer back when it asks for the next one. Memory is bounded by
///   `bufferCount × chunkSize` (plus the line records below) whatever the input size.
/// - An error of the source travels with the buffer it interrupted: the bytes read before it
///   are delivered first, then `next()` throws it.
/// - The source is used by the reader thread only, until `stop()` joins it and hands it back.
/// - Balancing the two cores: when the consumer is behind (a filled buffer is already
///   waiting), the reader, which would otherwise sit idle until a buffer is given back, runs
///   `prepare` on the complete lines of the buffer it has just filled and queues the results
///   with it (`PreparedLineRecord`; `prepare` writes its result, or leaves nil). `prepare` must be a pure function of the line's bytes:
///   the consumer uses its result instead of computing it again, so the output is the same
///   whichever thread did the work.
final class ChunkPipeline<Source: ByteSource, Prepared>: @unchecked Sendable {
    typealias Record = PreparedLineRecord<Prepared>

    private struct Slot {
        var count = 0
        var error: InputError?
        var end = false
        /// Prepared lines of this buffer (0 when it was not prepared).
        var records = 0
        /// Offset just past the last prepared line's "\n".
        var resume = 0
    }

    /// What the consumer gets: the bytes, and the lines already prepared in them.
    struct Chunk {
        var bytes: UnsafeRawBufferPointer
        var records: UnsafeBufferPointer<Record>
        var resume: Int
    }

    private let bufferCount: Int
    private let buffers: UnsafeMutableRawPointer
    private let chunkSize: Int
    private let slots: UnsafeMutablePointer<Slot>
    /// Free buffers (the reader waits on it) and filled ones (the consumer waits on it).
    private let free: CountingSemaphore
    private let full: CountingSemaphore
    private let cancelled = Atomic<Bool>(false)
    /// Filled buffers the consumer has not taken yet (a hint for the reader: 1 or more means
    /// the consumer is the slower side).
    private let waiting = Atomic<Int>(0)
    private var source: Source
    private var thread: NativeThread?

    private let prepare: ((UnsafeRawBufferPointer, inout Prepared?) -> Void)?
    private let maxLineLength: Int
    private let recordCapacity: Int
    private let records: UnsafeMutablePointer<Record>
    /// Records initialized in each buffer's area (reader side; released before reuse).
    private let initialized: UnsafeMutablePointer<Int>
    /// Buffers the reader prepared (for tests and the benchmark's curiosity).
    private let preparedCount = Atomic<Int>(0)

    // Consumer side.
    private var readIndex = 0
    private var holding = false
    private var finished = false
    private var pendingError: InputError?
    // Reader side, when no thread could be started: reads inline.
    private var inline = false

    init(
        source: Source, bufferCount: Int, chunkSize: Int, maxLineLength: Int = .max,
        prepare: ((UnsafeRawBufferPointer, inout Prepared?) -> Void)? = nil
    ) {
        precondition(bufferCount >= 2 && chunkSize > 0)
        self.source = source
        self.bufferCount = bufferCount
        self.chunkSize = chunkSize
        self.prepare = prepare
        self.maxLineLength = maxLineLength
        // A record per 64 bytes of buffer covers trace lines; lines past it are split as usual.
        recordCapacity = prepare == nil ? 0 : max(16, chunkSize / 64)
        records = .allocate(capacity: max(1, bufferCount * recordCapacity))
        initialized = .allocate(capacity: bufferCount)
        initialized.initialize(repeating: 0, count: bufferCount)
        buffers = .allocate(byteCount: bufferCount * chunkSize, alignment: 64)
        slots = .allocate(capacity: bufferCount)
        slots.initialize(repeating: Slot(), count: bufferCount)
        free = CountingSemaphore(UInt32(bufferCount))
        full = CountingSemaphore(0)
        thread = NativeThread { [unowned self] in self.produce() }
        if thread == nil { inline = true }
    }

    deinit {
        for i in 0..<bufferCount { (records + i * recordCapacity).deinitialize(count: initialized[i]) }
        initialized.deallocate()
        slots.deinitialize(count: bufferCount)
        slots.deallocate()
        buffers.deallocate()
        records.deallocate()
    }

    /// How many buffers came prepared so far.
    var buffersPrepared: Int { preparedCount.load(ordering: .relaxed) }

    private func buffer(_ i: Int) -> UnsafeMutableRawPointer { buffers + i * chunkSize }

    /// Fills one buffer; returns false when the input is over (end or error).
    private func fillOne(_ k: Int) -> Bool {
        let i = k % bufferCount
        let base = buffer(i)
        var filled = 0
        var failure: InputError?
        var end = false
        while filled < chunkSize {
            do {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(start: base + filled, count: chunkSize - filled))
                if n == 0 { end = true; break }
                filled += n
            } catch {
                failure = error
                break
            }
        }
        slots[i] = Slot(count: filled, error: failure, end: end)
        return !end && failure == nil
    }

    /// Runs `prepare` over the complete lines of buffer `i` (those between its first and its
    /// last "\n": the first may continue a line of the previous buffer, the last part goes on
    /// in the next one).
    private func prepareLines(_ i: Int) {
        guard let prepare else { return }
        let count = slots[i].count
        guard count > 0 else { return }
        let base = UnsafeRawPointer(buffer(i))
        let out = records + i * recordCapacity
        // The consumer gave this buffer back: its old records are no longer read.
        out.deinitialize(count: initialized[i])
        initialized[i] = 0
        guard let first = Syscalls.findByte(0x0A, in: base, count: count) else { return }
        var start = first - base + 1
        var n = 0
        while n < recordCapacity, start < count {
            guard let nl = Syscalls.findByte(0x0A, in: base + start, count: count - start) else { break }
            let raw = nl - (base + start)
            var length = raw
            if length > 0 && base.load(fromByteOffset: start + length - 1, as: UInt8.self) == 0x0D { length -= 1 }
            (out + n).initialize(to: Record(start: Int32(start), rawLength: Int32(raw), value: nil))
            // Prepared straight into its record.
            if length <= maxLineLength { prepare(UnsafeRawBufferPointer(start: base + start, count: length), &out[n].value) }
            n += 1
            initialized[i] = n
            start += raw + 1
        }
        if n > 0 {
            slots[i].records = n
            slots[i].resume = start
            preparedCount.add(1, ordering: .relaxed)
        }
    }

    /// The reader thread.
    private func produce() {
        var k = 0
        while true {
            free.wait()
            if cancelled.load(ordering: .acquiring) { return }
            let more = fillOne(k)
            // The consumer has a buffer to work on already: use the wait for it on this one.
            if prepare != nil, waiting.load(ordering: .relaxed) >= 1 { prepareLines(k % bufferCount) }
            waiting.add(1, ordering: .relaxed)
            full.signal()
            if !more { return }
            k += 1
        }
    }

    /// The next filled buffer, valid until the next call; nil at the end of the input.
    func next() throws(InputError) -> Chunk? {
        while true {
            if holding {
                holding = false
                if !inline { free.signal() }
            }
            if let e = pendingError {
                pendingError = nil
                finished = true
                throw e
            }
            if finished { return nil }
            if inline {
                _ = fillOne(readIndex)
            } else {
                full.wait()
                waiting.subtract(1, ordering: .relaxed)
            }
            let i = readIndex % bufferCount
            readIndex += 1
            let slot = slots[i]
            if let e = slot.error { pendingError = e } else if slot.end { finished = true }
            holding = true
            if slot.count > 0 {
                return Chunk(
                    bytes: UnsafeRawBufferPointer(start: buffer(i), count: slot.count),
                    records: UnsafeBufferPointer(start: records + i * recordCapacity, count: slot.records),
                    resume: slot.resume)
            }
        }
    }

    /// Stops the reader (if it is still running), waits for it, and returns the source.
    func stop() -> Source {
        cancelled.store(true, ordering: .releasing)
        for _ in 0..<bufferCount { free.signal() }
        thread?.join()
        thread = nil
        return source
    }
}
