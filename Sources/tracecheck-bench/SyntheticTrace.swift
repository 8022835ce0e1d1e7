/// A deterministic synthetic capture with the realistic event mix of issue 5: about 60 %
/// page_ref, 10 % wp_page, 5 % ksm, 25 % other events (mm_page_alloc, mm_page_free,
/// tlb_flush, page_fault_user, sched_switch, tracing_mark_write), over a fixed number of
/// distinct pfns. Line shapes are the ones of the real 6.x captures in traces/real and of
/// TRACE-FORMATS.md §3 and §5; the page_ref counts of each pfn add up (a consistent replay),
/// and each fault's observed decision is the one its replayed refcount implies under v5.9+
/// (refcount 1 → reuse), with a small share of snapshot-carrying `wp_page` lines as the
/// capture kit prints them.
///
/// This is the stand-in for `tracegen` (issue 4) until that generator lands; see
/// `BenchInputs.make` for the switch-over point.
public struct SyntheticTrace {
    /// How the `wp_page` lines are printed. One capture uses one format (one tool wrote it).
    public enum WpFormat: String, CaseIterable, Sendable {
        /// `wp_page: tgid=… pfn=0x… addr=0x… decision=… dt_ns=…`: the fault's inputs come from
        /// the replayed page_ref state (the brief's minimal line, the default).
        case minimal
        /// Every line also carries the capture kit's snapshot fields (CAPTURE-NOTES.md §4).
        case snapshot
        /// One line in four carries the snapshot fields.
        case mixed
    }

    /// Changes whenever the generated text does (cached captures carry it in their name).
    public static let version = 2

    public var seed: UInt64
    public var pfns: Int
    /// Decompressed size to produce (the last line may run a little past it).
    public var bytes: Int
    public var wpFormat: WpFormat

    public init(seed: UInt64 = 1, pfns: Int = 100_000, bytes: Int, wpFormat: WpFormat = .minimal) {
        precondition(pfns > 0)
        self.seed = seed
        self.pfns = pfns
        self.bytes = bytes
        self.wpFormat = wpFormat
    }

    /// Writes the trace in pieces of roughly `pieceSize` bytes to `sink`, in order.
    public func write(pieceSize: Int = 1 << 20, _ sink: (UnsafeRawBufferPointer) -> Void) {
        var g = Generator(seed: seed, pfns: pfns, wpFormat: wpFormat)
        let out = ByteWriter(capacity: pieceSize + 4096)
        var written = 0
        g.header(out)
        while written + out.count < bytes {
            g.line(out)
            if out.count >= pieceSize {
                written += out.count
                out.withBytes(sink)
                out.reset()
            }
        }
        written += out.count
        out.withBytes(sink)
    }

    /// The whole trace in memory (small sizes only: tests).
    public func text() -> [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(bytes + 1024)
        write { all.append(contentsOf: $0) }
        return all
    }
}

/// SplitMix64: small, fast, deterministic on every platform.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<n (n > 0); the modulo bias is irrelevant here.
    @inline(__always) mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// An append-only byte buffer with the few formatting primitives the generator needs.
final class ByteWriter {
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    func reset() { count = 0 }

    func withBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        body(UnsafeRawBufferPointer(start: buffer, count: count))
    }

    @inline(__always) private func reserve(_ n: Int) {
        if count + n > capacity {
            let newCapacity = max(capacity * 2, count + n)
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            b.update(from: buffer, count: count)
            buffer.deallocate()
            buffer = b
            capacity = newCapacity
        }
    }

    @inline(__always) func byte(_ b: UInt8) {
        reserve(1)
        buffer[count] = b
        count += 1
    }

    func text(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        reserve(n)
        (buffer + count).update(from: s.utf8Start, count: n)
        count += n
    }

    func bytes(_ a: [UInt8]) {
        reserve(a.count)
        a.withUnsafeBufferPointer { (buffer + count).update(from: $0.baseAddress!, count: a.count) }
        count += a.count
    }

    func decimal(_ v: Int, width: Int = 0, pad: UInt8 = 0x20) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        var n = v < 0 ? UInt64(-v) : UInt64(v)
        var len = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - len] = UInt8(n % 10) + 0x30
                n /= 10
                len += 1
            } while n > 0
            let total = len + (v < 0 ? 1 : 0)
            reserve(max(total, width))
            for _ in 0..<max(0, width - total) { buffer[count] = pad; count += 1 }
            if v < 0 { buffer[count] = 0x2D; count += 1 }
            for k in 0..<len { buffer[count + k] = d[24 - len + k] }
            count += len
        }
    }

    func hex(_ v: UInt64, width: Int = 0) {
        let table: StaticString = "0123456789abcdef"
        var len = 1
        while len < 16, v >> (4 * UInt64(len)) != 0 { len += 1 }
        len = max(len, width)
        reserve(len)
        for k in 0..<len {
            buffer[count + k] = table.utf8Start[Int((v >> (4 * UInt64(len - 1 - k))) & 0xF)]
        }
        count += len
    }
}

