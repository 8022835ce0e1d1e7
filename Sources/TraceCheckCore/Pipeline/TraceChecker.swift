/// What the user asked for.
public struct CheckOptions: Sendable {
    /// `--kernel`: the release the capture came from; overrides the metadata header.
    public var kernel: String?
    /// `--model`: which models to run; nil = v5.8, v5.9 and the expected one, or every model when
    /// the kernel is not known (for the fingerprint).
    public var models: [KernelModel]?
    public var pid: Int32?
    public var comm: String?
    /// `--assume`: facts the user adds; verdicts that need them say so.
    public var assumptions: [Assumption] = []
    /// `--explain`: keep the history of this pfn for the report.
    public var explainPfn: UInt64?
    public var examplesPerClass = 5
    /// How many problem line numbers to keep per kind for the report.
    public var keptLineNumbers = 10
    /// Whether zstd decompression runs on a second thread (`LineSplitter.forEachLineConcurrently`).
    /// The results are identical either way.
    public var pipeline: PipelineMode = .auto

    public init(kernel: String? = nil, models: [KernelModel]? = nil, pid: Int32? = nil, comm: String? = nil) {
        self.kernel = kernel; self.models = models; self.pid = pid; self.comm = comm
    }
}

/// Decompression on its own thread, or everything on the calling thread.
public enum PipelineMode: String, Sendable, CaseIterable {
    /// Two threads for zstd input that is not tiny (a file of at least 256 KiB, or a stream);
    /// one thread for plain text, whose reading costs next to nothing.
    case auto
    case on
    case off

    func usesThread(format: FileByteSource.Format, fileSize: Int?) -> Bool {
        switch self {
        case .on: return true
        case .off: return false
        case .auto: return format == .zstd && (fileSize ?? .max) >= 256 << 10
        }
    }
}

/// A problem line kept for the report: where it is and what was wrong.
public struct LineIssue: Sendable, Equatable {
    public var file: String
    public var line: Int
    public var issue: ParseIssue
}

/// Everything counted while reading, apart from the faults.
public struct InputStats: Sendable {
    public var lines = 0
    public var blankLines = 0
    public var headerLines = 0
    public var annotationLines = 0
    public var events = 0
    /// Event counts by family: page_ref, ksm, wp_page, sched_process_fork, tracing_mark_write, other.
    public var eventsByFamily: [String: Int] = [:]
    public var pageRefByOp: [PageRefOp: Int] = [:]
    public var ksmByKind: [KsmEventKind: Int] = [:]
    public var issueCounts: [ParseIssue: Int] = [:]
    /// The first few problem lines of each kind.
    public var issueLines: [LineIssue] = []
    public var lostMarkers = 0
    /// Sum of the sizes the markers print; markers without a size are counted in `lostMarkers` only.
    public var lostEvents = 0
    public var lostMarkersWithoutCount = 0
    public var metadataKernel: String?
    public var metadataClock: String?
    public var bytesRead = 0

    public var malformed: Int {
        (issueCounts[.malformedLine] ?? 0) + (issueCounts[.lineTooLong] ?? 0) + (issueCounts[.malformedPayload] ?? 0)
            + (issueCounts[.valueOutOfRange] ?? 0)
    }
    /// The lost-event sizes added up past `Int.max` (the sum stops there).
    public var lostEventsSaturated = false
}

/// One line of the `--explain` history of a pfn.
public struct HistoryEntry: Sendable {
    public var file: String
    public var line: Int
    public var text: String
    /// For a fault on the pfn: its verdicts, one line.
    public var verdicts: String?
}

/// The result of a whole run.
public struct CheckResult: Sendable {
    public var findings: Findings
    public var stats: InputStats
    public var models: [KernelModel]
    public var expectedModel: KernelModel?
    public var kernel: String?
    public var inputs: [String]
    public var pages: Int
    public var errors: [InputError]
    /// Inputs that held no trace event at all.
    public var notATrace: [String]
    /// Racy reuse was looked for (the clock orders events across CPUs).
    public var racesChecked: Bool
    /// Reused faults whose race window was closed early (too many in flight, or too long):
    /// their racy-reuse check covers only part of the fault.
    public var racesCutShort = 0
    /// `--explain`: the last events that touched the pfn (bounded), and how many there were.
    public var history: [HistoryEntry] = []
    public var historyTotal = 0
    public var explainedPfn: UInt64?
    /// How page_ref's `mapcount=` was read, and what settled it.
    public var mapcountConvention: MapcountConvention = .undecided
    public var mapcountConventionBasis: MapcountConventionBasis = .undecided
    /// Some `wp_page` line showed PG_anon_exclusive set (so the kernel is v5.19 or later).
    public var anonExclusiveSeen = false

