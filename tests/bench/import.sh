#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: hlctl import pct of 100 configs in Proxmox's format (the six of the seed lab,
# tests/unit/data/pct, under 100 VMIDs and hostnames) into definitions written to a
# directory: wall time of the whole import, beside cat of the same 100 files. No hld, no
# root needed. tests/bench/import.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath -m "${BUILD:-build}")
[ -x "$BUILD/cli/hlctl" ] || { echo "import.sh: build hl first (ninja -C $BUILD)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/hl-bench-import-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pve/lxc"
fixtures=(tests/unit/data/pct/*.conf)
for i in $(seq 0 99); do
        src=${fixtures[$((i % ${#fixtures[@]}))]}
        sed "s/^hostname: .*/hostname: svc$i/" "$src" >"$tmp/pve/lxc/$((1000 + i)).conf"
done
vmids=$(seq 1000 1099)
/usr/bin/python3 - "$BUILD/cli/hlctl" "$tmp" $vmids <<'PYEOF'
import os, shutil, statistics, subprocess, sys, time
hlctl, tmp, vmids = sys.argv[1], sys.argv[2], sys.argv[3:]
files = ["%s/pve/lxc/%s.conf" % (tmp, v) for v in vmids]
def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.monotonic() - t
hl, cat = [], []
for i in range(5):
    out = "%s/out" % tmp
    os.mkdir(out)
    hl.append(timed([hlctl, "import", "pct", *vmids, "--template", "busybox", "--pve-root", tmp + "/pve", "--to", out]))
    assert len(os.listdir(out)) == 100
    shutil.rmtree(out)
    cat.append(timed(["cat", *files]))
m = statistics.median
print("hlctl import pct of 100 configs into 100 definitions, medians of 5 runs")
print("  hlctl import pct (written, synced)  %6.1f ms" % (m(hl) * 1000))
print("  cat of the same files               %6.1f ms" % (m(cat) * 1000))
PYEOF
