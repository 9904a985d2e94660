#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-debian-template.sh OUT.tar.zst [PACKAGE...]
#
# A Debian 12 system-container template with systemd as init, the kind of rootfs tarball
# Proxmox's debian-12-standard is (ifupdown, isc-dhcp-client, ping), made with debootstrap
# from the apt mirror this machine already uses: the network tests boot real system
# containers with it, and nothing is downloaded from anywhere else. An existing OUT is kept.
# Root; about a minute.
set -euo pipefail
out=${1:?usage: make-debian-template.sh OUT.tar.zst [PACKAGE...]}
shift
[ -s "$out" ] && exit 0
extra=$(IFS=,; echo "$*")
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "make-debian-template.sh: no apt mirror configured on this machine" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root" "$root.log"' EXIT
debootstrap --variant=minbase \
        --include="systemd-sysv,iproute2,ifupdown,isc-dhcp-client,iputils-ping,procps${extra:+,$extra}" \
        bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# As Proxmox's templates: loopback up at boot; the container manager names the host and
# the network (hld writes its interfaces into /etc/network/interfaces at create).
printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
: >"$root/etc/hostname"
# debootstrap copied the build machine's resolver: a template must not carry it.
: >"$root/etc/resolv.conf"
chmod 0755 "$root"
mkdir -p "$(dirname "$out")"
tar -C "$root" --numeric-owner --zstd -cf "$out.tmp" . && mv "$out.tmp" "$out"
