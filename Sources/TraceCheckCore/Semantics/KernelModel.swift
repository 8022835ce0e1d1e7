/// The per-version decision models of `do_wp_page()` for an anonymous page on the present-PTE
/// write-fault path (DecisionTables.md, Model A — v5.8 to Model F — v6.18). The raw value is the
/// name used in reports and on the command line.
public enum KernelModel: String, CaseIterable, Sendable {
    /// Model A, pre-patch: mapcount + swapcount decide, refcount ignored (except for KSM).
    case v5_8 = "v5.8"
    /// Model B, "mm: do_wp_page() simplification": refcount == 1 decides.
    case v5_9 = "v5.9"
    /// Model C: B plus the LRU-batch drain and freeing the swap cache before the check.
    case v5_18 = "v5.18"
    /// Model D: C behind PageAnonExclusive.
    case v5_19 = "v5.19"
    /// Model E: D on folios; the same decisions for anon pages.
    case v6_6 = "v6.6"
    /// Model F: `wp_can_reuse_anon_folio()`, with large-folio reuse, as read in v6.18.
    case v6_18 = "v6.18"

    /// What a report shows next to the model's name.
    public var title: String {
        switch self {
        case .v5_8: "v5.8 (pre-patch)"
        case .v5_9: "v5.9 (post-patch: do_wp_page() simplification)"
        case .v5_18: "v5.18 (LRU-batch drain, swap-cache freeing)"
        case .v5_19: "v5.19 (PageAnonExclusive)"
        case .v6_6: "v6.6 (folios; decisions as v5.19)"
        case .v6_18: "v6.18 (wp_can_reuse_anon_folio, large-folio reuse; from v6.7)"
        }
    }

    /// The first kernel release this model is taken to describe. Model F applies from 6.7, where
    /// `wp_can_reuse_anon_folio()` appeared (DecisionTables.md, Model F — v6.18, inferred); its
    /// large-folio rows are only verified for v6.18.
    public var firstRelease: (major: Int, minor: Int) {
        switch self {
        case .v5_8: (5, 8)
        case .v5_9: (5, 9)
        case .v5_18: (5, 18)
        case .v5_19: (5, 19)
        case .v6_6: (6, 6)
        case .v6_18: (6, 7)
        }
    }

    /// The model a kernel of release `release` (a `uname -r` string such as
    /// "6.18.44-fc-v669" or "5.10.0-32-amd64") is expected to follow: the newest model
    /// whose first release is not after it. Only major.minor is read.
    ///
    /// Returns nil for a string that does not start with `major.minor` and for releases before 5.8.
    /// Some 4.14.y/4.19.y stable kernels carry Model B (the simplification was backported there,
    /// DecisionTables.md, Open and unverified points), but the version alone cannot tell which.
    public static func expected(forKernelRelease release: String) -> KernelModel? {
        guard let version = parseMajorMinor(release) else { return nil }
        return allCases.last { $0.firstRelease <= version }
    }

    /// The model's verdict on one write fault on a present, write-protected PTE of a private
    /// mapping (uffd-wp and shared mappings are the caller's to filter, DecisionTables.md, Branches
    /// that are not anon reuse decisions). Pure; unknown inputs are explored as described in
    /// `ModelContext`.
    ///
    /// Rules: "N0" zero page, "N1" not anon (both `.notAnon`); v5.8 "A1", "A2" (`.pteChanged`),
    /// "A3a", "A3b", "A4a"…"A4e"; v5.9 "B1"…"B5"; v5.18 "C1"…"C5"; v5.19 and v6.6 "D-1", then
    /// "C1"…"C5"; v6.18 "F1", "F2/C1"…"F2/C5" (small folios), "F3"…"F7" (large folios).
    /// `unshare` is not read: an unshare fault on an exclusive page is reported as its reuse row.
    public func evaluate(_ inputs: FaultInputs) -> Verdict {
        var passes = 0
        return evaluate(inputs, passes: &passes)
    }

    /// `evaluate`, also counting the runs of the model it took.
    func evaluate(_ inputs: FaultInputs, passes: inout Int) -> Verdict {
        var context = ModelContext(inputs)
        let outcome = run(&context)
        passes += 1
        if context.trail.isEmpty {
            return Verdict(decision: outcome.decision, rule: outcome.rule)
        }
        return ThreeValued.explore(&context, first: outcome, passes: &passes) { run(&$0) }
    }

    /// "6.18.44-fc-v669" → (6, 18); an optional leading "v" is allowed.
    static func parseMajorMinor(_ text: String) -> (major: Int, minor: Int)? {
        var bytes = text.utf8[...]
        if bytes.first == UInt8(ascii: "v") { bytes = bytes.dropFirst() }
        guard let major = leadingNumber(&bytes), bytes.first == UInt8(ascii: ".") else {
            return nil
        }
        bytes = bytes.dropFirst()
        guard let minor = leadingNumber(&bytes) else { return nil }
        return (major, minor)
    }

    /// Consumes leading decimal digits (at most 6, so no overflow).
    private static func leadingNumber(_ bytes: inout Substring.UTF8View) -> Int? {
        var value = 0
        var digits = 0
        while let byte = bytes.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            guard digits < 6 else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            bytes = bytes.dropFirst()
        }
        return digits > 0 ? value : nil
    }
}
