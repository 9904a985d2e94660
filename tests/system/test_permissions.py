# SPDX-License-Identifier: LGPL-2.1-or-later
"""Access control: anyone may read, only root (or the admin group) may change."""

import json
import re
import os

import pytest

from conftest import NOBODY, definition


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


def test_raw_call_is_denied(running):
    """The same refusal over a raw connection made as nobody."""
    h = running
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops privileges, calls Stop and hands the reply back
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with h.varlink(timeout=10) as v:
                v.send({"method": "io.hl.Stop", "parameters": {"name": h.web}})
                reply = v.recv()
            os.write(w, json.dumps(reply).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    reply = json.loads(data) if data else None
    assert reply and reply.get("error") == "io.hl.PermissionDenied", reply
    assert reply["parameters"].get("method") in ("Stop", "io.hl.Stop"), reply
    assert reply["parameters"].get("message"), reply
    assert h.state(h.web) == "RUNNING"