    /// The models run, ranked as accounts of the capture (`Findings.fingerprint`).
    public var fingerprint: [Findings.Standing] { findings.fingerprint(anonExclusiveSeen: anonExclusiveSeen) }

    /// The one sentence for an input that holds no trace event.
    public static func notATraceMessage(_ path: String) -> String {
        "\(InputError.displayName(path)): not a trace: no page_ref, ksm, wp_page or other known tracepoint event in it"
    }

    /// Every error sentence, in order: unreadable or damaged inputs, then inputs that are not traces.
    public var errorMessages: [String] {
        errors.map(\.message) + notATrace.map(Self.notATraceMessage)
    }

    /// 0 no divergence, 1 divergences found, 2 the input itself is broken (TraceCheckCore.md, Exit
    /// status).
    public var exitStatus: Int32 {
        if !errors.isEmpty || !notATrace.isEmpty { return 2 }
        return findings.divergentFaults > 0 ? 1 : 0
    }
}

/// Header of a run, known once the metadata lines before the first fault have been read.
public struct RunStart: Sendable {
    public var inputs: [String]
    public var kernel: String?
    public var models: [KernelModel]
}

/// The pipeline: ByteSource → LineSplitter → LineParser → Event → Replayer → FaultCheck → Findings.
/// Faults stream out through `onFault` in input order; `onStart` fires once before the first.
public struct TraceChecker {
    public let options: CheckOptions
    private var replayer: Replayer
    private var stats = InputStats()
    private var findings: Findings
    private var models: [KernelModel]
    private var expected: KernelModel?
    private var kernel: String?
    private var started = false
    private var paths: [String] = []
    private var seq: UInt64 = 0
    private var lastTimestamp: Int64 = .min
    private var lastTimestampIsNs = true
    /// Reused faults wait here until their race window closes, so output stays in input order.
    private var race = RaceWatch()
    /// Taken out (`take()`) as they are emitted: moved, not copied.
    private var held: [FaultRecord?] = []
    /// The most entries `held` had at once (tests check it stays bounded).
    private(set) var heldPeak = 0
    private var heldHead = 0
    private var heldBaseID = 0
    private var nextFaultID = 0
    private var awaiting: Set<Int> = []
    /// Replayed faults wait until the capture is past their clock's resolution: a page_ref event
    /// of another task stamped that close after the line makes the fault a state gap.
    private var concurrency = ConcurrencyWatch()
    /// Faults whose verdicts wait for later lines to show whether their snapshot was racy.
    private var snapshots = SnapshotRaceWatch()
    private var awaitingSnapshot: Set<Int> = []
    private var context = CheckContext()
    private var anonExclusiveSeen = false
    private var history: [HistoryEntry] = []
    private var historyTotal = 0
    /// How many history lines `--explain` keeps (the most recent).
    public static let historyLimit = 1000
    private var checks = FaultCheckCache(models: [])
    private var counts = EventCounts()
    private let flagsCache = FlagsCache()
    /// Events of the current input that show it is a trace (`handleEvent`).
    private var traceEventsInFile = 0
    /// Set when the current input must not be read further (its header names another kernel).
    private var refusal: InputError?

    public init(options: CheckOptions) {
        self.options = options
        self.kernel = options.kernel
        self.replayer = Replayer(facts: KernelFacts(release: options.kernel))
        self.models = []
        self.findings = Findings(models: [])
        self.chooseModels()
    }

    private mutating func chooseModels() {
        expected = kernel.flatMap(KernelModel.expected(forKernelRelease:))
        context = CheckContext(release: kernel, expected: expected)
        if let chosen = options.models {
            models = chosen
        } else if kernel == nil {
            // No kernel named: every rule set runs, and the report ranks them (the fingerprint).
            models = KernelModel.allCases
        } else {
            models = [.v5_8, .v5_9]
            if let e = expected, !models.contains(e) { models.append(e) }
        }
        findings = Findings(models: models, examplesPerClass: options.examplesPerClass)
    }

