# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl's own contract: exit statuses, stderr, --json, the socket it talks to."""

import json
import time

from conftest import definition


def one_line(text):
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], text
    return lines[0]


def test_usage_errors_exit_2(hld):
    for args in (["frobnicate"], ["show"], ["show", "a", "b"], ["start"], ["history", "--since"],
                 ["status", "--no-such-option"]):
        r = hld.hlctl(*args, check=False)
        assert r.rc == 2, r
        assert r.out == "", r
        assert r.err.strip(), r


def test_unreachable_socket_exits_2(hld):
    missing = hld.dir / "no-such.sock"
    for args in (["--socket", str(missing), "status"], ["status"]):
        env = {"HLD_SOCKET": str(missing)}
        r = hld.hlctl(*args, check=False, env=env)
        assert r.rc == 2, r
        assert str(missing) in one_line(r.err), r
    # --socket wins over HLD_SOCKET.
    r = hld.hlctl("--socket", str(hld.socket), "version", env={"HLD_SOCKET": str(missing)})
    assert r.rc == 0


def test_json_output_is_the_reply(hld):
    name = hld.name("web")
    hld.write(name, definition())
    hld.apply()
    via_cli = hld.hlctl("list", json=True).data
    via_raw = hld.call("io.hl.List", {})["parameters"]
    for s in (via_cli, via_raw):
        for svc in s["services"]:
            svc.pop("memory_usage", None)  # changes from one read to the next
    assert via_cli == via_raw
    assert hld.hlctl("status", json=True).data.keys() == via_cli.keys()
    assert json.loads(hld.hlctl("version", json=True).out) == hld.call("io.hl.Version", {})["parameters"]


def test_history_filters(hld):
    a, b = hld.name("a"), hld.name("b")
    hld.write(a, definition())
    hld.write(b, definition())
    hld.apply()
    everything = hld.history()
    assert {e["service"] for e in everything} >= {a, b}
    only_a = hld.history(a)
    assert only_a and {e["service"] for e in only_a} == {a}
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids), "history is oldest first"
    recent = hld.hlctl("history", "--since", "1h", json=True).data["events"]
    assert [e["id"] for e in recent] == ids
    # Events of a destroyed service stay in its history.
    hld.hlctl("destroy", a, "--yes")
    assert len(hld.history(a)) > len(only_a)
    assert hld.call("io.hl.History", {"since": int(time.time()) + 3600})["parameters"]["events"] == []
    reply = hld.call("io.hl.History", {"limit": 0})
    assert reply.get("error") == "io.hl.InvalidArgument", reply
    two = hld.call("io.hl.History", {"limit": 2})["parameters"]["events"]
    assert [e["id"] for e in two] == [e["id"] for e in hld.history()][-2:]
