# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl update as a transaction, against real busybox containers whose check reads a file:
an update that works is kept (its snapshot too), one that breaks the check or whose Exec=
fails is rolled back by itself and the service is healthy again, each step in the
history; --dry-run changes nothing; --all goes in Requires= order and stops at the first
rollback; a kill of hld before the verdict is rolled back by the next hld."""

import signal
import subprocess
import time

from conftest import HLCTL, definition, wait_for


def updatable(exec_lines, restart=False, timeout="6s", requires=()):
    lines = [
        "Provision=mkdir -p /srv && echo good > /srv/state && echo v1 > /srv/version",
        "",
        "[Health]",
        "Check=exec /bin/grep -q good /srv/state",
        "Interval=1s",
        "Retries=1",
        "",
        "[Update]",
    ] + ["Exec=%s" % e for e in exec_lines] + ["HealthTimeout=%s" % timeout]
    if restart:
        lines.append("Restart=yes")
    return definition(requires=requires, extra_container="\n".join(lines))


def healthy(hld, name):
    wait_for("%s healthy" % name, lambda: hld.services()[name]["health"] == "healthy", 30)


def actions(hld, name, since=0):
    return [(e["action"], e["result"]) for e in hld.history(name)][since:]


def test_an_update_that_works_is_kept(hld):
    name = hld.name("ok")
    hld.write(name, updatable(["echo v2 > /srv/version"], restart=True))
    hld.apply()
    healthy(hld, name)
    before = len(hld.history(name))

    r = hld.hlctl("update", name)
    assert "updated, and healthy" in r.out, r
    assert (hld.rootfs(name) / "srv/version").read_text() == "v2\n"
    assert hld.state(name) == "RUNNING" and hld.services()[name]["health"] == "healthy"
    steps = [a for a in actions(hld, name, before) if a[0] in ("snapshot", "exec", "restart", "rollback")]
    assert steps == [("snapshot", "ok"), ("exec", "ok"), ("restart", "ok")], actions(hld, name, before)
    snaps = [s["name"] for s in hld.hlctl("snapshots", name, json=True).data["snapshots"]]
    assert len(snaps) == 1 and snaps[0].startswith("update-"), snaps
    assert not (hld.lxcpath / name / "snaps" / "hl-updating").exists()

    # rollback --last undoes it, however healthy it was.
    r = hld.hlctl("rollback", name, "--last")
    assert "%s is healthy." % name in r.out, r
    assert (hld.rootfs(name) / "srv/version").read_text() == "v1\n"
    assert [e for e in hld.history(name) if e["action"] == "rollback"][-1]["reason"].startswith("rollback to " + snaps[0])
    r = hld.hlctl("rollback", name, check=False)
    assert r.rc == 2 and "--last" in r.err, r
    plain = hld.name("plain")
    hld.write(plain, definition())
    hld.apply()
    r = hld.hlctl("rollback", plain, "--last", check=False)
    assert r.rc == 1 and "no update to undo" in r.err, r


def test_an_update_that_breaks_the_check_is_rolled_back(hld):
    name = hld.name("brk")
    hld.write(name, updatable(["echo v2 > /srv/version", "echo broken > /srv/state"]))
    hld.apply()
    healthy(hld, name)
    before = len(hld.history(name))

    started = time.monotonic()
    r = hld.hlctl("update", name, check=False)
    took = time.monotonic() - started
    assert r.rc == 1 and "rolled back to update-" in r.out and "HealthTimeout=6s" in r.out, r
    # Each step as it ended, then the verdict.
    for step in ("snapshot", "exec", "health", "rollback", "health after rollback"):
        assert "%s: %s" % (name, step) in r.out, r.out
    root = hld.rootfs(name)
    assert (root / "srv/state").read_text() == "good\n" and (root / "srv/version").read_text() == "v1\n"
    assert hld.services()[name]["health"] == "healthy"
    steps = [a for a in actions(hld, name, before) if a[0] in ("snapshot", "exec", "rollback")]
    assert steps == [("snapshot", "ok"), ("exec", "ok"), ("rollback", "ok")], actions(hld, name, before)
    assert not (hld.lxcpath / name / "snaps" / "hl-updating").exists()
    print("update with rollback: %.1f s" % took)
    print(r.out)


def test_a_failing_exec_is_rolled_back_and_its_output_kept(hld):
    name = hld.name("bad")
    hld.write(name, updatable(["echo halfway > /srv/version", "echo 'E: no such package' >&2; exit 100"]))
    hld.apply()
    healthy(hld, name)
    r = hld.hlctl("update", name, check=False, json=True)
    assert r.rc == 1
    r = hld.hlctl("history", name, "--action", "exec", json=True)
    exec_event = r.data["events"][-1]
    assert exec_event["result"] == "failed" and "E: no such package" in exec_event["error"], exec_event
    assert (hld.rootfs(name) / "srv/version").read_text() == "v1\n"
    assert hld.services()[name]["health"] == "healthy"


def test_dry_run_and_services_without_update(hld):
    name = hld.name("dry")
    plain = hld.name("plain")
    hld.write(name, updatable(["echo v2 > /srv/version"], restart=True))
    hld.write(plain, definition())
    hld.apply()
    before = hld.snapshot()
    r = hld.hlctl("update", name, "--dry-run")
    assert "1. snapshot update-" in r.out and "exec in %s: echo v2 > /srv/version" % name in r.out, r
    assert "restart %s" % name in r.out and "rollback to update-" in r.out, r
    assert hld.snapshot() == before
    r = hld.hlctl("update", plain, check=False)
    assert r.rc == 1 and "has no update" in r.err, r
    r = hld.hlctl("update", check=False)
    assert r.rc == 2 and "--all" in r.err, r


def test_update_all_goes_in_order_and_stops_at_the_first_rollback(hld):
    base = hld.name("base")
    mid = hld.name("mid")
    top = hld.name("top")
    hld.write(base, updatable(["echo v2 > /srv/version"]))
    hld.write(mid, updatable(["echo broken > /srv/state"], timeout="3s", requires=[base]))
    hld.write(top, updatable(["echo v2 > /srv/version"], requires=[mid]))
    hld.apply()
    for n in (base, mid, top):
        healthy(hld, n)
    r = hld.hlctl("update", "--all", check=False)
    assert r.rc == 1, r
    assert r.out.index("%s: updated" % base) < r.out.index("%s: rolled back" % mid), r.out
    assert "%s:" % top not in r.out, r.out
    assert (hld.rootfs(base) / "srv/version").read_text() == "v2\n"
    assert (hld.rootfs(top) / "srv/version").read_text() == "v1\n"


def test_a_kill_before_the_verdict_is_rolled_back_by_the_next_hld(hld):
    name = hld.name("cut")
    hld.write(name, updatable(["echo broken > /srv/state"], timeout="5m"))
    hld.apply()
    healthy(hld, name)
    marker = hld.lxcpath / name / "snaps" / "hl-updating"
    update = subprocess.Popen([str(HLCTL), "--socket", str(hld.socket), "update", name],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for("the update's record", marker.exists, 30, interval=0.05)
    wait_for("the broken check", lambda: hld.services()[name]["health"] == "unhealthy", 30)
    hld.kill(signal.SIGKILL)
    update.wait(timeout=30)
    assert (hld.rootfs(name) / "srv/state").read_text() == "broken\n"

    hld.start()
    wait_for("the rollback", lambda: not marker.exists(), 60)
    assert (hld.rootfs(name) / "srv/state").read_text() == "good\n"
    healthy(hld, name)
    rollbacks = [e for e in hld.history(name) if e["action"] == "rollback"]
    assert rollbacks and "interrupted" in rollbacks[-1]["reason"], rollbacks
