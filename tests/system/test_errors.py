# SPDX-License-Identifier: LGPL-2.1-or-later
"""Errors that say why: liblxc's own reason when it fails, a start that cannot succeed
named by the plan before it is tried, the back-off of a crash loop in why."""

import json
import re
import time

from conftest import definition


def test_a_failed_start_carries_liblxcs_own_reason(hld):
    """A file bind-mounted onto a directory: liblxc fails the start and says why in its log,
    which hld quotes (it used to say "liblxc gave no reason")."""
    name = hld.name("badmnt")
    source = hld.dir / "a-file"
    source.write_text("not a directory\n")
    hld.write(name, definition(extra_container="Mount=%s:/data" % source))
    r = hld.apply(check=False)
    assert r.rc == 1, r
    start = [a for a in json.loads(r.out)["actions"] if a["action"] == "start"][0]
    assert start["result"] == "failed", start
    assert "Not a directory" in start["error"] and "Failed to mount" in start["error"], start
    assert "gave no reason" not in start["error"], start
    history = [e for e in hld.history(name) if e["action"] == "start"]
    assert history[-1]["error"] == start["error"], history
    assert start["error"] in hld.hlctl("why", name).out


def test_a_missing_mount_source_is_named_before_any_start(hld):
    h = hld
    name = h.name("nosrc")
    src = h.dir / "data"
    h.write(name, definition(extra_container="Mount=%s:/data" % src))
    plan = h.hlctl("plan", h.defs, json=True).data["actions"]
    start = [a for a in plan if a["action"] == "start"][0]
    assert start["reason"] == "cannot start: Mount= source %s does not exist on this node (No such file or directory)" % src, start
    r = h.apply(check=False)
    assert r.rc == 1, r
    start = [a for a in json.loads(r.out)["actions"] if a["action"] == "start"][0]
    assert start["result"] == "failed" and "does not exist on this node" in start["error"], start
    assert start["duration_ms"] == 0, start  # never tried
    assert h.state(name) == "STOPPED"
    # The source made: the next start goes.
    src.mkdir()
    h.hlctl("start", name)
    assert h.state(name) == "RUNNING"


def test_a_bridge_that_does_not_exist_is_named_before_any_start(hld):
    h = hld
    name = h.name("nobr")
    h.write(name, definition(extra_container="Network=bridge=hlnobr0,ip=10.99.0.2/24"))
    plan = h.hlctl("plan", h.defs, json=True).data["actions"]
    start = [a for a in plan if a["action"] == "start"][0]
    assert "the bridge hlnobr0 does not exist on this node" in start["reason"], start
    r = h.apply(check=False)
    assert r.rc == 1 and h.state(name) == "STOPPED", r


def test_why_shows_a_crash_loops_back_off(hld):
    """A service whose container powers itself off at boot, restarted until it backs off:
    why says how many restarts, when the next try comes and what happened last."""
    h = hld
    name = h.name("loop")
    h.write(name, definition(extra_container="Provision=echo \"::sysinit:/bin/sh -c 'test -e /crash && "
                                              "/bin/poweroff -f'\" >> /etc/inittab")
            + "[Restart]\nStartLimitBurst=1\nRestartSec=30s\n")
    h.apply()
    (h.rootfs(name) / "crash").write_text("")
    h.lxc("stop", "-n", name, "-k")
    deadline = time.monotonic() + 30
    while h.services()[name].get("condition") != "crash-looping":
        assert time.monotonic() < deadline, h.services()[name]
        time.sleep(0.2)
    # Its last start may still be ending (it powers off as it boots): until then why shows it.
    deadline = time.monotonic() + 30
    while "To do: hold (crash-looping: next start in" not in h.hlctl("why", name).out:
        assert time.monotonic() < deadline, h.hlctl("why", name).out
        time.sleep(0.2)
    why = h.hlctl("why", name).out
    assert re.search(r"Crash-looping: [1-9]\d* automatic restarts in a row; the next try in \d+ s "
                     r"\(at \d\d:\d\d:\d\d\)", why), why
    (h.rootfs(name) / "crash").unlink()