    /// Reads every input in order; page state carries over from one file to the next.
    public mutating func run(
        paths: [String],
        onStart: (RunStart) -> Void = { _ in },
        onFault: (FaultRecord) -> Void
    ) -> CheckResult {
        self.paths = paths
        var errors: [InputError] = []
        var notATrace: [String] = []
        for path in paths {
            let linesBefore = stats.lines
            traceEventsInFile = 0
            refusal = nil
            let errorsBefore = errors.count
            do {
                let source = try openByteSource(path: path)
                var splitter = LineSplitter(source: source)
                if options.pipeline.usesThread(format: source.format, fileSize: source.fileSize) {
                    // The reader thread tokenizes lines when this thread falls behind; its own
                    // flags cache (the caches are per thread, their answers the same).
                    let readerFlags = FlagsCache()
                    try splitter.forEachLineConcurrently(prepare: { $1 = PreparedLine($0, flagsCache: readerFlags) }) {
                        line, number, cut, prepared in
                        self.handle(line, number: number, cut: cut, file: path, prepared: prepared,
                                    onStart: onStart, onFault: onFault)
                        if let e = self.refusal { throw e }
                    }
                } else {
                    try splitter.forEachLine { line, number, cut in
                        self.handle(line, number: number, cut: cut, file: path, onStart: onStart, onFault: onFault)
                        if let e = self.refusal { throw e }
                    }
                }
                stats.bytesRead += splitter.source.decompressedBytesProduced
            } catch let e as InputError {
                errors.append(e.reached(line: stats.lines - linesBefore))
            } catch {
                errors.append(.readError(path: path, errno: 0, reason: "\(error)"))
            }
            // Readable, but no line of it is a trace event: a README, a binary, an empty file.
            if errors.count == errorsBefore, traceEventsInFile == 0 {
                notATrace.append(path)
            }
        }
        settle(race.closeAll(), onFault)
        settleConcurrency(concurrency.closeAll(), onFault)
        settleSnapshots(snapshots.closeAll(), onFault)
        if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
        counts.fold(into: &stats)
        if !started { begin(paths, onStart) }
        return CheckResult(
            findings: findings, stats: stats, models: models, expectedModel: expected, kernel: kernel,
            inputs: paths, pages: replayer.pageCount, errors: errors, notATrace: notATrace,
            racesChecked: racesCheckable, racesCutShort: race.cutShort, history: history, historyTotal: historyTotal,
            explainedPfn: options.explainPfn,
            mapcountConvention: replayer.mapcountConvention, mapcountConventionBasis: replayer.mapcountConventionBasis, anonExclusiveSeen: anonExclusiveSeen)
    }

    private mutating func begin(_ paths: [String], _ onStart: (RunStart) -> Void) {
        started = true
        onStart(RunStart(inputs: paths, kernel: kernel, models: models))
    }

    private mutating func note(_ issue: ParseIssue, _ file: String, _ line: Int) {
        let n = stats.issueCounts[issue, default: 0]
        stats.issueCounts[issue] = n + 1
        if n < options.keptLineNumbers { stats.issueLines.append(LineIssue(file: file, line: line, issue: issue)) }
    }

    private mutating func handle(
        _ b: UnsafeRawBufferPointer, number: Int, cut: Bool, file: String, prepared: UnsafePointer<PreparedLine?>? = nil,
        onStart: (RunStart) -> Void, onFault: (FaultRecord) -> Void
    ) {
        stats.lines += 1
        if cut { note(.lineTooLong, file, number); return }
        if let prepared {
            handleEvent(b, prepared.pointee!.parsed, number: number, file: file, prepared: prepared, onStart: onStart, onFault: onFault)
            return
        }
        let p = LineParser.parse(b)
        switch p.kind {
        case .blank: stats.blankLines += 1
        case .header: stats.headerLines += 1
        case .annotation: stats.annotationLines += 1
        case .metadata: readMetadata(b, p.payload, file: file)
        case .lost(_, let count):
            stats.lostMarkers += 1
            if let count {
                let (sum, overflow) = stats.lostEvents.addingReportingOverflow(count)
                stats.lostEvents = overflow ? .max : sum
                if overflow { stats.lostEventsSaturated = true }
            } else {
                stats.lostMarkersWithoutCount += 1
            }
            replayer.lostEvents()
            if options.explainPfn != nil { remember(b, file, number) } // a loss touches every page
        case .malformed(let issue): note(issue, file, number)
        case .event: handleEvent(b, p, number: number, file: file, onStart: onStart, onFault: onFault)
        }
    }

