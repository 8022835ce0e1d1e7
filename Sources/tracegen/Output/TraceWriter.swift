/// Turns the simulator's events into trace lines, as the kernel's `trace` file shows them:
/// the ftrace prefix of the chosen kernel, per-CPU timestamps, lost-event spans (the events
/// are really dropped and a `CPU:n [LOST m EVENTS]` marker printed before the CPU's next
/// event), and with `--clock local` per-CPU offsets and the merge by printed time.
///
/// It also keeps what a reader of the printed lines can know about each page's refcount
/// (TraceFormats.md, When a printed value is still current, the re-sync rule: a count that does not
/// add up, or any lost span, makes a page uncertain until a printed event's count adds up again).
/// That is applied in final output order, so a fault's ground truth can say "state gap" exactly
/// when a reader must.

enum RefOp: UInt8 {
    case set, mod, modAndTest, modAndReturn, modUnless, freeze, unfreeze

    var name: StaticString {
        switch self {
        case .set: "page_ref_set"
        case .mod: "page_ref_mod"
        case .modAndTest: "page_ref_mod_and_test"
        case .modAndReturn: "page_ref_mod_and_return"
        case .modUnless: "page_ref_mod_unless"
        case .freeze: "page_ref_freeze"
        case .unfreeze: "page_ref_unfreeze"
        }
    }

    var hasRet: Bool { self == .modAndTest || self == .modAndReturn || self == .modUnless || self == .freeze }
}

/// What a line means to the bookkeeping done when it reaches the output.
enum LineMeta {
    case plain
    /// `race`: the token of an injected racing increment (0: none).
    case pageRef(page: Int32, op: RefOp, count: Int32, val: Int32, ret: Int32, race: Int)
    case fault(token: Int)
    case lost(span: Int)
}

/// Which share of the load mix a line counts towards (about 60/10/5/25).
enum Family: Int, CaseIterable {
    case pageRef, wp, ksm, other
}

/// A task as the prefix prints it.
struct TaskLabel {
    /// `%16s-%-Nd ` already formatted.
    var column: [UInt8]
    var cpu: Int
    var pid: Int32
}

final class TraceWriter {
    let model: GenModel
    let clock: ClockMode
    let pointers: PointerPrinter
    private let sink: ByteSink
    private var out = LineBuffer(capacity: 1 << 21)
    private var scratch = LineBuffer(capacity: 1 << 12)
    private var flagPrinter: FlagPrinter
    private var capturePrinter = FlagPrinter(table: FlagNames.capture)
    private var rng: Rng
    private let flushThreshold = 1 << 20
    private let irqFlags: [UInt8]

    /// True time in ns (the global clock); every event advances it.
    private(set) var now: UInt64 = 100_000_000_000
    private var cpuOffset: [UInt64]
    /// `--clock local`: no two events on one page from different CPUs closer than this, so the
    /// merge by printed time cannot reorder a page's own events.
    private let skew: UInt64

    private(set) var lines = 0
    private(set) var bytesOut = 0
    private(set) var familyLines = [Int](repeating: 0, count: Family.allCases.count)
    /// Printed events so far, in emission order (the simulator's reader-view sequence numbers).
    private(set) var eventSeq: UInt64 = 0

    // Lost-event injection.
    private var spansLeft: Int
    var lostRate = 0.0
    private var dropping: [Int]
    private var pendingMarker: [Int]
    private var spanOf: [Int]
    private(set) var spans: [LostSpan] = []
    /// Pages a CPU's not yet announced loss touched, and each CPU's idle task (its line brings
    /// the marker out).
    private var unannounced: [[Int32]]
    private var idle: [TaskLabel]

    // What a reader of the printed output knows, per page (final output order).
    private var readerCount: [Int32]
    private var readerSeen: [Bool]
    private var readerGap: [Bool]
    private var readerVerified: [UInt32]
    private var touchedByLoss: [Bool]
    private var epoch: UInt32 = 0
    private var lastTouch: [UInt64]
    private var lastTouchCPU: [Int8]

