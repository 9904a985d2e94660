#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: `hlctl status` (answered from hld's memory) against `lxc-ls -f` (liblxc asking
# every container) at 1, 10 and 100 running busybox services, and hld's resident memory.
# Run as root from anywhere: tests/bench/status.sh. See tests/bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath -m "${BUILD:-build}")
COUNTS=${COUNTS:-1 10 100}
RUNS=${RUNS:-20}

if [ "$(id -u)" -ne 0 ]; then
        echo "status.sh: run as root (it makes real LXC containers)" >&2
        exit 1
fi
for tool in hyperfine lxc-ls lxc-create; do
        command -v "$tool" >/dev/null || { echo "status.sh: $tool missing (tests/setup.sh installs it)" >&2; exit 1; }
done
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

tmp=$(mktemp -d /tmp/hl-bench-XXXXXX)
chmod 755 "$tmp"
if ! { [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD"; } >"$tmp/build.log" 2>&1 ||
   ! ninja -C "$BUILD" >>"$tmp/build.log" 2>&1; then
        cat "$tmp/build.log" >&2
        rm -rf "$tmp"
        exit 1
fi
HLD=$BUILD/daemon/hld
HLCTL=$BUILD/cli/hlctl
lxcpath=$tmp/lxc
sock=$tmp/hld.sock
mkdir -p "$lxcpath" "$tmp/state" "$tmp/defs" "$tmp/results"
# Service names carry a random tag so they never meet another run's cgroups.
tag=b$(head -c 64 /dev/urandom | tr -dc 'a-z0-9' | head -c 4)
hld_pid=

cleanup() {
        local rc=$?
        set +e
        if [ -n "$hld_pid" ] && kill -0 "$hld_pid" 2>/dev/null; then
                kill -TERM "$hld_pid"
                for _ in $(seq 100); do kill -0 "$hld_pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$hld_pid" 2>/dev/null
                wait "$hld_pid" 2>/dev/null
        fi
        lxc-ls -P "$lxcpath" -1 2>/dev/null | xargs -r -n 1 -P 4 sh -c \
                'lxc-stop -P "$0" -n "$1" -k >/dev/null 2>&1; lxc-destroy -P "$0" -n "$1" -f >/dev/null 2>&1' "$lxcpath"
        left=$(lxc-ls -P "$lxcpath" -1 2>/dev/null)
        if [ -n "$left" ]; then
                echo "status.sh: containers left in $lxcpath: $left" >&2
                rc=1
        else
                rm -rf "$tmp"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_mib() {
        awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$hld_pid/status"
}

"$HLD" --state-dir "$tmp/state" --lxcpath "$lxcpath" --socket "$sock" --jobs 4 \
        2>"$tmp/hld.log" &
hld_pid=$!
for _ in $(seq 100); do
        HLD_SOCKET=$sock "$HLCTL" version >/dev/null 2>&1 && break
        kill -0 "$hld_pid" 2>/dev/null || { cat "$tmp/hld.log" >&2; exit 1; }
        sleep 0.1
done
HLD_SOCKET=$sock "$HLCTL" version >/dev/null
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
