# SPDX-License-Identifier: LGPL-2.1-or-later
"""Applying definitions: creation in dependency order, idempotence, live updates."""

import json
import re
import time

import pytest

from conftest import DEMO_DIR, definition
from netlab import Lan

MIB = 1024 * 1024


def demo_set(h, bridge=None):
    """Writes the demo definitions into h.defs under tagged names, on bridge instead of
    the demo's hldemo0; returns {name: [required names]}. Uses docs/examples/homelab when
    it has definitions, otherwise six of our own with Requires= between them."""
    files = sorted(DEMO_DIR.glob("*.conf")) if DEMO_DIR.is_dir() else []
    if files:
        rename = {f.stem: h.name(f.stem) for f in files}
        graph = {}
        for f in files:
            name = rename[f.stem]
            requires = []
            lines = []
            for line in f.read_text().splitlines():
                m = re.match(r"^(\s*Requires\s*=\s*)(.*)$", line)
                if m:
                    words = [rename.get(w, w) for w in m.group(2).split()]
                    requires += words
                    line = m.group(1) + " ".join(words)
                if bridge:
                    line = line.replace("bridge=hldemo0", "bridge=" + bridge)
                m = re.match(r"^(\s*Template\s*=\s*clone:)(\S+)\s*$", line)
                if m:
                    line = m.group(1) + rename.get(m.group(2), m.group(2))
                lines.append(line)
            h.write(name, "\n".join(lines) + "\n")
            graph[name] = requires
        return graph
    graph = {
        h.name("dns"): [],
        h.name("db"): [],
        h.name("auth"): [h.name("dns"), h.name("db")],
        h.name("proxy"): [h.name("dns")],
        h.name("app"): [h.name("proxy"), h.name("auth")],
        h.name("monitor"): [h.name("app")],
    }
    for name, requires in graph.items():
        h.write(name, definition(requires=requires, description="demo " + name))
    return graph


@pytest.fixture
def demo_lan(hld):
    """The demo's bridge, as a LAN of this test's own (the demo's addresses are private
    to it: nothing on the host routes to them)."""
    lan = Lan(hld.tag).up()
    try:
        yield lan
    finally:
        hld.destroy_containers()
        lan.down()


