#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: hlctl backup and hlctl restore of a Debian 12 container with ~500 MB in its
# root file system (the tests' template plus 330 MB of mixed data: random, text, zeros)
# against tar --zstd -c and -x of the same tree in the same run; throughput and archive
# size. The stopped container is archived from its own files; then, running, in snapshot
# mode (taking and deleting the snapshot: the copy liblxc makes on the dir backend) and in
# stop mode (shutdown, archive, start). Each includes a syncfs; a restore the apply that
# follows. Medians of RUNS. Root:
# tests/bench/backup.sh (tests/setup.sh builds the template).
set -euo pipefail
RUNS=${RUNS:-3}
TEMPLATE=${HL_DEBIAN_TEMPLATE:-/var/cache/hl-test/debian-12-hl.tar.zst}
. "$(dirname "$0")/lib.sh"
bench_setup backup.sh b
[ -s "$TEMPLATE" ] || { echo "backup.sh: $TEMPLATE missing (tests/setup.sh builds it)" >&2; exit 1; }
name=$tag-data
printf '[Service]\nState=stopped\n\n[Container]\nTemplate=%s\n' "$TEMPLATE" >"$tmp/defs/$name.conf"
start_hld
"$HLCTL" apply "$tmp/defs" >/dev/null
root=$lxcpath/$name/rootfs
mkdir -p "$root/srv/data"
head -c $((110 << 20)) /dev/urandom >"$root/srv/data/random"
head -c $((110 << 20)) /dev/zero >"$root/srv/data/zeros"
head -c $((80 << 20)) /dev/urandom | base64 -w 76 >"$root/srv/data/text"
mkdir -p "$tmp/out"
"$PYTHON" - "$tmp" "$lxcpath" "$HLCTL" "$name" "$RUNS" <<'PYEOF'
import json, os, shutil, statistics, subprocess, sys, time
tmp, lxcpath, hlctl, name, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
root = "%s/%s/rootfs" % (lxcpath, name)
out = tmp + "/out"

def timed(cmd, **kw):
    t = time.monotonic()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    return time.monotonic() - t, p.stdout

mib = int(subprocess.run(["du", "-sm", root], capture_output=True, text=True).stdout.split()[0])
hb, hr, tb, tr, ts = [], [], [], [], []
hsize = tsize = 0
for i in range(runs):
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    t, o = timed([hlctl, "--json", "backup", name, "--to", out])
    hb.append(t)
    archive = json.loads(o)["archive"]
    hsize = os.path.getsize(archive)
    subprocess.run([hlctl, "destroy", name, "--yes", "--force"], check=True, stdout=subprocess.DEVNULL)
    t, _ = timed([hlctl, "restore", archive, "--no-wait"])
    hr.append(t)
    plain = tmp + "/plain.tar.zst"
    t, _ = timed(["tar", "--zstd", "-cf", plain, "-C", root, "."])
    tb.append(t)
    tsize = os.path.getsize(plain)
    dest = tmp + "/plain"
    os.mkdir(dest)
    t, _ = timed(["tar", "--zstd", "-xf", plain, "-C", dest])
    tr.append(t)
    # hl's restore syncs what it unpacked before it is done: so does this baseline.
    t2, _ = timed(["sync", "-f", dest])
    ts.append(t + t2)
    shutil.rmtree(dest)
    os.unlink(plain)
def running():
    services = json.loads(subprocess.run([hlctl, "--json", "status"], check=True, capture_output=True,
                                         text=True).stdout)["services"]
    return [x for x in services if x["name"] == name][0]["state"] == "RUNNING"

def wait_running():
    for _ in range(600):
        if running():
            return
        time.sleep(0.1)
    raise SystemExit("backup.sh: %s did not start again" % name)

# The same container running: a snapshot (frozen for the dir backend's copy), then the
# stop mode (a clean shutdown of its systemd, the archive, a start).
subprocess.run([hlctl, "start", name], check=True, stdout=subprocess.DEVNULL)
wait_running()
modes = {"snapshot": [], "stop": []}
for mode in modes:
    for i in range(runs):
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        t, _ = timed([hlctl, "backup", name, "--to", out, "--mode", mode])
        modes[mode].append(t)
        wait_running()
subprocess.run([hlctl, "stop", name], check=True, stdout=subprocess.DEVNULL)
m = statistics.median
print("backup and restore of a Debian 12 container, %d MiB of root file system, medians of %d runs" % (mib, runs))
print("  %-28s %8s %10s" % ("", "seconds", "MiB/s"))
for label, v in (("hlctl backup (stopped)", hb), ("tar --zstd -c", tb), ("hlctl restore", hr),
                 ("tar --zstd -x", tr), ("tar --zstd -x; sync -f", ts), ("hlctl backup (running)", modes["snapshot"]),
                 ("hlctl backup --mode stop", modes["stop"])):
    print("  %-28s %8.2f %10.0f" % (label, m(v), mib / m(v)))
print("  ratio backup hl / tar:  %.2f   restore hl / tar: %.2f, hl / (tar; sync): %.2f" % (
    m(hb) / m(tb), m(hr) / m(tr), m(hr) / m(ts)))
print("  running: snapshot mode / tar %.2f, stop mode / tar %.2f (its clean shutdown included; the start follows the reply)" % (
    m(modes["snapshot"]) / m(tb), m(modes["stop"]) / m(tb)))
print("  archive: hl %.0f MiB, tar %.0f MiB, ratio %.3f" % (hsize / 2**20, tsize / 2**20, hsize / tsize))
PYEOF
