import Synchronization

/// The two-thread front of the pipeline: a reader thread fills fixed-size buffers from a
/// `ByteSource` (for zstd, this is where the decompression runs) and hands them, in order,
/// through a bounded queue to the thread that splits and parses them.
///
/// - `bufferCount` buffers of `chunkSize` bytes are allocated once and reused: the reader
///   waits for a free one, fills it completely (or to the end of the input), and queues it;
///   the consumer gives a buffer back when it asks for the next one. Memory is bounded by
///   `bufferCount × chunkSize` whatever the input size.
/// - An error of the source travels with the buffer it interrupted: the bytes read before it
///   are delivered first, then `next()` throws it.
/// - The source is used by the reader thread only, until `stop()` joins it and hands it back.
final class ChunkPipeline<Source: ByteSource>: @unchecked Sendable {
    private struct Slot {
        var count = 0
        var error: InputError?
        var end = false
    }

    private let bufferCount: Int
    private let buffers: UnsafeMutableRawPointer
    private let chunkSize: Int
    private let slots: UnsafeMutablePointer<Slot>
    /// Free buffers (the reader waits on it) and filled ones (the consumer waits on it).
    private let free: CountingSemaphore
    private let full: CountingSemaphore
    private let cancelled = Atomic<Bool>(false)
    private var source: Source
    private var thread: NativeThread?

    // Consumer side.
    private var readIndex = 0
    private var holding = false
    private var finished = false
    private var pendingError: InputError?
    // Reader side, when no thread could be started: reads inline.
    private var inline = false

    init(source: Source, bufferCount: Int, chunkSize: Int) {
        precondition(bufferCount >= 2 && chunkSize > 0)
        self.source = source
        self.bufferCount = bufferCount
        self.chunkSize = chunkSize
        buffers = .allocate(byteCount: bufferCount * chunkSize, alignment: 64)
        slots = .allocate(capacity: bufferCount)
        slots.initialize(repeating: Slot(), count: bufferCount)
        free = CountingSemaphore(UInt32(bufferCount))
        full = CountingSemaphore(0)
        thread = NativeThread { [unowned self] in self.produce() }
        if thread == nil { inline = true }
    }

    deinit {
        slots.deinitialize(count: bufferCount)
        slots.deallocate()
        buffers.deallocate()
    }

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

    /// The reader thread.
    private func produce() {
        var k = 0
        while true {
            free.wait()
            if cancelled.load(ordering: .acquiring) { return }
            let more = fillOne(k)
            full.signal()
            if !more { return }
            k += 1
        }
    }

    /// The next filled buffer, valid until the next call; nil at the end of the input.
    func next() throws(InputError) -> UnsafeRawBufferPointer? {
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
            }
            let i = readIndex % bufferCount
            readIndex += 1
            let slot = slots[i]
            if let e = slot.error { pendingError = e } else if slot.end { finished = true }
            holding = true
            if slot.count > 0 { return UnsafeRawBufferPointer(start: buffer(i), count: slot.count) }
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
