#!/bin/sh
# The kernel's COW selftest as a capture workload. Its swap-out cases need swap: when none
# is active (and we are root) a 256 MiB swapfile is made for the run and removed after it,
# also on SIGINT/SIGTERM. Build ./cow first with build_cow_selftest.sh.
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/cow" ] || { echo "cow_selftest: run $here/build_cow_selftest.sh first" >&2; exit 3; }
swapfile=""
cleanup() {
  if [ -n "$swapfile" ]; then swapoff "$swapfile" 2>/dev/null; rm -f "$swapfile"; swapfile=""; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
if [ "$(id -u)" = 0 ] && [ "$(wc -l < /proc/swaps)" -le 1 ]; then
  swapfile=/var/tmp/tracecheck-cow-swap.$$
  dd if=/dev/zero of="$swapfile" bs=1M count=256 status=none && chmod 600 "$swapfile" &&
    mkswap "$swapfile" >/dev/null && swapon "$swapfile" || { echo "cow_selftest: no swap; swap-out cases will skip" >&2; rm -f "$swapfile"; swapfile=""; }
fi
"$here/cow" "$@"
status=$?
cleanup
exit $status
