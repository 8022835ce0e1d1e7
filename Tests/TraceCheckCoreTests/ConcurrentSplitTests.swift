#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
@testable import TraceCheckCore

/// `forEachLineConcurrently` (the reader thread and its bounded queue of buffers) must deliver
/// exactly what `forEachLine` delivers: the same lines, numbers, cuts and errors, whatever the
/// buffer size and however the source hands out its bytes.
@Suite("Concurrent split")
struct ConcurrentSplitTests {
    typealias Line = InputFixtures.Line

    static func collect<S: ByteSource>(
        _ source: S, concurrently: Bool, chunkSize: Int, maxLineLength: Int = 64 << 10, bufferCount: Int = 3
    ) -> (lines: [Line], error: (any Error)?, lineCount: Int, cutLineCount: Int) {
        var splitter = LineSplitter(source: source, chunkSize: chunkSize, maxLineLength: maxLineLength)
        var lines: [Line] = []
        let body = { (line: UnsafeRawBufferPointer, number: Int, cut: Bool) in
            lines.append(Line(bytes: Array(line), number: number, cut: cut))
        }
        do {
            if concurrently {
                try splitter.forEachLineConcurrently(bufferCount: bufferCount, body)
            } else {
                try splitter.forEachLine(body)
            }
        } catch {
            return (lines, error, splitter.lineCount, splitter.cutLineCount)
        }
        return (lines, nil, splitter.lineCount, splitter.cutLineCount)
    }

    static func expectSame<S: ByteSource>(
        _ make: () -> S, chunkSize: Int, maxLineLength: Int = 64 << 10, bufferCount: Int = 3,
        _ comment: Comment? = nil
    ) {
        let one = collect(make(), concurrently: false, chunkSize: chunkSize, maxLineLength: maxLineLength)
        let two = collect(make(), concurrently: true, chunkSize: chunkSize, maxLineLength: maxLineLength,
                          bufferCount: bufferCount)
        #expect(two.lines == one.lines, comment)
        #expect((two.error as? InputError) == (one.error as? InputError), comment)
        #expect((two.error == nil) == (one.error == nil), comment)
        #expect(two.lineCount == one.lineCount && two.cutLineCount == one.cutLineCount, comment)
    }

    @Test(arguments: InputFixtures.fixtures, InputFixtures.chunkSizes)
    func sameLinesAtEveryChunkSize(fixture: InputFixture, chunkSize: Int) {
        for maxLineLength in [8, 64 << 10] {
            for readSize in [1, 3, Int.max] {
                Self.expectSame({ MemoryByteSource(fixture.bytes, maxReadSize: readSize) },
                                chunkSize: chunkSize, maxLineLength: maxLineLength,
                                "chunk \(chunkSize), max \(maxLineLength), read \(readSize)")
            }
        }
    }

    @Test func randomInputsAndQueueDepths() {
        var rng = InputFixtures.SplitMix64(state: 7)
        let alphabet: [UInt8] = Array("ab\r\n\n".utf8) + [0, 0xFF]
        for round in 0..<500 {
            let count = Int(rng.next() % 300)
            let bytes = (0..<count).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let maxLineLength = 1 + Int(rng.next() % 12)
            let chunkSize = 1 + Int(rng.next() % 20)
            let readSize = 1 + Int(rng.next() % 20)
            let bufferCount = 2 + Int(rng.next() % 3)
            Self.expectSame({ MemoryByteSource(bytes, maxReadSize: readSize) }, chunkSize: chunkSize,
                            maxLineLength: maxLineLength, bufferCount: bufferCount, "round \(round)")
        }
    }

    @Test func sourceErrorComesAfterTheSameLines() {
        let error = InputError.truncated(path: "x.zst", compressedBytesRead: 10)
        for readSize in [1, 3, 100] {
            for chunkSize in [1, 4, 64] {
                Self.expectSame({
                    InputFixtures.FailingSource(inner: MemoryByteSource("one\ntwo\r\nthr", maxReadSize: readSize), error: error)
                }, chunkSize: chunkSize, "read \(readSize), chunk \(chunkSize)")
            }
        }
        let got = Self.collect(
            InputFixtures.FailingSource(inner: MemoryByteSource("one\ntwo\r\nthr"), error: error),
            concurrently: true, chunkSize: 4)
        #expect(got.lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["one", "two"])
        #expect(got.error as? InputError == error)
    }

    @Test func truncatedZstdFileGivesTheSameLinesAndError() throws {
        let text = InputFixtures.generatedTrace(lines: 4000, seed: 3)
        let frame = InputFixtures.zstdFrame(text)
        for cut in [frame.count / 3, frame.count - 1] {
            let path = InputFixtures.temporaryFile(Array(frame.prefix(cut)), suffix: ".zst")
            defer { InputFixtures.remove(path) }
            Self.expectSame({ try! openByteSource(path: path) }, chunkSize: 4096, "cut at \(cut)")
        }
        let path = InputFixtures.temporaryFile(frame, suffix: ".zst")
        defer { InputFixtures.remove(path) }
        for chunkSize in [7, 4096, 1 << 20] {
            Self.expectSame({ try! openByteSource(path: path) }, chunkSize: chunkSize, "whole file, chunk \(chunkSize)")
        }
    }

