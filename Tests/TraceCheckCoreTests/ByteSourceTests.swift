import Foundation
import Testing
@testable import TraceCheckCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("ByteSource")
struct ByteSourceTests {
    typealias Line = InputFixtures.Line

    /// Lines of a plain-text file (the reference for the zstd tests).
    static func plainLines(_ bytes: [UInt8]) throws -> [Line] {
        let got = try InputFixtures.collectFile(bytes)
        #expect(got.source.format == .plain)
        #expect(got.error == nil)
        return got.lines
    }

    // MARK: plain ≡ zstd

    @Test(arguments: InputFixtures.fixtures, [1, 7, 64, 1 << 20])
    func zstdAndPlainGiveIdenticalLines(fixture: InputFixture, chunkSize: Int) throws {
        let bytes = fixture.bytes
        let plain = try InputFixtures.collectFile(bytes, chunkSize: chunkSize, maxLineLength: 8)
        #expect(plain.source.format == .plain)
        #expect(plain.error == nil)
        #expect(plain.lines == InputFixtures.referenceLines(bytes, maxLineLength: 8))

        // With and without checksum (without one, libzstd consumes the whole input while
        // output is still pending: the end-of-file flush path), with and without the
        // content size in the header (streamed).
        for (checksum, knownSize) in [(true, true), (false, true), (false, false)] {
            let frame = InputFixtures.zstdFrame(bytes, checksum: checksum, knownSize: knownSize)
            let zstd = try InputFixtures.collectFile(frame, chunkSize: chunkSize, maxLineLength: 8)
            let variant = "checksum \(checksum), knownSize \(knownSize)"
            #expect(zstd.source.format == .zstd)
            #expect(zstd.error == nil, "\(variant)")
            #expect(zstd.lines == plain.lines, "\(variant)")
            #expect(zstd.source.compressedBytesRead == frame.count)
            #expect(zstd.source.decompressedBytesProduced == bytes.count)
            #expect(zstd.source.fileSize == frame.count)
        }
    }

    @Test(arguments: [1, 13, 4096, 1 << 20])
    func generatedTraceThroughZstdMatchesPlain(chunkSize: Int) throws {
        let bytes = InputFixtures.generatedTrace(lines: chunkSize < 64 ? 2_000 : 20_000)
        let expected = try Self.plainLines(bytes)
        #expect(expected.count == (chunkSize < 64 ? 2_000 : 20_000))
        for checksum in [true, false] {
            let frame = InputFixtures.zstdFrame(bytes, level: 1, checksum: checksum, knownSize: false)
            let zstd = try InputFixtures.collectFile(frame, chunkSize: chunkSize)
            #expect(zstd.error == nil)
            #expect(zstd.lines == expected)
        }
    }

    @Test func plainTextShorterThanTheMagicIsDelivered() throws {
        for text in ["a", "ab\n", "abc"] {
            #expect(try Self.plainLines(Array(text.utf8)).map(\.bytes) == [Array(text.utf8.prefix { $0 != 10 })])
        }
        // The first three bytes of the zstd magic, and nothing else: plain text.
        let got = try InputFixtures.collectFile([0x28, 0xB5, 0x2F])
        #expect(got.source.format == .plain)
        #expect(got.lines.map(\.bytes) == [[0x28, 0xB5, 0x2F]])
        #expect(try Self.plainLines([]).isEmpty)
    }

    @Test func plainCountersCountEveryByte() throws {
        let bytes = InputFixtures.generatedTrace(lines: 500)
        let got = try InputFixtures.collectFile(bytes, chunkSize: 1000)
        #expect(got.source.compressedBytesRead == bytes.count)
        #expect(got.source.decompressedBytesProduced == bytes.count)
        #expect(got.source.fileSize == bytes.count)
    }

    // MARK: frames

    @Test(arguments: [1, 5, 1 << 20])
    func concatenatedFramesSplitMidLine(chunkSize: Int) throws {
        let bytes = InputFixtures.generatedTrace(lines: 3_000)
        let expected = try Self.plainLines(bytes)
        // Cut inside lines on purpose: a line spans two frames.
        let cuts = [0, 1_001, bytes.count / 2 + 17, bytes.count - 3, bytes.count]
        var file: [UInt8] = []
        for (a, b) in zip(cuts, cuts.dropFirst()) {
            file += InputFixtures.zstdFrame(Array(bytes[a..<b]), checksum: a % 2 == 0)
        }
        file += InputFixtures.zstdFrame([])  // an empty frame at the end
        let got = try InputFixtures.collectFile(file, chunkSize: chunkSize)
        #expect(got.source.format == .zstd)
        #expect(got.error == nil)
        #expect(got.lines == expected)
        #expect(got.source.decompressedBytesProduced == bytes.count)
        #expect(got.source.compressedBytesRead == file.count)
    }

