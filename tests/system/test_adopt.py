# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl adopt: a container another tool made in hld's lxcpath (lxc-create here, running
with a memory limit) taken under management without a restart: revision 1 from its live
config, the same init pid, and the next plan empty; then managed like any other. Names
that are Proxmox VMIDs, hld's own containers and missing ones are refused, nothing changed."""

import os
import subprocess

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


def other_lxc(hld, name):
    """The -P/-n arguments of the lxc tools for name in a second lxcpath of the test's."""
    return ["-P", str(hld.dir / "other-lxc"), "-n", name]


def make_in_other_lxcpath(hld, name, config_lines, start=True):
    """A container made by lxc-create in that second lxcpath: (the lxcpath, other_lxc)."""
    other = hld.dir / "other-lxc"
    other.mkdir(exist_ok=True)
    lxc = other_lxc(hld, name)
    config = hld.dir / "other.conf"
    config.write_text("lxc.net.0.type = empty\n" + config_lines)
    subprocess.run(["lxc-create"] + lxc + ["-t", "busybox", "-f", str(config)], check=True, capture_output=True)
    if start:
        subprocess.run(["lxc-start"] + lxc + ["-d"], check=True, capture_output=True)
    return other, lxc


def remove_from_other_lxcpath(lxc):
    subprocess.run(["lxc-stop"] + lxc + ["-k"], capture_output=True)
    subprocess.run(["lxc-destroy"] + lxc + ["-f"], capture_output=True)


def test_adopt_from_another_lxcpath_moves_it_in(hld):
    """A container of another lxcpath (lxc-create's default place, say): moved into hld's by
    a rename, its config's paths with it, stopped for that only with --yes and started
    again; a refusal leaves it where it was, running."""
    name = hld.name("old")
    lxc = other_lxc(hld, name)
    try:
        other, lxc = make_in_other_lxcpath(hld, name, "lxc.cgroup.memory.limit_in_bytes = 67108864\n"
                                                      "lxc.cgroup2.memory.max = 67108864\n")
        (other / name / "rootfs" / "kept").write_text("its own file\n")
        before = hld.snapshot()

        # Running, and no --yes: refused, nothing moved, still running.
        r = hld.hlctl("adopt", name, "--lxcpath", other, check=False)
        assert r.rc == 1 and "moving it into hld's lxcpath stops it" in r.err, r
        assert (other / name).is_dir() and not (hld.lxcpath / name).exists()
        assert "RUNNING" in subprocess.run(["lxc-info"] + lxc + ["-s"], capture_output=True, text=True).stdout
        assert hld.snapshot() == before

        r = hld.hlctl("adopt", name, "--lxcpath", other, "--yes")
        assert not (other / name).exists() and (hld.lxcpath / name / "rootfs" / "kept").read_text() == "its own file\n"
        text = (hld.lxcpath / name / "config").read_text()
        assert str(other) not in text and "lxc.rootfs.path = dir:%s/%s/rootfs" % (hld.lxcpath, name) in text, text
        assert not (hld.lxcpath / name / "hl-moving").exists()
        s = hld.services()[name]
        assert s["revision"] == 1 and s["desired"] == "running" and hld.state(name) == "RUNNING", s
        assert hld.memory_limit(name) == 64 << 20
        assert hld.hlctl("plan", json=True).data["actions"] == []

        # hld's own lxcpath by another spelling, or one that has no such container: refused.
        r = hld.hlctl("adopt", hld.name("none"), "--lxcpath", other, "--yes", check=False)
        assert r.rc == 1 and "there is no container" in r.err, r
        r = hld.hlctl("adopt", hld.name("none"), "--lxcpath", str(hld.lxcpath) + "/.", check=False)
        assert r.rc == 1 and "hld's own lxcpath" in r.err, r
    finally:
        remove_from_other_lxcpath(lxc)


def test_an_adoption_refused_after_the_move_moves_it_back(hld):
    """1.5 cores cannot be said: refused after the move, so it goes back, and runs again."""
    name = hld.name("odd")
    lxc = other_lxc(hld, name)
    try:
        other, lxc = make_in_other_lxcpath(hld, name, "lxc.cgroup.cpu.cfs_quota_us = 150000\n"
                                                      "lxc.cgroup.cpu.cfs_period_us = 100000\n"
                                                      "lxc.cgroup2.cpu.max = 150000 100000\n")
        original = (other / name / "config").read_text()
        r = hld.hlctl("adopt", name, "--lxcpath", other, "--yes", check=False)
        assert r.rc == 1 and "hl would not leave %s as it is" % name in r.err, r
        assert not (hld.lxcpath / name).exists() and (other / name / "config").read_text() == original
        assert sorted(p.name for p in (other / name).iterdir()) == ["config", "rootfs"]
        wait_for("running again", lambda: "RUNNING" in subprocess.run(
            ["lxc-info"] + lxc + ["-s"], capture_output=True, text=True).stdout, 20)
        assert name not in hld.services()
    finally:
        remove_from_other_lxcpath(lxc)


def test_a_move_a_kill_interrupted_is_finished_by_the_next_adopt(hld):
    """The state a SIGKILL of hld between ct_move's rename and its config rewrite leaves
    (made here by hand, as the two steps are one call): the marker and the old paths. The
    next adopt of that name finishes the move, then adopts."""
    name = hld.name("half")
    other, _ = make_in_other_lxcpath(hld, name, "", start=False)
    (other / name / "hl-moving").write_text(str(other / name))
    os.rename(other / name, hld.lxcpath / name)
    assert str(other) in (hld.lxcpath / name / "config").read_text()
    hld.hlctl("adopt", name)
    assert str(other) not in (hld.lxcpath / name / "config").read_text()
    assert not (hld.lxcpath / name / "hl-moving").exists()
    assert hld.services()[name]["desired"] == "stopped"
    hld.hlctl("start", name)
    assert hld.state(name) == "RUNNING"


def test_a_move_whose_config_names_another_path_is_undone(hld):
    """The container was made through a symlink to its lxcpath, and is adopted by the real
    path: the config's rootfs would still name the old place, so the move is undone, the
    container as it was, and the error says why."""
    name = hld.name("link")
    lxc = other_lxc(hld, name)
    try:
        other, lxc = make_in_other_lxcpath(hld, name, "", start=False)
        link = hld.dir / "other-link"
        link.symlink_to(other)
        # Made again through the link: its config names the link's path.
        remove_from_other_lxcpath(lxc)
        lxc = ["-P", str(link), "-n", name]
        subprocess.run(["lxc-create"] + lxc + ["-t", "busybox", "-f", str(hld.dir / "other.conf")], check=True,
                       capture_output=True)
        original = (other / name / "config").read_text()
        assert str(link) in original
        r = hld.hlctl("adopt", name, "--lxcpath", other, check=False)
        assert r.rc == 1 and "names no directory" in r.err, r
        assert (other / name / "config").read_text() == original and not (hld.lxcpath / name).exists()
        assert not (other / name / "hl-moving").exists()
        assert name not in hld.services()
    finally:
        remove_from_other_lxcpath(lxc)
