#!/bin/bash
# Boots a Debian distribution kernel in QEMU (TCG) and captures workloads in it with the kprobe
# engine, so the 5.10 and 6.1 captures can be repeated on a machine without kprobes.
#
#   traces/capture/qemu/run.sh 5.10|6.1 [workload ...]     (root; default: every workload)
#
# Outputs land in traces/capture/qemu/out/<kernel>/: <workload>.txt.zst (the capture, metadata
# header first), <workload>.log (the workload's stdout: its usercheck ground truth) and guest.log
# (the serial console). Downloads, the bookworm root filesystem and the kernels are cached in
# traces/capture/qemu/cache/ (git-ignored), so a second run only boots.
#
# The 5.10 kernel comes from bullseye through a private apt configuration under the cache (its
# own sources list and package lists); the machine's apt sources are never touched.
# Environment: QEMU_TIMEOUT (s, default 3000) bounds the guest, WORKLOAD_TIMEOUT (s, default
# 1200) each workload in it; QEMU_MEM (MiB, default 2048); WORKLOADS_DIR (default
# traces/capture/workloads); KPROBE_ENGINE_MODE=tracefs tries the engine without bpftrace;
# ATTACH_TIMEOUT (s, default 900) bounds bpftrace's start in the guest; ONE_SESSION=1 runs
# every workload in one engine session (one attach; the capture is out/<kernel>/all.txt.zst);
# BENCH=1 also runs each workload three times untraced first and prints its last line (for
# bench_cow_faults: the time per copy and per reuse fault, untraced and traced).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${TRACECHECK_QEMU_CACHE:-$here/cache}
want=${1:-}
[ -n "$want" ] || { echo "usage: $0 5.10|6.1 [workload ...]" >&2; exit 2; }
shift
case "$want" in
  5.10) suite=bullseye; abi_re='^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
  6.1)  suite=bookworm; abi_re='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
  *) echo "run.sh: kernel must be 5.10 or 6.1, not '$want'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
for tool in qemu-system-x86_64 debootstrap mke2fs debugfs apt-get zstd; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install qemu-system-x86 debootstrap e2fsprogs zstd)" >&2; exit 2; }
done
mkdir -p "$cache"
log() { echo "run.sh: $*" >&2; }

# --- kernel package -----------------------------------------------------------------------
apt_opts=()
if [ "$suite" = bullseye ]; then
  a="$cache/apt-bullseye"
  mkdir -p "$a/lists/partial" "$a/archives/partial" "$a/sources.list.d" "$a/preferences.d"
  cat > "$a/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