def test_apply_demo_set(hld, demo_lan):
    graph = demo_set(hld, demo_lan.bridge)
    names = sorted(graph)
    wanted_running = {n for n in names
                      if not re.search(r"^\s*State\s*=\s*stopped\s*$",
                                       (hld.defs / (n + ".conf")).read_text(), re.M)}

    r = hld.apply()
    assert sorted(r.data["changed"]) == names
    assert r.data["unchanged"] == []
    for a in r.data["actions"]:
        assert a["result"] == "ok", a

    # Every container exists, and runs when its definition asks for it.
    assert sorted(hld.containers()) == names
    assert set(hld.containers(running=True)) == wanted_running
    services = hld.services()
    assert sorted(services) == names
    for n in names:
        want = "RUNNING" if n in wanted_running else "STOPPED"
        assert services[n]["state"] == want, services[n]
        assert hld.state(n) == want

    # With the demo's own files, each service has its address on the bridge and checks
    # that fit it (one across the bridge), and each passes.
    if (DEMO_DIR / "proxy.conf").exists():
        deadline = time.monotonic() + 60
        while True:
            services = hld.services()
            health = {n: services[n]["health"] for n in wanted_running}
            if all(v == "healthy" for v in health.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert all(v == "healthy" for v in health.values()), health
        for n in wanted_running:
            m = re.search(r"ip=(10\.77\.0\.\d+)/24", (hld.defs / (n + ".conf")).read_text())
            assert m and services[n].get("address") == m.group(1), services[n]

    # Each service was started after everything it Requires.
    events = hld.history()
    started = {}
    for e in sorted(events, key=lambda e: e["id"]):
        if e["action"] == "start" and e["result"] == "ok" and e["service"] not in started:
            started[e["service"]] = e["id"]
    assert set(started) == wanted_running, events
    for n, requires in graph.items():
        for r_ in requires:
            if n in started and r_ in started:
                assert started[r_] < started[n], "%s started before %s, which it requires" % (n, r_)

    # A second apply of the same files finds nothing to do.
    before = hld.count("events")
    ids = max(e["id"] for e in events)
    again = hld.apply()
    assert again.data["changed"] == []
    assert sorted(again.data["unchanged"]) == names
    assert again.data["actions"] == []
    new = [e for e in hld.history() if e["id"] > ids]
    assert [e for e in new if e["action"] in ("create", "start")] == []
    assert hld.count("events") - before == len([e for e in new])
    assert sorted(hld.containers()) == names


def test_memory_change_is_live(hld):
    name = hld.name("web")
    hld.write(name, definition(memory="64M"))
    hld.apply()
    assert hld.memory_limit(name) == 64 * MIB
    pid = hld.container_pid(name)
    inode = hld.rootfs(name).stat().st_ino

    hld.write(name, definition(memory="96M"))
    r = hld.apply()
    assert r.data["changed"] == [name]
    kinds = [a["action"] for a in r.data["actions"]]
    assert kinds == ["update"], r.data["actions"]
    assert r.data["actions"][0]["result"] == "ok"
    assert any("memory" in c.lower() for c in r.data["actions"][0]["changes"]), r.data["actions"]

    # The cgroup has the new limit; the container was neither restarted nor recreated.
    assert hld.memory_limit(name) == 96 * MIB == 100663296
    assert hld.state(name) == "RUNNING"
    assert hld.container_pid(name) == pid
    assert hld.rootfs(name).stat().st_ino == inode

    status = hld.services()[name]
    assert status["limits"]["memory"] == 96 * MIB
    assert status["live_limits"]["memory"] == 96 * MIB
    assert status["pid"] == pid
    assert status["revision"] == 2

    show = hld.hlctl("show", name, json=True).data
    revisions = show["revisions"]
    assert [r["revision"] for r in revisions] == [1, 2]
    for rev in revisions:
        assert rev["applied_by"] == "root"
        assert rev["applied_by_uid"] == 0
        assert re.fullmatch(r"[0-9a-f]{64}", rev["hash"])
    assert revisions[0]["hash"] != revisions[1]["hash"]
    assert revisions[0]["definition"]["container"]["memory"] == 64 * MIB
    assert revisions[1]["definition"]["container"]["memory"] == 96 * MIB
    assert show["definition"]["container"]["memory"] == 96 * MIB
    assert "Memory=96M" in show["text"]


def test_comment_only_change_is_no_revision(hld):
    name = hld.name("quiet")
    hld.write(name, definition())
    hld.apply()
    revisions = hld.count("revisions")
    hld.write(name, "# a comment changes no revision\n" + definition())
    r = hld.apply()
    assert r.data["changed"] == [] and r.data["unchanged"] == [name]
    assert r.data["actions"] == []
    assert hld.count("revisions") == revisions


def test_plan_changes_nothing(hld):
    name = hld.name("planned")
    path = hld.write(name, definition())
    r = hld.hlctl("plan", path, json=True)
    assert [(a["service"], a["action"]) for a in r.data["actions"]] == [(name, "create"), (name, "start")]
    for a in r.data["actions"]:
        assert "result" not in a or a["result"] is None
    assert hld.containers() == []
    assert hld.count("revisions") == 0
    assert hld.hlctl("list", json=True).data["services"] == []


def test_state_stopped_creates_without_starting(hld):
    name = hld.name("idle")
    hld.write(name, definition(state="stopped"))
    r = hld.apply()
    assert [a["action"] for a in r.data["actions"]] == ["create"]
    assert hld.state(name) == "STOPPED"
    assert hld.services()[name]["desired"] == "stopped"


def test_apply_is_judged_by_what_it_applies(hld):
    """A run reconciles the whole node: another service's failure in the same run is shown
    apart and does not make the apply of one file exit 1."""
    good, bad = hld.name("good"), hld.name("bad")
    hld.write(bad, definition(extra_container="Mount=%s:/data" % (hld.dir / "missing")))
    hld.apply(check=False)
    assert hld.state(bad) == "STOPPED"
    path = hld.write(good, definition(), directory=hld.dir / "one")
    r = hld.hlctl("apply", path, check=False)
    assert r.rc == 0, r
    mine, also = r.out.split("Also in this run, for services not applied here:")
    assert good in mine and bad not in mine, r.out
    assert bad in also and "failed" in also, r.out
    data = hld.hlctl("apply", "--json", path, check=False)
    assert data.rc == 0
    # The same apply with what it requires failing is judged by it.
    needy = hld.name("needy")
    path2 = hld.write(needy, definition(requires=[bad]), directory=hld.dir / "two")
    r = hld.hlctl("apply", "--json", path2, check=False)
    assert r.rc == 1, r
    reply = json.loads(r.out)
    assert {a["service"] for a in reply["actions"]} >= {needy, bad}, reply
    assert all(a["service"] != good for a in reply["others"]), reply
