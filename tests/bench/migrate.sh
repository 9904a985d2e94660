#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: hlctl import pct VMID --migrate of a container made in Proxmox's style (a
# Debian 12 root file system, the tests' template plus 330 MB of mixed data, ~500 MB in
# all, in an lxcpath of its own, its pct config in a tree of /etc/pve's layout) against
# cp -a of the same tree, and cp -a followed by sync -f, in the same run. The migration
# is the mapping, the copy (libarchive, disk to disk), the container's config and the
# apply (the config says onboot: 0, so it is not started). Medians of RUNS. Root:
# tests/bench/migrate.sh (tests/setup.sh builds the template).
set -euo pipefail
RUNS=${RUNS:-3}
TEMPLATE=${HL_DEBIAN_TEMPLATE:-/var/cache/hl-test/debian-12-hl.tar.zst}
. "$(dirname "$0")/lib.sh"
bench_setup migrate.sh m
[ -s "$TEMPLATE" ] || { echo "migrate.sh: $TEMPLATE missing (tests/setup.sh builds it)" >&2; exit 1; }
pve=$tmp/pve
pvelxc=$tmp/pve-lxc
mkdir -p "$pve/lxc" "$pvelxc/105/rootfs"
printf 'hostname: %s-web\nmemory: 256\nonboot: 0\nostype: debian\nrootfs: local:105/vm-105-disk-0.raw,size=8G\n' \
        "$tag" >"$pve/lxc/105.conf"
printf 'lxc.rootfs.path = dir:%s/105/rootfs\nlxc.uts.name = web\nlxc.net.0.type = empty\n' "$pvelxc" \
        >"$pvelxc/105/config"
root=$pvelxc/105/rootfs
tar --zstd -xf "$TEMPLATE" -C "$root"
mkdir -p "$root/srv/data"
head -c $((110 << 20)) /dev/urandom >"$root/srv/data/random"
head -c $((110 << 20)) /dev/zero >"$root/srv/data/zeros"
head -c $((80 << 20)) /dev/urandom | base64 -w 76 >"$root/srv/data/text"
start_hld --pve-root "$pve"
"$PYTHON" - "$tmp" "$lxcpath" "$HLCTL" "$tag-web" "$RUNS" "$pve" "$pvelxc" <<'PYEOF'
import os, shutil, statistics, subprocess, sys, time
tmp, lxcpath, hlctl, name, runs, pve, pvelxc = sys.argv[1:8]
runs = int(runs)
root = pvelxc + "/105/rootfs"

def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.monotonic() - t

mib = int(subprocess.run(["du", "-sm", root], capture_output=True, text=True).stdout.split()[0])
hl, cp, cps = [], [], []
for i in range(runs):
    hl.append(timed([hlctl, "import", "pct", "105", "--migrate", "--template", "busybox", "--lxcpath", pvelxc,
                     "--pve-root", pve, "--no-wait"]))
    subprocess.run([hlctl, "destroy", name, "--yes", "--force"], check=True, capture_output=True)
    dest = tmp + "/copy"
    cp.append(timed(["cp", "-a", root, dest]))
    shutil.rmtree(dest)
    t = time.monotonic()
    subprocess.run(["cp", "-a", root, dest], check=True)
    subprocess.run(["sync", "-f", dest], check=True)
    cps.append(time.monotonic() - t)
    shutil.rmtree(dest)
m = statistics.median
print("migrate of a pct-style Debian 12 container, %d MiB of root file system, medians of %d runs" % (mib, runs))
print("  %-34s %8s %10s" % ("", "seconds", "MiB/s"))
for label, v in (("hlctl import pct 105 --migrate", hl), ("cp -a", cp), ("cp -a; sync -f", cps)):
    print("  %-34s %8.2f %10.0f" % (label, m(v), mib / m(v)))
print("  ratio hl / cp -a: %.2f   hl / (cp -a; sync): %.2f" % (m(hl) / m(cp), m(hl) / m(cps)))
PYEOF
