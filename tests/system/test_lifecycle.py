# SPDX-License-Identifier: LGPL-2.1-or-later
"""start, stop, restart and destroy through hlctl."""

from conftest import definition

MIB = 1024 * 1024


def test_status_reports_live_state(hld):
    name = hld.name("web")
    hld.write(name, definition(description="a web server", memory="64M"))
    hld.apply()
    s = hld.services()[name]
    assert s["state"] == "RUNNING"
    assert s["desired"] == "running"
    assert s["description"] == "a web server"
    assert s["template"] == "busybox"
    assert s["revision"] == 1
    assert s["pid"] == hld.container_pid(name)
    assert s["limits"]["memory"] == 64 * MIB
    assert s["live_limits"]["memory"] == 64 * MIB
    table = hld.hlctl("status").out
    assert name in table and "RUNNING" in table


def test_stop_start_restart(hld):
    name = hld.name("web")
    hld.write(name, definition())
    hld.apply()
    pid = hld.container_pid(name)

    r = hld.hlctl("stop", name, json=True).data["action"]
    assert (r["service"], r["action"], r["result"]) == (name, "stop", "ok")
    assert hld.state(name) == "STOPPED"
    s = hld.services()[name]
    assert s["state"] == "STOPPED" and s["desired"] == "stopped"
    # Stop holds: a reconcile does not start it again.
    assert hld.hlctl("reconcile", json=True).data["actions"] == []
    assert hld.state(name) == "STOPPED"
    # Stopping what is stopped is skipped, not an error.
    r = hld.hlctl("stop", name, json=True).data["action"]
    assert r["result"] == "skipped"

    r = hld.hlctl("start", name, json=True).data["action"]
    assert (r["action"], r["result"]) == ("start", "ok")
    assert hld.state(name) == "RUNNING"
    assert hld.services()[name]["desired"] == "running"
    assert hld.container_pid(name) != pid
    pid = hld.container_pid(name)
    assert hld.hlctl("start", name, json=True).data["action"]["result"] == "skipped"
    assert hld.container_pid(name) == pid

    r = hld.hlctl("restart", name, json=True).data["action"]
    assert (r["action"], r["result"]) == ("restart", "ok")
    assert hld.state(name) == "RUNNING"
    assert hld.container_pid(name) not in (None, pid)

    actions = [(e["action"], e["result"]) for e in hld.history(name)]
    for a in (("stop", "ok"), ("start", "ok"), ("restart", "ok")):
        assert a in actions, actions
    users = {e.get("user") for e in hld.history(name) if e["action"] in ("stop", "restart")}
    assert users == {"root"}


def test_start_brings_up_requirements(hld):
    db, app = hld.name("db"), hld.name("app")
    hld.write(db, definition())
    hld.write(app, definition(requires=[db]))
    hld.apply()
    hld.hlctl("stop", app)
    hld.hlctl("stop", db)
    assert hld.containers(running=True) == []
    hld.hlctl("start", app)
    assert hld.state(db) == "RUNNING"
    assert hld.state(app) == "RUNNING"


def test_destroy(hld):
    name, other = hld.name("gone"), hld.name("stays")
    hld.write(name, definition())
    hld.write(other, definition())
    hld.apply()

    # Without --yes and without a terminal to ask on, destroy refuses.
    r = hld.hlctl("destroy", name, check=False)
    assert r.rc == 2, r
    assert r.err.strip(), r
    assert hld.state(name) == "RUNNING"

    r = hld.hlctl("destroy", name, "--yes", json=True).data["action"]
    assert (r["service"], r["action"], r["result"]) == (name, "destroy", "ok")
    assert hld.containers() == [other]
    assert not (hld.lxcpath / name).exists()
    assert name not in hld.services()
    assert hld.hlctl("show", name, check=False).rc == 1
    # History stays.
    events = hld.history(name)
    assert ("destroy", "ok") in [(e["action"], e["result"]) for e in events]
    assert hld.count("revisions") == 2
    # A reconcile does not bring it back; the other service is untouched.
    assert hld.hlctl("reconcile", json=True).data["actions"] == []
    assert hld.containers() == [other]
    assert hld.state(other) == "RUNNING"


def test_prune(hld):
    keep, drop = hld.name("keep"), hld.name("drop")
    hld.write(keep, definition())
    path = hld.write(drop, definition())
    hld.apply()
    path.unlink()
    # Without --prune a missing file destroys nothing.
    assert hld.apply().data["actions"] == []
    assert sorted(hld.containers()) == sorted([keep, drop])
    r = hld.hlctl("apply", hld.defs, "--prune", json=True).data
    assert [(a["service"], a["action"], a["result"]) for a in r["actions"]] == [(drop, "destroy", "ok")]
    assert hld.containers() == [keep]


