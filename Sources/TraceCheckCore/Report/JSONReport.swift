/// The machine-readable contract (TraceCheckCore.md, Machine-readable output): a `meta` object, one
/// `fault` object per `wp_page` event in input order, then a `summary`. Field names change only
/// with a `schema` bump; fields may be added.
public enum JSONReport {
    public static let schema = 1

    public static func meta(_ s: RunStart, version: String) -> JSONObject {
        var o = JSONObject()
        o.string("type", "meta")
        o.int("schema", schema)
        o.string("tool", "tracecheck")
        o.string("version", version)
        o.strings("inputs", s.inputs)
        o.string("kernel", s.kernel)
        o.strings("models", s.models.map(\.rawValue))
        return o
    }

    public static func fault(_ f: FaultRecord, multipleInputs: Bool) -> JSONObject {
        var o = JSONObject()
        o.string("type", "fault")
        if multipleInputs { o.string("file", f.file) }
        o.int("line", f.line)
        if let t = f.timestamp {
            if f.timestampIsNanoseconds { o.int("ts_ns", t) } else { o.int("ts_ticks", t) }
        } else {
            o.int("ts_ns", Int?.none)
        }
        o.int("pid", f.pid)
        o.string("comm", f.comm)
        o.int("cpu", f.cpu)
        o.string("pfn", hexPfn(f.pfn))
        if let a = f.addr { o.string("addr", hexPfn(a)) }
        o.string("observed", f.observed.word)
        o.object("verdicts", verdictsObject(f.verdicts))
        o.strings("classes", f.classes.map(\.name))
        if let d = f.divergenceCase { o.string("divergence", d) }
        if let g = f.gapReason { o.string("gap", g) }
        if let r = f.racer { o.int("racer", r) }
        if let e = f.snapshotRace { o.string("snapshot_race", e.rawValue) }
        o.object("inputs", inputs(f.inputs))
        return o
    }

    /// `--explain`: one line of the pfn's history.
    public static func history(_ h: HistoryEntry) -> JSONObject {
        var o = JSONObject()
        o.string("type", "history")
        o.string("file", h.file)
        o.int("line", h.line)
        o.string("text", h.text)
        if let v = h.verdicts { o.string("fault", v) }
        return o
    }

    public static func verdictsObject(_ verdicts: [(model: KernelModel, verdict: Verdict)]) -> JSONObject {
        var o = JSONObject()
        for (m, v) in verdicts { o.object(m.rawValue, verdict(v)) }
        return o
    }

