/// Merging the text files of a capture engine into one trace, ordered by timestamp.
///
/// Every source file is already in time order (tracefs output, or an engine that sorted its
/// own records). Lines carry either 6-digit (tracefs) or 9-digit (BPF) fractions of the same
/// CLOCK_MONOTONIC clock, so they compare as nanoseconds. A line without a timestamp keeps
/// its place after the line before it in its own file: nothing is dropped or reordered
/// within a file.
public enum CaptureMerge {
    /// The timestamp of an ftrace-style line (`comm-pid [cpu] flags secs.frac: event: ...`),
    /// in nanoseconds, or nil when the line has none.
    public static func timestamp(_ line: some Collection<UInt8>) -> UInt64? {
        var it = line.makeIterator()
        // The timestamp is the first token after the CPU column `[nnn]`.
        var sawBracket = false
        while let c = it.next() {
            if c == UInt8(ascii: "]") { sawBracket = true; break }
        }
        guard sawBracket else { return nil }
        var token: [UInt8] = []
        var tokens = 0
        while let c = it.next() {
            if c == UInt8(ascii: " ") {
                if !token.isEmpty {
                    if let t = parseTimestampToken(token) { return t }
                    tokens += 1
                    if tokens > 3 { return nil }
                    token.removeAll(keepingCapacity: true)
                }
                continue
            }
            token.append(c)
        }
        return token.isEmpty ? nil : parseTimestampToken(token)
    }

    /// `12345.678901:` or `12345.678901234:` as nanoseconds.
    static func parseTimestampToken(_ token: [UInt8]) -> UInt64? {
        guard token.count >= 3, token.last == UInt8(ascii: ":") else { return nil }
        var seconds: UInt64 = 0
        var fraction: UInt64 = 0
        var digits = 0
        var inFraction = false
        for c in token.dropLast() {
            if c == UInt8(ascii: ".") {
                if inFraction { return nil }
                inFraction = true
                continue
            }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let d = UInt64(c - UInt8(ascii: "0"))
            if inFraction {
                guard digits < 9 else { return nil }
                fraction = fraction * 10 + d
                digits += 1
            } else {
                guard seconds < UInt64.max / 10_000_000_000 else { return nil }
                seconds = seconds * 10 + d
            }
        }
        guard inFraction, digits > 0 else { return nil }
        for _ in digits..<9 { fraction *= 10 }
        return seconds * 1_000_000_000 + fraction
    }

    /// One source: its lines (without newlines) and the timestamp each sorts by.
    public struct Source {
        public var name: String
        public var lines: [ArraySlice<UInt8>]
        public var keys: [UInt64]
        /// Lines whose timestamp is earlier than the line before them in the same file.
        public var outOfOrder: Int

        public init(name: String, text: [UInt8]) {
            self.name = name
            lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            keys = []
            keys.reserveCapacity(lines.count)
            outOfOrder = 0
            var last: UInt64 = 0
            for line in lines {
                if let t = timestamp(line) {
                    if t < last { outOfOrder += 1 } else { last = t }
                }
                keys.append(last)
            }
        }
    }

    /// Emits the lines of all sources in timestamp order; ties keep the order of `sources`.
    public static func merge(_ sources: [Source], emit: (ArraySlice<UInt8>) throws -> Void) rethrows {
        var next = [Int](repeating: 0, count: sources.count)
        while true {
            var best = -1
            for (i, s) in sources.enumerated() where next[i] < s.lines.count {
                if best < 0 || s.keys[next[i]] < sources[best].keys[next[best]] { best = i }
            }
            if best < 0 { return }
            try emit(sources[best].lines[next[best]])
            next[best] += 1
        }
    }

    /// The metadata header a capture starts with.
    public static func header(kernel: String, clock: String, engine: String) -> String {
        "# tracecheck: kernel=\(kernel) clock=\(clock) capture=\(engine)"
    }
}
