import CZstd
import Foundation
import Testing
@testable import TraceCheckCore

/// A small input, shown escaped in test output.
struct InputFixture: Sendable, CustomTestStringConvertible {
    var text: String
    var bytes: [UInt8] { Array(text.utf8) }
    var testDescription: String { text.debugDescription }
}

/// Helpers for the Input tests (ByteSourceTests, LineSplitterTests), namespaced so they
/// do not clash with other test files in this module.
enum InputFixtures {
    /// One delivered line, owned (tests only).
    struct Line: Equatable, CustomStringConvertible {
        var bytes: [UInt8]
        var number: Int
        var cut: Bool

        var description: String {
            "\(number)\(cut ? "✂" : ""):\(String(decoding: bytes, as: UTF8.self).debugDescription)"
        }
    }

    /// Small inputs covering the splitter's edge cases (with `maxLineLength` 8 and the default).
    static let fixtures: [InputFixture] = [
        "",
        "\n",
        "a",
        "a\n",
        "a\nb",
        "\n\n\n",
        "\r",
        "\r\n",
        "\r\r\n",
        "x\r\r\ny",
        "one\r\ntwo\r\n\r\nthree",
        "no final newline\nsecond",
        "12345678\n123456789\n1234567\r\n12345678\r\n123456789\r\n",
        "123456789012345678901234567890\nshort\n\n12345678901234567890",
        "abcdefgh\r",
        "abcdefghi\r",
        "ab\rcdefghijk\r\nz",
        "  <idle>-0       [001] d..2.  1058.969289: page_ref_mod: pfn=0x1d412a flags=uptodate|lru count=2 mapcount=1 mapping=0000000000000000 mt=1 val=1\n"
            + "cow_workload-22405   [001] .....  1058.969290: wp_page: pfn=0x1d412a decision=copy\n",
    ].map(InputFixture.init(text:))

    static let chunkSizes: [Int] = [1, 2, 3, 4, 5, 7, 8, 9, 13, 64, 4096]

    /// The specification, written the slow obvious way.
    static func referenceLines(_ input: [UInt8], maxLineLength: Int) -> [Line] {
        var pieces = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if input.last == UInt8(ascii: "\n") || input.isEmpty { pieces.removeLast() }
        return pieces.enumerated().map { index, piece in
            var bytes = piece
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            let cut = bytes.count > maxLineLength
            if cut { bytes = Array(bytes.prefix(maxLineLength)) }
            return Line(bytes: bytes, number: index + 1, cut: cut)
        }
    }

    /// Runs a splitter to the end, collecting lines and the error (if any).
    static func collect<S: ByteSource>(
        _ source: S, chunkSize: Int = 1 << 20, maxLineLength: Int = 64 << 10
    ) -> (lines: [Line], error: (any Error)?) {
        var splitter = LineSplitter(source: source, chunkSize: chunkSize, maxLineLength: maxLineLength)
        var lines: [Line] = []
        do {
            try splitter.forEachLine { line, number, cut in
                lines.append(Line(bytes: Array(line), number: number, cut: cut))
            }
        } catch {
            return (lines, error)
        }
        return (lines, nil)
    }