    private mutating func readMetadata(_ b: UnsafeRawBufferPointer, _ payload: ByteRange, file: String) {
        stats.headerLines += 1
        var s = KeyValueScanner(b, payload)
        while let (k, v) = s.next() {
            if b.equals(k, "kernel") {
                stats.metadataKernel = b.string(v)
            } else if b.equals(k, "clock") {
                stats.metadataClock = b.string(v)
            }
        }
        // A header naming another kernel than an earlier one: its lines would be read with the
        // wrong conventions (the page_ref mapcount, the expected rules), so the input is refused.
        if options.kernel == nil, let k = stats.metadataKernel, let current = kernel, k != current {
            refusal = .mixedKernels(path: file, kernel: k, earlier: current)
            return
        }
        // The header names the kernel unless the user did; only before anything was judged.
        if options.kernel == nil, !started, let k = stats.metadataKernel, kernel == nil {
            kernel = k
            replayer.updateFacts(KernelFacts(release: k))
            chooseModels()
        }
    }

    private mutating func handleEvent(
        _ b: UnsafeRawBufferPointer, _ p: ParsedLine, number: Int, file: String, prepared: UnsafePointer<PreparedLine?>? = nil,
        onStart: (RunStart) -> Void, onFault: (FaultRecord) -> Void
    ) {
        stats.events += 1
        seq &+= 1

        if p.hasTimestamp {
            if p.timestampIsNanoseconds == lastTimestampIsNs, p.timestamp < lastTimestamp {
                note(.timestampRegression, file, number) // counted, never reordered
            }
            lastTimestamp = p.timestamp
            lastTimestampIsNs = p.timestampIsNanoseconds
        }
        let name: EventName
        // A page_ref payload is decoded once, for the race watch and the replay alike.
        var pageRef: PageRefEvent?
        if let prepared {
            name = prepared.pointee!.name
            pageRef = prepared.pointee!.pageRef
        } else {
            name = EventName.classify(b, p.name)
            if case .pageRef(let op) = name { pageRef = PageRefEvent.parse(op, b, p.payload, flagsCache: flagsCache) }
        }
        // An ftrace prefix, or a known event name, shows the input is a trace.
        if p.hasTimestamp {
            traceEventsInFile &+= 1
        } else if case .other = name {
            if KnownTracepoints.contains(b, p.name) { traceEventsInFile &+= 1 }
        } else {
            traceEventsInFile &+= 1
        }
        if !race.isIdle {
            let ts: Int64? = p.hasTimestamp && p.timestampIsNanoseconds ? p.timestamp : nil
            settle(race.observe(pid: p.pid, pageRef: pageRef, seq: seq, ts: ts), onFault)
        }
        if !concurrency.isIdle {
            let resolution = p.timestampResolution
            settleConcurrency(concurrency.observe(pid: p.pid, pfn: pageRef?.pfn, time: resolution.map { _ in p.timestamp },
                                                  resolution: resolution ?? 0), onFault)
        }
        if !snapshots.isIdle, name != .wpPage { observeSnapshots(p, pageRef, onFault) }
        switch name {
        case .pageRef(let op):
            counts.family[EventCounts.pageRef] &+= 1
            counts.pageRefOps[Int(op.rawValue)] &+= 1
            guard let e = pageRef else { note(PageRefEvent.rejection(op, b, p.payload), file, number); return }
            let time = p.timestampResolution.map { _ in p.timestamp }
            if !replayer.apply(e, pid: p.pid, seq: seq, time: time, resolution: p.timestampResolution ?? 0) {
                note(.countGap, file, number)
            }
            if e.pfn == options.explainPfn { remember(b, file, number) }
        case .ksm(let kind):
            counts.family[EventCounts.ksm] &+= 1
            counts.ksmKinds[Int(kind.rawValue)] &+= 1
            guard let e = KsmEvent.parse(kind, b, p.payload) else { note(.malformedPayload, file, number); return }
            replayer.apply(e)
            if let pfn = e.pfn, pfn == options.explainPfn { remember(b, file, number) }
        case .processFork:
            counts.family[EventCounts.processFork] &+= 1
            guard let e = ForkEvent.parse(b, p.payload) else { note(.malformedPayload, file, number); return }
            replayer.apply(e, seq: seq)
        case .marker:
            counts.family[EventCounts.marker] &+= 1
        case .other:
            counts.family[EventCounts.other] &+= 1
        case .wpPage:
            counts.family[EventCounts.wpPage] &+= 1
            var wp = WpPageEvent(pfn: 0, decision: .copy)
            guard WpPageEvent.parse(b, p.payload, into: &wp) else {
                note(wp.hasOutOfRangeValue ? .valueOutOfRange : .malformedPayload, file, number)
                return
            }
            judge(wp, b, p, number: number, file: file, onStart: onStart, onFault: onFault)
        }
    }

