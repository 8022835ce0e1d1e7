import Testing
@testable import TraceCheckCore

@Suite("LineSplitter")
struct LineSplitterTests {
    typealias Line = InputFixtures.Line

    // MARK: every fixture, every chunk boundary

    @Test(arguments: InputFixtures.fixtures, InputFixtures.chunkSizes)
    func splitsLikeTheReferenceAtEveryChunkSize(fixture: InputFixture, chunkSize: Int) {
        let bytes = fixture.bytes
        for maxLineLength in [8, 64 << 10] {
            let expected = InputFixtures.referenceLines(bytes, maxLineLength: maxLineLength)
            // The splitter's own chunk size…
            let byChunk = InputFixtures.collect(
                MemoryByteSource(bytes), chunkSize: chunkSize, maxLineLength: maxLineLength)
            #expect(byChunk.error == nil)
            #expect(byChunk.lines == expected, "chunkSize \(chunkSize), max \(maxLineLength)")
            // …and short reads from the source into a large chunk.
            let byRead = InputFixtures.collect(
                MemoryByteSource(bytes, maxReadSize: chunkSize), chunkSize: 1 << 16,
                maxLineLength: maxLineLength)
            #expect(byRead.error == nil)
            #expect(byRead.lines == expected, "maxReadSize \(chunkSize), max \(maxLineLength)")
        }
    }

    @Test(arguments: InputFixtures.fixtures)
    func splitsLikeTheReferenceAtEverySplitPoint(fixture: InputFixture) {
        let bytes = fixture.bytes
        let expected = InputFixtures.referenceLines(bytes, maxLineLength: 8)
        for first in 1..<max(bytes.count, 1) {
            for second in [1, 2, 5, bytes.count] {
                let source = InputFixtures.ScheduledSource(bytes: bytes, sizes: [first, second])
                let got = InputFixtures.collect(source, chunkSize: 4096, maxLineLength: 8)
                #expect(got.error == nil)
                #expect(got.lines == expected, "split after \(first), then \(second)")
            }
        }
    }

    @Test func randomInputsMatchTheReference() {
        var rng = InputFixtures.SplitMix64(state: 42)
        let alphabet: [UInt8] = Array("ab\r\n\n".utf8) + [0, 0xFF]
        for round in 0..<2000 {
            let count = Int(rng.next() % 120)
            let bytes = (0..<count).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let maxLineLength = 1 + Int(rng.next() % 12)
            let chunkSize = 1 + Int(rng.next() % 20)
            let readSize = 1 + Int(rng.next() % 20)
            let got = InputFixtures.collect(
                MemoryByteSource(bytes, maxReadSize: readSize), chunkSize: chunkSize,
                maxLineLength: maxLineLength)
            let expected = InputFixtures.referenceLines(bytes, maxLineLength: maxLineLength)
            #expect(got.lines == expected, "round \(round): \(bytes) max \(maxLineLength) chunk \(chunkSize) read \(readSize)")
            if got.lines != expected { break }
        }
    }

    // MARK: specific behaviour

    @Test func crlfEmptyLinesAndMissingFinalNewline() {
        let got = InputFixtures.collect(MemoryByteSource("a\r\n\r\n\nb\r\nlast"), chunkSize: 3)
        #expect(got.error == nil)
        #expect(got.lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["a", "", "", "b", "last"])
        #expect(got.lines.map(\.number) == [1, 2, 3, 4, 5])
        #expect(got.lines.allSatisfy { !$0.cut })
    }

    @Test(arguments: [1, 7, 4096, 1 << 20])
    func longLineIsCutOnceFlaggedAndFollowingLinesAreIntact(chunkSize: Int) throws {
        let max = 64 << 10
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        var input = Array("before\n".utf8)
        input += long + Array("\r\nafter\n\nend".utf8)
        let got = InputFixtures.collect(MemoryByteSource(input), chunkSize: chunkSize, maxLineLength: max)
        #expect(got.error == nil)
        try #require(got.lines.count == 5)
        #expect(got.lines[0] == Line(bytes: Array("before".utf8), number: 1, cut: false))
        #expect(got.lines[1].cut)
        #expect(got.lines[1].number == 2)
        #expect(got.lines[1].bytes == Array(long.prefix(max)))
        #expect(got.lines[2] == Line(bytes: Array("after".utf8), number: 3, cut: false))
        #expect(got.lines[3] == Line(bytes: [], number: 4, cut: false))
        #expect(got.lines[4] == Line(bytes: Array("end".utf8), number: 5, cut: false))
    }

    @Test func longLastLineWithoutNewlineIsCut() throws {
        let input = Array("ok\n".utf8) + [UInt8](repeating: UInt8(ascii: "y"), count: 100)
        var splitter = LineSplitter(source: MemoryByteSource(input), chunkSize: 16, maxLineLength: 10)
        var lines: [Line] = []
        try splitter.forEachLine { line, number, cut in lines.append(Line(bytes: Array(line), number: number, cut: cut)) }
        #expect(lines == [
            Line(bytes: Array("ok".utf8), number: 1, cut: false),
            Line(bytes: [UInt8](repeating: UInt8(ascii: "y"), count: 10), number: 2, cut: true),
        ])
        #expect(splitter.lineCount == 2)
        #expect(splitter.cutLineCount == 1)
    }

    @Test func lineOfExactlyTheCapIsNotCutEvenWithCRLF() {
        // 8 content bytes + "\r\n" with maxLineLength 8, the CR landing in every position of a chunk.
        for chunkSize in 1...12 {
            let got = InputFixtures.collect(
                MemoryByteSource("12345678\r\n123456789\r\n"), chunkSize: chunkSize, maxLineLength: 8)
            #expect(got.lines == [
                Line(bytes: Array("12345678".utf8), number: 1, cut: false),
                Line(bytes: Array("12345678".utf8), number: 2, cut: true),
            ], "chunkSize \(chunkSize)")
        }
    }

    @Test func sourceErrorComesAfterTheCompleteLinesAndDropsThePartialOne() {
        let error = InputError.truncated(path: "x.zst", compressedBytesRead: 10)
        for readSize in [1, 3, 100] {
            let source = InputFixtures.FailingSource(
                inner: MemoryByteSource("one\ntwo\r\nthr", maxReadSize: readSize), error: error)
            let got = InputFixtures.collect(source, chunkSize: 4)
            #expect(got.lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["one", "two"])
            #expect(got.error as? InputError == error)
        }
    }

    @Test func errorFromTheBodyStopsTheSplit() {
        struct Stop: Error {}
        var splitter = LineSplitter(source: MemoryByteSource("a\nb\nc\n"))
        var seen: [Int] = []
        #expect(throws: Stop.self) {
            try splitter.forEachLine { _, number, _ in
                seen.append(number)
                if number == 2 { throw Stop() }
            }
        }
        #expect(seen == [1, 2])
    }

    @Test func emptyInputHasNoLines() {
        let got = InputFixtures.collect(MemoryByteSource([UInt8]()))
        #expect(got.error == nil)
        #expect(got.lines.isEmpty)
    }

    @Test func linesAreNotCopiedWhenTheyFitInAChunk() throws {
        // The slice points into the chunk buffer (no copy) for a line inside one chunk:
        // consecutive lines of one chunk are adjacent in memory.
        var splitter = LineSplitter(source: MemoryByteSource("ab\ncd\n"), chunkSize: 64)
        var starts: [UnsafeRawPointer] = []
        try splitter.forEachLine { line, _, _ in starts.append(line.baseAddress!) }
        try #require(starts.count == 2)
        #expect(starts[1] - starts[0] == 3)
    }
}
