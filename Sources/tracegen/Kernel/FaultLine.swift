/// The `wp_page` line (WpPageLine.md, Fields of the 6.18 capture) and the inputs a reader cannot
/// learn at it.
///
/// `--wp full` prints the whole pre-fault snapshot. `--wp minimal` prints `tgid pfn addr` and
/// `decision`, plus only what no printed page_ref/ksm event carries at this point:
/// * `swapcount` of a swap-cache page (page_ref never shows the swap map);
/// * for a page of a large folio, its own mapcount, the folio's mapcount, the MM-shared bit,
///   its anon-exclusive bit and the order (events carry the head only);
/// * a field whose last printed value is stale in a way no reader rule can detect: the lock
///   bit (lock_page prints nothing), `lru` after an isolation, the mapcount after a swap-in or
///   KSM's replace_page (reference before mapping), the mapping after KSM's stable-tree insert;
/// * the mapping itself when pointers are hashed (anon/KSM bits are unreadable then);
/// * `zero=1` for the zero page (it has no page_ref events).
/// A mapcount printed by a fork's increment is the one stale value a reader can detect
/// (TraceFormats.md, When a printed value is still current): it is left out, and the truth
/// treats it as unknown.
///
/// Inputs no line can carry (the PTE changing during v5.8's lock wait, SWP_STABLE_WRITES,
/// whether lru_add_drain() releases a batch reference, v5.8's largest subpage mapcount) stay
/// unknown, and the ground truth says "undetermined" when they matter.

struct WpFields: OptionSet {
    let rawValue: UInt16
    static let full = WpFields(rawValue: 1 << 0)
    static let large = WpFields(rawValue: 1 << 1)
    static let mapcount = WpFields(rawValue: 1 << 2)
    static let lru = WpFields(rawValue: 1 << 3)
    static let locked = WpFields(rawValue: 1 << 4)
    static let writeback = WpFields(rawValue: 1 << 5)
    static let swapcache = WpFields(rawValue: 1 << 6)
    static let anonExclusive = WpFields(rawValue: 1 << 7)
    static let mapping = WpFields(rawValue: 1 << 8)
    static let swapcount = WpFields(rawValue: 1 << 9)
    static let zero = WpFields(rawValue: 1 << 10)
}

struct WpLinePlan {
    var fields: WpFields
    var hidden: [HiddenInput]
    /// The line carries no refcount: a reader replays the page (and an uncertain page is a gap).
    var replayMode: Bool
}