    private mutating func judge(
        _ wp: WpPageEvent, _ b: UnsafeRawBufferPointer, _ p: ParsedLine, number: Int, file: String,
        onStart: (RunStart) -> Void, onFault: (FaultRecord) -> Void
    ) {
        let hasTask = p.pid >= 0
        let comm = hasTask ? b.string(p.comm) : nil
        if let want = options.pid, p.pid != want, wp.tgid != want { return }
        if let want = options.comm, comm != want { return }
        if !started { begin(paths, onStart) }
        if wp.showsAnonExclusiveSet { anonExclusiveSeen = true }
        let joined = replayer.join(wp, pid: p.pid, time: p.timestampResolution.map { (p.timestamp, $0) })
        // FaultCheck.check, memoised: few distinct input combinations recur across the faults.
        let checked = checks.result(
            joined, observed: wp.decision, models: models, assumptions: options.assumptions, context: context)
        let verdicts = checked.verdicts, classes = checked.classes
        var record = FaultRecord(
            file: file, line: number,
            timestamp: p.hasTimestamp ? p.timestamp : nil, timestampIsNanoseconds: p.timestampIsNanoseconds,
            pid: hasTask ? p.pid : nil, comm: comm, cpu: p.cpu >= 0 ? p.cpu : nil,
            pfn: wp.pfn, addr: wp.addr, observed: wp.decision, inputs: joined.inputs, verdicts: verdicts,
            classes: classes, divergenceCase: checked.divergenceCase, gapReason: joined.gapReason, racer: nil,
            checked: checked)
        if wp.pfn == options.explainPfn {
            let summary = verdicts.map { m, v in "\(m.rawValue) \(v.decision.rawValue)" + (v.rule.map { " (\($0))" } ?? "") }
            remember(b, file, number, verdicts: "observed \(wp.decision.word); " + summary.joined(separator: ", ")
                + (classes.isEmpty ? "" : "; " + classes.map(\.name).joined(separator: ", ")))
        }
        let id = nextFaultID
        nextFaultID += 1
        var waitsForSnapshot = false
        if hasTask {
            // A disagreement (or unsafe reuse) is claimed only if nothing shows that the state the
            // fault was judged on (its snapshot, or the replay at its line) went stale before the
            // kernel decided.
            let claims = record.classes.contains(where: Self.restsOnTheDecidedState)
            var evidence: SnapshotRaceEvidence? = claims && SnapshotRaceEvidence.reread(wp, joined.inputs) ? .rereadChanged : nil
            // Overlaps need one clock for every CPU (not `local`). The watch needs to see a fault
            // that asks for evidence, one with a span that may overlap later faults, or any
            // fault while others wait (it may be what they wait for).
            if racesCheckable, claims || wp.dtNs != nil || !snapshots.isIdle {
                let ts: Int64? = p.hasTimestamp && p.timestampIsNanoseconds ? p.timestamp : nil
                let (earlier, closed) = snapshots.fault(
                    id: id, pid: p.pid, pfn: wp.pfn, headPfn: wp.headPfn, ts: ts, dtNs: wp.dtNs, seq: seq,
                    observed: wp.decision, wantsEvidence: claims && evidence == nil)
                settleSnapshots(closed, onFault)
                evidence = evidence ?? earlier
                waitsForSnapshot = claims && evidence == nil
            }
            if let evidence { Self.markRacySnapshot(&record, evidence) }
        }
        let raceWindow = wp.decision == .reuse && hasTask && racesCheckable
        if raceWindow {
            awaiting.insert(id)
        }
        let resolution = p.timestampResolution
        let concurrencyWindow = joined.replayed && !joined.stateGap && wp.refcount == nil && resolution != nil
        if concurrencyWindow, let resolution {
            concurrency.open(faultID: id, pid: p.pid, pfn: wp.pfn, headPfn: joined.headPfn,
                             time: p.timestamp, resolution: resolution, lineInputs: joined.lineInputs)
        }
        if waitsForSnapshot { awaitingSnapshot.insert(id) }
        if raceWindow || concurrencyWindow || waitsForSnapshot {
            held.append(record)
            heldPeak = max(heldPeak, held.count)
            if raceWindow {
                // After the append: opening may close earlier windows and release held faults.
                settle(race.open(faultID: id, pid: p.pid, pfn: wp.pfn, headPfn: wp.headPfn, seq: seq,
                                 ts: p.hasTimestamp && p.timestampIsNanoseconds ? p.timestamp : nil), onFault)
            }
        } else if held.count == heldHead {
            heldBaseID = id + 1
            emit(record, onFault)
        } else {
            held.append(record)
            heldPeak = max(heldPeak, held.count)
        }
    }

