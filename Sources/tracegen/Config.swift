/// What to generate: the kernel whose rules decide the faults, the output conventions of that
/// kernel, and the size and shape of the trace.

/// The kernel the simulator runs. Each one decides write faults with its own `do_wp_page()`
/// procedure (WriteFault.swift) and prints its trace with its own conventions.
enum GenModel: String, CaseIterable, Sendable {
    case v5_8 = "v5.8"
    case v5_9 = "v5.9"
    case v6_18 = "v6.18"

    /// The release written to the metadata header (a stable release of that line).
    var release: String {
        switch self {
        case .v5_8: "5.8.18"
        case .v5_9: "5.9.16"
        case .v6_18: "6.18.44"
        }
    }

    /// Large folios carry the "maybe mapped shared" MM-id bit (CONFIG_MM_ID, 6.15+).
    var hasMmSharedBit: Bool { self == .v6_18 }

    /// `comm-pid`: `%-5d` in v5.8, `%-7d` from v5.9 (TraceFormats.md, Prefix per kernel version).
    var pidWidth: Int { self == .v5_8 ? 5 : 7 }
    /// irq-info column: 4 characters up to v5.9, 5 later.
    var irqFlagsWidth: Int { self == .v6_18 ? 5 : 4 }
    /// page_ref `mapcount=`: page_mapcount() up to v6.6, the raw `_mapcount` in v6.18.
    var rawMapcount: Bool { self == .v6_18 }
    /// PG_anon_exclusive exists from v5.19.
    var tracksAnonExclusive: Bool { self == .v6_18 }
    /// A reader trusts the end of writeback to print (a get and a put around the flag clear)
    /// only from 5.10 on: the simulated v5.8 and v5.9 print nothing there.
    var writebackEndPrints: Bool { self == .v6_18 }
    /// Before v6.8 every anonymous large folio is a PMD THP: a reader finds a tail's head by
    /// rounding the pfn down to 512 pages, so the `wp_page` line need not print the order.
    var largeFoliosArePMDSized: Bool { self != .v6_18 }
    /// ksm:* tracepoints exist from v6.4 or so; not in v5.8/v5.9.
    var hasKsmEvents: Bool { self == .v6_18 }
    /// v5.9 copies possibly-pinned pages at fork (copy_present_page); v5.8 shares them.
    var copiesPinnedAtFork: Bool { self != .v5_8 }
    /// v6.18 takes one folio reference per batch of PTEs at fork (folio_ref_add).
    var batchesForkReferences: Bool { self == .v6_18 }
    /// Plain `trace` text hashes `%p` in v5.8/v5.9; the v6.18 convention here is `nohash-ptr`.
    var defaultRawPointers: Bool { self == .v6_18 }
}

enum WpMode: String, CaseIterable, Sendable {
    /// The whole pre-fault snapshot, as the capture kit prints it.
    case full
    /// Only what no page_ref/ksm event can carry at this fault; the rest must be replayed.
    case minimal
}

enum ClockMode: String, CaseIterable, Sendable {
    /// One clock for every CPU: cross-CPU order is trustworthy.
    case global
    /// Per-CPU clocks with fixed unsynchronised offsets, merged by printed time.
    case local
}

/// `--size`: a line count or a byte count.
enum SizeLimit: Equatable, Sendable {
    case lines(Int)
    case bytes(Int)

    /// `2000lines`, `2000`, `200MB`, `1GB`, `512KB`, `300B`.
    static func parse(_ text: String) -> SizeLimit? {
        let lower = text.lowercased()
        let digits = lower.prefix { $0.isNumber }
        guard let n = Int(digits), n > 0 else { return nil }
        let unit = lower.dropFirst(digits.count)
        switch unit {
        case "", "l", "line", "lines": return .lines(n)
        case "b": return .bytes(n)
        case "k", "kb": return .bytes(n << 10)
        case "m", "mb": return .bytes(n << 20)
        case "g", "gb": return .bytes(n << 30)
        default: return nil
        }
    }
}

struct GeneratorConfig: Sendable {
    var model: GenModel = .v5_8
    var seed: UInt64 = 1
    /// nil: the scenario alone (or a small default workload).
    var size: SizeLimit?
    /// `d1`…`d14`, `race`, `all`; nil for a random workload.
    var scenario: String?
    var wpMode: WpMode = .minimal
    var clock: ClockMode = .global
    /// Lost-event spans to inject.
    var lostSpans = 0
    var rawPointers: Bool?
    /// Distinct small-page pfns the workload cycles through.
    var pfns = 4096
    var cpus = 2
    /// Probability that an eligible reuse fault gets a racing lockless increment (workloads).
    var raceRate = 0.0
    /// Probability that a fault of the random workload has another task's get and put on its
    /// page stamped in the fault's own microsecond (workloads; global clock, no lost spans).
    var concurrentRate = 0.0
    /// Folios of 512 pages the workload may use (0: none).
    var thpFolios = 2

    var usesRawPointers: Bool { rawPointers ?? model.defaultRawPointers }
}