def test_an_apply_that_adds_and_prunes_keeps_every_service_once(hld):
    """The order the apply computed names the node as it will be, without what it prunes:
    putting the services in that order left one of them twice and the pruned one out of
    the list (freed at exit twice: the sanitized build aborted)."""
    old, new = hld.name("old"), hld.name("new")
    path = hld.write(old, definition(state="stopped"))
    hld.apply()
    path.unlink()
    hld.write(new, definition(state="stopped"))
    hld.hlctl("apply", hld.defs, "--prune")
    assert sorted(hld.services()) == [new]
    assert [s["name"] for s in hld.hlctl("status", json=True).data["services"]] == [new]
    hld.hlctl("reconcile")
    assert hld.stop() == 0, hld.log_tail(20)
    hld.start()
    assert sorted(hld.services()) == [new]


def test_destroy_of_a_required_service_says_which_requires_it(hld):
    """The reason was lost ("io.hl.Destroy failed with the error io.hl.Busy"): an empty
    message parameter overwrote it."""
    db, web = hld.name("db"), hld.name("web")
    hld.write(db, definition())
    hld.write(web, definition(requires=[db]))
    hld.apply()
    r = hld.hlctl("destroy", db, "--yes", check=False)
    assert r.rc == 1, r
    assert r.err.strip() == "hlctl: %s requires %s: destroy %s first" % (web, db, web), r
    reply = hld.call("io.hl.Destroy", {"name": db})
    assert reply["error"] == "io.hl.Busy", reply
    assert reply["parameters"]["message"] == "%s requires %s: destroy %s first" % (web, db, web), reply
    assert hld.state(db) == "RUNNING"


def test_each_stored_revision_is_an_apply_event(hld):
    name = hld.name("rev")
    hld.write(name, definition())
    hld.apply()
    hld.write(name, definition(memory="96M"))
    hld.apply()
    hld.apply()  # unchanged: no revision, no event
    applied = hld.hlctl("history", "--action", "apply", json=True).data["events"]
    assert [(e["service"], e["result"]) for e in applied] == [(name, "ok"), (name, "ok")], applied
    assert applied[0]["reason"].startswith("revision 1 from ") and applied[1]["reason"].startswith("revision 2 from ")
    assert all(e["user"] == "root" for e in applied), applied
    # In the same run as the actions it led to.
    runs = {e["run"] for e in hld.history(name) if e["action"] in ("apply", "create")}
    assert len(runs) == 1 or all(r is not None for r in runs)


def _clean_stop_marker(hld, short):
    """A service whose init writes a file into a host directory when it is shut down
    cleanly (busybox init's ::shutdown: actions run on the halt signal, not on a kill)."""
    name = hld.name(short)
    seen = hld.dir / ("%s-shutdown" % short)
    seen.mkdir()
    hld.write(name, definition(extra_container="Mount=%s:/seen\n"
                                                "Provision=echo '::shutdown:/bin/touch /seen/clean' >> /etc/inittab"
                                                " && kill -HUP 1" % seen))
    hld.apply()
    return name, seen / "clean"


def test_stop_force_and_timeout(hld):
    name, clean = _clean_stop_marker(hld, "stopper")
    r = hld.hlctl("stop", name, "--force", json=True)
    assert r.data["action"]["result"] == "ok" and r.data["action"]["duration_ms"] < 1000, r.data
    assert hld.state(name) == "STOPPED" and not clean.exists()
    hld.hlctl("start", name)
    r = hld.hlctl("stop", name, "--timeout", "1", json=True)
    # busybox init takes about 2 s to shut down: the timeout cuts it to 1 s, then a kill.
    assert 900 <= r.data["action"]["duration_ms"] < 1900, r.data
    assert hld.state(name) == "STOPPED"
    hld.hlctl("start", name)
    if clean.exists():
        clean.unlink()
    hld.hlctl("restart", name, "--force")
    assert hld.state(name) == "RUNNING" and not clean.exists()
    # Bad values are refused by hlctl and by hld.
    assert hld.hlctl("stop", name, "--timeout", "soon", check=False).rc == 2
    assert hld.hlctl("start", name, "--force", check=False).rc == 2
    reply = hld.call("io.hl.Stop", {"name": name, "timeout": -3})
    assert reply["error"] == "io.hl.InvalidArgument" and reply["parameters"]["parameter"] == "timeout", reply


def test_destroy_of_a_running_service_stops_it_cleanly_first(hld):
    name, clean = _clean_stop_marker(hld, "dclean")
    hld.hlctl("destroy", name, "--yes")
    assert clean.exists(), "destroy killed the container without a clean shutdown"
    assert name not in hld.containers()
    forced, clean2 = _clean_stop_marker(hld, "dforce")
    hld.hlctl("destroy", forced, "--yes", "--force")
    assert not clean2.exists()
    assert forced not in hld.containers()