    @Test(arguments: [1, 7, 1 << 20])
    func skippableFramesBeforeBetweenAndAfter(chunkSize: Int) throws {
        let first = Array("line one\nline two\n".utf8)
        let second = Array("line three\r\nline four".utf8)
        let expected = try Self.plainLines(first + second)
        let layouts: [(String, [UInt8])] = [
            ("before", InputFixtures.skippableFrame(payload: Array("metadata".utf8))
                + InputFixtures.zstdFrame(first + second)),
            ("before, variant F, empty payload", InputFixtures.skippableFrame(variant: 0xF, payload: [])
                + InputFixtures.zstdFrame(first + second)),
            ("between", InputFixtures.zstdFrame(first)
                + InputFixtures.skippableFrame(variant: 3, payload: [UInt8](repeating: 0xAB, count: 300_000))
                + InputFixtures.zstdFrame(second)),
            ("after", InputFixtures.zstdFrame(first) + InputFixtures.zstdFrame(second)
                + InputFixtures.skippableFrame(variant: 7, payload: [1, 2, 3])),
            ("everywhere", InputFixtures.skippableFrame(payload: [9])
                + InputFixtures.zstdFrame(first)
                + InputFixtures.skippableFrame(variant: 1, payload: [])
                + InputFixtures.skippableFrame(variant: 2, payload: [8, 8])
                + InputFixtures.zstdFrame(second)
                + InputFixtures.skippableFrame(variant: 15, payload: [7])),
        ]
        for (name, file) in layouts {
            let got = try InputFixtures.collectFile(file, chunkSize: chunkSize)
            #expect(got.source.format == .zstd, "\(name)")
            #expect(got.error == nil, "\(name)")
            #expect(got.lines == expected, "\(name)")
        }
    }

    @Test func onlyASkippableFrameIsAnEmptyInput() throws {
        let got = try InputFixtures.collectFile(InputFixtures.skippableFrame(payload: Array("x\n".utf8)))
        #expect(got.source.format == .zstd)
        #expect(got.error == nil)
        #expect(got.lines.isEmpty)
    }

    @Test func largeWindowFramesDecode() throws {
        // A streamed frame (no content size) declaring a 256 MiB window (zstd --long=28):
        // libzstd's default limit (128 MiB) would refuse it.
        let bytes = InputFixtures.generatedTrace(lines: 1_000)
        let frame = InputFixtures.zstdFrame(bytes, windowLog: 28, knownSize: false)
        #expect(InputFixtures.declaredWindowSize(frame) == 1 << 28)
        let got = try InputFixtures.collectFile(frame)
        #expect(got.error == nil)
        #expect(got.lines == (try Self.plainLines(bytes)))
    }