    @Test func errorFromTheBodyStopsTheReaderAndPropagates() throws {
        struct Stop: Error {}
        let text = InputFixtures.generatedTrace(lines: 20_000, seed: 5)
        var splitter = LineSplitter(source: MemoryByteSource(text), chunkSize: 64)
        var seen = 0
        #expect(throws: Stop.self) {
            try splitter.forEachLineConcurrently(bufferCount: 2) { _, number, _ in
                seen = number
                if number == 100 { throw Stop() }
            }
        }
        #expect(seen == 100)
        #expect(splitter.lineCount == 100)
        // The source came back from the reader thread and can be read on.
        var rest = 0
        try splitter.forEachLine { _, _, _ in rest += 1 }
        #expect(rest > 0)
    }

    @Test func theReaderStaysWithinTheBoundedQueue() throws {
        // 20 MB through 2 buffers of 64 KiB: the reader never gets more than the queue's buffers
        // (plus the one it is filling) ahead of the split; every line arrives once, in order.
        let line = Array("  cow-1 [000] .... 1.000001: page_ref_mod: pfn=0x1 flags=lru count=2 mapcount=1 mapping=0000000000000000 mt=1 val=1\n".utf8)
        final class Counter: @unchecked Sendable {
            let produced = Atomic<Int>(0)
        }
        struct Repeating: ByteSource {
            let line: [UInt8]
            var remaining: Int
            var offset = 0
            let counter: Counter
            mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
                var n = 0
                while n < buffer.count, remaining > 0 {
                    buffer[n] = line[offset]
                    offset += 1
                    n += 1
                    if offset == line.count { offset = 0; remaining -= 1 }
                }
                counter.produced.add(n, ordering: .relaxed)
                return n
            }
        }
        let chunkSize = 64 << 10
        let bufferCount = 2
        let counter = Counter()
        let count = 20_000_000 / line.count
        var splitter = LineSplitter(source: Repeating(line: line, remaining: count, counter: counter), chunkSize: chunkSize)
        var lines = 0
        var inOrder = true
        var consumed = 0
        var maxAhead = 0
        try splitter.forEachLineConcurrently(bufferCount: bufferCount) { l, number, _ in
            lines += 1
            if number != lines || l.count != line.count - 1 { inOrder = false }
            consumed += line.count
            maxAhead = max(maxAhead, counter.produced.load(ordering: .relaxed) - consumed)
        }
        #expect(lines == count)
        #expect(inOrder)
        #expect(maxAhead <= (bufferCount + 1) * chunkSize)
    }

    /// When the split falls behind, the reader thread prepares lines; what it prepared must be
    /// exactly what the split would compute from the line it delivers, and the lines, numbers
    /// and cuts stay those of the sequential split.
    ///
    /// The split falls behind on purpose, without relying on timing: the first line's call
    /// waits until the reader has prepared something. With three buffers the reader fills the
    /// second and third while the first is held; the third finds the second still queued, which
    /// is the reader's cue to prepare.
    @Test func preparedLinesMatchTheLinesDelivered() throws {
        final class Calls: @unchecked Sendable {
            let prepared = Atomic<Int>(0)
        }
        var text = InputFixtures.generatedTrace(lines: 60_000, seed: 9)
        // Some CRLF lines, empty lines and over-long lines among them.
        text += Array("crlf line\r\n\n\n".utf8) + [UInt8](repeating: 0x78, count: 3000) + Array("\nend".utf8)
        text += InputFixtures.generatedTrace(lines: 20_000, seed: 10)
        let expected = Self.collect(MemoryByteSource(text), concurrently: false, chunkSize: 4096, maxLineLength: 1000)
        for chunkSize in [4096, 65_536] {
            var splitter = LineSplitter(source: MemoryByteSource(text), chunkSize: chunkSize, maxLineLength: 1000)
            var lines: [Line] = []
            var prepared = 0
            var mismatches = 0
            let calls = Calls()
            try splitter.forEachLineConcurrently(bufferCount: 3, prepare: { line, out in
                calls.prepared.add(1, ordering: .releasing)
                if line.first != UInt8(ascii: "e") { out = Array(line) }  // declines some lines
            }) { line, number, cut, value in
                // Bounded, so a reader that never prepares fails the test below instead of hanging it.
                var spins = 0
                while number == 1, calls.prepared.load(ordering: .acquiring) == 0, spins < 100_000_000 {
                    sched_yield()
                    spins += 1
                }
                lines.append(Line(bytes: Array(line), number: number, cut: cut))
                if let value {
                    prepared += 1
                    if value.pointee != Array(line) { mismatches += 1 }
                }
            }
            #expect(lines == expected.lines, "chunk \(chunkSize)")
            #expect(mismatches == 0)
            #expect(prepared > 0, "chunk \(chunkSize): the reader prepared nothing")
        }
    }
}