/// The state behind the generated lines.
struct Generator {
    struct Task {
        var field: [UInt8]  // "     comm-pid   " up to the CPU bracket
        var pid: Int
        var cpu: Int
    }

    struct Page {
        var refcount: Int32 = 0
        var mapcount: Int32 = 0
        var ksm = false
        var lru = true
    }

    var rng: SplitMix64
    let pfnBase: UInt64 = 0x100000
    var pages: [Page]
    var tasks: [Task] = []
    let ksmd: Task
    var nowNs: Int64 = 5_012_123_456_000
    var ksmSeq = 1

    let wpFormat: SyntheticTrace.WpFormat

    init(seed: UInt64, pfns: Int, wpFormat: SyntheticTrace.WpFormat) {
        self.wpFormat = wpFormat
        rng = SplitMix64(seed: seed)
        pages = Array(repeating: Page(), count: pfns)
        let comms = ["cow_workload", "a.out", "java", "postgres", "kworker/u8:2", "memcached", "python3", "redis-server"]
        for i in 0..<24 {
            let comm = comms[i % comms.count]
            let pid = 2000 + i * 37
            tasks.append(Task(field: Self.field(comm, pid), pid: pid, cpu: i % 4))
        }
        ksmd = Task(field: Self.field("ksmd", 37), pid: 37, cpu: 0)
    }

    static func field(_ comm: String, _ pid: Int) -> [UInt8] {
        // ftrace right-aligns "comm-pid" in 16 columns and pads the pid field.
        let s = "\(comm)-\(pid)"
        let padded = String(repeating: " ", count: max(0, 16 - s.count)) + s + "   "
        return Array(padded.utf8)
    }

    mutating func header(_ o: ByteWriter) {
        o.text("# tracer: nop\n#\n# tracecheck: kernel=6.6.30 clock=mono\n")
        o.text("# synthetic capture: tracecheck-bench (60% page_ref, 10% wp_page, 5% ksm, 25% other)\n")
        o.text("#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n")
        o.text("#              | |         |   |||||     |         |\n")
    }

    /// `      comm-pid   [00c] d..2.  5012.123456: ` (6 decimals) or 9 decimals for wp_page.
    mutating func prefix(_ o: ByteWriter, _ t: Task, nanos: Bool = false) {
        nowNs &+= Int64(200 + rng.below(1800))
        o.bytes(t.field)
        o.byte(0x5B)
        o.decimal(t.cpu, width: 3, pad: 0x30)
        o.text("] ")
        switch rng.below(4) {
        case 0: o.text("d..2.")
        case 1: o.text("...1.")
        default: o.text(".....")
        }
        o.text("  ")
        o.decimal(Int(nowNs / 1_000_000_000))
        o.byte(0x2E)
        let frac = nowNs % 1_000_000_000
        if nanos { o.decimal(Int(frac), width: 9, pad: 0x30) } else { o.decimal(Int(frac / 1000), width: 6, pad: 0x30) }
        o.text(": ")
    }

    mutating func line(_ o: ByteWriter) {
        let r = rng.below(100)
        if r < 60 {
            pageRef(o)
        } else if r < 70 {
            wpPage(o)
        } else if r < 75 {
            ksm(o)
        } else {
            other(o)
        }
    }