    private mutating func remember(_ b: UnsafeRawBufferPointer, _ file: String, _ line: Int, verdicts: String? = nil) {
        historyTotal += 1
        history.append(HistoryEntry(file: file, line: line, text: String(decoding: b, as: UTF8.self), verdicts: verdicts))
        if history.count >= 2 * Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
    }

    /// Racy reuse needs events ordered across CPUs: a per-CPU `local` clock does not give that.
    public var racesCheckable: Bool { stats.metadataClock != "local" }

    private mutating func emit(_ record: FaultRecord, _ onFault: (FaultRecord) -> Void) {
        findings.add(record)
        onFault(record)
    }

    /// Applies closed race windows, then releases the faults no longer waiting, in order.
    private mutating func settle(_ closed: [RaceWatch.Verdict], _ onFault: (FaultRecord) -> Void) {
        // Only a closed window can release held faults (a fault is held only behind one that
        // waits), so an event that closed none changes nothing here.
        if closed.isEmpty { return }
        for v in closed {
            let index = heldHead + (v.faultID - heldBaseID)
            if let racer = v.racer, index < held.count {
                held[index]!.racer = racer
                held[index]!.classes.append(.racyReuse)
                held[index]!.classes.sort()
            }
            awaiting.remove(v.faultID)
        }
        releaseSettled(onFault)
    }

    /// Feeds an event to the snapshot watch (kept out of line: it runs only while a fault waits).
    @inline(never)
    private mutating func observeSnapshots(_ p: ParsedLine, _ pageRef: PageRefEvent?, _ onFault: (FaultRecord) -> Void) {
        let ts: Int64? = p.hasTimestamp && p.timestampIsNanoseconds ? p.timestamp : nil
        settleSnapshots(snapshots.observe(pid: p.pid, pageRef: pageRef, seq: seq, ts: ts), onFault)
    }

    /// Applies what the snapshot watch found for the faults that waited on it.
    private mutating func settleSnapshots(_ closed: [SnapshotRaceWatch.Closed], _ onFault: (FaultRecord) -> Void) {
        if closed.isEmpty { return }
        for c in closed {
            let index = heldHead + (c.faultID - heldBaseID)
            if let evidence = c.evidence, index >= heldHead, index < held.count, held[index] != nil {
                Self.markRacySnapshot(&held[index]!, evidence)
            }
            awaitingSnapshot.remove(c.faultID)
        }
        releaseSettled(onFault)
    }

    /// A claim that needs the judged state to be the one the kernel decided on: a disagreement
    /// with a model's rules (the kernel's own, or ones it might be running whatever its version
    /// says), and unsafe reuse.
    static func restsOnTheDecidedState(_ c: FaultClass) -> Bool {
        switch c {
        case .observedVs, .unsafeReuse: return true
        default: return false
        }
    }

    /// The fault's claims about the kernel rest on a state that may be stale: withdrawn, and the
    /// fault is classed as a racy snapshot.
    static func markRacySnapshot(_ record: inout FaultRecord, _ evidence: SnapshotRaceEvidence) {
        record.snapshotRace = evidence
        record.classes.removeAll(where: restsOnTheDecidedState)
        record.classes.append(.racySnapshot)
        record.classes.sort()
    }