    /// `fault(f, multipleInputs:).text`, byte for byte, appended to `out`: the per-fault path of
    /// `--format jsonl` and `json`. No `String` is built; the verdicts and inputs fragments come
    /// ready-made from the fault's cached check result when it still describes the fault.
    public static func appendFault(_ f: FaultRecord, multipleInputs: Bool, to out: ByteOutput) {
        guard let cached = f.checked, cached.describes(f) else {
            appendFaultSlowly(f, multipleInputs: multipleInputs, to: out)
            return
        }
        let classes: [UInt8]? = sameStorage(f.classes, cached.classes) ? nil : classesBytes(f.classes)
        // One reservation covers the whole object: fixed keys and numbers, the strings at
        // their worst escaping (6 bytes per byte), and the ready-made fragments.
        var bound = 400 + cached.verdictsJSON.count + cached.inputsJSON.count
            + (classes?.count ?? cached.classesJSON.count)
        if multipleInputs { bound += 6 * f.file.utf8.count }
        if let c = f.comm { bound += 6 * c.utf8.count }
        if case .other(let w) = f.observed { bound += 6 * w.utf8.count }
        if let d = f.divergenceCase { bound += 6 * d.utf8.count }
        if let g = f.gapReason { bound += 6 * g.utf8.count }
        out.reserve(bound)
        var w = out.cursor()
        w.put("{\"type\":\"fault\"")
        if multipleInputs { w.put(",\"file\":"); w.putJSONString(f.file) }
        w.put(",\"line\":"); w.putDecimal(Int64(f.line))
        if let t = f.timestamp {
            w.put(f.timestampIsNanoseconds ? ",\"ts_ns\":" : ",\"ts_ticks\":")
            w.putDecimal(t)
        } else {
            w.put(",\"ts_ns\":null")
        }
        w.put(",\"pid\":")
        if let pid = f.pid { w.putDecimal(Int64(pid)) } else { w.put("null") }
        w.put(",\"comm\":")
        if let comm = f.comm { w.putJSONString(comm) } else { w.put("null") }
        w.put(",\"cpu\":")
        if let cpu = f.cpu { w.putDecimal(Int64(cpu)) } else { w.put("null") }
        w.put(",\"pfn\":\"0x"); w.putHex(f.pfn); w.put("\"")
        if let a = f.addr { w.put(",\"addr\":\"0x"); w.putHex(a); w.put("\"") }
        switch f.observed {
        case .reuse: w.put(",\"observed\":\"reuse\"")
        case .copy: w.put(",\"observed\":\"copy\"")
        case .other(let word): w.put(",\"observed\":"); w.putJSONString(word)
        }
        w.put(",\"verdicts\":"); w.put(cached.verdictsJSON)
        w.put(",\"classes\":"); w.put(classes ?? cached.classesJSON)
        if let d = f.divergenceCase { w.put(",\"divergence\":"); w.putJSONString(d) }
        if let g = f.gapReason { w.put(",\"gap\":"); w.putJSONString(g) }
        if let r = f.racer { w.put(",\"racer\":"); w.putDecimal(Int64(r)) }
        if let e = f.snapshotRace { w.put(",\"snapshot_race\":"); w.putJSONString(e.rawValue) }
        w.put(",\"inputs\":"); w.put(cached.inputsJSON)
        w.put("}")
        out.commit(w)
    }

    /// `appendFault` for a record without a usable cached check: renders every part.
    static func appendFaultSlowly(_ f: FaultRecord, multipleInputs: Bool, to out: ByteOutput) {
        out.append(contentsOf: fault(f, multipleInputs: multipleInputs).text)
    }

    static func classesBytes(_ classes: [FaultClass]) -> [UInt8] {
        let o = ByteOutput(capacity: 128)
        appendClasses(classes, to: o)
        return Array(o.bytes)
    }

    /// `["pre-post",…]`: the class names, as `strings` writes them.
    static func appendClasses(_ classes: [FaultClass], to out: ByteOutput) {
        out.append(0x5B)
        for (k, c) in classes.enumerated() {
            if k > 0 { out.append(0x2C) }
            out.appendJSONString(c.name)
        }
        out.append(0x5D)
    }

    public static func verdict(_ v: Verdict) -> JSONObject {
        var o = JSONObject()
        o.string("decision", v.decision.rawValue)
        o.string("rule", v.rule)
        if v.decision == .undetermined { o.strings("missing", v.missing.map(\.rawValue)) }
        if !v.assumed.isEmpty { o.strings("assumed", v.assumed.map(\.rawValue)) }
        if let reason = v.reason { o.string("reason", reason) }
        return o
    }

    /// The known inputs only; an absent key means the capture did not say.
    public static func inputs(_ i: FaultInputs) -> JSONObject {
        var o = JSONObject()
        for (name, value) in describe(i) {
            switch value {
            case .bool(let b): o.bool(name, b)
            case .int(let n): o.int(name, n)
            }
        }
        return o
    }

    public enum InputValue: Equatable { case bool(Bool), int(Int) }

