#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: how long a Debian 12 system container takes to be healthy on a network, with
# DHCP and with a static address. hl: from `hlctl apply` (create, first boot, start) and
# from `hlctl start` to a passing http check of the LAN's router from inside the
# container. Raw liblxc, in the same run, on a twin made by hand from the same tarball
# (its config and /etc/network/interfaces written as an operator would): from `lxc-start`
# to the same request succeeding, tried every 50 ms from the container's network namespace.
# The LAN is the tests' own (tests/system/netlab.py: a bridge, a router namespace with
# dnsmasq and an http server). Medians of RUNS. Root; tests/setup.sh builds the template.
set -euo pipefail
RUNS=${RUNS:-3}
TEMPLATE=${HL_DEBIAN_TEMPLATE:-/var/cache/hl-test/debian-12-hl.tar.zst}
. "$(dirname "$0")/lib.sh"
bench_setup network.sh n
[ -s "$TEMPLATE" ] || { echo "network.sh: $TEMPLATE missing (tests/setup.sh builds it)" >&2; exit 1; }
start_hld
"$PYTHON" - "$tmp" "$lxcpath" "$HLCTL" "$TEMPLATE" "$tag" "$RUNS" <<'PYEOF'
import json, os, statistics, subprocess, sys, time
tmp, lxcpath, hlctl, template, tag, runs = sys.argv[1:7]
runs = int(runs)
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "system"))
from netlab import Lan

def sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check)

def health(name):
    out = sh(hlctl, "--json", "list").stdout
    return {s["name"]: s for s in json.loads(out)["services"]}.get(name, {}).get("health")

def until(predicate, timeout=180, step=0.05):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("network.sh: not ready within %d s" % timeout)
        time.sleep(step)

def pid_of(name):
    out = sh("lxc-info", "-P", lxcpath, "-n", name, "-p", "-H", check=False).stdout.strip()
    return out or None

def serves(name, url):
    pid = pid_of(name)
    return pid is not None and sh("nsenter", "-t", pid, "-n", "wget", "-q", "-T", "1", "-O", "/dev/null", url,
                                  check=False).returncode == 0

lan = Lan(tag).up()
results = {}
try:
    url = "http://%s/pkg.txt" % lan.gw
    for mode, net in (("dhcp", "ip=dhcp"), ("static", "ip=%s/24,gw=%s" % (lan.ip(60), lan.gw))):
        name, twin = "%s-%s" % (tag, mode), "%s-%s-raw" % (tag, mode)
        extra = "" if mode == "dhcp" else "Nameserver=%s\n" % lan.gw
        definition = ("[Service]\n\n[Container]\nTemplate=%s\nMemory=256M\nNetwork=bridge=%s,%s\n%s\n"
                      "[Health]\nCheck=http %s\nInterval=1s\nTimeout=1s\n") % (template, lan.bridge, net, extra, url)
        path = os.path.join(tmp, "defs", name + ".conf")
        applied, started, raw = [], [], []
        for _ in range(runs):
            open(path, "w").write(definition)
            t = time.monotonic()
            sh(hlctl, "apply", path)
            until(lambda: health(name) == "healthy")
            applied.append(time.monotonic() - t)
            sh(hlctl, "stop", name, "--force")
            t = time.monotonic()
            sh(hlctl, "start", name)
            until(lambda: health(name) == "healthy")
            started.append(time.monotonic() - t)
            sh(hlctl, "destroy", "--yes", "--force", name)
        # The twin, by hand: the same tarball, the same kind of config.
        root = os.path.join(lxcpath, twin, "rootfs")
        os.makedirs(root)
        t = time.monotonic()
        sh("tar", "--zstd", "-xf", template, "-C", root, "--numeric-owner")
        untar = time.monotonic() - t
        config = ["lxc.include = /usr/share/lxc/config/common.conf", "lxc.rootfs.path = dir:%s" % root,
                  "lxc.uts.name = %s" % twin, "lxc.net.0.type = veth", "lxc.net.0.link = %s" % lan.bridge,
                  "lxc.net.0.flags = up", "lxc.net.0.name = eth0", "lxc.cgroup.memory.limit_in_bytes = 268435456"]
        interfaces = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n"
        if mode == "static":
            config += ["lxc.net.0.ipv4.address = %s/24 %s" % (lan.ip(61), lan.ip(255)),
                       "lxc.net.0.ipv4.gateway = %s" % lan.gw]
            interfaces = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet manual\n"
            open(os.path.join(root, "etc", "resolv.conf"), "w").write("nameserver %s\n" % lan.gw)
        open(os.path.join(lxcpath, twin, "config"), "w").write("\n".join(config) + "\n")
        open(os.path.join(root, "etc", "network", "interfaces"), "w").write(interfaces)
        for _ in range(runs):
            t = time.monotonic()
            sh("lxc-start", "-P", lxcpath, "-n", twin)
            until(lambda: serves(twin, url))
            raw.append(time.monotonic() - t)
            sh("lxc-stop", "-P", lxcpath, "-n", twin, "-k")
        sh("lxc-destroy", "-P", lxcpath, "-n", twin, "-f")
        results[mode] = (statistics.median(applied), statistics.median(started), statistics.median(raw), untar)
finally:
    subprocess.run(["lxc-ls", "-P", lxcpath, "-1"], capture_output=True)
    for c in sh("lxc-ls", "-P", lxcpath, "-1", check=False).stdout.split():
        sh("lxc-stop", "-P", lxcpath, "-n", c, "-k", check=False)
        sh("lxc-destroy", "-P", lxcpath, "-n", c, "-f", check=False)
    lan.down()

print("Debian 12 container to healthy (http from inside it to the LAN's router), medians of %d runs, seconds" % runs)
print("  %-8s %12s %12s %12s %12s %8s" % ("", "hlctl apply", "tar -x", "hlctl start", "lxc-start+", "ratio"))
for mode, (a, s, r, u) in results.items():
    print("  %-8s %12.2f %12.2f %12.2f %12.2f %8.2f" % (mode, a, u, s, r, s / r))
print("  apply creates: it unpacks the template, as tar -x of the same file (timed once) does;")
print("  lxc-start+ is lxc-start and trying the request every 50 ms; ratio = hlctl start / lxc-start+")
PYEOF
