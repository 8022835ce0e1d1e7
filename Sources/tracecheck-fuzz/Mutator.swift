import CZstd

/// A small, seedable generator (SplitMix64): the same seed gives the same inputs.
struct FuzzRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
}

/// Builds hostile inputs from seed lines: line mutations (delete, duplicate, swap, splice,
/// attack lines, extreme numbers, odd decision words, control bytes), byte mutations (flips,
/// random bytes, truncation), and zstd wrapping (several frames, skippable frames, damage to
/// the compressed bytes).
struct Mutator {
    var seeds: [[[UInt8]]]
    var rng: FuzzRandom

    /// Lines made to hurt: each reproduces one kind of damage or attack.
    static let attackLines: [String] = [
        "# tracecheck: kernel=6.18.44 clock=global capture=fuzz",
        "# tracecheck: kernel=5.8.18 clock=global capture=fuzz",
        "# tracecheck: kernel=5.9.16 clock=local",
        "# tracecheck: kernel=\u{1B}[31mred clock=\"q\\",
        "CPU:0 [LOST 999999999999999999 EVENTS]",
        "CPU:1 [LOST EVENTS]",
        "CPU:3 [12 EVENTS DROPPED]",
        "Lost 999999999999999999 events",
        "##### CPU 1 buffer started ####",
        "           a-1     [000] .... 99999999999999999.000001: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1 anon=1",
        "           a-1     [000] .... 9223372036.999999999: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1 anon=1",
        "           a-1     [000] .... 1.000001: wp_page: pfn=0x10 decision=reuse refcount=4294967297 mapcount=1 anon=1",
        "           a-4294967295 [000] .... 1.000002: wp_page: pfn=0x10 decision=reuse refcount=1 mapcount=1 anon=1",
        "           a-1     [000] .... 1.000003: wp_page: pfn=0x11 decision=reuse refcount=-1 mapcount=-2 anon=1",
        "           a-1     [000] .... 1.000004: page_ref_mod: pfn=0x11 flags=lru count=4294967297 mapcount=0 mapping=(nil) mt=1 val=1",
        "           a-1     [000] .... 1.000004: page_ref_mod: pfn=0xffffffffffffffff flags=lru count=2 mapcount=0 mapping=(nil) mt=1 val=1",
        "           a-2     [001] .... 1.000005: page_ref_mod: pfn=0x10 flags=lru|swapbacked count=2 mapcount=1 mapping=ffff888100000001 mt=1 val=1",
        "           a-2     [001] .... 1.000006: page_ref_mod_unless: pfn=0x10 flags=lru count=3 mapcount=1 mapping=ffff888100000001 mt=1 val=1 ret=1",
        "           a-1     [000] .... 1.000007: wp_page: pfn=0x10 decision=\"quote\\back tgid=1",
        "           a-1     [000] .... 1.000007: wp_page: pfn=0x10 decision=\u{1B}[2J\u{0}nul tgid=1",
        "           \u{1B}]0;title\u{7}-3 [000] .... 1.000008: wp_page: pfn=0x12 decision=reuse refcount=1 mapcount=1 anon=1",
        "           a-1     [000] .... 1.000009: wp_page: pfn=0x13 decision=copy order=63 refcount=2147483647 mapcount=2147483647 swapcount=2147483647 swapcache=1",
        "           a-1 (4294967296) [000] .... 1.000010: wp_page: pfn=0x14 decision=reuse",
        "           a-1     [4294967296] .... 1.000011: wp_page: pfn=0x14 decision=reuse",
        "           a-1     [000] .... 1.000012: sched_process_fork: comm=a pid=4294967297 child_comm=a child_pid=2",
        "           a-1     [000] .... 1.000013: ksm_merge_one_page: ksm pfn 18446744073709551615 rmap_item 0 mm 0 error 4294967296",
        "           a-1     [000] .... 1.000014: wp_page: pfn=0x15 decision=reuse tgid=-5 mapcount_raw=-2",
        "wp_page: pfn=0x16 decision=reuse refcount=1 mapcount=1 anon=1",
        "page_ref_mod: pfn=0x16 flags=lru count=2 mapcount=0 mapping=(nil) mt=1 val=1",
        "README: this is not a trace",
        "cpus=4",
        "Attaching 3 probes...",
        "\r",
        "",
    ]

    static let extremeNumbers = [
        "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "4294967297", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "999999999999999999",
        "99999999999999999999999", "0x", "0xffffffffffffffff", "18446744073709551616", "-0", "+5", "", "nan",
    ]

    mutating func lines() -> [[UInt8]] {
        let seed = rng.pick(seeds)
        guard !seed.isEmpty else { return [] }
        let start = rng.below(seed.count)
        let n = 1 + rng.below(200)
        return Array(seed[start..<min(seed.count, start + n)])
    }

    /// A full input: mutated lines, joined, then byte mutations and maybe zstd.
    mutating func input() -> [UInt8] {
        var ls = lines()
        for _ in 0..<(1 + rng.below(8)) { mutateLines(&ls) }
        var bytes: [UInt8] = []
        let crlf = rng.chance(20)
        for l in ls {
            bytes += l
            if crlf { bytes.append(0x0D) }
            bytes.append(0x0A)
        }
        if rng.chance(4) {
            for _ in 0..<(1 + rng.below(4)) { mutateBytes(&bytes) }
        }
        if rng.chance(5) { bytes = zstdWrap(bytes) }
        return bytes
    }

