# SPDX-License-Identifier: LGPL-2.1-or-later
"""Access control: anyone may read, only root (or the admin group) may change."""

import errno
import json
import os
import re
import stat
import subprocess

import pytest

from conftest import NOBODY, Varlink, admin_group, definition


@pytest.fixture
def running(hld):
    name = hld.name("web")
    hld.write(name, definition())
    hld.apply()
    hld.web = name
    return hld


def test_reads_work_for_anyone(running):
    h = running
    status = h.hlctl("status", json=True, user=NOBODY).data
    assert [s["name"] for s in status["services"]] == [h.web]
    assert status["services"][0]["state"] == "RUNNING"
    assert h.hlctl("status", user=NOBODY).out.strip()
    assert h.hlctl("show", h.web, json=True, user=NOBODY).data["service"]["name"] == h.web
    assert h.hlctl("history", json=True, user=NOBODY).data["events"]
    assert h.hlctl("history", h.web, json=True, user=NOBODY).data["events"]
    assert h.hlctl("version", user=NOBODY).out.strip()
    assert "actions" in h.hlctl("plan", json=True, user=NOBODY).data


def test_mutations_are_denied(running):
    h = running
    changed = h.write(h.web, definition(memory="96M"), directory=h.dir / "nobody")
    fresh = h.write(h.name("new"), definition(), directory=h.dir / "nobody")
    before = h.snapshot()
    for args in (["apply", changed, fresh], ["start", h.web], ["stop", h.web],
                 ["restart", h.web], ["destroy", h.web, "--yes"], ["reconcile"]):
        r = h.hlctl(*args, check=False, user=NOBODY)
        assert r.rc == 1, r
        assert re.search(r"permission|denied|needs root|not allowed", r.err, re.I), r
        assert len(r.err.strip().splitlines()) == 1, r
        assert h.snapshot() == before, args
    assert h.state(h.web) == "RUNNING"
    assert h.services()[h.web]["limits"]["memory"] == 64 * 1024 * 1024


def call_as(path, uid, method, parameters, groups=()):
    """One raw call made by a child that dropped to uid (with groups): the reply, or the
    errno name when it cannot even connect."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups(list(groups))
            os.setgid(groups[0] if groups else uid)
            os.setuid(uid)
            try:
                with Varlink(path, timeout=10) as v:
                    v.send({"method": method, "parameters": parameters})
                    out = v.recv()
            except OSError as e:
                out = {"connect": errno.errorcode.get(e.errno, str(e.errno))}
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


def test_two_sockets(running):
    """The control socket is for root and the admin group (0660); the read-only socket
    (0666) answers anyone and refuses every change, whoever asks."""
    h = running
    ro = h.dir / "hld-ro.sock"
    assert stat.S_IMODE(os.stat(h.socket).st_mode) == 0o660
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o666
    assert call_as(h.socket, NOBODY, "io.hl.List", {}) == {"connect": "EACCES"}
    reply = call_as(ro, NOBODY, "io.hl.List", {})
    assert [s["name"] for s in reply["parameters"]["services"]] == [h.web], reply
    reply = call_as(ro, NOBODY, "io.hl.Stop", {"name": h.web})
    assert reply.get("error") == "io.hl.ReadOnly", reply
    # Even root is refused changes on the read-only socket.
    with Varlink(ro, timeout=10) as v:
        assert v.call("io.hl.Stop", {"name": h.web}).get("error") == "io.hl.ReadOnly"
    assert h.state(h.web) == "RUNNING"


def test_peer_credentials_are_checked_too(running):
    """Were the control socket opened to everyone, SO_PEERCRED still refuses a stranger."""
    h = running
    os.chmod(h.socket, 0o666)
    reply = call_as(h.socket, NOBODY, "io.hl.Stop", {"name": h.web})
    assert reply and reply.get("error") == "io.hl.PermissionDenied", reply
    assert reply["parameters"].get("method") in ("Stop", "io.hl.Stop"), reply
    assert reply["parameters"].get("message"), reply
    assert h.state(h.web) == "RUNNING"


def test_admin_group_may_change(hld):
    """A member of hld's admin group (not root) may change the node, and the history says who."""
    with admin_group(hld) as gid:
        assert os.stat(hld.socket).st_gid == gid
        name = hld.name("adm")
        hld.write(name, definition())
        hld.apply()
        uid = 45678  # no such user: hld names it by number
        reply = call_as(hld.socket, uid, "io.hl.Stop", {"name": name}, groups=[gid])
        assert "error" not in reply, reply
        assert hld.state(name) == "STOPPED"
        stops = [e for e in hld.history(name) if e["action"] == "stop"]
        assert stops and stops[-1].get("uid") == uid and stops[-1].get("user") == "uid %d" % uid, stops
        # Without the group, the same uid is refused.
        assert call_as(hld.socket, uid, "io.hl.Start", {"name": name}) == {"connect": "EACCES"}


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_state_dir_and_database_are_private(hld_dirs):
    """A state directory that already exists as 0755 no longer means a database anyone
    can read (every definition, and any secret in Environment=)."""
    h = hld_dirs
    os.chmod(h.state_dir, 0o755)
    h.start()
    name = h.name("db")
    h.write(name, definition(extra_container="Environment=PASSWORD=hunter2"))
    h.apply()
    assert _mode(h.state_dir) == 0o700
    for suffix in ("", "-wal", "-shm"):
        path = str(h.db_path) + suffix
        if os.path.exists(path):
            assert _mode(path) == 0o600, (path, oct(_mode(path)))
    assert os.path.exists(str(h.db_path) + "-wal")
    r = subprocess.run(["cat", str(h.db_path)], preexec_fn=lambda: (os.setgroups([]), os.setgid(NOBODY),
                                                                     os.setuid(NOBODY)),
                       capture_output=True)
    assert r.returncode != 0 and b"hunter2" not in r.stdout


