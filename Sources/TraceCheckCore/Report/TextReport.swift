/// The human report: what was read, how each model agrees with what the kernel did, and the
/// divergences with a few examples each.
public enum TextReport {
    public static func render(_ r: CheckResult) -> String {
        var out = ""
        func line(_ s: String = "") { out += s; out += "\n" }

        line("tracecheck: \(r.inputs.joined(separator: ", "))")
        if let k = r.kernel, let e = r.expectedModel {
            line("kernel \(k): expected rules \(e.rawValue) (\(e.title))")
        } else if let k = r.kernel {
            line("kernel \(k): no model covers it; observed decisions are compared with every model")
        } else {
            line("kernel: not given (--kernel) and no metadata header; observed decisions are compared with every model")
        }
        let s = r.stats
        let fam = s.eventsByFamily
        line("read \(s.lines) lines: \(s.events) events (\(fam["wp_page"] ?? 0) wp_page, \(fam["page_ref"] ?? 0) page_ref, "
            + "\(fam["ksm"] ?? 0) ksm, \((fam["sched_process_fork"] ?? 0) + (fam["tracing_mark_write"] ?? 0) + (fam["other"] ?? 0)) other), "
            + "\(s.headerLines) header, \(s.malformed) malformed, \(s.lostMarkers) lost-events markers")
        line("pages tracked: \(r.pages); write faults judged: \(r.findings.faults)"
            + observedSummary(r.findings.observed))
        for w in warnings(r) { line("note: \(w)") }
        line(headline(r))

        line()
        line("Agreement of each model with the observed decision")
        let header = ["", "agree", "disagree", "undetermined", "not anon", "not compared"]
        var rows: [[String]] = [header]
        for m in r.models {
            let a = r.findings.agreement[m] ?? Findings.Agreement()
            var name = m.title
            if m == r.expectedModel { name += " [expected]" }
            rows.append([name, "\(a.agree)", "\(a.disagree)", "\(a.undetermined)", "\(a.notAnon)", "\(a.notCompared)"])
        }
        out += table(rows, indent: 2)
        for m in r.models {
            guard let miss = r.findings.missing[m], !miss.isEmpty else { continue }
            let parts = miss.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
                .map { "\($0.key.rawValue) ×\($0.value)" }
            line("  \(m.rawValue) undetermined for want of: \(parts.joined(separator: ", "))")
        }

        line()
        line("Observed × model decision")
        for m in r.models {
            guard let matrix = r.findings.matrix[m] else { continue }
            let decisions = Decision.allCases.map(\.rawValue).filter { d in matrix.values.contains { $0[d] != nil } }
            var rows: [[String]] = [["\(m.rawValue): observed"] + decisions]
            for (obs, counts) in matrix.sorted(by: { $0.key < $1.key }) {
                rows.append([obs] + decisions.map { "\(counts[$0] ?? 0)" })
            }
            out += table(rows, indent: 2)
        }

        line()
        // The expected model's disagreements are the headline: listed first.
        let classes = r.findings.classes.sorted { a, b in
            let ea = r.expectedModel.map { a.key == .observedVs($0) } ?? false
            let eb = r.expectedModel.map { b.key == .observedVs($0) } ?? false
            return ea != eb ? ea : a.key < b.key
        }
        if classes.isEmpty {
            line("No divergences: every determined verdict agrees with the observed decision, and v5.8 and v5.9 agree.")
        } else {
            line("Divergences")
            for (c, n) in classes {
                var title = "\(describe(c)): \(n) fault\(n == 1 ? "" : "s")"
                if c == .prePost, !r.findings.divergenceCases.isEmpty {
                    let cases = r.findings.divergenceCases.sorted { JSONReport.caseOrder($0.key) < JSONReport.caseOrder($1.key) }
                    title += " (" + cases.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") + ")"
                }
                line("  \(title)")
                for f in r.findings.examples[c] ?? [] { out += example(f, multipleInputs: r.inputs.count > 1) }
                let shown = r.findings.examples[c]?.count ?? 0
                if n > shown { line("      … and \(n - shown) more (--format jsonl lists every fault)") }
            }
        }
        if let pfn = r.explainedPfn {
            line()
            let shown = r.history.count
            line("History of pfn \(JSONReport.hexPfn(pfn)): \(r.historyTotal) events"
                + (shown < r.historyTotal ? " (the last \(shown) shown)" : ""))
            for h in r.history {
                let place = r.inputs.count > 1 ? "\(h.file):\(h.line)" : "\(h.line)"
                line("  \(place): \(h.text.trimmingLeadingSpaces())")
                if let v = h.verdicts { line("      → \(v)") }
            }
        }
        let problems = problemLines(r)
        if !problems.isEmpty {
            line()
            line("Input problems")
            for p in problems { line("  \(p)") }
        }
        line()
        line(exitLine(r))
        return out
    }

    /// One sentence: does the kernel follow its own rules (or, without a kernel, which model fits best)?
    static func headline(_ r: CheckResult) -> String {
        guard r.findings.faults > 0 else { return "no write fault to judge" }
        if let e = r.expectedModel {
            let a = r.findings.agreement[e] ?? Findings.Agreement()
            let determined = a.agree + a.disagree
            var s = a.disagree == 0
                ? "expected rules \(e.rawValue): all \(determined) determined faults agree with them"
                : "expected rules \(e.rawValue): \(a.disagree) of \(determined) determined faults went against them (observed≠\(e.rawValue))"
            if a.undetermined > 0 { s += "; \(a.undetermined) undetermined" }
            return s
        }
        return fingerprintSentence(r.fingerprint)
    }

    /// Without a kernel: which rule generations the capture is consistent with, and which it
    /// contradicts, best first ("consistent with v6.18 rules: 0 of 50 determined faults disagree
    /// (also consistent: v6.6, v5.19); contradicts v5.8 on 1").
    static func fingerprintSentence(_ ranking: [Findings.Standing]) -> String {
        guard let best = ranking.first else { return "" }
        var s = "no kernel given: "
        if ranking.allSatisfy({ $0.determined == 0 }) {
            return s + "no model determined any fault, so the capture does not tell the rules apart"
        }
        if best.isConsistent {
            s += "consistent with \(best.model.rawValue) rules: 0 of \(best.determined) determined faults disagree"
            let others = ranking.dropFirst().filter(\.isConsistent).map(\.model.rawValue)
            if !others.isEmpty { s += " (also consistent: \(others.joined(separator: ", ")))" }
        } else {
            s += "no rule set explains every determined fault; fewest contradictions: \(best.model.rawValue) "
                + "(\(best.disagree) of \(best.determined))"
        }
        let contradicting = ranking.filter { $0.disagree > 0 && $0.model != best.model }
        if !contradicting.isEmpty {
            s += "; contradicts " + contradicting.map { "\($0.model.rawValue) on \($0.disagree)" }.joined(separator: ", ")
        }
        let ruledOut = ranking.filter { $0.ruledOut != nil && $0.disagree == 0 }
        if let why = ruledOut.first?.ruledOut {
            s += "; " + ruledOut.map(\.model.rawValue).joined(separator: ", ")
                + (ruledOut.count == 1 ? " also fits" : " also fit") + " the faults, but \(why)"
        }
        let silent = ranking.filter { $0.determined == 0 }.map(\.model.rawValue)
        if !silent.isEmpty { s += "; nothing determined under " + silent.joined(separator: ", ") }
        return s
    }

    static func observedSummary(_ observed: [String: Int]) -> String {
        guard !observed.isEmpty else { return "" }
        let parts = observed.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .map { "\($0.key) \($0.value)" }
        return " (" + parts.joined(separator: ", ") + ")"
    }

    static func describe(_ c: FaultClass) -> String {
        switch c {
        case .prePost: "pre≠post (v5.8 and v5.9 decide differently)"
        case .observedVs(let m): "observed≠\(m.rawValue) (the kernel did what \(m.rawValue)'s rules do not allow)"
        case .unsafeReuse: "unsafe reuse (reused while refcount > mappings + swap cache)"
        case .racyReuse: "racy reuse (refcount raised by another task during the fault)"
        case .stateGap: "state gap (the page's replayed state is uncertain)"
        case .racySnapshot: "racy snapshot (the entry snapshot may not be what the kernel decided on; not compared)"
        case .swapIn: "swap-in write fault (caller=do_swap_page; the models cover the present-PTE path; not compared)"
        case .expectedUncertain:
            "expected rules uncertain (a large folio on 6.7–6.14, before the first release known to have v6.18's large-folio rows)"
        }
    }

    static func example(_ f: FaultRecord, multipleInputs: Bool) -> String {
        var s = "    line \(f.line)"
        if multipleInputs { s = "    \(f.file):\(f.line)" }
        if let t = f.timestamp { s += "  t=\(formatTime(t, ns: f.timestampIsNanoseconds))" }
        if let comm = f.comm, let pid = f.pid { s += "  \(comm)-\(pid)" }
        if let cpu = f.cpu { s += " cpu\(cpu)" }
        s += "  pfn \(JSONReport.hexPfn(f.pfn))  observed \(f.observed.word)\n"
        let inputs = JSONReport.describe(f.inputs).map { name, v -> String in
            switch v {
            case .bool(let b): return "\(name)=\(b ? 1 : 0)"
            case .int(let n): return "\(name)=\(n)"
            }
        }
        s += "      inputs: \(inputs.isEmpty ? "none known" : inputs.joined(separator: " "))\n"
        let verdicts = f.verdicts.map { m, v -> String in
            var t = "\(m.rawValue) \(v.decision.rawValue)"
            if let rule = v.rule { t += " (\(rule))" }
            if v.decision == .undetermined { t += " (needs \(v.missing.map(\.rawValue).joined(separator: ", ")))" }
            if v.decision == .notCompared, f.classes.contains(.swapIn) { t = "\(m.rawValue) not compared" }
            if !v.assumed.isEmpty { t += " [assuming \(v.assumed.map(\.rawValue).joined(separator: ", "))]" }
            return t
        }
        s += "      verdicts: \(verdicts.joined(separator: "; "))"
        if let d = f.divergenceCase { s += "  → \(d)" }
        s += "\n"
        if let g = f.gapReason { s += "      gap: \(g)\n" }
        if let r = f.racer { s += "      race: task \(r) raised the refcount while the fault was in flight\n" }
        if let e = f.snapshotRace { s += "      snapshot: \(e.explanation)\n" }
        if f.classes.contains(.swapIn) { s += "      path: \(FaultCheck.swapInReason)\n" }
        return s
    }

    static func formatTime(_ t: Int64, ns: Bool) -> String {
        guard ns else { return "\(t)" }
        let secs = t / 1_000_000_000, frac = t % 1_000_000_000
        let f = String(frac)
        return "\(secs)." + String(repeating: "0", count: 9 - f.count) + f
    }

    static func warnings(_ r: CheckResult) -> [String] {
        var w: [String] = []
        let s = r.stats
        if (s.eventsByFamily["page_ref"] ?? 0) == 0 {
            w.append("no page_ref events: racy reuse was not checked, and faults are judged only on their own snapshot fields")
        } else if !r.racesChecked {
            w.append("the capture's clock is per-CPU (local): events of different CPUs cannot be ordered, so racy reuse was not checked")
        }
        if (s.eventsByFamily["page_ref"] ?? 0) > 0 {
            switch r.mapcountConvention {
            case .undecided:
                w.append("mapcount convention: undecided (no kernel version, and no event printed a value only one convention prints): replayed mapcounts are unknown")
            case .logical, .raw:
                let name = r.mapcountConvention == .logical ? "logical (page_mapcount())" : "raw (_mapcount, one less)"
                w.append("mapcount convention: \(name), decided by \(r.mapcountConventionBasis.rawValue)")
            }
        }
        if s.lostMarkers > 0 {
            let size = s.lostMarkersWithoutCount > 0 ? "at least \(s.lostEvents)" : "\(s.lostEvents)"
            w.append("\(s.lostMarkers) lost-events markers (\(size) events lost): pages not re-synced since are reported as state gaps")
        }
        if let n = s.issueCounts[.timestampRegression], n > 0 {
            w.append("timestamps go backwards \(n) times; lines are kept in input order, never reordered")
        }
        return w
    }

    static func problemLines(_ r: CheckResult) -> [String] {
        var out: [String] = []
        for issue in ParseIssue.allCases {
            guard let n = r.stats.issueCounts[issue], n > 0 else { continue }
            let where_ = r.stats.issueLines.filter { $0.issue == issue }
                .map { r.inputs.count > 1 ? "\($0.file):\($0.line)" : "\($0.line)" }
            out.append("\(issue.rawValue): \(n) line\(n == 1 ? "" : "s") (first at line \(where_.joined(separator: ", ")))")
        }
        for e in r.errors { out.append("error: \(e.message)") }
        for p in r.notATrace { out.append("error: \(p): not a trace: no event line found") }
        return out
    }

    static func exitLine(_ r: CheckResult) -> String {
        switch r.exitStatus {
        case 0: return "exit 0: no divergence"
        case 1: return "exit 1: \(r.findings.divergentFaults) of \(r.findings.faults) faults diverge"
        default: return "exit 2: the input is broken (see the errors above); the report covers what was read"
        }
    }

    /// Left-aligned first column, right-aligned numbers.
    static func table(_ rows: [[String]], indent: Int) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: width)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for r in rows {
            var l = String(repeating: " ", count: indent)
            for (i, c) in r.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                l += i == 0 ? c + pad : "  " + pad + c
            }
            while l.hasSuffix(" ") { l.removeLast() }
            out += l + "\n"
        }
        return out
    }
}

extension String {
    func trimmingLeadingSpaces() -> Substring { drop { $0 == " " } }
}