    static let zstdTool = "/usr/bin/zstd"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: zstdTool), "needs the zstd command-line tool in /usr/bin"))
    func fileWrittenByTheZstdCommandLineTool() throws {
        let zstd = Self.zstdTool
        let bytes = InputFixtures.generatedTrace(lines: 30_000, seed: 7)
        let plainPath = InputFixtures.temporaryFile(bytes)
        defer { InputFixtures.remove(plainPath); InputFixtures.remove(plainPath + ".zst") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zstd)
        process.arguments = ["-q", "-f", "-3", plainPath, "-o", plainPath + ".zst"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let source = try openByteSource(path: plainPath + ".zst")
        #expect(source.format == .zstd)
        let got = InputFixtures.collect(source, chunkSize: 65_536)
        #expect(got.error == nil)
        #expect(got.lines == (try Self.plainLines(bytes)))
    }

    // MARK: damaged files

    @Test(arguments: [1, 4, 5, 100, 10_000], [1, 4096, 1 << 20])
    func truncatedZstdDeliversTheLinesBeforeTheCutThenThrows(cutBytes: Int, chunkSize: Int) throws {
        let bytes = InputFixtures.generatedTrace(lines: chunkSize == 1 ? 3_000 : 30_000)
        let expected = try Self.plainLines(bytes)
        let frame = InputFixtures.zstdFrame(bytes)
        #expect(frame.count > cutBytes + 1000)
        let damaged = Array(frame.dropLast(cutBytes))
        let path = InputFixtures.temporaryFile(damaged, suffix: ".zst")
        defer { InputFixtures.remove(path) }
        let source = try openByteSource(path: path)
        let got = InputFixtures.collect(source, chunkSize: chunkSize)
        #expect(got.error as? InputError
            == .truncated(path: path, compressedBytesRead: damaged.count, frame: 1, frameOffset: 0))
        // Everything delivered is a prefix of the real lines: no partial line, no garbage.
        #expect(got.lines.count < expected.count || cutBytes <= 4)
        #expect(Array(expected.prefix(got.lines.count)) == got.lines)
        if cutBytes >= 100 {
            // libzstd loses at most the last block (128 KiB) of output.
            #expect(got.lines.count > 0)
            #expect(expected.count - got.lines.count < 128 * 1024 / 60)
        }
        #expect((got.error as? InputError)?.message
            == "\(path): truncated zstd stream: the last frame is incomplete (frame 1, starting at compressed byte 0) (read \(damaged.count) compressed bytes)")
    }

    @Test func zstdHeaderOnlyIsTruncated() throws {
        let frame = InputFixtures.zstdFrame(Array("hello\n".utf8))
        for keep in [4, 5, 6, frame.count - 1] {
            let got = try InputFixtures.collectFile(Array(frame.prefix(keep)))
            #expect(got.source.format == .zstd)
            guard case .truncated? = got.error as? InputError else {
                Issue.record("keep \(keep): expected truncated, got \(String(describing: got.error))")
                continue
            }
            #expect(got.lines.isEmpty || got.lines.map(\.bytes) == [Array("hello".utf8)])
        }
    }

    @Test func truncatedSecondFrameKeepsTheFirst() throws {
        let first = Array("a\nb\n".utf8)
        let second = InputFixtures.generatedTrace(lines: 100)
        let file = InputFixtures.zstdFrame(first) + InputFixtures.zstdFrame(second).dropLast(50)
        let got = try InputFixtures.collectFile(file)
        guard case .truncated? = got.error as? InputError else {
            Issue.record("expected truncated, got \(String(describing: got.error))")
            return
        }
        #expect(got.lines.prefix(2).map(\.bytes) == [Array("a".utf8), Array("b".utf8)])
    }

    @Test(arguments: [0.25, 0.5, 0.75])
    func corruptZstdThrowsWithoutCrashing(position: Double) throws {
        let bytes = InputFixtures.generatedTrace(lines: 20_000)
        let expected = try Self.plainLines(bytes)
        var frame = InputFixtures.zstdFrame(bytes)
        let middle = Int(Double(frame.count) * position)
        for i in middle..<(middle + 16) { frame[i] ^= 0x5A }
        let path = InputFixtures.temporaryFile(frame, suffix: ".zst")
        defer { InputFixtures.remove(path) }
        let got = InputFixtures.collect(try openByteSource(path: path), chunkSize: 1 << 16)
        let error = try #require(got.error as? InputError)
        switch error {
        case .corrupt(let p, let name, let frameNumber, let offset, _):
            #expect(p == path)
            #expect(!name.isEmpty)
            #expect(frameNumber == 1 && offset == 0) // one frame, starting the file
            #expect(error.message.hasPrefix("\(path): corrupt zstd data in frame 1 (starting at compressed byte 0): "))
        case .truncated(let p, _, _, _, _):
            #expect(p == path)
        default:
            Issue.record("unexpected \(error)")
        }
        // Lines delivered before the damage are real lines (the bytes before the flipped
        // block decode normally; with the checksum, the damage itself is caught).
        let good = got.lines.prefix { $0.number <= expected.count && expected[$0.number - 1] == $0 }
        #expect(good.count > 0 || position < 0.3)
    }

    @Test func garbageAfterAValidFrameIsCorrupt() throws {
        let file = InputFixtures.zstdFrame(Array("ok\n".utf8)) + Array("this is not zstd at all\n".utf8)
        let got = try InputFixtures.collectFile(file)
        #expect(got.lines.map(\.bytes) == [Array("ok".utf8)])
        guard case .corrupt(_, let name, let frameNumber, let offset, _)? = got.error as? InputError else {
            Issue.record("expected corrupt, got \(String(describing: got.error))")
            return
        }
        #expect(name.lowercased().contains("unknown frame descriptor") || !name.isEmpty)
        // The garbage is where a second frame would start: right after the first.
        #expect(frameNumber == 2)
        #expect(offset == InputFixtures.zstdFrame(Array("ok\n".utf8)).count)
    }

    // MARK: opening

    @Test func missingFileCannotBeOpened() {
        let path = "/nonexistent-\(UUID().uuidString)/capture.zst"
        #expect {
            _ = try openByteSource(path: path)
        } throws: { error in
            guard let e = error as? InputError, case .cannotOpen(let p, let code, let reason) = e else { return false }
            return p == path && code == ENOENT && reason == "No such file or directory"
                && e.message == "\(path): cannot open: No such file or directory (errno 2)"
        }
    }

    @Test func directoryCannotBeOpened() {
        let dir = FileManager.default.temporaryDirectory.path
        #expect(throws: InputError.cannotOpen(path: dir, errno: EISDIR, reason: "Is a directory")) {
            _ = try openByteSource(path: dir)
        }
    }

    @Test(.enabled(if: getuid() != 0, "root opens a file whatever its permissions"))
    func unreadableFileCannotBeOpened() throws {
        let path = InputFixtures.temporaryFile(Array("x\n".utf8))
        defer { InputFixtures.remove(path) }
        chmod(path, 0)
        #expect(throws: InputError.cannotOpen(path: path, errno: EACCES, reason: "Permission denied")) {
            _ = try openByteSource(path: path)
        }
    }

    @Test func messagesNameTheFile() {
        #expect(InputError.truncated(path: "capture.zst", compressedBytesRead: 6336).message
            == "capture.zst: truncated zstd stream: the last frame is incomplete (read 6336 compressed bytes)")
        #expect(InputError.readError(path: "-", errno: EIO, reason: "Input/output error").message
            == "<stdin>: read error: Input/output error (errno 5)")
        #expect(InputError.corrupt(path: "a.zst", zstdError: "Data corruption detected", frame: 3, frameOffset: 42, line: 7).message
            == "a.zst: corrupt zstd data in frame 3 (starting at compressed byte 42), after decompressed line 7: Data corruption detected")
        #expect(InputError.truncated(path: "t", compressedBytesRead: 1).path == "t")
    }

    // MARK: stdin

    @Test func dashReadsStandardInput() throws {
        // Put a zstd file on fd 0 for the duration of the test, then restore it.
        let bytes = InputFixtures.generatedTrace(lines: 2_000)
        let path = InputFixtures.temporaryFile(InputFixtures.skippableFrame(payload: [1]) + InputFixtures.zstdFrame(bytes))
        defer { InputFixtures.remove(path) }
        let fileFD = open(path, O_RDONLY)
        #expect(fileFD >= 0)
        let savedStdin = dup(STDIN_FILENO)
        #expect(dup2(fileFD, STDIN_FILENO) == STDIN_FILENO)
        close(fileFD)
        defer {
            dup2(savedStdin, STDIN_FILENO)
            close(savedStdin)
        }
        let got: (lines: [Line], error: (any Error)?)
        do {
            let source = try openByteSource(path: "-")
            #expect(source.format == .zstd)
            #expect(source.path == "-")
            got = InputFixtures.collect(source)
        }
        // The source is gone; fd 0 must still be open (the source does not own it).
        #expect(fcntl(STDIN_FILENO, F_GETFD) != -1)
        #expect(got.error == nil)
        #expect(got.lines == (try Self.plainLines(bytes)))
    }

    // MARK: large streaming input

    @Test func twentyMegabytesStreamInConstantMemory() throws {
        let bytes = InputFixtures.generatedTrace(lines: 180_000, seed: 3)
        #expect(bytes.count > 20_000_000)
        var expectedCount = 0
        var expectedSum: UInt64 = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            expectedCount += 1
            for b in line { expectedSum = expectedSum &* 31 &+ UInt64(b) }
            expectedSum = expectedSum &* 31 &+ UInt64(line.count)
        }
        let frames = InputFixtures.zstdFrame(Array(bytes[..<9_000_001]), level: 1)
            + InputFixtures.zstdFrame(Array(bytes[9_000_001...]), level: 1)
        let path = InputFixtures.temporaryFile(frames, suffix: ".zst")
        defer { InputFixtures.remove(path) }

        let source = try openByteSource(path: path)
        var splitter = LineSplitter(source: source)
        var count = 0
        var sum: UInt64 = 0
        var longest = 0
        try splitter.forEachLine { line, number, cut in
            count += 1
            #expect(number == count)
            #expect(!cut)
            longest = max(longest, line.count)
            for b in line { sum = sum &* 31 &+ UInt64(b) }
            sum = sum &* 31 &+ UInt64(line.count)
        }
        #expect(count == expectedCount)
        #expect(sum == expectedSum)
        #expect(splitter.lineCount == expectedCount)
        #expect(source.decompressedBytesProduced == bytes.count)
        #expect(source.compressedBytesRead == frames.count)
        // Streaming, not slurping: the compressed input buffer is one zstd block.
        #expect(ZstdDecoder.recommendedInputSize < 256 * 1024)
        #expect(longest < 200)
    }
}
