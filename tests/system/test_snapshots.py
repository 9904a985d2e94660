# SPDX-License-Identifier: LGPL-2.1-or-later
"""Snapshots against real busybox containers: take (running, frozen for the copy), list
(across hld restarts, and by lxc-snapshot), roll back (files as they were, the service
running and healthy again), delete, destroy with snapshots, every bad request refused with
nothing changed, and a rollback killed in the middle finished by the next hld."""

import os
import re
import signal
import subprocess
import time

from conftest import HLCTL, NOBODY, definition, wait_for

# A check that passes while /srv/state says "good".
CHECKED = definition(extra_container="\n".join([
    "Provision=mkdir -p /srv && echo good > /srv/state",
    "",
    "[Health]",
    "Check=exec /bin/grep -q good /srv/state",
    "Interval=1s",
    "Retries=1",
]))



def snapshots(hld, name):
    return hld.hlctl("snapshots", name, json=True).data["snapshots"]


def test_snapshot_change_rollback_restores_the_files(hld):
    name = hld.name("snap")
    hld.write(name, definition())
    hld.apply()
    assert hld.state(name) == "RUNNING"
    hld.sh(name, "echo before > /root/data")
    pid = hld.container_pid(name)

    r = hld.hlctl("snapshot", name, "before-change", "--comment", "before the change", json=True)
    action = r.data["action"]
    assert action["action"] == "snapshot" and action["result"] == "ok", action
    assert "before-change" in action["reason"] and "frozen" in action["reason"], action
    # Frozen for the copy, not stopped: the same init runs on, thawed.
    assert hld.container_pid(name) == pid
    assert hld.state(name) == "RUNNING"

    hld.sh(name, "echo after > /root/data && touch /root/new")
    r = hld.hlctl("rollback", name, "before-change", json=True)
    assert r.data["action"]["action"] == "rollback" and r.data["action"]["result"] == "ok", r.data
    assert hld.state(name) == "RUNNING"
    root = hld.rootfs(name)
    assert (root / "root/data").read_text() == "before\n"
    assert not (root / "root/new").exists()

    # Listed with its time and comment, by hld after a restart and by liblxc's own tool.
    hld.restart()
    listed = snapshots(hld, name)
    assert [s["name"] for s in listed] == ["before-change"], listed
    assert listed[0]["comment"] == "before the change"
    assert abs(listed[0]["created"] - time.time()) < 300, listed
    assert "before-change" in hld.lxc("snapshot", "-n", name, "-L").stdout
    table = hld.hlctl("snapshots", name).out
    assert re.search(r"^before-change\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-\s+before the change$", table, re.M), table
    # Every step is in the history, and the service has no drift after the rollback.
    actions = [e["action"] for e in hld.history(name)]
    assert "snapshot" in actions and "rollback" in actions, actions
    plan = hld.hlctl("plan", json=True).data["actions"]
    assert [a for a in plan if a["service"] == name] == [], plan


def test_unnamed_snapshots_are_numbered_and_deleted(hld):
    name = hld.name("num")
    hld.write(name, definition(state="stopped"))
    hld.apply()
    for _ in range(2):
        hld.hlctl("snapshot", name)
    assert [s["name"] for s in snapshots(hld, name)] == ["snap0", "snap1"]
    r = hld.hlctl("snapshot", "--delete", name, "snap0", json=True)
    assert r.data["action"]["action"] == "delete-snapshot", r.data
    assert [s["name"] for s in snapshots(hld, name)] == ["snap1"]
    assert not (hld.lxcpath / name / "snaps" / "snap0").exists()
    # A destroy takes the snapshots with it, as pct destroy does.
    hld.hlctl("destroy", name, "--yes")
    assert not (hld.lxcpath / name).exists()
    assert hld.containers() == []


def test_bad_snapshot_requests_change_nothing(hld):
    name = hld.name("bad")
    hld.write(name, definition(state="stopped"))
    hld.apply()
    hld.hlctl("snapshot", name, "one")
    before = hld.snapshot()
    cases = [
        (("snapshot", name, "one"), "has a snapshot named one already"),
        (("snapshot", name, "9lives"), "not a valid snapshot name"),
        (("snapshot", name, "current"), "not a valid snapshot name"),
        (("snapshot", name, "../../etc"), "not a valid snapshot name"),
        (("snapshot", name, "x" * 41), "not a valid snapshot name"),
        (("rollback", name, "nosuch"), "has no snapshot named nosuch"),
        (("snapshot", "--delete", name, "nosuch"), "has no snapshot named nosuch"),
        (("snapshot", "--delete", name), "needs the snapshot's name"),
        (("snapshot", "nosuchservice"), "no service named nosuchservice"),
        (("snapshots", "nosuchservice"), "no service named nosuchservice"),
        (("snapshot", name, "two", "--comment", "a\tb"), "one line"),
    ]
    for args, message in cases:
        r = hld.hlctl(*args, check=False)
        assert r.rc in (1, 2) and message in r.err, (args, r)
    assert hld.snapshot() == before
    assert [s["name"] for s in snapshots(hld, name)] == ["one"]
    r = hld.call("io.hl.Snapshot", {"name": name, "snapshot": "x", "extra": 1})
    assert r.get("error") == "org.varlink.service.InvalidParameter", r
    # Another user may list the snapshots, not take or roll back one.
    assert "one" in hld.hlctl("snapshots", name, user=NOBODY).out
    for args in (("snapshot", name, "x"), ("rollback", name, "one"), ("snapshot", "--delete", name, "one")):
        r = hld.hlctl(*args, user=NOBODY, check=False)
        assert r.rc == 1 and "ermission" in r.err, (args, r)
    assert hld.snapshot() == before


