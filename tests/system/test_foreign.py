# SPDX-License-Identifier: LGPL-2.1-or-later
"""Coexistence: a container another tool made in hld's lxcpath (here by lxc-create, as
Proxmox's pct or a person would) is listed as foreign and never changed: not by apply
--prune, not by reconcile, not by a definition that happens to have its name."""

from conftest import definition, wait_for


def make_foreign(hld, name, extra=""):
    """A running container made by lxc-create, with extra config lines."""
    # No network (the node's default config would link lxcbr0, which this machine lacks).
    config = hld.dir / "foreign.conf"
    config.write_text("lxc.net.0.type = empty\n" + extra)
    hld.lxc("create", "-n", name, "-t", "busybox", "-f", config)
    hld.lxc("start", "-n", name, "-d")
    wait_for("%s running" % name, lambda: hld.state(name) == "RUNNING", 30)
    return hld.container_pid(name)


def test_a_foreign_container_is_listed_and_never_touched(hld):
    other = hld.name("other")
    pid = make_foreign(hld, other)
    config = (hld.lxcpath / other / "config").read_text()
    web = hld.name("web")
    hld.write(web, definition())
    hld.hlctl("apply", "--prune", hld.defs)
    hld.hlctl("reconcile")
    listed = hld.hlctl("status", json=True).data
    assert [s["name"] for s in listed["services"]] == [web]
    wait_for("the foreign container listed",
             lambda: hld.hlctl("status", json=True).data.get("foreign") == [{"name": other, "state": "RUNNING"}], 10)
    table = hld.hlctl("status").out
    assert other in table and "not hl's" in table, table
    # A prune of everything: the service goes, the foreign container stays as it was.
    (hld.defs / ("%s.conf" % web)).unlink()
    hld.write(hld.name("keep"), definition(state="stopped"))
    hld.hlctl("apply", "--prune", hld.defs)
    assert web not in hld.services()
    assert hld.state(other) == "RUNNING" and hld.container_pid(other) == pid
    assert (hld.lxcpath / other / "config").read_text() == config
    assert not (hld.lxcpath / other / "hl-origin").exists()


def test_a_definition_with_a_foreign_containers_name_is_held(hld):
    name = hld.name("taken")
    pid = make_foreign(hld, name)
    config = (hld.lxcpath / name / "config").read_text()
    hld.write(name, definition(memory="96M", state="stopped"))
    hld.apply()
    plan = hld.hlctl("plan", json=True).data["actions"]
    assert [(a["service"], a["action"]) for a in plan] == [(name, "hold")], plan
    assert "not hl's: the container %s was not made by hld" % name in plan[0]["reason"], plan
    hld.hlctl("reconcile", check=False)
    # Wanted stopped with another memory limit: neither happened.
    assert hld.state(name) == "RUNNING" and hld.container_pid(name) == pid
    assert (hld.lxcpath / name / "config").read_text() == config
    # Destroying the service forgets it and leaves the container alone.
    hld.hlctl("destroy", name, "--yes")
    assert name not in hld.services()
    assert hld.state(name) == "RUNNING" and hld.container_pid(name) == pid


def test_restore_force_never_replaces_a_foreign_container(hld):
    other = hld.name("other")
    pid = make_foreign(hld, other)
    mine = hld.name("mine")
    hld.write(mine, definition(state="stopped"))
    hld.apply()
    archive = hld.hlctl("backup", mine, json=True).data["archive"]
    r = hld.hlctl("restore", archive, "--as", other, "--force", check=False)
    assert r.rc == 1 and "another tool's container" in r.err, r
    assert hld.state(other) == "RUNNING" and hld.container_pid(other) == pid
    assert not (hld.lxcpath / other / "hl-origin").exists()