    /// Known inputs as (name, value) pairs, in a fixed order; shared by the text report.
    public static func describe(_ i: FaultInputs) -> [(String, InputValue)] {
        var out: [(String, InputValue)] = []
        func b(_ n: String, _ v: Bool?) { if let v { out.append((n, .bool(v))) } }
        func n(_ k: String, _ v: Int?) { if let v { out.append((k, .int(v))) } }
        b("zero", i.zero); b("anon", i.anon); b("ksm", i.ksm); b("stable_node", i.stableNode)
        n("refcount", i.refcount); n("mapcount", i.mapcount)
        b("swapcache", i.swapcache); n("swapcount", i.swapcount)
        b("locked", i.locked); b("writeback", i.writeback); b("lru", i.lru)
        b("anon_exclusive", i.anonExclusive); b("large", i.large)
        n("large_mapcount", i.largeMapcount); n("subpage_mapcount", i.maxSubpageMapcount)
        b("mm_shared", i.mmShared)
        n("folio_swapcount", i.folioSwapcount); n("thp_map_swapcount", i.thpMapSwapcount)
        n("folio_pages", i.folioPages)
        b("swap_in", i.swapIn)
        return out
    }

    public static func summary(_ r: CheckResult) -> JSONObject {
        var o = JSONObject()
        o.string("type", "summary")
        o.int("lines", r.stats.lines)
        var events = JSONObject()
        events.int("total", r.stats.events)
        for family in ["page_ref", "ksm", "wp_page", "sched_process_fork", "tracing_mark_write", "other"] {
            events.int(family, r.stats.eventsByFamily[family] ?? 0)
        }
        o.object("events", events)
        o.int("pages", r.pages)
        if (r.stats.eventsByFamily["page_ref"] ?? 0) > 0 {
            var convention = JSONObject()
            switch r.mapcountConvention {
            case .logical: convention.string("convention", "logical")
            case .raw: convention.string("convention", "raw")
            case .undecided: convention.string("convention", "undecided")
            }
            convention.string("decided_by", r.mapcountConventionBasis.rawValue)
            o.object("mapcount_convention", convention)
        }
        o.int("faults", r.findings.faults)
        var observed = JSONObject()
        for (word, n) in r.findings.observed.sorted(by: { $0.key < $1.key }) { observed.int(word, n) }
        o.object("observed", observed)
        var agreement = JSONObject()
        for m in r.models {
            let a = r.findings.agreement[m] ?? Findings.Agreement()
            var x = JSONObject()
            x.int("agree", a.agree); x.int("disagree", a.disagree); x.int("undetermined", a.undetermined)
            x.int("not_anon", a.notAnon); x.int("not_compared", a.notCompared)
            agreement.object(m.rawValue, x)
        }
        o.object("agreement", agreement)
        var classes = JSONObject()
        for (c, n) in r.findings.classes.sorted(by: { $0.key < $1.key }) { classes.int(c.name, n) }
        o.object("classes", classes)
        var cases = JSONObject()
        for (d, n) in r.findings.divergenceCases.sorted(by: { caseOrder($0.key) < caseOrder($1.key) }) { cases.int(d, n) }
        o.object("divergence_cases", cases)
        o.int("divergent_faults", r.findings.divergentFaults)
        // Every model run, best account of the capture first (fewest contradictions, then the
        // largest determined share).
        var ranking: [JSONObject] = []
        for standing in r.fingerprint {
            var x = JSONObject()
            x.string("model", standing.model.rawValue)
            x.int("disagree", standing.disagree)
            x.int("determined", standing.determined)
            x.int("undetermined", standing.judged - standing.determined)
            x.bool("consistent", standing.isConsistent)
            if let why = standing.ruledOut { x.string("ruled_out", why) }
            ranking.append(x)
        }
        o.objects("fingerprint", ranking)
        o.int("malformed", r.stats.malformed)
        var issues = JSONObject()
        for issue in ParseIssue.allCases { issues.int(issue.rawValue, r.stats.issueCounts[issue] ?? 0) }
        o.object("issues", issues)
        o.int("lost_events", r.stats.lostEvents)
        o.int("lost_markers", r.stats.lostMarkers)
        o.int("racy_reuse_cut_short", r.racesCutShort)
        o.strings("errors", r.errorMessages)
        o.int("exit_status", r.exitStatus)
        return o
    }

    static func hexPfn(_ pfn: UInt64) -> String { "0x" + String(pfn, radix: 16) }

    /// D1 < D2 < … < D14 (numeric, not lexicographic).
    static func caseOrder(_ d: String) -> Int { Int(d.dropFirst()) ?? 999 }
}