    /// A source that returns the given read sizes in turn (then the rest in one read).
    struct ScheduledSource: ByteSource {
        var bytes: [UInt8]
        var sizes: [Int]
        var offset = 0
        var call = 0

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
            let wanted = call < sizes.count ? sizes[call] : Int.max
            call += 1
            let n = min(buffer.count, wanted, bytes.count - offset)
            guard n > 0 else { return 0 }
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            offset += n
            return n
        }
    }

    /// Delivers `bytes` (at most `maxReadSize` per read), then throws `error`.
    struct FailingSource: ByteSource {
        var inner: MemoryByteSource
        var error: InputError

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
            let n = try inner.read(into: buffer)
            if n == 0 { throw error }
            return n
        }
    }

    // MARK: zstd

    /// One zstd frame of `bytes`. `knownSize: false` streams it (no content size in the
    /// header, so the window is not shrunk to the content).
    static func zstdFrame(
        _ bytes: [UInt8], level: Int32 = 3, checksum: Bool = true,
        windowLog: Int32? = nil, knownSize: Bool = true
    ) -> [UInt8] {
        let cctx = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(cctx) }
        check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0))
        if let windowLog {
            check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, windowLog))
        }
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count) + 64)
        let written: Int = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                if knownSize {
                    let r = ZSTD_compress2(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
                    check(r)
                    return r
                }
                // Feed with e_continue first: a single e_end call with all the input
                // would record the content size in the header after all.
                var o = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                var i = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                while i.pos < i.size {
                    check(ZSTD_compressStream2(cctx, &o, &i, ZSTD_e_continue))
                }
                while true {
                    let r = ZSTD_compressStream2(cctx, &o, &i, ZSTD_e_end)
                    check(r)
                    if r == 0 { break }
                }
                return o.pos
            }
        }
        return Array(out.prefix(written))
    }

    /// The window size a frame header declares (RFC 8878 §3.1.1.1.2), nil for a
    /// single-segment frame (whose window is its content size).
    static func declaredWindowSize(_ frame: [UInt8]) -> UInt64? {
        let descriptor = frame[4]
        guard descriptor & 0x20 == 0 else { return nil }
        let windowDescriptor = frame[5]
        let windowLog = 10 + UInt64(windowDescriptor >> 3)
        let base: UInt64 = 1 << windowLog
        return base + (base / 8) * UInt64(windowDescriptor & 7)
    }

    /// A skippable frame with magic 0x184D2A5`variant` and the given payload.
    static func skippableFrame(variant: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
        precondition(variant < 16)
        let size = UInt32(payload.count)
        return [0x50 | variant, 0x2A, 0x4D, 0x18,
                UInt8(truncatingIfNeeded: size), UInt8(truncatingIfNeeded: size >> 8),
                UInt8(truncatingIfNeeded: size >> 16), UInt8(truncatingIfNeeded: size >> 24)]
            + payload
    }

    private static func check(_ r: Int) {
        precondition(ZSTD_isError(r) == 0, String(cString: ZSTD_getErrorName(r)))
    }

    // MARK: files

    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func temporaryFile(_ bytes: [UInt8], suffix: String = "") -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tracecheck-input-\(UUID().uuidString)\(suffix)")
        let created = FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
        precondition(created, "cannot create \(url.path)")
        return url.path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Opens `bytes` written to a temporary file and splits it.
    static func collectFile(
        _ bytes: [UInt8], chunkSize: Int = 1 << 20, maxLineLength: Int = 64 << 10
    ) throws -> (lines: [Line], error: (any Error)?, source: FileByteSource) {
        let path = temporaryFile(bytes)
        defer { remove(path) }
        let source = try openByteSource(path: path)
        let result = collect(source, chunkSize: chunkSize, maxLineLength: maxLineLength)
        return (result.lines, result.error, source)
    }

    // MARK: generated traces

    /// Deterministic pseudo-random numbers (SplitMix64).
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// ftrace-looking lines, `count` of them, each ending in "\n".
    static func generatedTrace(lines count: Int, seed: UInt64 = 1) -> [UInt8] {
        var rng = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(count * 120)
        for i in 0..<count {
            let pfn = String(rng.next() & 0xFF_FFFF, radix: 16)
            let cpu = i % 4
            let line = "cow_workload-\(22405 + i % 7) [00\(cpu)] ..... \(1058 + i / 1000).\(100000 + i % 900000): "
                + "page_ref_mod: pfn=0x\(pfn) flags=uptodate|lru count=\(rng.next() % 5) mapcount=1 val=1\n"
            out.append(contentsOf: line.utf8)
        }
        return out
    }
}
