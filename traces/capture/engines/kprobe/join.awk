# Joins the kprobe engine's bpftrace records (see gen-bpftrace) into one wp_page line per
# fault: "<ns since boot><TAB><line>", to be sorted numerically. Statistics go to the file
# named by -v stats=FILE. PG bit numbers and the layout come in with -v (from ./layout);
# an empty PG_ANON_EXCLUSIVE means the kernel has no such flag and the key is left out.
# POSIX awk: every 64-bit value stays a string as bpftrace printed it.
function bit(v, b) { return b == "" ? 0 : int(v / 2 ^ b) % 2 }
function pgnames(f, anon,    s) {
    s = ""
    if (bit(f, PG_LOCKED)) s = s "|locked"
    if (bit(f, PG_WRITEBACK)) s = s "|writeback"
    if (bit(f, PG_UPTODATE)) s = s "|uptodate"
    if (bit(f, PG_DIRTY)) s = s "|dirty"
    if (bit(f, PG_LRU)) s = s "|lru"
    if (bit(f, PG_HEAD)) s = s "|head"
    if (bit(f, PG_SWAPCACHE) && bit(f, PG_SWAPBACKED)) s = s "|swapcache"
    if (bit(f, PG_RESERVED)) s = s "|reserved"
    if (bit(f, PG_SWAPBACKED)) s = s "|swapbacked"
    return s == "" ? "none" : substr(s, 2)
}
function low2(hex,    d) {       # the two low bits of a hex string
    d = index("0123456789abcdef", tolower(substr(hex, length(hex), 1))) - 1
    return d % 4
}
function hexn(v) { return sprintf("0x%x", v) }
{ key = $2 " " $3 }
$1 == "R" { next }
$1 == "E1" || $1 == "H1" {
    kind[key] = $1 == "E1" ? "pte" : "pmd"
    order_of[++n] = key
    ts[key] = $4; cpu[key] = $5; tgid[key] = $6
    c = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", c); comm[key] = c
    next
}
$1 == "E2" { pfn[key] = $4; addr[key] = $5; pte[key] = $6; fflags[key] = $7; caller[key] = $8; next }
$1 == "E3" { ref[key] = $4; mapraw[key] = $5; hflags[key] = $6; pflags[key] = $7; mapping[key] = $8; zero[key] = $9; next }
$1 == "E4" { swap_entry[key] = $4; swapmap[key] = $5 == 1 ? $6 : -1; next }
$1 == "E5" { large[key] = 1; order[key] = $4; entire_raw[key] = $5; pin[key] = $6; submax[key] = $7; largemap[key] = $8; tail1[key] = $9; mmshared[key] = $10; next }
$1 == "X1" { done[key] = 1; ret[key] = $4; npte[key] = $5; copied[key] = $6; dt[key] = $7; npfn[key] = $8; nbits[key] = $9; next }
$1 == "HX" { done[key] = 1; ret[key] = $4; npte[key] = $5; fallback[key] = $6; dt[key] = $7; same[key] = $8; nbits[key] = $9; next }
$1 == "X2" { aref[key] = $4; amapraw[key] = $5; ahflags[key] = $6; apflags[key] = $7; next }
$1 == "X3" { new[key] = 1; nref[key] = $5; nmapraw[key] = $6; nhflags[key] = $7; npflags[key] = $8; nmapping[key] = $9; nzero[key] = $10; next }
/^Lost [0-9]+ events/ { lost += $2; next }
/^@skipped_not_anon: / { skipped = $2; next }
/^Attaching / { next }
NF > 0 { other++; if (other <= 5) print "join.awk: unexpected bpftrace output: " $0 > "/dev/stderr" }
END {
    for (i = 1; i <= n; i++) {
        k = order_of[i]
        if (!(k in pfn) || !(k in ref)) { broken++; continue }
        split(k, kt, " ")
        anon = low2(mapping[k]) % 2; ksm = low2(mapping[k]) == 3
        isz = zero[k] + 0
        lg = (k in large)
        dm = (lg && PG_DOUBLE_MAP != "") ? bit(tail1[k], PG_DOUBLE_MAP) : 0
        entire = lg ? entire_raw[k] + 1 : 0
        mapc = isz ? 0 : mapraw[k] + 1 + ((lg && anon) ? entire - dm : 0)
        sc = bit(hflags[k], PG_SWAPCACHE) && bit(hflags[k], PG_SWAPBACKED)
        line = sprintf("%16s-%-7d [%03d] ..... %d.%09d: wp_page: tgid=%d seq=%d pfn=%s addr=%s caller=%s fault_flags=%s lvl=%s %s=%s",
            comm[k], kt[1], cpu[k], int(ts[k] / 1000000000), ts[k] % 1000000000, tgid[k], kt[2],
            pfn[k], addr[k], caller[k], fflags[k], kind[k], kind[k] == "pmd" ? "pmd" : "pte", pte[k])
        line = line sprintf(" refcount=%d mapcount=%d mapcount_raw=%d order=%d entire_mapcount=%d",
            ref[k], mapc, mapraw[k], lg ? order[k] : 0, entire)
        if (lg && pin[k] != -1) line = line " pincount=" pin[k]
        if (lg && largemap[k] != -2) line = line " folio_mapcount=" (largemap[k] + 1)
        if (lg && mmshared[k] != -1) line = line " mm_shared=" mmshared[k]
        if (lg && anon) line = line " subpage_mapcount_max=" (submax[k] + 1 + entire - dm)
        if (lg && PG_DOUBLE_MAP != "") line = line " double_map=" dm
        line = line sprintf(" flags=%s pgflags=%s mapping=%s anon=%d ksm=%d swapcache=%d locked=%d writeback=%d lru=%d large=%d",
            hexn(hflags[k]), pgnames(hflags[k]), mapping[k], anon, ksm, sc, bit(hflags[k], PG_LOCKED),
            bit(hflags[k], PG_WRITEBACK), bit(hflags[k], PG_LRU), lg)
        if (PG_ANON_EXCLUSIVE != "") line = line " anon_exclusive=" ((anon && !ksm) ? bit(pflags[k], PG_ANON_EXCLUSIVE) : 0)
        line = line " zero=" isz
        if (k in swap_entry) {
            line = line " swap_entry=" swap_entry[k]
            s = swapmap[k] + 0
            # 0x40 is the cache bit; 0x80 (count continued) and 0x3f (bad slot) give no count.
            if (s >= 0 && s < 128) { s = s % 64; if (s != 63) line = line " swapcount=" s; else noswapcount++ }
            else noswapcount++
        }
        if (!(k in done)) {
            incomplete++
            line = line " decision=unresolved incomplete=1"
        } else if (kind[k] == "pmd") {
            if (fallback[k]) d = "fallback"
            else if (same[k] && nbits[k] % 4 == 3 && nbits[k] >= 128) d = "reuse"
            else if (nbits[k] % 2 == 0) d = "unmapped"
            else d = "unresolved"
            line = line " decision=" d " ret=" ret[k] " new_pmd=" npte[k]
        } else {
            present = nbits[k] % 2; writable = nbits[k] >= 2
            moved = present && npfn[k] != pfn[k]
            if (!present) d = "unmapped"
            else if (moved && (COPY_PROBE == 0 || copied[k] == 1)) d = "copy"
            else if (!moved && writable && copied[k] != 1) d = "reuse"
            else d = "unresolved"
            line = line " decision=" d " ret=" ret[k] (COPY_PROBE ? " copy_fn=" copied[k] : "") " new_pte=" npte[k] " new_pfn=" npfn[k]
            if (k in new) {
                na = low2(nmapping[k]) % 2; nk = low2(nmapping[k]) == 3
                line = line sprintf(" new_refcount=%d new_mapcount=%d new_flags=%s new_pgflags=%s new_anon=%d new_ksm=%d",
                    nref[k], nzero[k] ? 0 : nmapraw[k] + 1, hexn(nhflags[k]), pgnames(nhflags[k]), na, nk)
                if (PG_ANON_EXCLUSIVE != "") line = line " new_anon_exclusive=" ((na && !nk) ? bit(npflags[k], PG_ANON_EXCLUSIVE) : 0)
                line = line " new_zero=" (nzero[k] + 0)
            }
        }
        if (k in aref) {
            line = line " old_refcount_after=" aref[k]
            if (!lg && !isz) line = line " old_mapcount_after=" (amapraw[k] + 1)
            line = line " old_swapcache_after=" (bit(ahflags[k], PG_SWAPCACHE) && bit(ahflags[k], PG_SWAPBACKED))
            if (PG_ANON_EXCLUSIVE != "") line = line " old_anon_exclusive_after=" ((anon && !ksm) ? bit(apflags[k], PG_ANON_EXCLUSIVE) : 0)
            line = line " old_flags_after=" hexn(ahflags[k]) " old_pgflags_after=" pgnames(ahflags[k])
        }
        if (k in done) line = line " dt_ns=" dt[k] " dt_kind=service"
        print ts[k] "\t" line
        faults++
    }
    if (stats != "") {
        printf "faults=%d\nincomplete=%d\nbroken=%d\nlost_events=%d\nskipped_not_anon=%d\nswapcount_unknown=%d\nunexpected_output=%d\n",
            faults, incomplete + 0, broken + 0, lost + 0, skipped + 0, noswapcount + 0, other + 0 > stats
    }
}
