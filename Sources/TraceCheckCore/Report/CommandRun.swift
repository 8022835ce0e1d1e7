/// The report formats of the command line.
public enum OutputFormat: String, CaseIterable, Sendable {
    case text, json, jsonl
}

/// What `tracecheck` does for one invocation, minus the process: runs the checker over the
/// inputs and writes the report in `format` to `out` and one sentence per error to `err`.
/// The command line and the fuzz harness both call it, so what the harness checks is what
/// the command prints.
public enum CommandRun {
    /// Returns the exit status (0, 1 or 2). `flush` is called whenever `out` holds a good
    /// amount, and once at the end; it must empty `out`.
    public static func check(
        _ paths: [String], options: CheckOptions, format: OutputFormat, version: String,
        out: ByteOutput, err: ByteOutput, flush: (ByteOutput) -> Void
    ) -> Int32 {
        let flushThreshold = 1 << 16
        var checker = TraceChecker(options: options)
        let multiple = paths.count > 1
        var firstFault = true
        let result = checker.run(paths: paths, onStart: { start in
            switch format {
            case .jsonl: out.append(contentsOf: JSONReport.meta(start, version: version).text + "\n")
            case .json: out.append(contentsOf: "{\"meta\":" + JSONReport.meta(start, version: version).text + ",\"faults\":[\n")
            case .text: break
            }
        }, onFault: { fault in
            switch format {
            case .jsonl:
                JSONReport.appendFault(fault, multipleInputs: multiple, to: out)
                out.append(0x0A)
            case .json:
                if !firstFault { out.append(contentsOf: ",\n") }
                JSONReport.appendFault(fault, multipleInputs: multiple, to: out)
                firstFault = false
            case .text: return
            }
            if out.count >= flushThreshold { flush(out) }
        })
        switch format {
        case .jsonl:
            for h in result.history { out.append(contentsOf: JSONReport.history(h).text + "\n") }
            out.append(contentsOf: JSONReport.summary(result).text + "\n")
        case .json: out.append(contentsOf: "\n],\"summary\":" + JSONReport.summary(result).text + "}\n")
        case .text: out.append(contentsOf: TextReport.render(result))
        }
        flush(out)
        for m in result.errorMessages { err.append(contentsOf: "tracecheck: " + TextReport.printable(m) + "\n") }
        return result.exitStatus
    }
}
