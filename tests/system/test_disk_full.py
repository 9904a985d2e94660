# SPDX-License-Identifier: LGPL-2.1-or-later
"""A full disk during a write loses nothing already committed: hld's state directory on a
small tmpfs, filled by applies until SQLite gets ENOSPC."""

import os
import subprocess

import pytest

from conftest import definition


@pytest.fixture
def small_state(hld):
    hld.stop()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "hl-test-full", str(hld.state_dir)],
                   check=True)
    try:
        hld.start()
        yield hld
    finally:
        hld.stop()
        subprocess.run(["umount", str(hld.state_dir)], check=False)


def test_disk_full_loses_nothing(small_state):
    h = small_state
    name = h.name("big")
    committed = 0
    refused = None
    for i in range(60):
        # 40 KB per revision (lines stay under the 16 KiB limit): the tmpfs fills quickly.
        bulk = "\n".join("Environment=K%d=%d%s" % (k, i, "x" * 10000) for k in range(4))
        h.write(name, definition(state="stopped", extra_container=bulk))
        r = h.hlctl("apply", h.defs, json=True, check=False)
        if r.rc != 0:
            refused = r
            break
        committed += 1
    assert refused is not None, "the 512k tmpfs never filled"
    assert committed >= 2
    # One clear line, and hld is still there and answering.
    assert len(refused.err.strip().splitlines()) == 1, refused
    assert "database or disk is full" in refused.err, refused
    assert h.pid is not None
    assert h.services()[name]["revision"] == committed
    # Space again (the tmpfs grows): hld goes on, nothing committed was lost.
    subprocess.run(["mount", "-o", "remount,size=16m", str(h.state_dir)], check=True)
    h.write(name, definition(state="stopped", description="after"))
    h.apply()
    revisions = h.hlctl("show", name, json=True).data["revisions"]
    assert [r["revision"] for r in revisions] == list(range(1, committed + 2))
    h.stop()
    out = subprocess.run(["sqlite3", str(h.db_path), "PRAGMA integrity_check"], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out
    h.start()


def fill(directory):
    """Fills the file system of directory to the last byte; returns the filler's path."""
    path = directory / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return path


def test_full_disk_errors_say_why(small_state):
    """On a full disk every refusal carries SQLite's reason, hlctl health does not call an
    unrecorded sweep a success, and a restarted hld still shows the containers' real state."""
    h = small_state
    name = h.name("web")
    h.write(name, definition(extra_container="[Health]\nCheck=exec /bin/true\nInterval=1h\nTimeout=5s"))
    h.apply()
    assert h.hlctl("health", check=False).rc == 0
    filler = fill(h.state_dir)
    try:
        r = h.hlctl("stop", name, check=False)
        assert r.rc == 1 and "database or disk is full" in r.err, r
        assert h.state(name) == "RUNNING"
        r = h.hlctl("health", check=False)
        assert r.rc == 1, r
        assert "could not be recorded" in r.err and "database or disk is full" in r.err, r
        # A restart on the full disk: hld comes up, and status shows what runs.
        h.restart()
        s = h.services()[name]
        assert s["state"] == "RUNNING", s
        r = h.hlctl("reconcile", check=False)
        assert r.rc == 1 and "database or disk is full" in r.err, r
    finally:
        filler.unlink()
    h.hlctl("reconcile")
    h.hlctl("stop", name)
    assert h.state(name) == "STOPPED"


def test_failed_starts_leave_no_cgroups(hld):
    """A start that fails (here: a Mount= source that does not exist) left liblxc's empty
    lxc.monitor.NAME cgroups behind in every hierarchy, for good."""
    h = hld
    name = h.name("nomnt")
    h.write(name, definition(extra_container="Mount=%s:/data" % (h.dir / "no-such-dir")))
    r = h.apply(check=False)
    assert r.rc == 1, r
    for _ in range(3):
        h.hlctl("start", name, check=False)
    left = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "4", "-name", "lxc.*.%s*" % name],
                          capture_output=True, text=True).stdout.split()
    assert left == [], left
