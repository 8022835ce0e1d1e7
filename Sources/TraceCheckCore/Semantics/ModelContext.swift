/// Three-valued evaluation of the decision models (TraceCheckCore.md, Inputs are three-valued).
///
/// A model is plain code that reads its inputs through a `ModelContext`. A known input is
/// returned as is. An unknown input becomes a *choice point*: the context hands out the first
/// value of a small domain and records the choice. `KernelModel.evaluate` then re-runs the
/// model along every other branch (a depth-first walk over the recorded choices, replaying
/// the prefix each time) and merges the outcomes:
///
/// * every branch reaches the same decision → that decision; its rule is the distinct row
///   ids joined with `|`, in the order the walk met them;
/// * otherwise → `undetermined`, missing the unknown inputs read at a choice point below
///   which the branches disagree.
///
/// Fully known inputs take one pass with no choice recorded and no allocation.
///
/// Domains cover every threshold the models compare against, and keep out values that
/// contradict what is known or already chosen on the path (a mapped page has mapcount ≥ 1,
/// every mapping and the swap cache hold a reference, and so on; see `domain(of:)`).
/// A count domain that would come out empty (contradictory known inputs) falls back to the
/// unfiltered candidates rather than proving nothing.
struct ModelContext {
    /// One recorded choice: which input, which value of its domain, out of how many.
    struct Choice: Equatable {
        var name: InputName
        var index: UInt8
        var count: UInt8
    }

    /// The fault's inputs as given.
    private let inputs: FaultInputs
    /// The inputs as seen on this path: the known ones plus the values chosen so far, so a
    /// second read of the same unknown input gets the same value.
    private(set) var values: FaultInputs
    /// Choices to replay: the previous run's trail with its last open choice advanced.
    private var script: [Choice] = []
    /// Choices made on this run, in order.
    private(set) var trail: [Choice] = []

    init(_ inputs: FaultInputs) {
        self.inputs = inputs
        self.values = inputs
    }

    /// Sets up the run of the next branch of the walk; false when every branch was taken.
    /// Reuses both buffers, so a walk allocates for them only while they grow.
    mutating func nextBranch() -> Bool {
        swap(&script, &trail)
        while let last = script.last, Int(last.index) + 1 >= Int(last.count) { script.removeLast() }
        guard !script.isEmpty else { return false }
        script[script.count - 1].index += 1
        trail.removeAll(keepingCapacity: true)
        values = inputs
        return true
    }

    /// A Bool input, reported as `name` (default: the field's own word) when unknown.
    @inline(__always)
    mutating func bool(_ field: BoolField, as name: InputName? = nil) -> Bool {
        if let value = values[field] { return value }
        return chooseBool(field, name ?? field.name)
    }

    /// A count input, reported as `name` (default: the field's own word) when unknown.
    @inline(__always)
    mutating func int(_ field: IntField, as name: InputName? = nil) -> Int {
        if let value = values[field] { return value }
        return chooseInt(field, name ?? field.name)
    }

    // MARK: - Choice points

    @inline(never)
    private mutating func chooseBool(_ field: BoolField, _ name: InputName) -> Bool {
        let domain = Self.domain(of: field, values)
        let value = domain.count == 1 ? domain[0] : domain[choose(name, count: domain.count)]
        values[field] = value
        return value
    }

    @inline(never)
    private mutating func chooseInt(_ field: IntField, _ name: InputName) -> Int {
        let domain = Self.domain(of: field, values)
        let value = domain.count == 1 ? domain[0] : domain[choose(name, count: domain.count)]
        values[field] = value
        return value
    }

    private mutating func choose(_ name: InputName, count: Int) -> Int {
        let position = trail.count
        var index = 0
        if position < script.count {
            // Replay: the model is deterministic, so the same choice point comes back here.
            assert(script[position].name == name && Int(script[position].count) == count)
            index = Int(script[position].index)
        }
        trail.append(Choice(name: name, index: UInt8(index), count: UInt8(count)))
        return index
    }

    // MARK: - Domains