    // --clock local: per-CPU queues merged by printed time.
    private struct Queued {
        var ts: UInt64
        var seq: UInt64
        var bytes: [UInt8]
        var meta: LineMeta
        var family: Family?
    }
    private var queues: [[Queued]]
    private var queueHeads: [Int]
    private var queueSeq: UInt64 = 0

    /// Receives each fault/race/lost record once its line number is known.
    var truth: TruthCollector?

    struct LostSpan {
        var cpu: Int
        var count = 0
        var fromLine = 0
        var markerLine = 0
        var pfns: [UInt64] = []
    }

    init(config: GeneratorConfig, pages: Int, sink: ByteSink) {
        model = config.model
        clock = config.clock
        self.sink = sink
        rng = Rng(seed: config.seed ^ 0x7472_6163_6567_656E)
        pointers = PointerPrinter(raw: config.usesRawPointers, key: rng.next())
        flagPrinter = FlagPrinter(table: config.model == .v6_18 ? FlagNames.v618 : FlagNames.v5)
        irqFlags = Array(repeating: 0x2E, count: config.model.irqFlagsWidth)
        spansLeft = config.lostSpans
        let cpus = config.cpus
        cpuOffset = Array(repeating: 0, count: cpus)
        skew = config.clock == .local ? 40_000 : 0
        if config.clock == .local {
            for c in 1..<max(cpus, 1) { cpuOffset[c] = UInt64(rng.between(1, 40)) * 1000 }
        }
        dropping = Array(repeating: 0, count: cpus)
        pendingMarker = Array(repeating: 0, count: cpus)
        spanOf = Array(repeating: -1, count: cpus)
        unannounced = Array(repeating: [], count: cpus)
        var labels: [TaskLabel] = []
        for c in 0..<cpus {
            var b = LineBuffer(capacity: 32)
            b.rightAligned(Array("<idle>".utf8), width: 16)
            b.text("-")
            b.decPadded(0, width: config.model.pidWidth, left: true)
            b.byte(0x20)
            labels.append(TaskLabel(column: Array(b.bytes), cpu: c, pid: 0))
        }
        idle = labels
        readerCount = Array(repeating: 0, count: pages)
        readerSeen = Array(repeating: false, count: pages)
        readerGap = Array(repeating: false, count: pages)
        readerVerified = Array(repeating: 0, count: pages)
        touchedByLoss = Array(repeating: false, count: pages)
        lastTouch = config.clock == .local ? Array(repeating: 0, count: pages) : []
        lastTouchCPU = config.clock == .local ? Array(repeating: -1, count: pages) : []
        queues = Array(repeating: [], count: cpus)
        queueHeads = Array(repeating: 0, count: cpus)
    }

    // MARK: - Time

    /// Time passes between two events (1–3 µs: the printed µs always advance).
    @inline(__always)
    func step() { now &+= UInt64(1 + rng.below(3)) * 1000 }

    func pause(microseconds: Int) { now &+= UInt64(microseconds) * 1000 }

    /// `--clock local`: before an event on `page` from `cpu`, let enough time pass since the
    /// page's last event on another CPU.
    @inline(__always)
    func separate(page: Int32, cpu: Int) {
        if page >= 0, !spans.isEmpty { announceLosses(touching: page, from: cpu) }
        guard skew > 0, page >= 0 else { return }
        let p = Int(page)
        if lastTouchCPU[p] >= 0, Int(lastTouchCPU[p]) != cpu, now < lastTouch[p] &+ 2 * skew {
            now = lastTouch[p] &+ 2 * skew + 1000
        }
        lastTouch[p] = now
        lastTouchCPU[p] = Int8(cpu)
    }

    /// `--clock local`: a line that changes how a reader sees `page` (a fork event) was printed
    /// now on `cpu`; later events on the page from other CPUs must not overtake it.
    func stamp(page: Int32, cpu: Int) {
        guard skew > 0, page >= 0 else { return }
        lastTouch[Int(page)] = now
        lastTouchCPU[Int(page)] = Int8(cpu)
    }

    // MARK: - Header

    func header(_ text: String) {
        out.string(text)
        out.byte(0x0A)
        lines += 1
        flushIfNeeded()
    }

    // MARK: - Lines

