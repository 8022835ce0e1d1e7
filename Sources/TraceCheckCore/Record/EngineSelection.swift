/// Which capture engine fits the running kernel, and why none does when none fits.
///
/// The facts come from the kernel (`TracingCapabilities.probe`); each engine also answers for itself
/// through its `probe` executable (a build tool missing, a field layout it cannot read).
public struct TracingCapabilities: Sendable, Equatable {
    public var release: String
    public var isRoot: Bool
    public var hasTracefs: Bool
    public var hasKprobes: Bool
    public var hasBTF: Bool

    public init(release: String, isRoot: Bool, hasTracefs: Bool, hasKprobes: Bool, hasBTF: Bool) {
        self.release = release
        self.isRoot = isRoot
        self.hasTracefs = hasTracefs
        self.hasKprobes = hasKprobes
        self.hasBTF = hasBTF
    }

    /// BPF programs attached to raw tracepoints with BTF types (`tp_btf`) need BTF and a
    /// 5.5 or later kernel.
    public var hasTpBtf: Bool {
        guard hasBTF, let (major, minor) = Self.version(release) else { return false }
        return major > 5 || (major == 5 && minor >= 5)
    }

    /// `6.18.44-fc` → (6, 18).
    public static func version(_ release: String) -> (Int, Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// What the running kernel offers; reads /proc and /sys under `root` (tests pass a fake tree).
    public static func probe(root: String = "", release: String? = nil, isRoot: Bool? = nil) -> TracingCapabilities {
        let tracefs = RecordSystem.exists(root + "/sys/kernel/tracing/events")
            || RecordSystem.exists(root + "/sys/kernel/debug/tracing/events")
            || RecordSystem.readText(root + "/proc/filesystems")?.contains("tracefs") == true
        // The kprobe PMU exists exactly when CONFIG_KPROBES=y.
        let kprobes = RecordSystem.exists(root + "/sys/bus/event_source/devices/kprobe")
            || RecordSystem.exists(root + "/sys/kernel/tracing/kprobe_events")
        return TracingCapabilities(
            release: release ?? RecordSystem.kernelRelease(),
            isRoot: isRoot ?? RecordSystem.isRoot(),
            hasTracefs: tracefs,
            hasKprobes: kprobes,
            hasBTF: RecordSystem.exists(root + "/sys/kernel/btf/vmlinux"))
    }
}

/// An engine's own answer: usable, or the one sentence its `probe` printed.
public struct EngineProbe: Sendable, Equatable {
    public var name: String
    public var usable: Bool
    public var reason: String

    public init(name: String, usable: Bool, reason: String = "") {
        self.name = name
        self.usable = usable
        self.reason = reason
    }
}

public enum EngineChoice: Sendable, Equatable {
    case engine(String)
    /// One sentence saying what is missing.
    case none(String)
}

public enum EngineSelection {
    public static let kprobe = "kprobe"
    public static let tpBtf = "tpbtf"

    /// The kprobe engine where the kernel has kprobes (it reads inside `do_wp_page`), else
    /// the tp_btf engine (it infers the outcome at the thread's next kernel entry).
    public static func choose(_ facts: TracingCapabilities, probes: [EngineProbe]) -> EngineChoice {
        if !facts.isRoot { return .none("Capturing needs root: the engines load BPF programs or kprobe events and read pfns from /proc/self/pagemap.") }
        if !facts.hasTracefs { return .none("This kernel has no tracefs (CONFIG_TRACING), which every engine records through.") }
        func probe(_ name: String) -> EngineProbe? { probes.first { $0.name == name } }
        var order: [String] = []
        if facts.hasKprobes { order.append(kprobe) }
        if facts.hasTpBtf { order.append(tpBtf) }
        for name in order where probe(name)?.usable == true { return .engine(name) }
        if order.isEmpty {
            return .none("This kernel (\(facts.release)) has neither kprobes (CONFIG_KPROBES) nor BTF for BPF raw tracepoints (CONFIG_DEBUG_INFO_BTF), so no engine can see write faults.")
        }
        let reasons = order.map { name -> String in
            guard let p = probe(name) else { return "the \(name) engine is not installed" }
            return "\(name): " + p.reason.trimmedSentence
        }
        return .none("No capture engine can run here (" + reasons.joined(separator: "; ") + ").")
    }
}

extension String {
    /// Without surrounding whitespace and a final full stop, for quoting inside a sentence.
    var trimmedSentence: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace || c == "." { s = s.dropLast() }
        return s.isEmpty ? "unusable, without a reason" : String(s)
    }
}
