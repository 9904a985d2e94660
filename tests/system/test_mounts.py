# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mount=: host directories inside a container, read-write and read-only, and targets that
try to lead out of the container's root file system."""

import json
import os

from conftest import definition


def inside(h, name, *argv, check=True):
    return h.lxc("attach", "-n", name, "--", *argv, check=check)


def test_mounts_are_seen_inside(hld):
    h = hld
    name = h.name("mnt")
    rw, ro = h.dir / "rw", h.dir / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "hello").write_text("from the host\n")
    h.write(name, definition(extra_container="Mount=%s:/srv/data\nMount=%s:/srv/conf:ro" % (rw, ro)))
    h.apply()
    assert inside(h, name, "cat", "/srv/conf/hello").stdout == "from the host\n"
    inside(h, name, "sh", "-c", "echo made inside > /srv/data/out")
    assert (rw / "out").read_text() == "made inside\n"
    assert inside(h, name, "sh", "-c", "echo x > /srv/conf/nope", check=False).returncode != 0
    assert not (ro / "nope").exists()


def test_mount_target_through_a_symlink_stays_inside(hld):
    """A symlink inside the container (esc -> a host directory) and Mount=SRC:/esc/sub:
    liblxc's create=dir would make SUB in the host's directory, as root. hld makes mount
    targets itself, never following a link there, and says which component it refused."""
    h = hld
    name = h.name("esc")
    outside = h.dir / "outside"
    outside.mkdir()
    src = h.dir / "src"
    src.mkdir()
    h.write(name, definition())
    h.apply()
    rootfs = h.rootfs(name)
    os.symlink(str(outside), str(rootfs / "esc"))
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), str(rootfs / "rel"))
    for target in ("/esc/sub", "/rel/sub"):
        h.write(name, definition(extra_container="Mount=%s:%s" % (src, target)))
        r = h.apply(check=False)
        assert r.rc == 1, r
        failed = [a for a in json.loads(r.out)["actions"] if a.get("result") == "failed"]
        assert failed, r
        error = failed[0]["error"]
        assert "Mount= target %s" % target in error and "symbolic link" in error, error
        assert "/%s" % target.split("/")[1] in error, error
        assert os.listdir(outside) == [], os.listdir(outside)
        assert any(e.get("error") == error for e in h.history(name)), h.history(name)
    # A target that does not exist yet is made inside, owned like its parent.
    h.write(name, definition(extra_container="Mount=%s:/new/deep/target" % src))
    h.apply()
    assert h.state(name) == "RUNNING"
    assert (rootfs / "new" / "deep" / "target").is_dir()
    assert os.listdir(outside) == []