    /// Candidate values of an unknown Bool input, given what this path already knows.
    static func domain(of field: BoolField, _ v: FaultInputs) -> [Bool] {
        let both = [false, true]
        switch field {
        case .zero:
            // The zero page is never PageAnon.
            return v.anon == true ? [false] : both
        case .anon:
            return v.zero == true ? [false] : both
        case .large:
            // KSM pages are always small: KSM splits a large folio before merging it.
            return v.ksm == true ? [false] : both
        case .ksm:
            return v.large == true ? [false] : both
        case .anonExclusive:
            // PG_anon_exclusive is only ever set on non-KSM anon pages, and never on a page
            // mapped more than once (rmap asserts it: a second mapping clears the bit or fails).
            if v.ksm == true { return [false] }
            if let m = v.mapcount, m >= 2 { return [false] }
            return both
        case .swapcache:
            // The swap cache holds a reference on top of the mapping(s).
            if let ref = v.refcount, ref < mappedLowerBound(v) + 1 { return [false] }
            return both
        case .drainReleasesReference:
            // The drain can only release a reference that is there beyond the mapping(s)
            // (and the swap cache's, if known).
            if let ref = v.refcount,
                ref - 1 < mappedLowerBound(v) + (v.swapcache == true ? 1 : 0)
            {
                return [false]
            }
            return both
        default:
            return both
        }
    }

    /// Candidate values of an unknown count input, given what this path already knows.
    static func domain(of field: IntField, _ v: FaultInputs) -> [Int] {
        let mapped = mappedLowerBound(v)
        switch field {
        case .refcount:
            // Thresholds: == 1, > 1 + swapcache, > 3, and == the large mapcount (after the
            // swap cache released one reference per page of a large folio).
            var low = mapped
            if v.large == true, let large = v.largeMapcount { low = max(low, large) }
            if v.swapcache == true { low += swapCacheReferences(v) }
            if v.lru == false, v.drainReleasesReference == true { low += 1 }
            var candidates = [1, 2, 3, 4, 5, low, low + 1]
            if v.large == true, let large = v.largeMapcount {
                candidates += [large, large + 1]
                if v.swapcache != false {
                    let pages = swapCacheReferences(v)
                    candidates += [large + pages, large + pages + 1]
                }
            }
            return filtered(candidates) { $0 >= low }
        case .mapcount:
            // Thresholds: != 1 (v5.9) and the v5.8 count ≤ 1 / == 1. The faulting PTE maps
            // the page, so at least 1; every mapping holds a reference.
            var high = Int.max
            if let ref = v.refcount { high = ref - (v.swapcache == true ? 1 : 0) }
            if v.large == true, let large = v.largeMapcount { high = min(high, large) }
            if v.large == true, let top = v.maxSubpageMapcount { high = min(high, top) }
            return filtered([1, 2, 3]) { $0 <= high }
        case .maxSubpageMapcount:
            // At least the faulting subpage's own mapcount; at most the head refcount and
            // the folio's total number of mappings.
            let high = min(v.refcount ?? Int.max, v.largeMapcount ?? Int.max)
            return filtered([1, 2, 3, mapped]) { $0 >= mapped && $0 <= high }
        case .largeMapcount:
            // Thresholds: ≤ 1 and == refcount. Counts every mapping of the folio, so at
            // least this page's mapcount and at most the refcount.
            var candidates = [1, 2, 3, mapped]
            var high = Int.max
            if let ref = v.refcount {
                high = ref
                candidates += [ref - 1, ref]
            }
            return filtered(candidates) { $0 >= mapped && $0 <= high }
        case .swapcount:
            // Thresholds: == 0 (v5.18+), and the v5.8 sum with the mapcount ≤ 1 / == 1. A page's
            // swap references are part of its folio's.
            let high = v.folioSwapcount ?? Int.max
            return filtered([0, 1]) { $0 <= high }
        case .folioSwapcount:
            // Thresholds: == 0 (folio_free_swap) and == this page's swapcount (v5.8 THP).
            let own = v.swapcount ?? 0
            return filtered([0, 1, 2, own, own + 1]) { $0 >= own }
        case .thpMapSwapcount:
            // Threshold: ≤ 1 / == 1. At least the faulting subpage's mapcount + swapcount and
            // the largest subpage mapcount.
            let low = max(mapped + (v.swapcount ?? 0), v.maxSubpageMapcount ?? 1)
            return filtered([1, 2, low]) { $0 >= low }
        case .folioPages:
            // Threshold: refcount − pages == the large mapcount. A large folio has 2^order ≥ 2
            // pages (512 for a PMD THP); the swap cache holds one reference per page.
            var candidates = [2, 512]
            var high = Int.max
            if let ref = v.refcount {
                high = ref - max(mappedLowerBound(v), v.largeMapcount ?? 1)
                if let large = v.largeMapcount { candidates.append(ref - large) }
            }
            return filtered(candidates) { $0 >= 2 && $0 & ($0 - 1) == 0 && $0 <= high }
        }
    }