extension SimKernel {
    func wpLine(_ s: FaultSite, _ world: WPWorld) -> WpLinePlan {
        if world.zero {
            return WpLinePlan(fields: config.wpMode == .full ? [.full] : [.zero], hidden: [], replayMode: false)
        }
        var hidden: [HiddenInput] = []
        if world.lockedByOther {
            let putsRef = lockActions[s.head].map { if case .unlockOnly = $0 { false } else { true } } ?? false
            hidden.append(HiddenInput(name: "pte_changed", values: [
                { $0.pteChangesOnWait = false; $0.holderPutsReference = putsRef },
                { $0.pteChangesOnWait = true },
            ]))
        }
        if world.swapcache, world.writeback {
            hidden.append(HiddenInput(name: "stable_writes", values: [{ $0.stableWrites = false }, { $0.stableWrites = true }]))
        }
        if !world.lru {
            hidden.append(HiddenInput(name: "lru", values: [{ $0.inLocalBatch = false }, { $0.inLocalBatch = true }]))
        }
        if world.large {
            let lo = max(1, world.mapcount)
            let hi = min(world.refcount, world.largeMapcount)
            var values: [(inout WPWorld) -> Void] = [{ $0.maxSubpageMapcount = lo }]
            if lo + 1 <= hi { values.append { $0.maxSubpageMapcount = lo + 1 } }
            hidden.append(HiddenInput(name: "subpage_mapcounts", values: values))
        }
        if !model.tracksAnonExclusive, !world.ksm, world.mapcount < 2 {
            // A kernel without PG_anon_exclusive: the later models' input is unknown, except
            // where an invariant settles it (never set on a KSM page or one mapped twice).
            hidden.append(HiddenInput(name: "anon_exclusive", values: [{ $0.anonExclusive = false }, { $0.anonExclusive = true }]))
        }
        if world.large, !model.hasMmSharedBit {
            hidden.append(HiddenInput(name: "mm_shared", values: [{ $0.mmShared = false }, { $0.mmShared = true }]))
        }
        let v = pages[Int(s.head)].view
        guard config.wpMode == .minimal, v.printed else {
            // Never printed (all its events were lost): the line carries the snapshot instead.
            return WpLinePlan(fields: [.full], hidden: hidden, replayMode: false)
        }
        var f: WpFields = []
        let hp = pages[Int(s.head)]
        let suspect = v.incrementPid >= 0 && (lastForkSeq[v.incrementPid] ?? 0) > v.seq
        if !model.tracksAnonExclusive, !world.ksm, !world.large, world.mapcount >= 2, suspect {
            // The reader does not see this mapcount, so the invariant cannot settle the flag.
            hidden.append(HiddenInput(name: "anon_exclusive", values: [{ $0.anonExclusive = false }, { $0.anonExclusive = true }]))
        }
        if world.large {
            f.insert(.large)
        } else {
            if suspect {
                let hi = world.refcount - (world.swapcache ? 1 : 0)
                var values: [(inout WPWorld) -> Void] = [{ $0.mapcount = 1; $0.maxSubpageMapcount = 1; $0.largeMapcount = 1 }]
                if hi >= 2 { values.append { $0.mapcount = 2; $0.maxSubpageMapcount = 2; $0.largeMapcount = 2 } }
                hidden.append(HiddenInput(name: "mapcount", values: values))
            } else if Int(v.mapcount) != world.mapcount || v.speculativeGet {
                // A reader cannot take a mapcount printed by a speculative get as current.
                f.insert(.mapcount)
            }
            if model.tracksAnonExclusive {
                if suspect, !world.ksm {
                    hidden.append(HiddenInput(name: "anon_exclusive", values: [{ $0.anonExclusive = false }, { $0.anonExclusive = true }]))
                } else if !(v.flags.contains(.anonExclusive) && world.anonExclusive) {
                    // A reader trusts a printed anon-exclusive bit only when it is set (a reuse
                    // sets it silently), so the line says whenever the events do not.
                    f.insert(.anonExclusive)
                }
            }
        }
        // A flag is printed when its last printed value is stale, and also when a reader's rules
        // cannot take that value as current (TraceFormats.md, when a printed value is current):
        // the lock bit unless the refcount is 1 (a lock holder holds a reference); a set `lru`
        // printed by another task's increment (isolation clears it after its reference); a clear
        // `swapcache` printed by another task's increment on a locked page (entering the swap
        // cache sets it after its reference); a set `writeback` where the end of writeback
        // prints nothing.
        let printedByIncrement = v.incrementPid >= 0 && v.incrementPid != tasks[Int(s.task)].pid
        if v.flags.contains(.lru) != hp.flags.contains(.lru) || (v.flags.contains(.lru) && printedByIncrement) {
            f.insert(.lru)
        }
        if v.flags.contains(.locked) != hp.flags.contains(.locked) || world.refcount != 1 { f.insert(.locked) }
        if v.flags.contains(.writeback) != hp.flags.contains(.writeback)
            || (v.flags.contains(.writeback) && !model.writebackEndPrints) {
            f.insert(.writeback)
        }
        if v.flags.contains(.swapcache) != hp.flags.contains(.swapcache)
            || (!v.flags.contains(.swapcache) && printedByIncrement && v.flags.contains(.locked)) {
            f.insert(.swapcache)
        }
        if world.swapcache { f.insert(.swapcount) }
        var anon: Bool?, ksm: Bool?
        if v.lastMapping != 0, v.lastMappingRaw || rawSeen {
            anon = v.lastMapping & 1 == 1
            ksm = v.lastMapping & 3 == 3
        }
        anon = anon ?? v.anon
        ksm = ksm ?? v.ksm
        if anon != world.anon || ksm != world.ksm || (world.ksm && v.stableNode != world.stableNode) {
            f.insert(.mapping)
        }
        return WpLinePlan(fields: f, hidden: hidden, replayMode: true)
    }

