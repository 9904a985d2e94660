# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl adopt: a container another tool made in hld's lxcpath (lxc-create here, running
with a memory limit) taken under management without a restart: revision 1 from its live
config, the same init pid, and the next plan empty; then managed like any other. Names
that are Proxmox VMIDs, hld's own containers and missing ones are refused, nothing changed."""

from conftest import definition, wait_for
from test_foreign import make_foreign


def test_adopt_keeps_it_running_and_the_next_plan_is_empty(hld):
    name = hld.name("legacy")
    pid = make_foreign(hld, name, "lxc.cgroup.memory.limit_in_bytes = 67108864\n"
                                  "lxc.cgroup2.memory.max = 67108864\n")
    out = hld.dir / "adopted"
    out.mkdir()
    r = hld.hlctl("adopt", name, "--to", out)
    assert "wrote %s/%s.conf" % (out, name) in r.out, r
    assert "differs" not in r.err, r
    assert hld.container_pid(name) == pid and hld.state(name) == "RUNNING"
    s = hld.services()[name]
    assert s["revision"] == 1 and s["desired"] == "running", s
    text = (out / ("%s.conf" % name)).read_text()
    assert "Template=adopted\n" in text and "Memory=67108864\n" in text, text
    # Nothing to do: what hld wrote describes the container as it is.
    assert hld.hlctl("plan", json=True).data["actions"] == []
    assert hld.hlctl("plan", out, json=True).data["actions"] == []
    assert hld.hlctl("status", json=True).data.get("foreign") in (None, [])
    # Managed from now on: a change of the definition is planned and done live.
    (out / ("%s.conf" % name)).write_text(text.replace("Memory=67108864", "Memory=96M"))
    hld.hlctl("apply", out)
    assert hld.memory_limit(name) == 96 << 20 and hld.container_pid(name) == pid
    hld.hlctl("stop", name)
    assert hld.state(name) == "STOPPED"
    # It cannot be made again: a destroy says what a recreate would need.
    hld.hlctl("destroy", name, "--yes")
    assert name not in hld.services()


def test_a_container_hl_would_change_is_not_adopted(hld):
    """1.5 cores is a quota hl cannot say: the first plan would reset it, so it is refused,
    and the container is another tool's again."""
    name = hld.name("odd")
    pid = make_foreign(hld, name, "lxc.cgroup.cpu.cfs_quota_us = 150000\nlxc.cgroup.cpu.cfs_period_us = 100000\n"
                                  "lxc.cgroup2.cpu.max = 150000 100000\n")
    r = hld.hlctl("adopt", name, check=False)
    assert r.rc == 1 and "hl would not leave %s as it is" % name in r.err and "cores" in r.err, r
    assert name not in hld.services() and hld.container_pid(name) == pid
    assert not (hld.lxcpath / name / "hl-origin").exists() and not (hld.lxcpath / name / "hl-adopting").exists()
    hld.hlctl("reconcile")  # the foreign containers are looked for after each run
    wait_for("listed as foreign", lambda: [f["name"] for f in hld.hlctl("status", json=True).data.get("foreign", [])]
             == [name], 10)


def test_bad_adoptions_change_nothing(hld):
    web = hld.name("web")
    hld.write(web, definition(state="stopped"))
    hld.apply()
    before = hld.snapshot()
    cases = [
        ("105", "is a Proxmox VMID", "import pct 105 --migrate"),
        (web, "a service of that name exists", ""),
        (hld.name("nosuch"), "there is no container", ""),
    ]
    for name, why, hint in cases:
        r = hld.hlctl("adopt", name, check=False)
        assert r.rc != 0 and why in r.err and hint in r.err, (name, r)
    assert hld.snapshot() == before