    /// Applies closed concurrency windows: a fault with another task's event within its clock's
    /// resolution after its line becomes a state gap, judged on its own line's fields only.
    private mutating func settleConcurrency(_ closed: [ConcurrencyWatch.Verdict], _ onFault: (FaultRecord) -> Void) {
        if closed.isEmpty { return }
        for v in closed {
            let index = heldHead + (v.faultID - heldBaseID)
            let line = v.lineInputs
            guard let t = v.concurrentAt, index < held.count, var r = held[index] else { continue }
            let reason = "another task's page_ref event on this page at \(TextReport.formatTime(t, ns: true)) is within "
                + "the clock's resolution of the fault: it may or may not have happened before the kernel read the page"
            let gap = JoinedFault(inputs: line, replayed: true, stateGap: true, gapReason: reason)
            let checked = checks.result(
                gap, observed: r.observed, models: models, assumptions: options.assumptions, context: context)
            let racy = r.classes.contains(.racyReuse)
            r.inputs = line
            r.verdicts = checked.verdicts
            r.classes = checked.classes + (racy ? [.racyReuse] : [])
            r.classes.sort()
            r.divergenceCase = checked.divergenceCase
            r.gapReason = reason
            r.checked = checked
            if let evidence = r.snapshotRace { Self.markRacySnapshot(&r, evidence) }
            held[index] = r
            if r.pfn == options.explainPfn, let k = history.lastIndex(where: { $0.line == r.line && $0.file == r.file }) {
                history[k].verdicts = "observed \(r.observed.word); "
                    + r.verdicts.map { "\($0.model.rawValue) \($0.verdict.decision.rawValue)" }.joined(separator: ", ")
                    + "; " + r.classes.map(\.name).joined(separator: ", ")
            }
        }
        releaseSettled(onFault)
    }

    /// Emits the held faults, in order, up to the first one still waiting for a window.
    private mutating func releaseSettled(_ onFault: (FaultRecord) -> Void) {
        while heldHead < held.count, !awaiting.contains(heldBaseID), !awaitingSnapshot.contains(heldBaseID),
              !concurrency.isWatching(heldBaseID) {
            emit(held[heldHead].take()!, onFault)
            heldHead += 1
            heldBaseID += 1
        }
        if heldHead == held.count {
            held.removeAll(keepingCapacity: true)
            heldHead = 0
        } else if heldHead >= 4096, heldHead * 2 >= held.count {
            // Faults keep arriving while one waits: drop the emitted prefix so the array
            // holds only the faults still waiting and those behind them.
            held.removeFirst(heldHead)
            heldHead = 0
        }
    }
}

/// Per-event counters kept as plain integers on the hot path, folded into `InputStats`'s
/// dictionaries when a run ends (a dictionary entry exists only for a count above zero, as
/// before).
struct EventCounts {
    static let pageRef = 0, ksm = 1, wpPage = 2, processFork = 3, marker = 4, other = 5
    static let familyNames = ["page_ref", "ksm", "wp_page", "sched_process_fork", "tracing_mark_write", "other"]

    var family = [Int](repeating: 0, count: 6)
    var pageRefOps = [Int](repeating: 0, count: 256)
    var ksmKinds = [Int](repeating: 0, count: 256)

    mutating func fold(into stats: inout InputStats) {
        for (k, n) in family.enumerated() where n > 0 { stats.eventsByFamily[Self.familyNames[k], default: 0] += n }
        for op in PageRefOp.allCases where pageRefOps[Int(op.rawValue)] > 0 {
            stats.pageRefByOp[op, default: 0] += pageRefOps[Int(op.rawValue)]
        }
        for kind in KsmEventKind.allCases where ksmKinds[Int(kind.rawValue)] > 0 {
            stats.ksmByKind[kind, default: 0] += ksmKinds[Int(kind.rawValue)]
        }
        self = EventCounts()
    }
}

/// What the reader thread can work out from an event line by itself (pure functions of the
/// line's bytes): the prefix, the event's name and, for page_ref, its payload. The checker uses
/// it in place of doing the same work (`handle`, `handleEvent`).
struct PreparedLine {
    var parsed: ParsedLine
    var name: EventName
    var pageRef: PageRefEvent?

    /// Nil for anything but an event line (headers, markers and malformed lines stay with the
    /// checker, which counts them).
    @inline(__always)
    init?(_ b: UnsafeRawBufferPointer, flagsCache: FlagsCache) {
        parsed = LineParser.parse(b)
        guard parsed.kind == .event else { return nil }
        name = EventName.classify(b, parsed.name)
        if case .pageRef(let op) = name {
            pageRef = PageRefEvent.parse(op, b, parsed.payload, flagsCache: flagsCache)
        }
    }
}