    mutating func pickPage() -> Int {
        // A skewed choice: half of the events hit the first eighth of the pages.
        if rng.below(2) == 0 { return rng.below(max(1, pages.count / 8)) }
        return rng.below(pages.count)
    }

    mutating func flags(_ o: ByteWriter, _ p: Page) {
        if p.lru { o.text("referenced|uptodate|dirty|lru|active|swapbacked") } else { o.text("uptodate|dirty|swapbacked") }
    }

    mutating func mapping(_ o: ByteWriter, _ index: Int, _ p: Page) {
        // Raw pointers (nohash): anon_vma | 1, or a stable node | 3 for KSM pages.
        let anonVma: UInt64 = 0xffff_8881_0000_0000 | (UInt64(index % 4096) << 6)
        o.hex(p.ksm ? anonVma | 3 : anonVma | 1, width: 16)
    }

    mutating func pageRef(_ o: ByteWriter) {
        let index = pickPage()
        var p = pages[index]
        let t = tasks[rng.below(tasks.count)]
        prefix(o, t)
        let pick = rng.below(100)
        var val: Int32
        var ret: Int32? = nil
        // About 5 % set, 45 % mod (+1 and -1), 28 % mod_and_test, 8 % mod_unless,
        // 4 % mod_and_return, a few freeze/unfreeze pairs; counts stay between 1 and 6.
        let increment = (pick < 50 && p.refcount < 6) || p.refcount == 1
        if p.refcount == 0 || pick < 4 {
            // Allocation: set_page_count(1).
            o.text("page_ref_set: ")
            p = Page(refcount: 1, mapcount: 1, ksm: false, lru: rng.below(4) != 0)
            val = 1
        } else if p.refcount == 1 && pick >= 97 {
            // Freeze and unfreeze at count 1 (v5.8's KSM-style reuse).
            o.text("page_ref_freeze: ")
            o.text("pfn=0x"); o.hex(pfnBase + UInt64(index))
            o.text(" flags="); flags(o, p)
            o.text(" count=0 mapcount="); o.decimal(Int(p.mapcount))
            o.text(" mapping="); mapping(o, index, p)
            o.text(" mt=1 val=1 ret=1\n")
            prefix(o, t)
            o.text("page_ref_unfreeze: ")
            val = 1
        } else if increment {
            val = 1
            p.refcount += 1
            switch pick % 8 {
            case 0: o.text("page_ref_mod_unless: "); ret = 1
            case 1 where pick < 40: o.text("page_ref_mod_and_return: "); ret = p.refcount
            default: o.text("page_ref_mod: ")
            }
        } else {
            val = -1
            p.refcount -= 1
            if pick < 80 { o.text("page_ref_mod_and_test: "); ret = 0 } else { o.text("page_ref_mod: ") }
        }
        p.mapcount = min(p.mapcount, p.refcount)
        if p.mapcount == 0 { p.mapcount = 1 }
        o.text("pfn=0x"); o.hex(pfnBase + UInt64(index))
        o.text(" flags="); flags(o, p)
        o.text(" count="); o.decimal(Int(p.refcount))
        o.text(" mapcount="); o.decimal(Int(p.mapcount))
        o.text(" mapping="); mapping(o, index, p)
        o.text(" mt=1 val="); o.decimal(Int(val))
        if let ret { o.text(" ret="); o.decimal(Int(ret)) }
        o.byte(0x0A)
        pages[index] = p
    }