    func writeWpPayload(_ b: inout LineBuffer, _ fp: inout FlagPrinter, _ s: FaultSite, _ world: WPWorld,
                        _ f: WpFields, decision: GDecision) {
        b.text("wp_page: tgid=")
        b.dec(Int(tasks[Int(s.task)].pid))
        b.text(" pfn=0x")
        b.hex(s.page >= 0 ? pfn(s.page) : zeroPfn)
        b.text(" addr=0x")
        b.hex(address(s.slot))
        if f.contains(.full) {
            writeSnapshot(&b, &fp, s, world)
        } else {
            if f.contains(.zero) { b.text(" zero=1") }
            if f.contains(.large) {
                // Before v6.8 the reader finds the head by PMD alignment; mTHP kernels need the order.
                if !model.largeFoliosArePMDSized { b.text(" order=9") }
                b.text(" mapcount=")
                b.dec(world.mapcount)
                b.text(" folio_mapcount=")
                b.dec(world.largeMapcount)
                if model.hasMmSharedBit {
                    b.text(" mm_shared=")
                    flag(&b, world.mmShared)
                }
                if model.tracksAnonExclusive {
                    b.text(" anon_exclusive=")
                    flag(&b, world.anonExclusive)
                }
            }
            if f.contains(.mapcount) { b.text(" mapcount="); b.dec(world.mapcount) }
            if f.contains(.mapping) {
                b.text(" mapping=0x")
                b.hex(pages[Int(s.head)].mapping, minDigits: 16)
            }
            if f.contains(.swapcache) { b.text(" swapcache="); flag(&b, world.swapcache) }
            if f.contains(.swapcount) { b.text(" swapcount="); b.dec(world.swapcount) }
            if f.contains(.locked) { b.text(" locked="); flag(&b, world.lockedByOther) }
            if f.contains(.writeback) { b.text(" writeback="); flag(&b, world.writeback) }
            if f.contains(.lru) { b.text(" lru="); flag(&b, world.lru) }
            if f.contains(.anonExclusive) { b.text(" anon_exclusive="); flag(&b, world.anonExclusive) }
        }
        b.text(" decision=")
        b.string(observedWord(decision))
    }

    private func flag(_ b: inout LineBuffer, _ v: Bool) { b.byte(v ? 0x31 : 0x30) }

    /// Every field of the capture kit's snapshot.
    private func writeSnapshot(_ b: inout LineBuffer, _ fp: inout FlagPrinter, _ s: FaultSite, _ world: WPWorld) {
        b.text(" lvl=pte")
        if world.zero {
            b.text(" refcount=1 mapcount=0 mapcount_raw=-1 folio_mapcount=0 order=0 entire_mapcount=0 pincount=0")
            b.text(" pgflags=reserved mapping=0x0000000000000000 anon=0 ksm=0 swapcache=0 locked=0 writeback=0 lru=0")
            b.text(" large=0 anon_exclusive=0 zero=1")
            return
        }
        let hp = pages[Int(s.head)]
        b.text(" refcount=")
        b.dec(world.refcount)
        b.text(" mapcount=")
        b.dec(world.mapcount)
        b.text(" mapcount_raw=")
        b.dec(Int(pages[Int(s.page)].mapcount) - 1)
        b.text(" folio_mapcount=")
        b.dec(world.largeMapcount)
        b.text(" order=")
        b.dec(Int(hp.order))
        b.text(" entire_mapcount=")
        b.dec(Int(hp.entire))
        b.text(" pincount=0 pgflags=")
        var shown = hp.flags
        shown.remove(.anonExclusive)
        fp.write(shown, into: &b)
        b.text(" mapping=0x")
        b.hex(hp.mapping, minDigits: 16)
        b.text(" anon=")
        flag(&b, world.anon)
        b.text(" ksm=")
        flag(&b, world.ksm)
        b.text(" swapcache=")
        flag(&b, world.swapcache)
        b.text(" locked=")
        flag(&b, world.lockedByOther)
        b.text(" writeback=")
        flag(&b, world.writeback)
        b.text(" lru=")
        flag(&b, world.lru)
        b.text(" large=")
        flag(&b, world.large)
        // Printed only by kernels that have the flag (a 0 elsewhere would read as evidence).
        if model.tracksAnonExclusive {
            b.text(" anon_exclusive=")
            flag(&b, world.anonExclusive)
        }
        b.text(" zero=0")
        if world.swapcache { b.text(" swapcount="); b.dec(world.swapcount) }
        if world.large, model.hasMmSharedBit { b.text(" mm_shared="); flag(&b, world.mmShared) }
    }
}
