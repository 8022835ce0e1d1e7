/// What the replay knows about one page (pfn), rebuilt from page_ref and ksm events.
/// Kept small: one entry per distinct pfn in the capture (`PageStateLayoutTests` pins the size).
public struct PageState: Sendable, Equatable {
    /// Absolute refcount printed by the last page_ref event.
    public var refcount: Int32 = 0
    /// The last page_ref event's `mapcount=` as printed (convention decided per capture).
    public var printedMapcount: Int32 = 0
    /// Raw `mapping=` value of the last page_ref event that printed a non-NULL one.
    public var mapping: UInt64 = 0
    /// Sequence number (event index) of the last page_ref event.
    public var lastRefSeq: UInt64 = 0
    /// The task whose refcount increment was the last page_ref event (-1: not an increment).
    public var lastIncrementPid: Int32 = -1
    /// The lost-events epoch in which this page's count was last cross-checked successfully.
    public var verifiedEpoch: UInt32 = 0
    public var flags: PageFlags = []
    public var hasRefEvent = false
    public var mappingProvablyRaw = false
    /// The last page_ref event's count did not equal the previous count plus `val`.
    public var countGap = false
    /// From ksm events: the page is a KSM page / its stable node is present.
    public var ksm: Bool?
    public var stableNode: Bool?
    /// PageAnon, from a raw `mapping=` pointer.
    public var anon: Bool?
    /// The operation of the last page_ref event (a `set` to 0 is a compound tail's preparation).
    public var lastOp: PageRefOp = .set
    /// The last page_ref event's `val` (the delta of a `mod`).
    public var lastDelta: Int32 = 0

    public init() {}
}
