#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every fuzz target for SECONDS (default 60) on a copy of its seed corpus, and prints
# one line per target: executions, and the crashes found. Exit 1 on any crash. The targets
# are built first, so that a target added here is never run from a stale build.
# Usage: tests/fuzz/run.sh [BUILD-DIR] [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
seconds=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
targets="def protocol dns guest retention calendar pct pve stream oci"
ninja -C "$build" --quiet $(printf 'tests/fuzz/fuzz-%s ' $targets) || exit 1
rc=0
for t in $targets; do
        mkdir -p "$work/$t"
        cp -r tests/fuzz/corpus/$t/. "$work/$t/" 2>/dev/null
        log=$work/$t.log
        "$build/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -artifact_prefix="$work/$t-" -print_final_stats=1 "$work/$t" >"$log" 2>&1
        status=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        crashes=$(ls "$work/$t"-crash-* "$work/$t"-leak-* "$work/$t"-timeout-* 2>/dev/null | wc -l)
        echo "fuzz-$t: ${execs:-?} executions in ${seconds} s, $crashes crashes (exit $status)"
        if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
                grep -E "ERROR|SUMMARY|runtime error" "$log" | head -20
                for a in "$work/$t"-crash-* "$work/$t"-leak-*; do [ -e "$a" ] && base64 -w0 "$a" && echo; done
                rc=1
        fi
done
exit "$rc"
