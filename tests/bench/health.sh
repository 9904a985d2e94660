#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: a health sweep of N services with one exec check each (`hlctl health`, all at
# once) against the same checks done one after the other with `lxc-attach -- true`, in the
# same run; and hld's CPU time for the sweep. Run as root: tests/bench/health.sh (N=100).
set -euo pipefail
N=${N:-100}
. "$(dirname "$0")/lib.sh"
bench_setup health.sh h
# No periodic reconcile: only the sweeps below make work.
start_hld --jobs 4 --reconcile-interval 0

# The base brings loopback up and runs a tcp echo server at boot: its clones do too.
cat >"$tmp/defs/$tag-base.conf" <<EOT
[Service]
State=stopped
[Container]
Template=busybox
Provision=echo '::sysinit:/bin/ip link set lo up' >> /etc/inittab
Provision=echo '::respawn:/bin/nc -ll -p 7000 -e /bin/cat' >> /etc/inittab
EOT
for i in $(seq 1 "$N"); do
        # A long interval: only the sweeps below run the checks.
        printf '[Container]\nTemplate=clone:%s-base\nMemory=32M\n[Health]\nCheck=exec /bin/true\nInterval=1h\nTimeout=5s\n' \
                "$tag" >"$tmp/defs/$tag-s$(printf %03d "$i").conf"
done
"$HLCTL" apply "$tmp/defs" >"$tmp/apply.log" || { tail "$tmp/apply.log" >&2; exit 1; }
sleep 2 # the first rounds after the starts

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$hld_pid/stat"; }
hz=$(getconf CLK_TCK)

# Medians of 5 sweeps: wall ms, hld CPU ms, and one check's latency.
sweep_stats() {
        local sweeps=() cpus=() before start
        for _ in $(seq 5); do
                before=$(cpu_ticks)
                start=$(date +%s%N)
                "$HLCTL" health >/dev/null || true
                sweeps+=($(( ($(date +%s%N) - start) / 1000000 )))
                cpus+=($(( ($(cpu_ticks) - before) * 1000 / hz )))
        done
        sweep=$(printf '%s\n' "${sweeps[@]}" | sort -n | sed -n 3p)
        cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 3p)
        one=$("$HLCTL" --json health "$tag-s001" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["latency_ms"])')
        # The latencies each probe of one sweep reports: its own time, whatever the sweep.
        spread=$("$HLCTL" --json health | "$PYTHON" -c 'import json,sys
l = sorted(r["latency_ms"] for r in json.load(sys.stdin)["results"])
print("min %d, median %d, max %d ms" % (l[0], l[len(l) // 2], l[-1]))')
}

echo "Health sweep of $N services, 1 check each (medians of 5)"
sweep_stats

start=$(date +%s%N)
for i in $(seq 1 "$N"); do
        lxc-attach -P "$lxcpath" -n "$tag-s$(printf %03d "$i")" -- /bin/true
done
serial=$(( ($(date +%s%N) - start) / 1000000 ))

echo "  exec /bin/true: hlctl health $sweep ms wall, hld CPU $cpu ms; one check $one ms" \
     "(sweep / one check = $("$PYTHON" -c "print(round($sweep / max($one, 1), 1))"))"
echo "                  latency each probe reports in a sweep: $spread"
echo "  lxc-attach -- true, one by one: $serial ms  (ratio exec sweep / serial = $("$PYTHON" -c "print(round($sweep / $serial, 3))"))"

# The same services with a tcp check instead: probes from sockets in each container's
# network namespace, all on hld's loop.
for i in $(seq 1 "$N"); do
        sed -i 's|^Check=.*|Check=tcp 7000|' "$tmp/defs/$tag-s$(printf %03d "$i").conf"
done
"$HLCTL" apply "$tmp/defs" >/dev/null
sleep 2
sweep_stats
echo "  tcp 7000:       hlctl health $sweep ms wall, hld CPU $cpu ms; one check $one ms" \
     "(sweep / one check = $("$PYTHON" -c "print(round($sweep / max($one, 1), 1))"))"
echo "                  latency each probe reports in a sweep: $spread"