def test_database_made_open_by_an_older_hld_is_closed_again(hld_dirs):
    h = hld_dirs
    h.start()
    h.stop()
    for suffix in ("", "-wal", "-shm"):
        path = str(h.db_path) + suffix
        if os.path.exists(path):
            os.chmod(path, 0o644)
    h.start()
    assert _mode(h.db_path) == 0o600


@pytest.mark.parametrize("which", ["lxcpath", "state_dir", "parent"])
def test_directories_others_can_write_are_refused(hld_dirs, which):
    h = hld_dirs
    target = {"lxcpath": h.lxcpath, "state_dir": h.state_dir, "parent": h.dir}[which]
    os.chmod(target, 0o777)
    with pytest.raises(AssertionError) as e:
        h.start(timeout=5)
    assert "can be written by other users" in str(e.value) or "another user can change" in str(e.value), str(e.value)
    os.chmod(target, 0o755)


def test_directories_of_another_user_are_refused(hld_dirs):
    h = hld_dirs
    os.chown(h.lxcpath, NOBODY, NOBODY)
    with pytest.raises(AssertionError) as e:
        h.start(timeout=5)
    assert "belongs to uid %d" % NOBODY in str(e.value), str(e.value)
    os.chown(h.lxcpath, 0, 0)


@pytest.mark.parametrize("how", ["symlink", "other-owner"])
def test_planted_container_directory_is_never_used(hld, how):
    """Another user plants a container where a service's would go, with a hook that runs as
    root at start: hld neither starts it nor writes through it."""
    h = hld
    name = h.name("plant")
    marker = h.dir / "hook-ran"
    planted = h.dir / "planted"
    planted.mkdir()
    (planted / "rootfs").mkdir()
    config = "lxc.rootfs.path = dir:%s/rootfs\nlxc.uts.name = x\nlxc.hook.pre-start = /bin/touch %s\n" % (planted, marker)
    (planted / "config").write_text(config)
    where = h.lxcpath / name
    if how == "symlink":
        os.symlink(planted, where)
    else:
        where.mkdir()
        (where / "rootfs").mkdir()
        (where / "config").write_text(config.replace(str(planted), str(where)))
        os.chown(where, NOBODY, NOBODY)
    try:
        h.write(name, definition())
        r = h.apply(check=False)
        held = [a for a in r.data["actions"] if a["service"] == name]
        assert [a["action"] for a in held] == ["hold"], r.data
        assert "not touched" in held[0]["reason"], held
        assert h.services()[name]["condition"] == "unsafe"
        for verb in ("start", "restart", "stop"):
            h.hlctl(verb, name, check=False)
        h.hlctl("destroy", name, "--yes", check=False)
        assert not marker.exists()
        assert (planted / "config").read_text() == config
        assert h.state(name) != "RUNNING"
    finally:
        if how == "symlink":
            os.unlink(where)
        else:
            subprocess.run(["rm", "-rf", str(where)])
