import Foundation

/// The benchmark's inputs: seeded captures, generated once and cached under `.build-bench/`
/// (git-ignored; never committed).
enum BenchInputs {
    struct Spec: CustomStringConvertible {
        var bytes: Int
        var pfns: Int
        var seed: UInt64
        var wpFormat: SyntheticTrace.WpFormat = .minimal
        var description: String { "\(formatSize(bytes)), \(pfns) pfns, seed \(seed), \(wpFormat.rawValue) wp_page lines" }
        /// The builtin generator's cache name; bump `SyntheticTrace.version` when its output changes.
        var builtinName: String {
            "synthetic-v\(SyntheticTrace.version)-\(formatSize(bytes))-p\(pfns)-s\(seed)" + (wpFormat == .minimal ? "" : "-\(wpFormat.rawValue)") + ".zst"
        }
    }

    enum Generator: String, CaseIterable {
        /// `tracegen` when the package has it, else `builtin`.
        case auto
        /// The synthetic generator in this target (`SyntheticTrace`).
        case builtin
        /// `swift run -c release tracegen …` (issue 4).
        case tracegen
    }

    /// Returns the path of a `.zst` capture for `spec`, generating it if it is not cached.
    ///
    /// ─── SWITCH-OVER POINT (issue 4) ──────────────────────────────────────────────────
    /// Inputs come from `tracegen`, the package's seeded generator (its random workload has
    /// the mix; the ground truth is not written):
    ///     swift run -c release tracegen --seed S --size N --pfns P --no-truth -o FILE.zst
    /// `builtin` is the stand-in written before tracegen existed (`SyntheticTrace`, same mix,
    /// replay-mode `wp_page` lines); `auto` takes tracegen when the package has it and falls
    /// back to the builtin generator only if tracegen fails.
    /// ──────────────────────────────────────────────────────────────────────────────────
    static func make(_ spec: Spec, generator: Generator, root: URL, log: (String) -> Void) throws -> URL {
        let dir = root.appendingPathComponent(".build-bench")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let useTracegen: Bool
        switch generator {
        case .builtin: useTracegen = false
        case .tracegen: useTracegen = true
        case .auto:
            useTracegen = FileManager.default.fileExists(atPath: root.appendingPathComponent("Sources/tracegen").path)
        }
        if useTracegen {
            let file = dir.appendingPathComponent("tracegen-\(formatSize(spec.bytes))-p\(spec.pfns)-s\(spec.seed).zst")
            if FileManager.default.fileExists(atPath: file.path) { return file }
            log("generating \(file.lastPathComponent) with tracegen (\(spec))…")
            // tracegen compresses (zstd -3) when the name ends in .zst.
            let tmp = file.deletingPathExtension().appendingPathExtension("partial.zst")
            let status = try Shell.run(
                "/usr/bin/env",
                ["swift", "run", "-c", "release", "tracegen", "--seed", "\(spec.seed)",
                 "--size", formatSize(spec.bytes), "--pfns", "\(spec.pfns)", "--no-truth", "-o", tmp.path],
                cwd: root)
            if status == 0, FileManager.default.fileExists(atPath: tmp.path) {
                try FileManager.default.moveItem(at: tmp, to: file)
                return file
            }
            try? FileManager.default.removeItem(at: tmp)
            if generator == .tracegen { throw BenchError("tracegen failed (exit \(status))") }
            log("tracegen failed (exit \(status)); falling back to the builtin generator")
        }
        let file = dir.appendingPathComponent(spec.builtinName)
        if FileManager.default.fileExists(atPath: file.path) { return file }
        log("generating \(file.lastPathComponent) (\(spec), zstd -3)…")
        try writeBuiltin(spec, to: file)
        return file
    }

    /// Streams `SyntheticTrace` through `zstd -3` into `file` (atomically, via a temp name).
    static func writeBuiltin(_ spec: Spec, to file: URL) throws {
        let tmp = file.appendingPathExtension("partial")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["zstd", "-3", "-q", "-f", "-T2", "-o", tmp.path]
        let pipe = Pipe()
        p.standardInput = pipe
        try p.run()
        let fd = pipe.fileHandleForWriting.fileDescriptor
        SyntheticTrace(seed: spec.seed, pfns: spec.pfns, bytes: spec.bytes, wpFormat: spec.wpFormat).write { piece in
            var off = 0
            while off < piece.count {
                let n = Foundation.write(fd, piece.baseAddress! + off, piece.count - off)
                if n <= 0 { break }
                off += n
            }
        }
        try pipe.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw BenchError("zstd failed (exit \(p.terminationStatus))") }
        try? FileManager.default.removeItem(at: file)
        try FileManager.default.moveItem(at: tmp, to: file)
    }

    /// Decompressed size, by `zstd -lv` when the frame says it, else by counting.
    static func decompressedSize(_ file: URL) throws -> Int {
        let out = try Shell.capture("/bin/sh", ["-c", "zstd -dc '\(file.path)' | wc -c"])
        guard let n = Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BenchError("cannot measure the decompressed size of \(file.path)")
        }
        return n
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// "1GB" → 1_000_000_000 (decimal units, as the issue counts MB/s); also KB, MB, GiB, MiB.
func parseSize(_ s: String) -> Int? {
    let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
                                  ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1)]
    for (suffix, factor) in units where s.hasSuffix(suffix) {
        guard let v = Double(s.dropLast(suffix.count)) else { return nil }
        return Int(v * Double(factor))
    }
    return Int(s)
}

func formatSize(_ n: Int) -> String {
    if n % 1_000_000_000 == 0 { return "\(n / 1_000_000_000)GB" }
    if n % 1_000_000 == 0 { return "\(n / 1_000_000)MB" }
    return "\(n)B"
}