    mutating func mutateLines(_ ls: inout [[UInt8]]) {
        switch rng.below(12) {
        case 0 where !ls.isEmpty: ls.remove(at: rng.below(ls.count))
        case 1 where !ls.isEmpty:
            let i = rng.below(ls.count)
            ls.insert(contentsOf: repeatElement(ls[i], count: 1 + rng.below(rng.chance(10) ? 3000 : 4)), at: i)
        case 2 where ls.count > 1: ls.swapAt(rng.below(ls.count), rng.below(ls.count))
        case 3, 4: ls.insert(Array(rng.pick(Self.attackLines).utf8), at: rng.below(ls.count + 1))
        case 5 where !ls.isEmpty: replaceNumber(&ls[rng.below(ls.count)])
        case 6 where !ls.isEmpty: replaceValue(&ls[rng.below(ls.count)])
        case 7:
            // Splice lines of another seed.
            let other = lines()
            ls.insert(contentsOf: other, at: rng.below(ls.count + 1))
        case 8 where !ls.isEmpty:
            let i = rng.below(ls.count)
            if !ls[i].isEmpty { ls[i].removeLast(rng.below(ls[i].count)) }
        case 9:
            // Quadratic-parse bait and huge lines.
            let unit = rng.pick(["a)[1] ", "[1", "-1 [", "(", "=", " ", "\u{1B}"])
            ls.insert(Array(String(repeating: unit, count: 1 + rng.below(rng.chance(50) ? 40_000 : 200)).utf8), at: rng.below(ls.count + 1))
        case 10:
            // Many distinct decision words and tasks.
            for k in 0..<(1 + rng.below(60)) {
                let word = rng.chance(2) ? "w\(rng.below(100_000))" : "reuse"
                ls.append(Array("           t-\(100 + k) [000] .... 2.\(String(100_000 + k)): wp_page: pfn=0x\(String(0x1000 + rng.below(64), radix: 16)) decision=\(word) refcount=1 mapcount=1 anon=1".utf8))
            }
        default:
            if !ls.isEmpty { ls[rng.below(ls.count)].insert(UInt8(truncatingIfNeeded: rng.next()), at: 0) }
        }
    }

    /// Replaces one run of digits in the line with an extreme number.
    mutating func replaceNumber(_ l: inout [UInt8]) {
        var runs: [Range<Int>] = []
        var i = 0
        while i < l.count {
            if l[i] >= 0x30 && l[i] <= 0x39 {
                let s = i
                while i < l.count, l[i] >= 0x30 && l[i] <= 0x39 { i += 1 }
                runs.append(s..<i)
            } else { i += 1 }
        }
        guard !runs.isEmpty else { return }
        l.replaceSubrange(rng.pick(runs), with: Array(rng.pick(Self.extremeNumbers).utf8))
    }

    /// Replaces the value of one `key=value` token.
    mutating func replaceValue(_ l: inout [UInt8]) {
        let eqs = l.indices.filter { l[$0] == 0x3D }
        guard let eq = eqs.isEmpty ? nil : rng.pick(eqs) else { return }
        var end = eq + 1
        while end < l.count, l[end] != 0x20 { end += 1 }
        let values = Self.extremeNumbers + ["reuse", "copy", "\"", "\\", "\u{1B}[0m", "\u{0}", "(nil)", "lru|locked|swapbacked", "1", "0", "é\u{301}", "\u{FFFF}"]
        l.replaceSubrange((eq + 1)..<end, with: Array(rng.pick(values).utf8))
    }

    mutating func mutateBytes(_ b: inout [UInt8]) {
        guard !b.isEmpty else { b = [UInt8(truncatingIfNeeded: rng.next())]; return }
        switch rng.below(5) {
        case 0: b[rng.below(b.count)] ^= UInt8(1 << rng.below(8))
        case 1: b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2: b.insert(contentsOf: (0..<(1 + rng.below(16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: rng.below(b.count))
        case 3: b.removeLast(rng.below(b.count))
        default: b.insert(rng.pick([0x00, 0x0D, 0x0A, 0x1B, 0xFF, 0xC3]), at: rng.below(b.count))
        }
    }

    /// One or more zstd frames (maybe a skippable one), then maybe damage or a cut.
    mutating func zstdWrap(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        if rng.chance(4) { out += Self.skippableFrame(rng.below(64)) }
        var rest = bytes[...]
        let frames = 1 + rng.below(3)
        for k in 0..<frames {
            let n = k == frames - 1 ? rest.count : rng.below(rest.count + 1)
            out += Self.compress(Array(rest.prefix(n)), level: Int32(1 + rng.below(5)))
            rest = rest.dropFirst(n)
        }
        if rng.chance(4) { out += Self.skippableFrame(rng.below(64)) }
        switch rng.below(6) {
        case 0 where !out.isEmpty: out.removeLast(1 + rng.below(out.count))
        case 1 where !out.isEmpty: out[rng.below(out.count)] ^= UInt8(1 << rng.below(8))
        case 2: out += Array("garbage after the frames\n".utf8)
        default: break
        }
        return out
    }

    static func skippableFrame(_ size: Int) -> [UInt8] {
        [0x50, 0x2A, 0x4D, 0x18, UInt8(size & 0xFF), 0, 0, 0] + [UInt8](repeating: 0xAB, count: size)
    }

    static func compress(_ bytes: [UInt8], level: Int32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let n = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level)
            }
        }
        precondition(ZSTD_isError(n) == 0, "ZSTD_compress failed")
        return Array(out.prefix(n))
    }
}