    /// Decides whether the next event of `cpu` is printed. Protected lines (fault lines, the
    /// events that close a fault, injected races) are never dropped and end a span early.
    private func admit(cpu: Int, protected: Bool, page: Int32, pfn: UInt64) -> Bool {
        if dropping[cpu] > 0 {
            if protected {
                dropping[cpu] = 0
                pendingMarker[cpu] = spans[spanOf[cpu]].count
            } else {
                drop(cpu: cpu, page: page, pfn: pfn)
                dropping[cpu] -= 1
                if dropping[cpu] == 0 { pendingMarker[cpu] = spans[spanOf[cpu]].count }
                return false
            }
        } else if !protected, spansLeft > 0, pendingMarker[cpu] == 0, rng.chance(lostRate) {
            spansLeft -= 1
            spans.append(LostSpan(cpu: cpu, fromLine: lines + 1))
            spanOf[cpu] = spans.count - 1
            dropping[cpu] = 1 + rng.below(8)
            drop(cpu: cpu, page: page, pfn: pfn)
            dropping[cpu] -= 1
            if dropping[cpu] == 0 { pendingMarker[cpu] = spans[spanOf[cpu]].count }
            return false
        }
        return true
    }

    private func drop(cpu: Int, page: Int32, pfn: UInt64) {
        let s = spanOf[cpu]
        spans[s].count += 1
        if page >= 0 {
            touchedByLoss[Int(page)] = true
            unannounced[cpu].append(page)
            if !spans[s].pfns.contains(pfn) { spans[s].pfns.append(pfn) }
        }
    }

    /// The kernel prints a loss only before the CPU's next event. Before another CPU prints
    /// anything about a page the loss touched, that CPU gets a line (its idle task wakes), so a
    /// reader learns of the loss before it could misjudge the page.
    private func announceLosses(touching page: Int32, from cpu: Int) {
        for c in 0..<unannounced.count where c != cpu && !unannounced[c].isEmpty && unannounced[c].contains(page) {
            if dropping[c] > 0 {
                dropping[c] = 0
                pendingMarker[c] = spans[spanOf[c]].count
            }
            let cpuName = "swapper/\(c)"
            event(idle[c], family: .other, protected: true) { b in
                b.text("sched_switch: prev_comm=")
                b.string(cpuName)
                b.text(" prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kworker/u4:2 next_pid=118 next_prio=120")
            }
            stamp(page: page, cpu: c) // the marker must stay ahead of this page's next line
        }
    }

    /// Writes the prefix of an event line into `scratch` (local clock) or `out`; false when the
    /// event is dropped. The caller then writes the payload and calls `finish`.
    @inline(__always)
    private func begin(_ task: TaskLabel, protected: Bool, page: Int32, pfn: UInt64, nineDecimals: Bool, jitter: UInt64 = 0) -> Bool {
        let cpu = task.cpu
        guard admit(cpu: cpu, protected: protected, page: page, pfn: pfn) else { return false }
        if pendingMarker[cpu] > 0 { emitMarker(cpu: cpu) }
        let ts = now &+ cpuOffset[cpu] &+ jitter
        if clock == .local { scratch.removeAll(); writePrefix(&scratch, task, ts, nineDecimals) } else { writePrefix(&out, task, ts, nineDecimals) }
        return true
    }

    @inline(__always)
    private func writePrefix(_ b: inout LineBuffer, _ task: TaskLabel, _ ts: UInt64, _ nine: Bool) {
        b.bytes(task.column)
        b.byte(0x5B)
        b.decPadded(task.cpu, width: 3, left: false, zero: true)
        b.text("] ")
        b.bytes(irqFlags)
        b.byte(0x20)
        b.timestamp(ns: ts, nineDecimals: nine)
        b.text(": ")
    }

    private func emitMarker(cpu: Int) {
        let n = pendingMarker[cpu]
        pendingMarker[cpu] = 0
        unannounced[cpu].removeAll()
        let span = spanOf[cpu]
        if clock == .local {
            var b = LineBuffer(capacity: 64)
            markerText(&b, cpu: cpu, n: n)
            enqueue(cpu: cpu, ts: now &+ cpuOffset[cpu], bytes: Array(b.bytes), meta: .lost(span: span), family: nil)
        } else {
            markerText(&out, cpu: cpu, n: n)
            lineDone(.lost(span: span), family: nil)
        }
    }

