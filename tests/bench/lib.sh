# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the benchmarks: sourced, not run. bench_setup NAME PREFIX checks for root and
# the tools, builds BUILD (default build/), and makes a private directory with a state
# directory, an lxcpath and a socket (exported as HLD_SOCKET), a random service-name tag
# starting with PREFIX (so no name meets another run's cgroups), and a trap that stops hld
# and destroys every container made, also on failure or interrupt. start_hld ARGS... starts
# hld there and waits until it answers.

bench_setup() {
        bench_name=$1
        cd "$(dirname "${BASH_SOURCE[0]}")/../.."
        BUILD=$(realpath -m "${BUILD:-build}")
        [ "$(id -u)" -eq 0 ] || { echo "$bench_name: run as root (it makes real LXC containers)" >&2; exit 1; }
        for tool in hyperfine lxc-ls lxc-create sqlite3; do
                command -v "$tool" >/dev/null || { echo "$bench_name: $tool missing (tests/setup.sh installs it)" >&2; exit 1; }
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
        export HLD_SOCKET=$tmp/hld.sock
        mkdir -p "$lxcpath" "$tmp/state" "$tmp/defs"
        tag=$2$(head -c 64 /dev/urandom | tr -dc 'a-z0-9' | head -c 4)
        hld_pid=
        trap bench_cleanup EXIT
        trap 'exit 130' INT TERM
}

bench_cleanup() {
        local rc=$? left
        set +e
        if [ -n "$hld_pid" ] && kill -0 "$hld_pid" 2>/dev/null; then
                kill -TERM "$hld_pid"
                for _ in $(seq 100); do kill -0 "$hld_pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$hld_pid" 2>/dev/null
                wait "$hld_pid" 2>/dev/null
        fi
        lxc-ls -P "$lxcpath" -1 2>/dev/null | xargs -r -n 1 -P 4 sh -c \
                'lxc-stop -P "$0" -n "$1" -k >/dev/null 2>&1; lxc-destroy -P "$0" -n "$1" -f -s >/dev/null 2>&1' "$lxcpath"
        left=$(lxc-ls -P "$lxcpath" -1 2>/dev/null)
        if [ -n "$left" ]; then
                echo "$bench_name: containers left in $lxcpath: $left" >&2
                rc=1
        else
                rm -rf "$tmp"
        fi
        exit "$rc"
}

start_hld() {
        "$HLD" --state-dir "$tmp/state" --lxcpath "$lxcpath" --socket "$HLD_SOCKET" "$@" 2>"$tmp/hld.log" &
        hld_pid=$!
        for _ in $(seq 100); do
                "$HLCTL" version >/dev/null 2>&1 && return 0
                kill -0 "$hld_pid" 2>/dev/null || break
                sleep 0.1
        done
        cat "$tmp/hld.log" >&2
        exit 1
}
