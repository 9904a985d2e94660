#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prepares a Debian 12 machine to build and test hl, then builds it in build/. Run as root.
# Idempotent: installs only missing packages and configures build/ only once, so a second
# run costs a few seconds. Quiet unless something fails, then the failing step's output.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=(
        build-essential pkg-config meson ninja-build
        lxc lxc-dev libuv1-dev libsqlite3-dev libsystemd-dev libjansson-dev libarchive-dev
        busybox-static scdoc python3 python3-pytest gcovr hyperfine socat sqlite3
        clang libclang-rt-14-dev valgrind systemd iproute2
        # liblxc copies a dir-backed container with rsync (clone: templates); lxc only
        # recommends it. strace injects delays for the crash tests.
        rsync strace
        # The network tests' LAN: dnsmasq as its DHCP and DNS server, ping, and the Debian
        # 12 system-container template built with debootstrap (below).
        dnsmasq-base iputils-ping debootstrap zstd
        # The completion tests: hlctl's zsh script is checked by zsh itself.
        zsh
        # The remote tests: hlctl -H ssh:// against an sshd of the test's own on loopback.
        openssh-server openssh-client
        # The OCI tests build their images locally: umoci for layouts and layers, skopeo
        # for the oci-archive Proxmox takes.
        umoci skopeo
)

# Runs a command with its output kept in a file, shown only when the command fails.
quiet() {
        local log rc=0
        log=$(mktemp)
        "$@" >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
                echo "setup.sh: failed ($rc): $*" >&2
                tail -n 60 "$log" >&2
        fi
        rm -f "$log"
        return "$rc"
}

missing=()
for p in "${packages[@]}"; do
        if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
                missing+=("$p")
        fi
done

if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
                exit 1
        fi
        # A fresh machine has no package lists; a kept one may have stale ones, so update
        # whenever something has to be installed.
        quiet apt-get update -q
        quiet apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LXC keeps containers in the lxcpath, which must exist before the first lxc-create.
mkdir -p /var/lib/lxc

# The network tests' Debian 12 system containers (tests/system/test_network.py); kept
# across runs outside the repository.
quiet tests/make-debian-template.sh /var/cache/hl-test/debian-12-hl.tar.zst wget

if [ ! -f build/build.ninja ]; then
        quiet meson setup build
fi
quiet ninja -C build