    private func markerText(_ b: inout LineBuffer, cpu: Int, n: Int) {
        b.text("CPU:")
        b.dec(cpu)
        b.text(" [LOST ")
        b.dec(n)
        b.text(" EVENTS]\n")
    }

    @inline(__always)
    private func finish(_ task: TaskLabel, meta: LineMeta, family: Family, jitter: UInt64 = 0) {
        eventSeq &+= 1
        if clock == .local {
            scratch.byte(0x0A)
            enqueue(cpu: task.cpu, ts: now &+ cpuOffset[task.cpu] &+ jitter, bytes: Array(scratch.bytes), meta: meta, family: family)
        } else {
            out.byte(0x0A)
            lineDone(meta, family: family)
        }
    }

    /// A line has reached its final position: number it and update the reader's view.
    private func lineDone(_ meta: LineMeta, family: Family?) {
        lines += 1
        if let family { familyLines[family.rawValue] += 1 }
        switch meta {
        case .plain: break
        case .pageRef(let page, let op, let count, let val, let ret, let race):
            readerSees(page: Int(page), op: op, count: count, val: val, ret: ret)
            if race != 0 { truth?.raceLine(token: race, line: lines) }
        case .lost(let span):
            epoch &+= 1
            spans[span].markerLine = lines
            truth?.lostSpan(spans[span])
        case .fault(let token):
            truth?.faultLine(token: token, line: lines, certain: { self.readerCertain($0) }, touchedByLoss: { self.touchedByLoss[$0] })
        }
        flushIfNeeded()
    }

    /// The re-sync rule (TraceFormats.md, When a printed value is still current): a printed count
    /// that adds up verifies the page.
    private func readerSees(page p: Int, op: RefOp, count: Int32, val: Int32, ret: Int32) {
        let seen = readerSeen[p]
        let expected: Int32?
        switch op {
        case .set, .unfreeze: expected = val
        case .mod, .modAndTest, .modAndReturn: expected = seen ? readerCount[p] &+ val : nil
        case .modUnless: expected = seen ? (ret == 1 ? readerCount[p] &+ val : readerCount[p]) : nil
        case .freeze: expected = ret == 1 ? 0 : (seen ? readerCount[p] : nil)
        }
        if let expected {
            if expected == count {
                readerGap[p] = false
                readerVerified[p] = epoch
                touchedByLoss[p] = false
            } else {
                readerGap[p] = true
            }
        } else if !seen, epoch == 0 {
            readerVerified[p] = 0
        }
        readerCount[p] = count
        readerSeen[p] = true
    }

    /// nil: the reader has no state for the page; otherwise whether its state is certain.
    private func readerCertain(_ p: Int) -> Bool? {
        guard readerSeen[p] else { return nil }
        return !readerGap[p] && readerVerified[p] == epoch
    }

    // MARK: - Local-clock merge

    private func enqueue(cpu: Int, ts: UInt64, bytes: [UInt8], meta: LineMeta, family: Family?) {
        queueSeq &+= 1
        queues[cpu].append(Queued(ts: ts, seq: queueSeq, bytes: bytes, meta: meta, family: family))
        drainQueues(upTo: now &+ (cpuOffset.min() ?? 0))
    }

    /// Writes every queued line whose printed time no future line can precede.
    private func drainQueues(upTo limit: UInt64?) {
        while true {
            var best = -1
            for c in 0..<queues.count where queueHeads[c] < queues[c].count {
                let q = queues[c][queueHeads[c]]
                if best < 0 { best = c; continue }
                let b = queues[best][queueHeads[best]]
                if q.ts < b.ts || (q.ts == b.ts && q.seq < b.seq) { best = c }
            }
            guard best >= 0 else { break }
            let q = queues[best][queueHeads[best]]
            if let limit, q.ts >= limit { break }
            queueHeads[best] += 1
            if queueHeads[best] > 4096 {
                queues[best].removeFirst(queueHeads[best])
                queueHeads[best] = 0
            }
            q.bytes.withUnsafeBytes { out.bytes($0) }
            lineDone(q.meta, family: q.family)
        }
    }