def test_rollback_waits_for_health_and_heals_a_broken_service(hld):
    name = hld.name("heal")
    hld.write(name, CHECKED)
    hld.apply()
    wait_for("healthy", lambda: hld.services()[name]["health"] == "healthy", 30)
    hld.hlctl("snapshot", name, "good")
    hld.sh(name, "echo broken > /srv/state")
    wait_for("unhealthy", lambda: hld.services()[name]["health"] == "unhealthy", 30)

    r = hld.hlctl("rollback", name, "good")
    assert "%s is healthy." % name in r.out, r
    assert hld.services()[name]["health"] == "healthy"
    assert (hld.rootfs(name) / "srv/state").read_text() == "good\n"


def test_rollback_killed_in_the_middle_is_finished_by_the_next_hld(hld):
    """A kill of hld and its helper (a power cut) while liblxc restores: the container may
    be gone, its snapshots are not; the next hld finishes the rollback, not a create."""
    name = hld.name("cut")
    hld.write(name, definition())
    hld.apply()
    # Enough data that the copy back takes a while.
    hld.sh(name, "dd if=/dev/zero of=/root/big bs=1M count=300 2>/dev/null && echo kept > /root/data")
    hld.hlctl("snapshot", name, "base")
    hld.sh(name, "echo changed > /root/data")
    marker = hld.lxcpath / name / "snaps" / "hl-rolling-back"
    proc = subprocess.Popen([str(HLCTL), "--socket", str(hld.socket), "rollback", name, "base", "--force", "--no-wait"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for("the rollback's record", marker.exists, 30, interval=0.01)
    # The copy is under way (seen here: liblxc has written the config without
    # lxc.rootfs.path, and is copying the root file system).
    time.sleep(0.3)
    # hld and its helper, which is in hld's process group, at once.
    os.killpg(hld.pid, signal.SIGKILL)
    hld.proc.wait()
    proc.communicate(timeout=30)
    assert marker.read_text().strip() == "base"

    hld.start()
    wait_for("the rollback finished", lambda: not marker.exists() and hld.state(name) == "RUNNING", 60)
    assert (hld.rootfs(name) / "root/data").read_text() == "kept\n"
    events = [(e["action"], e["result"]) for e in hld.history(name)]
    assert ("rollback", "ok") in events and events.count(("create", "ok")) == 1, events
    assert [s["name"] for s in snapshots(hld, name)] == ["base"]


def test_scheduled_snapshots_are_taken_and_pruned_by_keep(hld):
    name = hld.name("sched")
    hld.write(name, definition(extra_container="\n".join(["", "[Snapshot]", "Schedule=*:*:0/2", "Keep=keep-last=2"])))
    hld.apply()
    hld.hlctl("snapshot", name, "by-hand")

    def autos():
        return [s for s in snapshots(hld, name) if s["name"].startswith("auto-")]

    # Four scheduled snapshots at least, of which Keep= leaves the newest two.
    wait_for("four scheduled snapshots",
             lambda: len([e for e in hld.history(name) if e["action"] == "snapshot" and "on schedule" in e["reason"]]) >= 4,
             30)
    wait_for("the pruning", lambda: len(autos()) == 2, 15)
    listed = snapshots(hld, name)
    assert "by-hand" in [s["name"] for s in listed], listed  # never pruned
    assert "retention" not in listed[0], listed
    # The schedule goes on meanwhile: the newest two are kept, what is older awaits pruning.
    marks = [s.get("retention") for s in autos()]
    assert marks[-2:] == ["keep-last", "keep-last"] and set(marks[:-2]) <= {"prune"}, listed
    pruned = [e for e in hld.history(name) if e["action"] == "delete-snapshot"]
    # The schedule goes on while the history is read: the newest deletion may be under way.
    assert all("pruned by Keep=keep-last=2" in e["reason"] and e["result"] in ("ok", "running") for e in pruned), pruned
    assert [e for e in pruned if e["result"] == "ok"], pruned
    assert all(e.get("uid") is None for e in pruned), pruned  # hld did it, not a person
    assert "keep-last" in hld.hlctl("snapshots", name).out


def test_bad_schedules_and_keeps_are_refused(hld):
    name = hld.name("badsched")
    hld.write(name, definition(extra_container="\n".join(["", "[Snapshot]", "Schedule=every tuesday", "Keep=keep-lats=1"])))
    r = hld.apply(check=False)
    assert r.rc == 1, r
    assert "Schedule: \"every tuesday\" is not a schedule" in r.err and "Keep: \"keep-lats\" is not a retention word" in r.err, r
    assert hld.containers() == []
