#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: `hlctl status` (answered from hld's memory) against `lxc-ls -f` (liblxc asking
# every container) at 1, 10 and 100 running busybox services, and hld's resident memory.
# Run as root from anywhere: tests/bench/status.sh. See tests/bench/README.md.
set -euo pipefail
COUNTS=${COUNTS:-1 10 100}
RUNS=${RUNS:-20}
. "$(dirname "$0")/lib.sh"
bench_setup status.sh b
sock=$HLD_SOCKET
mkdir -p "$tmp/results"

rss_mib() {
        awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$hld_pid/status"
}

start_hld --jobs 4
rss_idle=$(rss_mib)

table=$tmp/results/table
declare -a rss_at=()
for n in $COUNTS; do
        for i in $(seq 1 "$n"); do
                f=$tmp/defs/$tag-s$(printf %03d "$i").conf
                [ -e "$f" ] || printf '[Service]\nDescription=bench %d\n\n[Container]\nTemplate=busybox\nMemory=64M\n' \
                        "$i" >"$f"
        done
        if ! HLD_SOCKET=$sock "$HLCTL" apply "$tmp/defs" >"$tmp/apply.log" 2>&1; then
                cat "$tmp/apply.log" >&2
                tail -n 30 "$tmp/hld.log" >&2
                exit 1
        fi
        running=$(lxc-ls -P "$lxcpath" --running -1 | wc -l)
        if [ "$running" -ne "$n" ]; then
                echo "status.sh: $running containers running, wanted $n" >&2
                exit 1
        fi
        hyperfine --shell=none --style none --warmup 3 --runs "$RUNS" \
                --export-json "$tmp/results/$n.json" \
                -n hlctl "$HLCTL --socket $sock status" \
                -n lxc-ls "lxc-ls -f -P $lxcpath" >"$tmp/hyperfine.log" 2>&1 ||
                { cat "$tmp/hyperfine.log" >&2; exit 1; }
        "$PYTHON" - "$n" "$tmp/results/$n.json" >>"$table" <<'EOF'
import json, sys
n, path = sys.argv[1], sys.argv[2]
r = {x["command"]: x["median"] * 1000 for x in json.load(open(path))["results"]}
print("%5s %16.2f %16.2f %8.3f" % (n, r["hlctl"], r["lxc-ls"], r["hlctl"] / r["lxc-ls"]))
EOF
        rss_at[$n]=$(rss_mib)
done

echo "hlctl status vs lxc-ls -f: medians of $RUNS runs, milliseconds (ratio = hlctl / lxc-ls)"
printf '%5s %16s %16s %8s\n' N "hlctl status ms" "lxc-ls -f ms" ratio
cat "$table"
echo
echo "hld VmRSS, 0 services: $rss_idle MiB"
for n in $COUNTS; do
        echo "hld VmRSS, $n services running: ${rss_at[$n]} MiB"
done
