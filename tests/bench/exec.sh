#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: `hlctl exec NAME -- true` through hld (a Varlink call with upgrade, hl-session
# exec'd, liblxc's attach, the exit passed back) against `lxc-attach -n NAME -- true` on the
# same running busybox container, alternated in one run; also a command with 1 MiB of
# output each way (`head -c 1048576 /dev/zero`). Medians of RUNS. Root: tests/bench/exec.sh.
set -euo pipefail
RUNS=${RUNS:-200}
. "$(dirname "$0")/lib.sh"
bench_setup exec.sh x
printf '[Container]\nTemplate=busybox\n' >"$tmp/defs/$tag-web.conf"
start_hld
"$HLCTL" apply "$tmp/defs" >/dev/null
"$PYTHON" - "$lxcpath" "$HLCTL" "$tag-web" "$RUNS" <<'PYEOF'
import statistics, subprocess, sys, time
lxcpath, hlctl, name, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.monotonic() - t

rows = (("true", ["true"]), ("1 MiB out", ["head", "-c", "1048576", "/dev/zero"]))
print("%d runs each, alternated, medians in ms" % runs)
print("%-10s %12s %12s %7s" % ("command", "hlctl exec", "lxc-attach", "ratio"))
for label, command in rows:
    hl, lxc = [], []
    for _ in range(5):
        timed([hlctl, "exec", name, "--"] + command)
        timed(["lxc-attach", "-P", lxcpath, "-n", name, "--"] + command)
    for _ in range(runs):
        hl.append(timed([hlctl, "exec", name, "--"] + command))
        lxc.append(timed(["lxc-attach", "-P", lxcpath, "-n", name, "--"] + command))
    m = statistics.median
    print("%-10s %12.2f %12.2f %7.2f" % (label, m(hl) * 1e3, m(lxc) * 1e3, m(hl) / m(lxc)))
PYEOF
