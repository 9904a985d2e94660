# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl top: CPU %, memory, I/O and processes per service from the containers' cgroups
(v1 here; v2's files on Proxmox), with real busybox containers, one of them kept busy by a
shell loop: as JSON over one second, as one table without a terminal, and redrawn every
second in a pseudo-terminal until Ctrl-C."""

import os
import pty
import select
import signal
import subprocess
import time

from conftest import HLCTL, definition, wait_for
from test_host_services import host_definition


def test_top_measures_what_each_container_uses(hld):
    h = hld
    busy, idle, off, vm = h.name("busy"), h.name("idle"), h.name("off"), h.name("vm")
    h.write(busy, definition())
    h.write(idle, definition())
    h.write(off, definition(state="stopped"))
    h.write(vm, host_definition("10.9.9.9", []))
    h.apply()
    loop = subprocess.Popen(["lxc-attach", "-P", str(h.lxcpath), "-n", busy, "--", "sh", "-c", "while :; do :; done"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the loop inside", lambda: int(h.sh(busy, "ps | grep -c 'while'").stdout.strip() or 0) >= 2, 10)
        rows = {r["name"]: r for r in h.hlctl("top", json=True).data}
        assert set(rows) == {busy, idle, off, vm}, rows
        # One shell loop is one core's worth, on a node of two.
        assert rows[busy]["cpu_percent"] > 50, rows[busy]
        assert rows[idle]["cpu_percent"] < 20, rows[idle]
        for name in (busy, idle):
            r = rows[name]
            assert r["state"] == "RUNNING" and 0 < r["memory"] <= 64 << 20, r
            assert r["read_per_s"] >= 0 and r["write_per_s"] >= 0 and r["io_read"] >= 0, r
        # init, the loop's shell and what lxc-attach left: more than the idle one's init.
        assert rows[busy]["processes"] > rows[idle]["processes"] >= 1, rows
        assert rows[busy]["cpu_usec"] > rows[idle]["cpu_usec"]
        assert rows[off] == {"name": off, "state": "STOPPED"}, rows[off]
        assert rows[vm] == {"name": vm, "state": "HOST"}, rows[vm]

        # Without a terminal: one table, then it ends.
        out = h.hlctl("top").out.splitlines()
        assert out[0].split() == ["NAME", "STATE", "CPU%", "MEMORY", "READ", "WRITE", "PROCS"], out
        line = next(l for l in out if l.startswith(busy)).split()
        assert line[1] == "RUNNING" and float(line[2]) > 50, out

        # On a terminal: drawn again each second until Ctrl-C, which ends it cleanly.
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["HLD_SOCKET"] = str(h.socket)
            os.execv(str(HLCTL), [str(HLCTL), "top"])
        seen, deadline = b"", time.monotonic() + 4.5
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
        os.kill(pid, signal.SIGINT)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        text = seen.decode(errors="replace")
        assert text.count("hl top at") >= 3 and text.count("\x1b[H\x1b[2J") >= 3, text[-2000:]
        assert busy.encode() in seen and idle.encode() in seen
    finally:
        loop.kill()
        loop.wait()
