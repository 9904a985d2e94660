#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: a forced stop and a start of one busybox container through hld
# (`hlctl stop NAME --force` then `hlctl start NAME`) against the raw liblxc tools on a
# twin container made with lxc-create in the same lxcpath (`lxc-stop -k` then `lxc-start`),
# in the same run; hyperfine medians of RUNS. Run as root: tests/bench/lifecycle.sh.
set -euo pipefail
RUNS=${RUNS:-20}
. "$(dirname "$0")/lib.sh"
bench_setup lifecycle.sh l
name=$tag-svc
twin=$tag-twin
printf '[Container]\nTemplate=busybox\n' >"$tmp/defs/$name.conf"
start_hld
"$HLCTL" apply "$tmp/defs" >/dev/null
lxc-create -P "$lxcpath" -n "$twin" -t busybox >/dev/null 2>&1
# The twin has the same network as hld's container: none.
sed -i 's/^lxc\.net\.0\..*//' "$lxcpath/$twin/config"
echo "lxc.net.0.type = empty" >>"$lxcpath/$twin/config"
lxc-start -P "$lxcpath" -n "$twin"
hyperfine --shell=bash --style none --warmup 2 --runs "$RUNS" --export-json "$tmp/lifecycle.json" \
        -n hl "$HLCTL stop $name --force >/dev/null && $HLCTL start $name >/dev/null" \
        -n lxc "lxc-stop -P $lxcpath -n $twin -k && lxc-start -P $lxcpath -n $twin" >"$tmp/hyperfine.log" 2>&1 ||
        { cat "$tmp/hyperfine.log" >&2; exit 1; }
"$PYTHON" - "$tmp/lifecycle.json" "$RUNS" <<'PYEOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
hl, lxc = r["hl"]["median"] * 1000, r["lxc"]["median"] * 1000
print("stop --force + start of one busybox container, medians of %s runs, milliseconds" % sys.argv[2])
print("  hlctl stop --force + hlctl start: %8.1f" % hl)
print("  lxc-stop -k + lxc-start:          %8.1f" % lxc)
print("  ratio hl / lxc:                   %8.2f" % (hl / lxc))
PYEOF