    /// References the swap cache holds: one per page of the folio (at least 2 for a large folio
    /// of unknown size).
    private static func swapCacheReferences(_ v: FaultInputs) -> Int {
        v.large == true ? (v.folioPages ?? 2) : 1
    }

    /// The least number of references the mappings of the page account for.
    private static func mappedLowerBound(_ v: FaultInputs) -> Int {
        max(1, v.mapcount ?? 1)
    }

    /// Sorted distinct candidates that pass `keep`, or all of them if none does.
    private static func filtered(_ candidates: consuming [Int], _ keep: (Int) -> Bool) -> [Int] {
        var values = candidates
        values.sort()
        var unique = 0
        for value in values where unique == 0 || values[unique - 1] != value {
            values[unique] = value
            unique += 1
        }
        values.removeLast(values.count - unique)
        if values.contains(where: keep) { values.removeAll { !keep($0) } }
        return values
    }
}

/// What one run of a model decided, and the decision-table row that said so.
struct ModelOutcome: Equatable {
    var decision: Decision
    var rule: String

    static func reuse(_ rule: String) -> ModelOutcome { ModelOutcome(decision: .reuse, rule: rule) }
    static func copy(_ rule: String) -> ModelOutcome { ModelOutcome(decision: .copy, rule: rule) }
}

/// Merging the runs of the walk into one verdict.
enum ThreeValued {
    /// More branches than any model produces with every input unknown; a guard only.
    static let branchLimit = 1 << 14

    /// The outcomes of the walk, with every run's choices in one flat buffer.
    struct Leaves {
        var outcomes: [ModelOutcome] = []
        var starts: [Int] = [0]
        var choices: [ModelContext.Choice] = []

        mutating func append(_ outcome: ModelOutcome, _ trail: [ModelContext.Choice]) {
            outcomes.append(outcome)
            choices.append(contentsOf: trail)
            starts.append(choices.count)
        }
        var count: Int { outcomes.count }
        func trailCount(_ leaf: Int) -> Int { starts[leaf + 1] - starts[leaf] }
        func choice(_ leaf: Int, _ depth: Int) -> ModelContext.Choice {
            choices[starts[leaf] + depth]
        }
    }

    /// Runs `model` on every branch left open by the first run, made in `context`, and
    /// merges. `passes` counts the runs (for tests).
    static func explore(
        _ context: inout ModelContext, first: ModelOutcome, passes: inout Int,
        model: (inout ModelContext) -> ModelOutcome
    ) -> Verdict {
        var leaves = Leaves()
        leaves.append(first, context.trail)
        while context.nextBranch() {
            guard leaves.count < branchLimit else { return tooManyBranches(leaves) }
            let outcome = model(&context)
            passes += 1
            leaves.append(outcome, context.trail)
        }
        return merge(leaves)
    }

    static func merge(_ leaves: Leaves) -> Verdict {
        let decision = leaves.outcomes[0].decision
        if leaves.outcomes.allSatisfy({ $0.decision == decision }) {
            var rules: [String] = []
            for outcome in leaves.outcomes where !rules.contains(outcome.rule) {
                rules.append(outcome.rule)
            }
            return Verdict(decision: decision, rule: rules.joined(separator: "|"))
        }
        var missing: UInt32 = 0
        _ = disagreement(leaves, 0..<leaves.count, depth: 0, missing: &missing)
        return Verdict(decision: .undetermined, rule: nil, missing: names(missing))
    }

    /// The decisions reached below one node of the choice tree (the leaves in `range` share
    /// their first `depth` choices). Marks the node's input as missing when they differ.
    private static func disagreement(
        _ leaves: Leaves, _ range: Range<Int>, depth: Int, missing: inout UInt32
    ) -> UInt8 {
        let head = range.lowerBound
        guard depth < leaves.trailCount(head) else { return bit(leaves.outcomes[head].decision) }
        var decisions: UInt8 = 0
        var start = head
        while start < range.upperBound {
            let index = leaves.choice(start, depth).index
            var end = start + 1
            while end < range.upperBound, leaves.choice(end, depth).index == index { end += 1 }
            decisions |= disagreement(leaves, start..<end, depth: depth + 1, missing: &missing)
            start = end
        }
        if decisions.nonzeroBitCount > 1 { missing |= bit(leaves.choice(head, depth).name) }
        return decisions
    }

