# SPDX-License-Identifier: LGPL-2.1-or-later
"""Under systemd hld logs to the journal with HL_SERVICE=, HL_ACTION= and HL_RUN= on every
line about an action, so that `journalctl HL_SERVICE=proxy` works. There is no journald
here: hld runs in a mount namespace of its own where /run/systemd is a tmpfs holding a
datagram socket of the test's, the journal's native protocol (KEY=VALUE lines)."""

import os
import subprocess
import sys
import time

from conftest import HLD, definition
from test_systemd import wait_connectable

LISTENER = r'''
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
out = open(sys.argv[1], "ab", buffering=0)
print("ready", flush=True)
while True:
    data = s.recv(1 << 20)
    out.write(data.replace(b"\n", b"\x1f") + b"\n")
'''


def test_action_lines_carry_journal_fields(hld):
    hld.stop()
    hld.socket.unlink(missing_ok=True)
    out = hld.dir / "journal.txt"
    script = ("mount -t tmpfs hl-test-journal /run/systemd && mkdir /run/systemd/journal && "
              "%s -c '%s' %s & sleep 0.5; JOURNAL_STREAM=8:1 exec %s --state-dir %s --lxcpath %s --socket %s"
              % (sys.executable, LISTENER.replace("'", "'\\''"), out, HLD, hld.state_dir, hld.lxcpath, hld.socket))
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_connectable(hld.socket)
        name = hld.name("jr")
        hld.write(name, definition())
        hld.apply()
        deadline = time.monotonic() + 10
        entries = []
        while time.monotonic() < deadline:
            entries = [dict(f.split("=", 1) for f in line.split("\x1f") if "=" in f)
                       for line in out.read_text(errors="replace").splitlines()]
            if any(e.get("HL_ACTION") == "start" for e in entries):
                break
            time.sleep(0.2)
        actions = [e for e in entries if e.get("HL_SERVICE") == name]
        assert {e.get("HL_ACTION") for e in actions} >= {"apply", "create", "start"}, entries
        for e in actions:
            assert e["MESSAGE"].startswith(name), e
            assert e.get("PRIORITY") in ("3", "4", "5", "6"), e
            if e["HL_ACTION"] in ("create", "start"):
                assert int(e["HL_RUN"]) > 0, e
        # Lines about no action carry no HL_ fields.
        assert any("HL_SERVICE" not in e and "ready" in e.get("MESSAGE", "") for e in entries), entries
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
    hld.start()
