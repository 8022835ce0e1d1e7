# Answers layout questions from a BTF dump (`bpftool btf dump file /sys/kernel/btf/vmlinux
# format raw`), so no struct offset or flag number is written into the engine by hand.
#
# Usage: awk -f btf-layout.awk QUERIES DUMP
# QUERIES has one question per line; each answer is printed as a shell assignment NAME=VALUE,
# with an empty VALUE when the kernel lacks the member, enumerator or function:
#   off     NAME STRUCT member[.member...]   byte offset; anonymous structs/unions are searched
#   size    NAME STRUCT                      sizeof
#   enum    NAME ENUMERATOR                  value of an enumerator of any enum
#   nparams NAME FUNCTION                    number of parameters of a function
# Works with POSIX awk (mawk): only small integers are handled.
FNR == NR { nq++; q[nq] = $0; next }
/^\[[0-9]+\] / {
    id = substr($1, 2, length($1) - 2) + 0
    cur = id
    kind[id] = $2
    nm = $3; gsub(/'/, "", nm); tname[id] = nm
    ref[id] = ""
    for (i = 4; i <= NF; i++) {
        if ($i ~ /^type_id=/) ref[id] = substr($i, 9) + 0
        if ($i ~ /^size=/) tsize[id] = substr($i, 6) + 0
    }
    if (($2 == "STRUCT" || $2 == "UNION") && !((nm, $2) in byname)) byname[nm, $2] = id
    if ($2 == "FUNC" && !(nm in funcid)) funcid[nm] = id
    nmem[id] = 0
    next
}
/^\t'/ {
    m = $1; gsub(/'/, "", m)
    if (kind[cur] == "ENUM" || kind[cur] == "ENUM64") {
        v = $2; sub(/^val=/, "", v)
        if (!(m in enumval)) enumval[m] = v
        next
    }
    k = ++nmem[cur]
    mname[cur, k] = m
    mtype[cur, k] = ""; moff[cur, k] = 0
    for (i = 2; i <= NF; i++) {
        if ($i ~ /^type_id=/) mtype[cur, k] = substr($i, 9) + 0
        if ($i ~ /^bits_offset=/) moff[cur, k] = substr($i, 13) + 0
    }
}
function strip(t) {
    while (kind[t] == "TYPEDEF" || kind[t] == "CONST" || kind[t] == "VOLATILE" || kind[t] == "RESTRICT" || kind[t] == "TYPE_TAG")
        t = ref[t]
    return t
}
# Bit offset of member m inside aggregate t (searching anonymous members), or -1.
# The type of the member found is left in found_type.
function find(t, m,    k, sub_t, r) {
    for (k = 1; k <= nmem[t]; k++)
        if (mname[t, k] == m) { found_type = mtype[t, k]; return moff[t, k] }
    for (k = 1; k <= nmem[t]; k++) {
        if (mname[t, k] != "(anon)") continue
        sub_t = strip(mtype[t, k])
        if (kind[sub_t] != "STRUCT" && kind[sub_t] != "UNION") continue
        r = find(sub_t, m)
        if (r >= 0) return moff[t, k] + r
    }
    return -1
}
function path_offset(sname, path,    t, parts, n, i, total, r) {
    t = (sname, "STRUCT") in byname ? byname[sname, "STRUCT"] : ((sname, "UNION") in byname ? byname[sname, "UNION"] : "")
    if (t == "") return ""
    n = split(path, parts, ".")
    total = 0
    for (i = 1; i <= n; i++) {
        r = find(t, parts[i])
        if (r < 0) return ""
        total += r
        t = strip(found_type)
    }
    if (total % 8 != 0) return ""
    return total / 8
}
END {
    for (i = 1; i <= nq; i++) {
        split(q[i], w, " ")
        if (w[1] == "off") v = path_offset(w[3], w[4])
        else if (w[1] == "size") {
            t = (w[3], "STRUCT") in byname ? byname[w[3], "STRUCT"] : ""
            v = t == "" ? "" : tsize[t]
        } else if (w[1] == "enum") v = (w[3] in enumval) ? enumval[w[3]] : ""
        else if (w[1] == "nparams") {
            v = ""
            if (w[3] in funcid) { p = strip(ref[funcid[w[3]]]); v = nmem[p] }
        } else continue
        print w[2] "=" v
    }
}
