# SPDX-License-Identifier: LGPL-2.1-or-later
"""Access control: anyone may read, only root (or the admin group) may change."""

import errno
import grp
import json
import os
import re
import stat
import subprocess

import pytest

from conftest import NOBODY, Varlink, definition


@pytest.fixture
def running(hld):
    name = hld.name("web")
    hld.write(name, definition())
    hld.apply()
    hld.web = name
    return hld


def test_reads_work_for_anyone(running):
    h = running
    status = h.hlctl("status", json=True, user=NOBODY).data
    assert [s["name"] for s in status["services"]] == [h.web]
    assert status["services"][0]["state"] == "RUNNING"
    assert h.hlctl("status", user=NOBODY).out.strip()
    assert h.hlctl("show", h.web, json=True, user=NOBODY).data["service"]["name"] == h.web
    assert h.hlctl("history", json=True, user=NOBODY).data["events"]
    assert h.hlctl("history", h.web, json=True, user=NOBODY).data["events"]
    assert h.hlctl("version", user=NOBODY).out.strip()
    assert "actions" in h.hlctl("plan", json=True, user=NOBODY).data


def test_mutations_are_denied(running):
    h = running
    changed = h.write(h.web, definition(memory="96M"), directory=h.dir / "nobody")
    fresh = h.write(h.name("new"), definition(), directory=h.dir / "nobody")
    before = h.snapshot()
    for args in (["apply", changed, fresh], ["start", h.web], ["stop", h.web],
                 ["restart", h.web], ["destroy", h.web, "--yes"], ["reconcile"]):
        r = h.hlctl(*args, check=False, user=NOBODY)
        assert r.rc == 1, r
        assert re.search(r"permission|denied|needs root|not allowed", r.err, re.I), r
        assert len(r.err.strip().splitlines()) == 1, r
        assert h.snapshot() == before, args
    assert h.state(h.web) == "RUNNING"
    assert h.services()[h.web]["limits"]["memory"] == 64 * 1024 * 1024


def call_as(path, uid, method, parameters, groups=()):
    """One raw call made by a child that dropped to uid (with groups): the reply, or the
    errno name when it cannot even connect."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups(list(groups))
            os.setgid(groups[0] if groups else uid)
            os.setuid(uid)
            try:
                with Varlink(path, timeout=10) as v:
                    v.send({"method": method, "parameters": parameters})
                    out = v.recv()
            except OSError as e:
                out = {"connect": errno.errorcode.get(e.errno, str(e.errno))}
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


def test_two_sockets(running):
    """The control socket is for root and the admin group (0660); the read-only socket
    (0666) answers anyone and refuses every change, whoever asks."""
    h = running
    ro = h.dir / "hld-ro.sock"
    assert stat.S_IMODE(os.stat(h.socket).st_mode) == 0o660
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o666
    assert call_as(h.socket, NOBODY, "io.hl.List", {}) == {"connect": "EACCES"}
    reply = call_as(ro, NOBODY, "io.hl.List", {})
    assert [s["name"] for s in reply["parameters"]["services"]] == [h.web], reply
    reply = call_as(ro, NOBODY, "io.hl.Stop", {"name": h.web})
    assert reply.get("error") == "io.hl.ReadOnly", reply
    # Even root is refused changes on the read-only socket.
    with Varlink(ro, timeout=10) as v:
        assert v.call("io.hl.Stop", {"name": h.web}).get("error") == "io.hl.ReadOnly"
    assert h.state(h.web) == "RUNNING"


def test_peer_credentials_are_checked_too(running):
    """Were the control socket opened to everyone, SO_PEERCRED still refuses a stranger."""
    h = running
    os.chmod(h.socket, 0o666)
    reply = call_as(h.socket, NOBODY, "io.hl.Stop", {"name": h.web})
    assert reply and reply.get("error") == "io.hl.PermissionDenied", reply
    assert reply["parameters"].get("method") in ("Stop", "io.hl.Stop"), reply
    assert reply["parameters"].get("message"), reply
    assert h.state(h.web) == "RUNNING"


def test_admin_group_may_change(hld):
    """A member of hld's admin group (not root) may change the node, and the history says who."""
    group = "hl" + hld.tag
    subprocess.run(["groupadd", group], check=True)
    try:
        gid = grp.getgrnam(group).gr_gid
        hld.stop()
        hld.start("--admin-group", group)
        assert os.stat(hld.socket).st_gid == gid
        name = hld.name("adm")
        hld.write(name, definition())
        hld.apply()
        uid = 45678  # no such user: hld names it by number
        reply = call_as(hld.socket, uid, "io.hl.Stop", {"name": name}, groups=[gid])
        assert "error" not in reply, reply
        assert hld.state(name) == "STOPPED"
        stops = [e for e in hld.history(name) if e["action"] == "stop"]
        assert stops and stops[-1].get("uid") == uid and stops[-1].get("user") == "uid %d" % uid, stops
        # Without the group, the same uid is refused.
        assert call_as(hld.socket, uid, "io.hl.Start", {"name": name}) == {"connect": "EACCES"}
    finally:
        subprocess.run(["groupdel", group], check=False)
