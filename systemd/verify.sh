#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd-analyze verify on every unit of this folder, with the @bindir@/@sbindir@ paths
# pointed at BUILD's binaries (verify checks that ExecStart= exists), and the offline
# security exposure of hld.service. Used by .ci/run; works without systemd as PID 1.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
units=$(mktemp -d)
trap 'rm -rf "$units"' EXIT
for f in systemd/*.in; do
        sed "s|@sbindir@/hld|$build/daemon/hld|; s|@bindir@/hlctl|$build/cli/hlctl|" "$f" >"$units/$(basename "$f" .in)"
done
cp systemd/*.timer systemd/*.socket "$units/"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$units"/*.service "$units"/*.timer "$units"/*.socket
echo "systemd-analyze verify: $(ls "$units" | wc -l) units ok"
systemd-analyze security --offline=true "$units/hld.service" 2>/dev/null | tail -n 1
