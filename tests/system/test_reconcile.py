# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reconciliation: drift repaired, and nothing lost or doubled when hld is killed."""

import collections
import signal
import subprocess
import time

from conftest import HLCTL, definition


def test_stopped_behind_hlds_back_is_started(hld):
    name = hld.name("web")
    hld.write(name, definition())
    hld.apply()
    last = max(e["id"] for e in hld.history())
    pid = hld.container_pid(name)

    # hld may notice the stop by itself and start the container before reconcile runs.
    hld.lxc("stop", "-n", name, "-k")
    hld.hlctl("reconcile", json=True)
    assert hld.state(name) == "RUNNING"
    assert hld.container_pid(name) != pid
    assert hld.services()[name]["state"] == "RUNNING"
    starts = [e for e in hld.history(name)
              if e["id"] > last and e["action"] == "start" and e["result"] == "ok"]
    assert len(starts) == 1, hld.history(name)
    assert "stopped" in starts[0]["reason"].lower(), starts[0]

    # The next reconcile has nothing left to do.
    assert hld.hlctl("reconcile", json=True).data["actions"] == []


def test_sigkill_and_restart_loses_nothing(hld):
    names = [hld.name("db"), hld.name("app")]
    hld.write(names[0], definition())
    hld.write(names[1], definition(requires=[names[0]]))
    hld.apply()
    events_before = hld.count("events")
    ids_before = sorted(r[0] for r in hld.db("SELECT id FROM events"))
    pids = {n: hld.container_pid(n) for n in names}

    assert hld.kill(signal.SIGKILL) == -signal.SIGKILL
    for n in names:
        assert hld.state(n) == "RUNNING", "containers must outlive hld"

    hld.start()
    for n in names:
        assert hld.state(n) == "RUNNING"
        assert hld.container_pid(n) == pids[n]
    listed = hld.containers()
    assert [n for n, c in collections.Counter(listed).items() if c > 1] == []
    assert sorted(listed) == sorted(names)
    assert hld.count("events") >= events_before
    ids_after = {r[0] for r in hld.db("SELECT id FROM events")}
    assert set(ids_before) <= ids_after
    assert hld.hlctl("reconcile", json=True).data["actions"] == []
    services = hld.services()
    assert sorted(services) == sorted(names)
    for n in names:
        assert services[n]["state"] == "RUNNING"
        assert services[n]["pid"] == pids[n]


def test_sigterm_leaves_containers_running(hld):
    name = hld.name("keep")
    hld.write(name, definition())
    hld.apply()
    pid = hld.container_pid(name)
    assert hld.stop() == 0
    assert hld.state(name) == "RUNNING"
    assert hld.container_pid(name) == pid
    hld.start()
    assert hld.hlctl("reconcile", json=True).data["actions"] == []
    assert hld.container_pid(name) == pid


def test_sigkill_during_apply_converges(hld):
    names = [hld.name("s%d" % i) for i in range(4)]
    for i, n in enumerate(names):
        hld.write(n, definition(requires=names[:1] if i else ()))
    env = {"HLD_SOCKET": str(hld.socket)}
    apply = subprocess.Popen([str(HLCTL), "apply", str(hld.defs)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        # Kill hld once the first container is on its way: mid-create or mid-start.
        deadline = time.monotonic() + 30
        while not hld.containers() and apply.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        hld.kill(signal.SIGKILL)
    finally:
        apply.communicate(timeout=60)

    hld.start()
    r = hld.hlctl("reconcile", json=True)
    for a in r.data["actions"]:
        assert a["result"] == "ok", a
    listed = hld.containers()
    assert [n for n, c in collections.Counter(listed).items() if c > 1] == []
    # What was stored before the kill is applied now; an apply that was cut off before
    # its revisions were committed stored nothing, and applying again completes it.
    hld.apply()
    assert sorted(hld.containers()) == sorted(names)
    for n in names:
        assert hld.state(n) == "RUNNING"
    assert hld.hlctl("reconcile", json=True).data["actions"] == []
    # No event is left "running" forever by the killed hld.
    stuck = [e for e in hld.history() if e["result"] == "running"]
    assert stuck == []