    mutating func wpPage(_ o: ByteWriter) {
        let index = pickPage()
        let p = pages[index]
        let t = tasks[rng.below(tasks.count)]
        prefix(o, t, nanos: true)
        o.text("wp_page: tgid="); o.decimal(t.pid)
        o.text(" pfn=0x"); o.hex(pfnBase + UInt64(index))
        o.text(" addr=0x7f"); o.hex(rng.next() & 0xff_ffff_f000, width: 10)
        let decision: StaticString = p.refcount == 1 && !p.ksm ? "reuse" : "copy"
        let snapshot: Bool
        switch wpFormat {
        case .minimal: snapshot = false
        case .snapshot: snapshot = true
        case .mixed: snapshot = rng.below(4) == 0 && p.refcount > 0
        }
        if snapshot {
            // A snapshot-carrying line, as the capture kit writes it (CAPTURE-NOTES.md §4).
            let refcount = max(1, Int(p.refcount)), mapcount = max(1, Int(p.mapcount))
            o.text(" ip=0x401b19 err=0x7 kmode=0 lvl=pte refcount="); o.decimal(refcount)
            o.text(" mapcount="); o.decimal(mapcount)
            o.text(" mapcount_raw="); o.decimal(mapcount - 1)
            o.text(" order=0 pgflags="); flags(o, p)
            o.text(" mapping=0x"); mapping(o, index, p)
            o.text(p.ksm ? " anon=1 ksm=1" : " anon=1 ksm=0")
            o.text(" swapcache=0 locked=0 writeback=0 lru="); o.decimal(p.lru ? 1 : 0)
            o.text(" large=0 anon_exclusive=0 zero=0")
        }
        o.text(" decision="); o.text(decision)
        o.text(" dt_ns="); o.decimal(900 + rng.below(20000))
        o.byte(0x0A)
        // The other lines print microseconds: keep the merged clock from going backwards.
        nowNs = (nowNs / 1000 + 1) * 1000
    }

    mutating func ksm(_ o: ByteWriter) {
        let index = pickPage()
        prefix(o, ksmd)
        let pfn = Int(pfnBase) + index
        switch rng.below(10) {
        case 0:
            o.text("ksm_start_scan: seq "); o.decimal(ksmSeq); o.text(" rmap size "); o.decimal(rng.below(5000))
        case 1:
            o.text("ksm_stop_scan: seq "); o.decimal(ksmSeq); o.text(" rmap size "); o.decimal(rng.below(5000))
            ksmSeq += 1
        case 2, 3, 4:
            o.text(rng.below(2) == 0 ? "ksm_merge_with_ksm_page: ksm pfn " : "ksm_merge_with_ksm_page: pfn ")
            o.decimal(pfn)
            o.text(" rmap_item "); o.hex(rng.next() & 0xffff_ffff, width: 16)
            o.text(" mm 0000000077c05ae0 error 0")
            pages[index].ksm = true
        case 5, 6, 7:
            o.text("ksm_remove_rmap_item: pfn "); o.decimal(pfn)
            o.text(" rmap_item "); o.hex(rng.next() & 0xffff_ffff, width: 16)
            o.text(" mm 0000000077c05ae0")
        case 8:
            o.text("ksm_remove_ksm_page: pfn "); o.decimal(pfn)
            pages[index].ksm = false
        default:
            o.text("ksm_enter: mm "); o.hex(rng.next() & 0xffff_ffff, width: 16)
        }
        o.byte(0x0A)
    }

    mutating func other(_ o: ByteWriter) {
        let t = tasks[rng.below(tasks.count)]
        prefix(o, t)
        switch rng.below(20) {
        case 0..<6:
            o.text("mm_page_alloc: page="); o.hex(rng.next() & 0xffff_ffff, width: 16)
            o.text(" pfn=0x"); o.hex(pfnBase + UInt64(pickPage()))
            o.text(" order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP")
        case 6..<10:
            o.text("mm_page_free: page="); o.hex(rng.next() & 0xffff_ffff, width: 16)
            o.text(" pfn=0x"); o.hex(pfnBase + UInt64(pickPage())); o.text(" order=0")
        case 10..<13:
            o.text("tlb_flush: pages:1 reason:local MM shootdown (3)")
        case 13..<17:
            o.text("page_fault_user: address=0x7f"); o.hex(rng.next() & 0xff_ffff_ffff, width: 10)
            o.text(" ip=0x401b19 error_code=0x7")
        case 17..<19:
            let n = tasks[rng.below(tasks.count)]
            o.text("sched_switch: prev_comm=worker prev_pid="); o.decimal(t.pid)
            o.text(" prev_prio=120 prev_state=S ==> next_comm=worker next_pid="); o.decimal(n.pid)
            o.text(" next_prio=120")
        default:
            o.text("tracing_mark_write: phase=steady iteration="); o.decimal(rng.below(1_000_000))
        }
        o.byte(0x0A)
    }
}
