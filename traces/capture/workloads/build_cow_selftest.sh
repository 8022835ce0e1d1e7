#!/bin/sh
# Builds the kernel's own COW selftest (tools/testing/selftests/mm/cow.c) from Debian's
# linux-source-6.12 package into ./cow (static). Needs apt-get download access and gcc.
# The test's uapi needs (struct pm_scan_arg) come from the same source tree.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tracecheck-cow.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download linux-source-6.12 >/dev/null
dpkg-deb --fsys-tarfile linux-source-6.12_*.deb | tar -x --wildcards './usr/src/linux-source-6.12.tar.*'
src=linux-source-6.12
tar -xf usr/src/$src.tar.* --wildcards "$src/tools/testing/selftests/mm/*" "$src/tools/testing/selftests/kselftest*" \
  "$src/mm/gup_test.h" "$src/include/uapi/linux/fs.h"
mkdir -p shim/linux
cp $src/include/uapi/linux/fs.h shim/linux/
cd $src/tools/testing/selftests/mm
echo '/* built without liburing */' > local_config.h
gcc -O2 -I"$work/shim" -I. -o "$here/cow" cow.c vm_util.c thp_settings.c -static
echo "built $here/cow"