    // MARK: - Events

    /// `page_ref_*: pfn=0x%lx flags=%s count=%d mapcount=%d mapping=%p mt=%d val=%d[ ret=%d]`.
    /// `mapcount` is the logical mapcount; v6.18 prints the raw `_mapcount` (one less).
    @discardableResult
    func pageRef(_ task: TaskLabel, op: RefOp, page: Int32, pfn: UInt64, flags: SimFlags, count: Int32,
                 mapcount: Int32, mapping: UInt64, val: Int32, ret: Int32 = 0, race: Int = 0) -> Bool {
        step()
        separate(page: page, cpu: task.cpu)
        guard begin(task, protected: race != 0, page: page, pfn: pfn, nineDecimals: false) else { return false }
        withBuffer { b in
            b.text(op.name)
            b.text(": pfn=0x")
            b.hex(pfn)
            b.text(" flags=")
            flagPrinter.write(flags, into: &b)
            b.text(" count=")
            b.dec(Int(count))
            b.text(" mapcount=")
            b.dec(Int(model.rawMapcount ? mapcount - 1 : mapcount))
            b.text(" mapping=")
            pointers.write(mapping, into: &b)
            b.text(" mt=1 val=")
            b.dec(Int(val))
            if op.hasRet {
                b.text(" ret=")
                b.dec(Int(ret))
            }
        }
        finish(task, meta: .pageRef(page: page, op: op, count: count, val: val, ret: ret, race: race), family: .pageRef)
        return true
    }

    /// Any other event: `name: payload`. `protected` lines are never dropped.
    @discardableResult
    func event(_ task: TaskLabel, family: Family, protected: Bool = false, page: Int32 = -1, pfn: UInt64 = 0,
               meta: LineMeta = .plain, _ payload: (inout LineBuffer) -> Void) -> Bool {
        step()
        separate(page: page, cpu: task.cpu)
        guard begin(task, protected: protected, page: page, pfn: pfn, nineDecimals: false) else { return false }
        withBuffer(payload)
        finish(task, meta: meta, family: family)
        return true
    }

    /// A `wp_page` line: timestamped at fault entry with ns precision, never dropped.
    /// `sameMicrosecond`: no time passes since the previous event (the stamp differs from it by
    /// less than half a microsecond).
    func faultLine(_ task: TaskLabel, token: Int, page: Int32, sameMicrosecond: Bool = false,
                   _ payload: (inout LineBuffer, inout FlagPrinter) -> Void) {
        if !sameMicrosecond { step() }
        separate(page: page, cpu: task.cpu)
        let jitter = UInt64(rng.below(500))
        _ = begin(task, protected: true, page: page, pfn: 0, nineDecimals: true, jitter: jitter)
        if clock == .local { payload(&scratch, &capturePrinter) } else { payload(&out, &capturePrinter) }
        finish(task, meta: .fault(token: token), family: .wp, jitter: jitter)
    }

    @inline(__always)
    private func withBuffer(_ f: (inout LineBuffer) -> Void) {
        if clock == .local { f(&scratch) } else { f(&out) }
    }

    // MARK: - Output

    private func flushIfNeeded() {
        if out.count >= flushThreshold { try? flush() }
    }

    private var writeError: OutputError?

    private func flush() throws(OutputError) {
        guard out.count > 0 else { return }
        bytesOut += out.count
        do {
            try sink.write(out.bytes)
        } catch {
            writeError = error
            throw error
        }
        out.removeAll()
    }

    /// Bytes produced so far (written or buffered): what `--size NMB` counts.
    var bytesProduced: Int { bytesOut + out.count }

    func close() throws(OutputError) {
        for c in 0..<pendingMarker.count where pendingMarker[c] > 0 {
            dropping[c] = 0
            emitMarker(cpu: c)
        }
        if clock == .local { drainQueues(upTo: nil) }
        try flush()
        if let writeError { throw writeError }
        try sink.finish()
    }
}
