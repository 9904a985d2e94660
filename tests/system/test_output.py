# SPDX-License-Identifier: LGPL-2.1-or-later
"""What hlctl prints for a person and for a script: a progress line for an apply on a
terminal (streamed replies, erased at the end), colour only on a terminal and never with
NO_COLOR, and --output table|wide|json; with real busybox containers."""

import os
import pty
import re

from conftest import HLCTL, definition

ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def in_pty(h, *args, env=None):
    """hlctl run on a pseudo-terminal: everything it wrote there, and its exit status."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["HLD_SOCKET"] = str(h.socket)
        os.environ["TERM"] = "xterm"
        os.environ.pop("NO_COLOR", None)
        os.environ.update(env or {})
        os.execv(str(HLCTL), [str(HLCTL)] + [str(a) for a in args])
    out = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out, os.waitstatus_to_exitcode(status)


def test_apply_shows_progress_on_a_terminal_only(hld):
    h = hld
    for n in ("a", "b", "c"):
        h.write(h.name(n), definition())
    out, rc = in_pty(h, "apply", h.defs)
    assert rc == 0, out
    # Each finished action redraws the line; it is erased before the result.
    assert re.search(rb"\r\x1b\[K. apply: 6 done, [0-9.]+ s \(last: start ", out), out
    assert b"\r\x1b[K+ create" in out.replace(b"\x1b[32m", b"").replace(b"\x1b[0m", b""), out
    result = ANSI.sub(b"", out.split(b"\r\x1b[K")[-1]).decode().replace("\r\n", "\n")
    assert "Applied 3 changed definitions" in result, result
    # Without a terminal: the same result, and no line.
    for n in ("d",):
        h.write(h.name(n), definition())
    r = h.hlctl("apply", h.defs)
    assert "\r" not in r.out + r.err and "\x1b" not in r.out + r.err, r
    assert "Applied 1 changed definition" in r.out


def test_colour_only_on_a_terminal_and_not_with_no_color(hld):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    out, rc = in_pty(h, "status")
    assert rc == 0 and b"\x1b[32mRUNNING\x1b[0m" in out, out
    # The columns line up as without colour.
    plain = ANSI.sub(b"", out).decode().replace("\r\n", "\n")
    assert plain == h.hlctl("status").out, (plain, h.hlctl("status").out)
    out, _ = in_pty(h, "status", env={"NO_COLOR": "1"})
    assert b"\x1b[" not in out, out
    out, _ = in_pty(h, "status", env={"TERM": "dumb"})
    assert b"\x1b[" not in out, out
    assert "\x1b" not in h.hlctl("status").out


def test_output_formats(hld):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    wide = h.hlctl("--output", "wide", "status").out.splitlines()
    assert wide[0].split() == ["NAME", "STATE", "HEALTH", "ADDRESS", "DESIRED", "REV", "PID", "MEMORY", "TEMPLATE",
                               "RESTART", "LAST", "DESCRIPTION"], wide
    row = wide[1].split()
    assert row[0] == web and row[8] == "busybox" and row[9] == "on-failure/0" and row[10] == "start", wide
    assert h.hlctl("--output", "json", "status").out == h.hlctl("--json", "status").out
    assert h.hlctl("--output", "table", "status").out == h.hlctl("status").out
    r = h.hlctl("--output", "yaml", "status", check=False)
    assert r.rc == 2 and "table, wide or json" in r.err, r