    private static func tooManyBranches(_ leaves: Leaves) -> Verdict {
        var read: UInt32 = 0
        for choice in leaves.choices { read |= bit(choice.name) }
        return Verdict(decision: .undetermined, rule: nil, missing: names(read))
    }

    private static func bit(_ decision: Decision) -> UInt8 {
        1 << UInt8(Decision.allCases.firstIndex(of: decision)!)
    }

    private static func bit(_ name: InputName) -> UInt32 {
        1 << UInt32(InputName.allCases.firstIndex(of: name)!)
    }

    /// The names in `mask`, in InputName order.
    private static func names(_ mask: UInt32) -> [InputName] {
        InputName.allCases.filter { mask & bit($0) != 0 }
    }
}

/// The Bool inputs a model reads, each with the word an undetermined verdict uses for it.
enum BoolField {
    case zero, anon, ksm, stableNode, swapcache, locked, pteChanged, writeback, stableWrites
    case lru, drainReleasesReference, anonExclusive, large, mmShared

    var name: InputName {
        switch self {
        case .zero, .anon: .anon
        case .ksm: .ksm
        case .stableNode: .stable_node
        case .swapcache: .swapcache
        case .locked: .locked
        case .pteChanged: .pte_changed
        case .writeback: .writeback
        case .stableWrites: .stable_writes
        case .lru, .drainReleasesReference: .lru
        case .anonExclusive: .anon_exclusive
        // Callers name it: the mapcounts it selects differ per model.
        case .large: .mapcount
        case .mmShared: .mm_shared
        }
    }
}

/// The count inputs a model reads, each with the word an undetermined verdict uses for it.
enum IntField {
    case refcount, mapcount, swapcount, largeMapcount, maxSubpageMapcount
    case folioSwapcount, thpMapSwapcount, folioPages

    var name: InputName {
        switch self {
        case .refcount: .refcount
        case .mapcount, .largeMapcount: .mapcount
        case .swapcount: .swapcount
        case .maxSubpageMapcount, .thpMapSwapcount: .subpage_mapcounts
        case .folioSwapcount: .folio_swapcount
        case .folioPages: .folio_order
        }
    }
}

extension FaultInputs {
    /// Field access by `BoolField`; a switch the optimiser folds at constant call sites.
    subscript(field: BoolField) -> Bool? {
        @inline(__always) get {
            switch field {
            case .zero: zero
            case .anon: anon
            case .ksm: ksm
            case .stableNode: stableNode
            case .swapcache: swapcache
            case .locked: locked
            case .pteChanged: pteChanged
            case .writeback: writeback
            case .stableWrites: stableWrites
            case .lru: lru
            case .drainReleasesReference: drainReleasesReference
            case .anonExclusive: anonExclusive
            case .large: large
            case .mmShared: mmShared
            }
        }
        set {
            switch field {
            case .zero: zero = newValue
            case .anon: anon = newValue
            case .ksm: ksm = newValue
            case .stableNode: stableNode = newValue
            case .swapcache: swapcache = newValue
            case .locked: locked = newValue
            case .pteChanged: pteChanged = newValue
            case .writeback: writeback = newValue
            case .stableWrites: stableWrites = newValue
            case .lru: lru = newValue
            case .drainReleasesReference: drainReleasesReference = newValue
            case .anonExclusive: anonExclusive = newValue
            case .large: large = newValue
            case .mmShared: mmShared = newValue
            }
        }
    }

    /// Field access by `IntField`.
    subscript(field: IntField) -> Int? {
        @inline(__always) get {
            switch field {
            case .refcount: refcount
            case .mapcount: mapcount
            case .swapcount: swapcount
            case .largeMapcount: largeMapcount
            case .maxSubpageMapcount: maxSubpageMapcount
            case .folioSwapcount: folioSwapcount
            case .thpMapSwapcount: thpMapSwapcount
            case .folioPages: folioPages
            }
        }
        set {
            switch field {
            case .refcount: refcount = newValue
            case .mapcount: mapcount = newValue
            case .swapcount: swapcount = newValue
            case .largeMapcount: largeMapcount = newValue
            case .maxSubpageMapcount: maxSubpageMapcount = newValue
            case .folioSwapcount: folioSwapcount = newValue
            case .thpMapSwapcount: thpMapSwapcount = newValue
            case .folioPages: folioPages = newValue
            }
        }
    }
}
