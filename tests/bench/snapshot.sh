#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: a snapshot and a rollback of a stopped container through hld (`hlctl snapshot
# NAME s`, `hlctl rollback NAME s`) against liblxc's own tool on a twin copy of it in the
# same lxcpath (`lxc-snapshot -n TWIN`, `lxc-snapshot -n TWIN -r snap0`), in the same
# run, for a busybox container and for a Debian 12 one (the tests' template,
# tests/setup.sh builds it); each snapshot is deleted again after its rollback (not
# timed). Also the time a running busybox container is frozen for hl's snapshot (liblxc's
# tool refuses a running container). Medians of RUNS. Root: tests/bench/snapshot.sh.
set -euo pipefail
RUNS=${RUNS:-5}
TEMPLATE=${HL_DEBIAN_TEMPLATE:-/var/cache/hl-test/debian-12-hl.tar.zst}
. "$(dirname "$0")/lib.sh"
bench_setup snapshot.sh s
[ -s "$TEMPLATE" ] || { echo "snapshot.sh: $TEMPLATE missing (tests/setup.sh builds it)" >&2; exit 1; }
printf '[Service]\nState=stopped\n\n[Container]\nTemplate=busybox\n' >"$tmp/defs/$tag-bb.conf"
printf '[Service]\nState=stopped\n\n[Container]\nTemplate=%s\n' "$TEMPLATE" >"$tmp/defs/$tag-deb.conf"
printf '[Container]\nTemplate=busybox\n' >"$tmp/defs/$tag-live.conf"
start_hld
"$HLCTL" apply "$tmp/defs" >/dev/null
for n in bb deb; do
        lxc-copy -P "$lxcpath" -n "$tag-$n" -N "$tag-$n-twin" >/dev/null
done
"$PYTHON" - "$lxcpath" "$HLCTL" "$tag" "$RUNS" <<'PYEOF'
import statistics, subprocess, sys, time
lxcpath, hlctl, tag, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def timed(*cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t

def du(path):
    return int(subprocess.run(["du", "-sm", path], capture_output=True, text=True).stdout.split()[0])

print("snapshot and rollback of a stopped container, medians of %d runs, seconds" % runs)
print("%-10s %6s  %10s %12s %6s  %10s %14s %6s" % ("", "MiB", "hl snap", "lxc-snapshot", "ratio",
                                                    "hl rollbk", "lxc-snapshot -r", "ratio"))
for n, label in (("bb", "busybox"), ("deb", "debian-12")):
    svc, twin = "%s-%s" % (tag, n), "%s-%s-twin" % (tag, n)
    hs, hr, ls, lr = [], [], [], []
    for _ in range(runs):
        hs.append(timed(hlctl, "snapshot", svc, "s"))
        hr.append(timed(hlctl, "rollback", svc, "s", "--no-wait"))
        subprocess.run([hlctl, "snapshot", "--delete", svc, "s"], check=True, stdout=subprocess.DEVNULL)
        ls.append(timed("lxc-snapshot", "-P", lxcpath, "-n", twin))
        lr.append(timed("lxc-snapshot", "-P", lxcpath, "-n", twin, "-r", "snap0"))
        subprocess.run(["lxc-snapshot", "-P", lxcpath, "-n", twin, "-d", "snap0"], check=True)
    m = statistics.median
    print("%-10s %6d  %10.3f %12.3f %6.2f  %10.3f %14.3f %6.2f" % (
        label, du("%s/%s/rootfs" % (lxcpath, svc)), m(hs), m(ls), m(hs) / m(ls), m(hr), m(lr), m(hr) / m(lr)))

live = "%s-live" % tag
frozen = []
for i in range(runs):
    frozen.append(timed(hlctl, "snapshot", live, "l%d" % i))
print("running busybox: hlctl snapshot (frozen for the copy, then thawed): median %.3f s" % statistics.median(frozen))
PYEOF
