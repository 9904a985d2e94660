#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every test of one build directory (BUILD, default build/): the unit tests through
# meson, then the system tests through pytest. Its last line is "N passed, N failed" (with
# ", N skipped" when some were), the totals of both; the exit status is 0 only when nothing
# failed and both runners succeeded.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BUILD=$(realpath -m "$BUILD")

# The system tests need Debian's python3-pytest; a python3 earlier in PATH (pyenv, a venv)
# may not have it.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import pytest' 2>/dev/null && [ -x /usr/bin/python3 ]; then
        PYTHON=/usr/bin/python3
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# meson test rewrites the log; a stale one from an earlier run must not be counted.
rm -f "$BUILD/meson-logs/testlog.json"
meson test -C "$BUILD" --print-errorlogs
meson_rc=$?

HL_BUILD="$BUILD" "$PYTHON" -m pytest -q -p no:cacheprovider tests/system \
        --junitxml="$tmp/system.xml"
pytest_rc=$?

"$PYTHON" - "$BUILD/meson-logs/testlog.json" "$tmp/system.xml" "$meson_rc" "$pytest_rc" <<'EOF'
import json
import sys
import xml.etree.ElementTree as ET

testlog, junit, meson_rc, pytest_rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
passed = failed = skipped = 0

try:
    with open(testlog) as f:
        for line in f:
            if not line.strip():
                continue
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
except FileNotFoundError:
    print("run-all.sh: meson wrote no test log (exit %d)" % meson_rc, file=sys.stderr)
    failed += 1
else:
    # meson failing with every test passing means it could not build or run something.
    if meson_rc != 0 and failed == 0:
        print("run-all.sh: meson test exited %d" % meson_rc, file=sys.stderr)
        failed += 1

try:
    # A test whose teardown fails too appears twice in the report: count tests, not entries.
    outcome = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        key = (case.get("classname"), case.get("name"))
        if case.find("failure") is not None or case.find("error") is not None:
            state = 2
        elif case.find("skipped") is not None:
            state = 1
        else:
            state = 0
        outcome[key] = max(state, outcome.get(key, 0))
    p = sum(1 for v in outcome.values() if v == 0)
    s = sum(1 for v in outcome.values() if v == 1)
    f = sum(1 for v in outcome.values() if v == 2)
    passed, failed, skipped = passed + p, failed + f, skipped + s
    if pytest_rc == 5:
        print("run-all.sh: pytest collected no system tests", file=sys.stderr)
        failed += 1
    elif pytest_rc != 0 and f == 0:
        print("run-all.sh: pytest exited %d" % pytest_rc, file=sys.stderr)
        failed += 1
except (FileNotFoundError, ET.ParseError):
    print("run-all.sh: pytest wrote no report (exit %d)" % pytest_rc, file=sys.stderr)
    failed += 1

line = "%d passed, %d failed" % (passed, failed)
if skipped:
    line += ", %d skipped" % skipped
print(line)
sys.exit(1 if failed else 0)
EOF
