#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark for the reconciler, against raw liblxc tools in the same run:
#   1. a no-drift reconcile of N services (N = 10, 100, 500; half of them running) —
#      hld's own run time (from its database) and `hlctl reconcile` wall time — against
#      the same survey done by `lxc-ls -f`;
#   2. `hlctl status` latency (median and p99) while reconciles of the largest N run;
#   3. an apply of 20 new independent services against 20 in a Requires= chain.
# Run as root: tests/bench/reconcile.sh (COUNTS="10 100" for a shorter run).
set -euo pipefail
COUNTS=${COUNTS:-10 100 500}
. "$(dirname "$0")/lib.sh"
bench_setup reconcile.sh r
mkdir -p "$tmp/par" "$tmp/chain"
# No periodic reconcile: only the runs this script asks for.
start_hld --jobs 4 --reconcile-interval 0

# A stopped base container; the services clone it (Template=clone:), as an operator
# would stamp out many small services, which is also far quicker than N template runs.
printf '[Service]\nState=stopped\n[Container]\nTemplate=busybox\n' >"$tmp/defs/$tag-base.conf"
"$HLCTL" apply "$tmp/defs" >/dev/null

run_ms() { # the duration of hld's last run, from its own records
        sqlite3 -readonly "$tmp/state/hld.db" "SELECT finished_at - started_at FROM runs ORDER BY id DESC LIMIT 1"
}

echo "No-drift reconcile (half of the services running), medians of 10 runs, ms"
printf '%6s %14s %18s %14s %10s\n' N "hld run" "hlctl reconcile" "lxc-ls -f" "ratio"
for n in $COUNTS; do
        for i in $(seq 1 "$n"); do
                f=$tmp/defs/$tag-s$(printf %04d "$i").conf
                state=running
                [ $((i % 2)) -eq 0 ] && state=stopped
                [ -e "$f" ] || printf '[Service]\nState=%s\n[Container]\nTemplate=clone:%s-base\nMemory=32M\n' \
                        "$state" "$tag" >"$f"
        done
        "$HLCTL" apply "$tmp/defs" >"$tmp/apply.log" || { tail "$tmp/apply.log" "$tmp/hld.log" >&2; exit 1; }
        [ "$("$HLCTL" --json reconcile | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')" = 0 ] ||
                { echo "reconcile.sh: the node drifted" >&2; exit 1; }
        runs=()
        for _ in $(seq 10); do
                "$HLCTL" reconcile >/dev/null
                runs+=("$(run_ms)")
        done
        hld_ms=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 5p)
        hyperfine --shell=none --style none --warmup 2 --runs 10 --export-json "$tmp/h.json" \
                -n reconcile "$HLCTL reconcile" -n lxc-ls "lxc-ls -f -P $lxcpath" >/dev/null 2>&1
        "$PYTHON" - "$n" "$hld_ms" "$tmp/h.json" <<'PY'
import json, sys
n, hld_ms, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
r = {x["command"]: x["median"] * 1000 for x in json.load(open(path))["results"]}
print("%6s %14.1f %18.1f %14.1f %10.3f" % (n, hld_ms, r["reconcile"], r["lxc-ls"], r["reconcile"] / r["lxc-ls"]))
PY
        # hlctl status answers from memory while reconciles of these N services run.
        ( while [ ! -e "$tmp/stop" ]; do "$HLCTL" reconcile >/dev/null 2>&1 || true; done ) &
        loop=$!
        "$PYTHON" - "$HLCTL" "$n" >>"$tmp/status.txt" <<'PY'
import subprocess, sys, time
lat = []
for _ in range(200):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "status"], stdout=subprocess.DEVNULL, check=True)
    lat.append((time.perf_counter() - t) * 1000)
lat.sort()
print("  N=%4s: status median %.2f ms, p99 %.2f ms, max %.2f ms" % (sys.argv[2], lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1], lat[-1]))
PY
        touch "$tmp/stop"
        wait "$loop"
        rm -f "$tmp/stop"
done

echo
echo "hlctl status while reconciles run back to back (200 calls at each N)"
cat "$tmp/status.txt"
echo
echo "Apply of 20 new services (clones): independent vs a Requires= chain, --jobs 4"
for i in $(seq 1 20); do
        printf '[Container]\nTemplate=clone:%s-base\n' "$tag" >"$tmp/par/$tag-p$(printf %02d "$i").conf"
        req=
        [ "$i" -gt 1 ] && req="Requires=$tag-c$(printf %02d $((i - 1)))"
        printf '[Service]\n%s\n[Container]\nTemplate=clone:%s-base\n' "$req" "$tag" >"$tmp/chain/$tag-c$(printf %02d "$i").conf"
done
for set in par chain; do
        start=$(date +%s%N)
        "$HLCTL" apply "$tmp/$set" >/dev/null
        echo "$set: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
