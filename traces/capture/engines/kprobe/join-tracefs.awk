# Joins the tracefs kprobe events of the engine's tracefs mode (see tracefs-events) into one
# wp_page line per fault: "<ns><TAB><line>", to be sorted numerically. A fault is the
# sequence wp_enter, [wp_page_ret], [wp_copy], wp_exit of one thread (wp_pmd/wp_pmd_exit for
# the PMD write fault). Without a return-time PTE read, the outcome comes from the return
# value: VM_FAULT_WRITE (-v VM_FAULT_WRITE, 0x8 on 5.8-6.1) is set by a reuse and by a copy
# that was installed; wp_page_copy entered tells the two apart. Statistics: -v stats=FILE.
# POSIX awk: 64-bit values stay strings; only pfns (40 bits) become numbers.
function bit(v, b) { return b == "" ? 0 : int(v / 2 ^ b) % 2 }
function hexval(h,    i, v, d) {       # exact for up to 13 hex digits
    sub(/^0x/, "", h); v = 0
    for (i = 1; i <= length(h); i++) { d = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1; v = v * 16 + d }
    return v
}
function tohex(v,    s, d) {
    if (v == 0) return "0x0"
    s = ""
    while (v > 0) { d = v % 16; s = substr("0123456789abcdef", d + 1, 1) s; v = (v - d) / 16 }
    return "0x" s
}
function pad16(h) { sub(/^0x/, "", h); while (length(h) < 16) h = "0" h; return h }
function pgnames(f,    s) {
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
function arg(name,    i) { for (i = ev + 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2); return "" }
function ns(t,    p, frac) { p = index(t, "."); frac = substr(t, p + 1); while (length(frac) < 9) frac = frac "0"; return substr(t, 1, p - 1) * 1000000000 + frac }
function flags_of(h) { return hexval(substr(pad16(h), 10)) % (2 ^ NR_PAGEFLAGS) }   # low 28 bits hold every PG bit
{
    ev = 0
    for (i = 2; i < NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ev = i + 1; break }
    if (!ev) next
    name = $ev; sub(/:$/, "", name)
    if (name !~ /^wp_(enter|exit|copy|page_ret|pmd|pmd_exit)$/) next
    head = $0; sub(/ +\[[0-9]+\] .*/, "", head); sub(/^ +/, "", head)
    n = split(head, hp, "-"); tid = hp[n]; comm = substr(head, 1, length(head) - length(tid) - 1)
    cpu = $0; sub(/^.* \[/, "", cpu); sub(/\].*/, "", cpu)
    ts = $(ev - 1); sub(/:$/, "", ts)
}
name == "wp_enter" || name == "wp_pmd" {
    if (tid in open) { incomplete++; emit(open[tid]) }
    k = ++n_rec; open[tid] = k
    r_tid[k] = tid; r_comm[k] = comm; r_cpu[k] = cpu; r_ts[k] = ts
    r_kind[k] = name == "wp_enter" ? "pte" : "pmd"
    r_addr[k] = arg("addr"); r_ff[k] = arg("fflags")
    c = arg("caller"); sub(/\+.*/, "", c); r_caller[k] = c
    if (name == "wp_enter") {
        r_pte[k] = arg("pte")
        r_pfn[k] = hexval(substr(pad16(r_pte[k]), 4, 10))
        r_zero[k] = r_pfn[k] == hexval(arg("zp"))
    } else {
        r_pte[k] = arg("pmd")
        r_pfn[k] = hexval(substr(pad16(r_pte[k]), 4, 10)); r_pfn[k] -= r_pfn[k] % 512
        r_pfn[k] += int(hexval(substr(pad16(r_addr[k]), 9)) / 4096) % 512
    }
    next
}
name == "wp_page_ret" {
    if (!(tid in open)) next
    k = open[tid]
    if (k in r_ref) next
    if (arg("page") == "0x0") next
    ch = arg("ch"); tail = hexval(substr(pad16(ch), 16)) % 2
    r_ref[k] = tail ? arg("href") : arg("ref")
    r_mapraw[k] = arg("mapraw")
    r_flags[k] = tail ? flags_of(arg("hflags")) : flags_of(arg("flags"))
    r_pflags[k] = flags_of(arg("flags"))
    r_mapping[k] = tail ? arg("hmapping") : arg("mapping")
    r_entire[k] = tail ? arg("hentire") : arg("entire")
    r_order[k] = tail ? arg("horder") : arg("order")
    next
}
name == "wp_copy" { if (tid in open) r_copied[open[tid]] = 1; next }
name == "wp_exit" || name == "wp_pmd_exit" {
    if (!(tid in open)) next
    k = open[tid]; delete open[tid]
    r_ret[k] = arg("ret"); r_dt[k] = ns(ts) - ns(r_ts[k]); r_done[k] = 1
    # With a return probe on do_wp_page, the return address seen at entry may already be the
    # kretprobe (rethook, 6.0+) trampoline; the return line names the real site where the kernel knows it
    # ("(handle_mm_fault+0x.. <- do_wp_page)"; 6.1 prints "[unknown/kretprobe'd]").
    if (r_caller[k] ~ /kretprobe_trampoline|rethook_trampoline/) {
        site = $0; sub(/^[^(]*\(/, "", site); sub(/ <- .*/, "", site); sub(/\+.*/, "", site)
        r_caller[k] = (site ~ /^[A-Za-z_][A-Za-z0-9_.]*$/) ? site : ""
    }
    emit(k)
    next
}
function emit(k,    line, m, anon, ksm, lg, retv, d, mapc, sc) {
    m = r_mapping[k]
    anon = m != "" ? hexval(substr(pad16(m), 16)) % 2 : 0
    ksm = m != "" ? hexval(substr(pad16(m), 16)) % 4 == 3 : 0
    if (!r_zero[k] && !anon && r_kind[k] == "pte") { skipped++; return }
    line = sprintf("%16s-%-7d [%03d] ..... %s: wp_page: pfn=%s addr=%s%s fault_flags=%s lvl=%s %s=%s",
        r_comm[k], r_tid[k], r_cpu[k], r_ts[k] "000", tohex(r_pfn[k]), r_addr[k],
        r_caller[k] == "" ? "" : " caller=" r_caller[k], r_ff[k], r_kind[k], r_kind[k], r_pte[k])
    if (k in r_ref) {
        lg = bit(r_flags[k], PG_HEAD)
        mapc = r_zero[k] ? 0 : r_mapraw[k] + 1 + ((lg && anon) ? r_entire[k] + 1 : 0)
        sc = bit(r_flags[k], PG_SWAPCACHE) && bit(r_flags[k], PG_SWAPBACKED)
        line = line sprintf(" refcount=%d mapcount=%d mapcount_raw=%d order=%d entire_mapcount=%d flags=%s pgflags=%s mapping=%s anon=%d ksm=%d swapcache=%d locked=%d writeback=%d lru=%d large=%d",
            r_ref[k], mapc, r_mapraw[k], lg ? r_order[k] : 0, lg ? r_entire[k] + 1 : 0, tohex(r_flags[k]), pgnames(r_flags[k]),
            m, anon, ksm, sc, bit(r_flags[k], PG_LOCKED), bit(r_flags[k], PG_WRITEBACK), bit(r_flags[k], PG_LRU), lg)
        if (PG_ANON_EXCLUSIVE != "") line = line " anon_exclusive=" ((anon && !ksm) ? bit(r_pflags[k], PG_ANON_EXCLUSIVE) : 0)
    }
    line = line " zero=" (r_zero[k] ? 1 : 0)
    if (!(k in r_done)) { line = line " decision=unresolved incomplete=1" }
    else {
        retv = hexval(r_ret[k])
        if (r_kind[k] == "pmd") d = bit(retv, 11) ? "fallback" : (bit(retv, 3) ? "reuse" : "unresolved")
        else if (!bit(retv, 3)) d = "unresolved"
        else if (r_copied[k]) d = "copy"
        else if (COPY_PROBE) d = "reuse"
        else d = "unresolved"
        line = line " decision=" d " ret=" r_ret[k] (COPY_PROBE ? " copy_fn=" (r_copied[k] + 0) : "") " dt_ns=" r_dt[k] " dt_kind=service"
    }
    print ns(r_ts[k]) "\t" line
    faults++
}
END {
    for (t in open) { incomplete++; emit(open[t]) }
    if (stats != "") printf "faults=%d\nincomplete=%d\nbroken=0\nlost_events=0\nskipped_not_anon=%d\nswapcount_unknown=0\nunexpected_output=0\n", faults, incomplete + 0, skipped + 0 > stats
}
