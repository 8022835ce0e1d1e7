extension FaultInputs {
    /// A cheap, well-mixed hash of the inputs for `FaultCheckCache`.
    ///
    /// Only a hash: the cache compares keys with the synthesized `==`, so a field added to
    /// `FaultInputs` and missing here costs collisions, never a wrong verdict.
    @inline(__always)
    var quickHash: UInt64 {
        @inline(__always) func b(_ v: Bool?) -> UInt64 {
            switch v {
            case nil: 0
            case false?: 1
            case true?: 2
            }
        }
        @inline(__always) func n(_ v: Int?) -> UInt64 {
            guard let v else { return 0x5bd1_e995 }
            return UInt64(bitPattern: Int64(v))
        }
        @inline(__always) func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
            let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            return x ^ (x >> 29)
        }
        var bits = b(zero)
        bits = bits << 2 | b(anon)
        bits = bits << 2 | b(ksm)
        bits = bits << 2 | b(stableNode)
        bits = bits << 2 | b(swapcache)
        bits = bits << 2 | b(locked)
        bits = bits << 2 | b(pteChanged)
        bits = bits << 2 | b(writeback)
        bits = bits << 2 | b(stableWrites)
        bits = bits << 2 | b(lru)
        bits = bits << 2 | b(drainReleasesReference)
        bits = bits << 2 | b(anonExclusive)
        bits = bits << 2 | b(large)
        bits = bits << 2 | b(mmShared)
        bits = bits << 2 | b(unshare)
        bits = bits << 2 | b(swapIn)
        var h = mix(0x243F_6A88_85A3_08D3, bits)
        h = mix(h, n(refcount))
        h = mix(h, n(mapcount) &+ 0x1000)
        h = mix(h, n(swapcount) &+ 0x2000)
        h = mix(h, n(largeMapcount) &+ 0x3000)
        h = mix(h, n(maxSubpageMapcount) &+ 0x4000)
        h = mix(h, n(folioPages) &+ 0x5000)
        h = mix(h, n(folioSwapcount) &+ 0x6000)
        h = mix(h, n(thpMapSwapcount) &+ 0x7000)
        return h
    }
}
