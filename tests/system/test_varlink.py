# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Varlink protocol over a raw connection: introspection, pipelining, streaming."""

from conftest import INTERFACE_FILE, definition


def test_get_info(hld):
    reply = hld.call("org.varlink.service.GetInfo")
    assert "error" not in reply, reply
    info = reply["parameters"]
    assert set(info["interfaces"]) >= {"org.varlink.service", "io.hl"}
    for key in ("vendor", "product", "version", "url"):
        assert isinstance(info[key], str), info
    version = hld.call("io.hl.Version", {})["parameters"]
    assert version == {"version": info["version"], "interface": "io.hl"}
    assert info["version"] in hld.hlctl("version").out


def test_get_interface_description(hld):
    reply = hld.call("org.varlink.service.GetInterfaceDescription", {"interface": "io.hl"})
    assert "error" not in reply, reply
    description = reply["parameters"]["description"]
    assert description.strip() == INTERFACE_FILE.read_text().strip()

    reply = hld.call("org.varlink.service.GetInterfaceDescription",
                     {"interface": "org.varlink.service"})
    text = reply["parameters"]["description"]
    assert "interface org.varlink.service" in text
    assert "method GetInfo()" in text

    reply = hld.call("org.varlink.service.GetInterfaceDescription", {"interface": "com.example.nope"})
    assert reply.get("error") == "org.varlink.service.InterfaceNotFound", reply


def test_pipelined_and_oneway_calls(hld):
    with hld.varlink() as v:
        # Several calls before reading: answered in order on one connection.
        v.send({"method": "io.hl.Version", "parameters": {}})
        v.send({"method": "io.hl.Frobnicate", "parameters": {}})
        v.send({"method": "io.hl.List", "parameters": {}, "oneway": True})
        v.send({"method": "io.hl.List", "parameters": {}})
        assert "version" in v.recv()["parameters"]
        assert v.recv()["error"] == "org.varlink.service.MethodNotFound"
        assert v.recv()["parameters"] == {"services": []}


def test_apply_streams_with_more(hld):
    name = hld.name("stream")
    replies = []
    with hld.varlink(timeout=300) as v:
        v.send({"method": "io.hl.Apply", "more": True, "parameters": {
            "definitions": [{"name": name, "text": definition(), "file": name + ".conf"}]}})
        while True:
            reply = v.recv()
            assert reply is not None and "error" not in reply, reply
            replies.append(reply)
            if not reply.get("continues"):
                break
    final = replies[-1]["parameters"]
    assert final["changed"] == [name]
    assert [(a["action"], a["result"]) for a in final["actions"]] == [("create", "ok"), ("start", "ok")]
    streamed = [a for r in replies[:-1] for a in r["parameters"]["actions"]]
    assert streamed == final["actions"]
    assert hld.state(name) == "RUNNING"


def test_apply_recorded_with_caller(hld):
    name = hld.name("who")
    reply = hld.call("io.hl.Apply", {"definitions": [{"name": name, "text": definition()}]})
    assert "error" not in reply, reply
    events = hld.history(name)
    assert events and all(e.get("uid") == 0 and e.get("user") == "root"
                          for e in events if e["action"] in ("create", "start")), events
    rows = hld.db("SELECT count(*) FROM revisions")
    assert rows[0][0] == 1
