#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: status of another node over ssh: `hlctl -H ssh://root@127.0.0.1:PORT status`
# (ssh runs hlctl --bridge there) against `ssh … lxc-ls -f` of the same lxcpath, through the
# same sshd of the benchmark's own on loopback (tests/system/sshlab.py), alternated, for
# COUNT running busybox containers; also the local `hlctl status` and `lxc-ls -f` without
# ssh. Medians of RUNS. Root: tests/bench/remote.sh.
set -euo pipefail
RUNS=${RUNS:-30}
COUNT=${COUNT:-10}
. "$(dirname "$0")/lib.sh"
bench_setup remote.sh r
[ -x /usr/sbin/sshd ] || { echo "remote.sh: sshd missing (tests/setup.sh installs openssh-server)" >&2; exit 1; }
for i in $(seq "$COUNT"); do printf '[Container]\nTemplate=busybox\n' >"$tmp/defs/$tag-$i.conf"; done
start_hld
"$HLCTL" apply "$tmp/defs" >/dev/null
"$PYTHON" - "$lxcpath" "$HLCTL" "$HLD_SOCKET" "$RUNS" "$COUNT" <<'PYEOF'
import os, statistics, subprocess, sys, time
sys.path.insert(0, "tests/system")
from sshlab import SshLab
lxcpath, hlctl, sock, runs, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lab = SshLab(os.path.dirname(hlctl), sock).start()
try:
    env = lab.env()
    target = ["ssh", "-p", str(lab.port), "root@127.0.0.1"]
    rows = (("hlctl -H ssh:// status", [hlctl, "-H", lab.url, "status"]),
            ("ssh … lxc-ls -f", target + ["lxc-ls", "-f", "-P", lxcpath]),
            ("hlctl status (local)", [hlctl, "status"]),
            ("lxc-ls -f (local)", ["lxc-ls", "-f", "-P", lxcpath]))
    times = {label: [] for label, _ in rows}
    for i in range(runs + 3):
        for label, cmd in rows:
            t = time.monotonic()
            subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            if i >= 3:
                times[label].append(time.monotonic() - t)
    m = {label: statistics.median(v) * 1e3 for label, v in times.items()}
    print("%d running containers, %d runs each, alternated, medians in ms" % (count, runs))
    for label, _ in rows:
        print("%-26s %8.1f" % (label, m[label]))
    print("ratio over ssh: %.2f; local: %.2f" % (m["hlctl -H ssh:// status"] / m["ssh … lxc-ls -f"],
                                                  m["hlctl status (local)"] / m["lxc-ls -f (local)"]))
finally:
    lab.stop()
PYEOF