SRC
  apt_opts=(-o "Dir::Etc::sourcelist=$a/sources.list" -o "Dir::Etc::sourceparts=$a/sources.list.d"
            -o "Dir::Etc::preferencesparts=$a/preferences.d" -o "Dir::State::Lists=$a/lists"
            -o "Dir::Cache::archives=$a/archives" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
fi
kdir="$cache/kernel-$want"
mkdir -p "$kdir"
if ! ls "$kdir"/linux-image-*.deb >/dev/null 2>&1; then
  if [ "$suite" = bullseye ]; then
    log "reading bullseye package lists (private apt state in $a)"
    timeout 600 apt-get "${apt_opts[@]}" -q update >&2
  fi
  pkg=$(apt-cache "${apt_opts[@]}" search --names-only "$abi_re" | awk '{print $1}' | sort -V | tail -1)
  [ -n "$pkg" ] || { log "no package matches $abi_re"; exit 1; }
  log "fetching $pkg"
  (cd "$kdir" && timeout 600 apt-get "${apt_opts[@]}" -q download "$pkg" >&2)
fi
deb=$(ls "$kdir"/linux-image-*.deb | sort -V | tail -1)
kver=$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//')

# --- root filesystem (bookworm, with bpftrace) ---------------------------------------------
rootfs="$cache/rootfs"
if [ ! -e "$rootfs/.tracecheck-ready" ]; then
  rm -rf "$rootfs.tmp"
  log "debootstrap bookworm into $rootfs (once)"
  timeout 1800 debootstrap --variant=minbase \
    --include=bpftrace,linux-libc-dev,dwarves,bpftool,kmod,initramfs-tools,zstd,libzstd1,procps,util-linux,e2fsprogs,udev,gawk \
    bookworm "$rootfs.tmp" http://deb.debian.org/debian >&2
  touch "$rootfs.tmp/.tracecheck-ready"
  mv "$rootfs.tmp" "$rootfs"
fi
if [ ! -e "$rootfs/boot/vmlinuz-$kver" ] || [ ! -e "$rootfs/boot/initrd.img-$kver" ]; then
  log "installing $kver into the root filesystem (initramfs with virtio)"
  cp "$deb" "$rootfs/tmp/"
  timeout 900 chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive \
    dpkg -i --force-depends "/tmp/$(basename "$deb")" >&2
  rm -f "$rootfs/tmp/$(basename "$deb")"
  [ -e "$rootfs/boot/initrd.img-$kver" ] || timeout 900 chroot "$rootfs" update-initramfs -c -k "$kver" >&2
fi

# --- what the guest runs -------------------------------------------------------------------
workloads=("$@")
wdir="${WORKLOADS_DIR:-$repo/traces/capture/workloads}"
if [ ${#workloads[@]} = 0 ]; then
  for f in "$wdir"/*.c; do workloads+=("$(basename "$f" .c)"); done
fi
[ ${#workloads[@]} -gt 0 ] || { log "no workloads under $wdir"; exit 1; }
( cd "$wdir" && make -s "${workloads[@]}" >&2 )
make -s -C "$repo/traces/capture/engines/kprobe" calibrate >&2

stage="$cache/stage-$want"
rm -rf "$stage"; mkdir -p "$stage/opt/tracecheck/engines" "$stage/opt/tracecheck/workloads"
cp -r "$repo/traces/capture/engines/kprobe" "$stage/opt/tracecheck/engines/"
[ -z "${KPROBE_ENGINE_MODE:-}" ] || echo "$KPROBE_ENGINE_MODE" > "$stage/opt/tracecheck/mode"
for w in "${workloads[@]}"; do cp "$wdir/$w" "$stage/opt/tracecheck/workloads/"; done
# TRACECHECK_BIN: a tracecheck that runs in the guest (bookworm glibc; build it with
# `swift build -c release --static-swift-stdlib`) makes the guest use `tracecheck record`.
tc="${TRACECHECK_BIN:-}"
if [ -n "$tc" ]; then
  "$tc" record --help 2>&1 | grep -q -- '--duration' || { log "$tc has no 'record' subcommand"; exit 2; }
  cp "$tc" "$stage/opt/tracecheck/tracecheck"
  log "guest records with $tc record"
else
  log "the guest runs the engine and its own merge (set TRACECHECK_BIN to use tracecheck record)"
fi
cat > "$stage/opt/tracecheck/guest-init.sh" <<'GUEST'
#!/bin/bash
# PID 1 in the guest: mount, run each workload under the engine, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /dev/shm /tmp; mount -t tmpfs tmpfs /dev/shm; mount -t tmpfs tmpfs /tmp
echo always > /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
echo madvise > /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null
out=/out; rm -rf $out; mkdir -p $out
T=/opt/tracecheck
[ -f $T/mode ] && export KPROBE_ENGINE_MODE=$(cat $T/mode)
WL_TIMEOUT=$(cat $T/workload-timeout)
export KPROBE_KEEP_RAW=1 KPROBE_ATTACH_TIMEOUT=$(cat $T/attach-timeout)
echo "guest: kernel $(uname -r)"
echo "guest: probe: $($T/engines/kprobe/probe; echo " status $?")"
echo "guest: bpftrace start-up alone: $( { time -p bpftrace -e 'BEGIN { exit(); }' >/dev/null 2>&1; } 2>&1 | tr '\n' ' ')"
capture() {   # capture NAME CMD...: one engine session, the capture in $out/NAME.txt.zst
  local name=$1; shift
  echo "guest: === $name"
  start=$(date +%s)
  : > $out/$name.err
  tail -n +1 -F $out/$name.err 2>/dev/null | sed -u "s/^/guest: [$name] /" & tailer=$!
  if [ -x $T/tracecheck ]; then
    timeout $WL_TIMEOUT $T/tracecheck record -o $out/$name.txt.zst --engine kprobe --capture-dir $T -- "$@" > $out/$name.log 2>> $out/$name.err
  else
    rm -rf /tmp/cap; mkdir -p /tmp/cap
    timeout $WL_TIMEOUT $T/engines/kprobe/run --workdir /tmp/cap --duration $((WL_TIMEOUT - 60)) -- "$@" > $out/$name.log 2>> $out/$name.err
    rc=$?
    $T/engines/kprobe/merge /tmp/cap | zstd -3 -q > $out/$name.txt.zst
    cp /tmp/cap/engine.env $out/$name.engine.env 2>/dev/null; cp /tmp/cap/kprobe.stats $out/$name.stats 2>/dev/null
    cp /tmp/cap/layout.env $out/layout.env 2>/dev/null
    for r in /tmp/cap/*.raw; do [ -f "$r" ] && cp "$r" $out/$name.$(basename "$r"); done
    ( exit $rc )
  fi
  echo "guest: $name exit $? after $(( $(date +%s) - start )) s"
  [ -f $T/bench ] && echo "guest: traced $name: $(tail -1 $out/$name.log)"
  sleep 1; kill $tailer 2>/dev/null
}
if [ -f $T/bench ]; then
  # The per-fault cost: the workloads' own timing, untraced, before the traced runs.
  for w in $(cat $T/workloads.list); do
    for i in 1 2 3; do echo "guest: untraced $w: $($T/workloads/$w 2>&1 | tail -1)"; done
  done
fi
if [ -f $T/one-session ]; then
  # Every workload in one engine session (one attach), each writing its own log.
  cat > /tmp/all.sh <<ALL
#!/bin/bash
for w in \$(cat $T/workloads.list); do echo "=== \$w"; $T/workloads/\$w > $out/\$w.log 2>&1; echo "=== \$w exit \$?"; done
ALL
  chmod +x /tmp/all.sh
  capture all /tmp/all.sh
else
  for w in $(cat $T/workloads.list); do capture $w $T/workloads/$w; done
fi
ls -l $out
sync
mount -o remount,ro / 2>/dev/null
echo "guest: done"
echo o > /proc/sysrq-trigger
sleep 5; poweroff -f
GUEST
chmod +x "$stage/opt/tracecheck/guest-init.sh"
printf '%s\n' "${workloads[@]}" > "$stage/opt/tracecheck/workloads.list"
echo "${WORKLOAD_TIMEOUT:-1200}" > "$stage/opt/tracecheck/workload-timeout"
echo "${ATTACH_TIMEOUT:-900}" > "$stage/opt/tracecheck/attach-timeout"
[ -z "${ONE_SESSION:-}" ] || touch "$stage/opt/tracecheck/one-session"
[ -z "${BENCH:-}" ] || touch "$stage/opt/tracecheck/bench"

# --- disk image: the cached root filesystem plus the stage, built without mounting ---------
img="$cache/disk-$want.img"
rm -f "$img"
rm -rf "$rootfs/opt/tracecheck" "$rootfs/out"
cp -a "$stage/opt/tracecheck" "$rootfs/opt/"
log "making $img"
mke2fs -q -t ext4 -d "$rootfs" -L tcroot "$img" 3G >&2
rm -rf "$rootfs/opt/tracecheck"

outdir="$here/out/$want"
rm -rf "$outdir"; mkdir -p "$outdir"
log "booting $kver under TCG (bounded by ${QEMU_TIMEOUT:-3000} s)"
set +e
timeout --kill-after=10 "${QEMU_TIMEOUT:-3000}" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "${QEMU_MEM:-2048}" \
  -nographic -no-reboot -serial mon:stdio -monitor none \
  -kernel "$rootfs/boot/vmlinuz-$kver" -initrd "$rootfs/boot/initrd.img-$kver" \
  -append "console=ttyS0 root=/dev/vda rw init=/opt/tracecheck/guest-init.sh panic=-1" \
  -drive "file=$img,format=raw,if=virtio" -net none < /dev/null > "$outdir/guest.log" 2>&1
qrc=$?
set -e
log "qemu exit $qrc; console in $outdir/guest.log"
# Replay the journal first: debugfs reads the image as it is on disk.
e2fsck -fy "$img" >/dev/null 2>&1 || true
debugfs -R "rdump /out $outdir" "$img" >/dev/null 2>&1 || log "could not copy /out from the guest image"
if [ -d "$outdir/out" ]; then mv "$outdir/out/"* "$outdir/" 2>/dev/null; rmdir "$outdir/out"; fi
rm -f "$img"
# The guest compresses fast; the committed form is zstd -19.
for f in "$outdir"/*.txt.zst; do
  [ -f "$f" ] || continue
  zstd -dc "$f" | zstd -19 -q -o "$f.tmp" && mv "$f.tmp" "$f"
done
grep '^guest:' "$outdir/guest.log" >&2 || true
ls -l "$outdir" >&2
