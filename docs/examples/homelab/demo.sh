#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo homelab: starts hld from build/ with a private state directory, lxcpath and
# socket under /var/tmp/hl-demo, applies the six busybox services of this folder and
# prints `hlctl status`. hld keeps running so that you can try hlctl on it:
#     export HLD_SOCKET=/var/tmp/hl-demo/hld.sock
# `demo.sh --stop` stops that hld and destroys the demo's containers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
demo=${HL_DEMO_DIR:-/var/tmp/hl-demo}
hld="$top/build/daemon/hld"
hlctl="$top/build/cli/hlctl"
export HLD_SOCKET="$demo/hld.sock"

running_pid() {
        [ -f "$demo/hld.pid" ] && kill -0 "$(cat "$demo/hld.pid")" 2>/dev/null && cat "$demo/hld.pid"
}

if [ "${1:-}" = "--stop" ]; then
        if pid=$(running_pid); then
                kill "$pid"
                while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        for c in $(lxc-ls -P "$demo/lxc" 2>/dev/null); do
                lxc-stop -k -P "$demo/lxc" -n "$c" 2>/dev/null || true
                lxc-destroy -f -P "$demo/lxc" -n "$c" >/dev/null
        done
        rm -rf "$demo"
        echo "demo stopped and removed"
        exit 0
fi

[ -x "$hld" ] && [ -x "$hlctl" ] || { echo "demo.sh: build first: tests/setup.sh" >&2; exit 1; }
mkdir -p "$demo/lxc"
if ! running_pid >/dev/null; then
        "$hld" --state-dir "$demo/state" --lxcpath "$demo/lxc" --socket "$HLD_SOCKET" \
                </dev/null >>"$demo/hld.log" 2>&1 &
        echo $! >"$demo/hld.pid"
        for _ in $(seq 100); do
                "$hlctl" version >/dev/null 2>&1 && break
                sleep 0.1
        done
fi
echo "\$ hlctl apply docs/examples/homelab"
"$hlctl" apply "$here"
echo
echo "\$ hlctl status"
"$hlctl" status
echo
echo "hld runs as pid $(cat "$demo/hld.pid") (log: $demo/hld.log). Try:"
echo "    export HLD_SOCKET=$HLD_SOCKET; build/cli/hlctl history"
echo "Stop it and remove the demo's containers: docs/examples/homelab/demo.sh --stop"
