import Foundation

/// The benchmark's inputs: seeded captures, generated once and cached under `.build-bench/`
/// (git-ignored; never committed).
enum BenchInputs {
    struct Spec: CustomStringConvertible {
        var bytes: Int
        var pfns: Int
        var seed: UInt64
        var description: String { "\(formatSize(bytes)), \(pfns) pfns, seed \(seed)" }
    }

    /// Returns the path of a `.zst` capture for `spec`, generating it with the package's own
    /// `tracegen` if it is not cached (its random workload has the event mix; no ground
    /// truth is written):
    ///     swift run -c release tracegen --seed S --size N --pfns P --no-truth -o FILE.zst
    static func make(_ spec: Spec, root: URL, log: (String) -> Void) throws -> URL {
        let dir = root.appendingPathComponent(".build-bench")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
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
        guard status == 0, FileManager.default.fileExists(atPath: tmp.path) else {
            try? FileManager.default.removeItem(at: tmp)
            throw BenchError("tracegen failed (exit \(status))")
        }
        try FileManager.default.moveItem(at: tmp, to: file)
        return file
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
