#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo homelab: makes the demo's bridge hldemo0 (10.77.0.1/24 on the host, nothing
# routed beyond it), starts hld from build/ with a private state directory, lxcpath and
# socket under /var/tmp/hl-demo, applies the six busybox services of this folder, waits
# for their health checks and prints `hlctl status`. hld keeps running so that you can
# try hlctl on it:
#     export HLD_SOCKET=/var/tmp/hl-demo/hld.sock
# `demo.sh --stop` stops that hld, destroys the demo's containers and removes the bridge.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
demo=${HL_DEMO_DIR:-/var/tmp/hl-demo}
hld="$top/build/daemon/hld"
hlctl="$top/build/cli/hlctl"
export HLD_SOCKET="$demo/hld.sock"
bridge=hldemo0
net=10.77.0

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
                lxc-destroy -f -s -P "$demo/lxc" -n "$c" >/dev/null
        done
        # Only a bridge this script made (it leaves a mark in its alias).
        if [ "$(cat /sys/class/net/$bridge/ifalias 2>/dev/null)" = "hl demo" ]; then
                ip link del "$bridge"
        fi
        rm -rf "$demo"
        echo "demo stopped and removed"
        exit 0
fi

[ -x "$hld" ] && [ -x "$hlctl" ] || { echo "demo.sh: build first: tests/setup.sh" >&2; exit 1; }
# The lab's network: a bridge like a Proxmox node's vmbr0, without an uplink.
if [ ! -d "/sys/class/net/$bridge" ]; then
        if ip -4 route show | grep -q "^$net\."; then
                echo "demo.sh: $net.0/24 is in use on this machine; the demo's services need it" >&2
                exit 1
        fi
        ip link add "$bridge" type bridge
        ip link set "$bridge" alias "hl demo"
        ip addr add "$net.1/24" dev "$bridge"
        ip link set "$bridge" up
fi
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
# A start returns when the container runs; the first round of checks comes right after.
for _ in $(seq 100); do
        "$hlctl" --json list | grep -q '"health": *"starting"' || break
        sleep 0.2
done
echo "\$ hlctl status"
"$hlctl" status
echo
echo "hld runs as pid $(cat "$demo/hld.pid") (log: $demo/hld.log). Try:"
echo "    export HLD_SOCKET=$HLD_SOCKET; build/cli/hlctl history; wget -qO- http://$net.12/"
echo "Stop it and remove the demo's containers: docs/examples/homelab/demo.sh --stop"
