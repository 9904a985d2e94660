# SPDX-License-Identifier: LGPL-2.1-or-later
"""Backups with their data and their modes, against real busybox containers: the data of a
Mount=…:backup directory goes into the archive and comes back with the restore (what was
there kept aside); --mode stop stops the service for the archive and starts it again; a
stopped service is archived from its own files with its starts held meanwhile; restores
that would put data where it does not belong are refused with nothing changed."""

import json
import os
import signal
import subprocess

from conftest import HLCTL, SANITIZED, definition, wait_for
from test_backup import hostile_archive, lxc_entries


def data_definition(data, state=None):
    return definition(state=state, extra_container="\n".join([
        "Mount=%s:/data:backup" % data,
        "",
        "[Health]",
        "Check=exec /bin/grep -q good /data/state",
        "Interval=1s",
    ]))


def tar_names(archive):
    return subprocess.run(["tar", "--zstd", "-tf", archive], check=True, capture_output=True,
                          text=True).stdout.split()


def manifest(archive):
    with subprocess.Popen(["tar", "--zstd", "-xOf", archive, "hl-backup.json"], stdout=subprocess.PIPE) as p:
        return json.loads(p.stdout.read())


def test_mount_backup_data_comes_back_with_the_restore(hld):
    name = hld.name("data")
    data = hld.dir / "data"
    (data / "sub").mkdir(parents=True)
    (data / "state").write_text("good\n")
    (data / "sub/notes").write_text("kept\n")
    os.chmod(data / "sub/notes", 0o640)
    os.chown(data / "sub/notes", 1234, 5678)
    other = hld.dir / "plain"
    other.mkdir()
    (other / "x").write_text("not backed up\n")
    text = data_definition(data).replace("Mount=%s:/data:backup" % data,
                                         "Mount=%s:/plain\nMount=%s:/data:backup" % (other, data))
    hld.write(name, text)
    hld.apply()
    wait_for("healthy", lambda: hld.services()[name]["health"] == "healthy", 30)
    pid = hld.container_pid(name)

    archive = hld.hlctl("backup", name, json=True).data["archive"]
    assert hld.container_pid(name) == pid  # the snapshot mode: it ran on
    names = tar_names(archive)
    # Mount= line 1 (from 0) is the one marked backup; line 0's data is not in it.
    assert "mounts/1/state" in names and "mounts/1/sub/notes" in names, names
    assert not [n for n in names if n.startswith("mounts/0")], names
    assert manifest(archive)["mode"] == "snapshot"

    hld.hlctl("destroy", name, "--yes", "--force")
    (data / "state").write_text("ruined\n")
    (data / "new-file").write_text("after the backup\n")
    r = hld.hlctl("restore", archive)
    assert "%s is healthy." % name in r.out, r
    assert (data / "state").read_text() == "good\n"
    assert not (data / "new-file").exists()
    st = os.stat(data / "sub/notes")
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 1234, 5678)
    # What was there is kept beside it, never deleted.
    aside = [p for p in os.listdir(hld.dir) if p.startswith("data.before-restore-")]
    assert len(aside) == 1, os.listdir(hld.dir)
    assert (hld.dir / aside[0] / "state").read_text() == "ruined\n"
    assert (hld.dir / aside[0] / "new-file").exists()
    assert not [p for p in os.listdir(hld.dir) if ".hl-restore-" in p]
    assert (other / "x").read_text() == "not backed up\n"
    # The service inside sees the restored data.
    assert hld.sh(name, "cat /data/state").stdout == "good\n"


def test_stop_mode_stops_archives_and_starts_again(hld):
    name = hld.name("stopm")
    data = hld.dir / "data"
    data.mkdir()
    (data / "state").write_text("good\n")
    hld.write(name, data_definition(data))
    hld.apply()
    wait_for("healthy", lambda: hld.services()[name]["health"] == "healthy", 30)
    pid = hld.container_pid(name)

    r = hld.hlctl("backup", name, "--mode", "stop", json=True)
    archive = r.data["archive"]
    assert manifest(archive)["mode"] == "stop"
    assert "mounts/0/state" in tar_names(archive)
    wait_for("running again", lambda: hld.state(name) == "RUNNING" and hld.container_pid(name) != pid, 30)
    wait_for("healthy again", lambda: hld.services()[name]["health"] == "healthy", 30)
    # Stopped cleanly by the backup, archived with no snapshot, then started.
    events = [(e["action"], e["result"]) for e in hld.history(name)]
    assert ("stop", "ok") in events and ("backup", "ok") in events and ("snapshot", "ok") not in events, events
    assert events.index(("stop", "ok")) < events.index(("backup", "ok")), events
    assert events.count(("start", "ok")) == 2, events
    assert hld.hlctl("snapshots", name, json=True).data["snapshots"] == []

    # [Backup] Mode=stop is the schedule's and the default of hlctl backup.
    hld.write(name, data_definition(data) + "\n[Backup]\nMode=stop\n")
    hld.apply()
    pid = hld.container_pid(name)
    archive = hld.hlctl("backup", name, json=True).data["archive"]
    assert manifest(archive)["mode"] == "stop"
    wait_for("running again", lambda: hld.state(name) == "RUNNING" and hld.container_pid(name) != pid, 30)
    bad = hld.hlctl("backup", name, "--mode", "suspend", check=False)
    assert bad.rc != 0 and "mode suspend is not one hld has" in bad.err, bad


def test_stopped_service_is_read_directly_and_its_starts_wait(hld):
    name = hld.name("held")
    hld.write(name, definition(state="stopped"))
    hld.apply()
    with open(hld.rootfs(name) / "root/noise", "wb") as f:
        f.write(os.urandom(384 << 20))
    out = hld.dir / "out"
    out.mkdir()
    env = dict(os.environ, HLD_SOCKET=str(hld.socket))
    backup = subprocess.Popen([str(HLCTL), "--json", "backup", name, "--to", str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for("the archive being written", lambda: [f for f in os.listdir(out) if f.endswith(".tmp")], 60,
             interval=0.02)
    # No snapshot copy: the container's own files are read.
    assert not (hld.lxcpath / name / "snaps").exists() or not os.listdir(hld.lxcpath / name / "snaps")
    r = hld.hlctl("start", name, check=False)
    # A sanitizer build writes the archive on the loop (daemon/work.h): the start is read
    # only once the backup has ended, and simply starts it.
    if not SANITIZED:
        # The start waits for the backup's end, and says so; meanwhile it stays stopped.
        assert r.rc == 1 and "held while a backup reads its files: start when it ends" in r.err, r
        state = hld.state(name)
        if [f for f in os.listdir(out) if f.endswith(".tmp")]:
            assert state == "STOPPED"
    stdout, stderr = backup.communicate(timeout=300)
    assert backup.returncode == 0, stderr
    archive = json.loads(stdout)["archive"]
    assert manifest(archive)["mode"] == "stopped"
    # The start it held is done once the backup ends.
    wait_for("started after the backup", lambda: hld.state(name) == "RUNNING", 30)
    events = [(e["action"], e["result"]) for e in hld.history(name)]
    assert ("snapshot", "ok") not in events, events
    assert "rootfs/root/noise" in tar_names(archive)


def test_restores_that_would_misplace_data_are_refused(hld):
    name = hld.name("own")
    data = hld.dir / "data"
    data.mkdir()
    (data / "state").write_text("good\n")
    hld.write(name, data_definition(data, state="stopped"))
    hld.apply()
    archive = hld.hlctl("backup", name, json=True).data["archive"]
    before = hld.snapshot()
    entries = lxc_entries(hld)

    # Beside the original, under another name: it would take the original's data.
    r = hld.hlctl("restore", archive, "--as", hld.name("copy"), check=False)
    assert r.rc == 1 and "is also %s's" % name in r.err, r
    # A hostile archive whose definition points its data at the host's system.
    evil = hld.dir / "evil.tar"
    text = definition(state="stopped", extra_container="Mount=/etc/hl-test-evil:/data:backup")
    hostile_archive(evil, {"format": 1, "service": hld.name("evil"), "definition": text},
                    [("config", b"lxc.rootfs.path = dir:/x\n"), ("rootfs/x", b"x"), ("mounts/0/passwd", b"x")])
    r = hld.hlctl("restore", evil, check=False)
    assert r.rc == 1 and "which is the host's system: refused" in r.err, r
    # An archive that lacks the data its definition marks for backup.
    lacking = hld.dir / "lacking.tar"
    text = definition(state="stopped", extra_container="Mount=%s/other:/data:backup" % hld.dir)
    hostile_archive(lacking, {"format": 1, "service": hld.name("lack"), "definition": text},
                    [("config", b"lxc.rootfs.path = dir:/x\n"), ("rootfs/x", b"x")])
    r = hld.hlctl("restore", lacking, check=False)
    assert r.rc == 1 and "holds no data for Mount=" in r.err, r
    # Two data directories, one inside the other: a swap of one would move the other.
    nested = hld.dir / "nested.tar"
    text = definition(state="stopped", extra_container="Mount=%s/n:/a:backup\nMount=%s/n/b:/b:backup" % (hld.dir, hld.dir))
    hostile_archive(nested, {"format": 1, "service": hld.name("nest"), "definition": text},
                    [("config", b"lxc.rootfs.path = dir:/x\n"), ("rootfs/x", b"x"), ("mounts/0/f", b"x"),
                     ("mounts/1/f", b"x")])
    r = hld.hlctl("restore", nested, check=False)
    assert r.rc == 1 and "is inside another Mount= directory the backup restores" in r.err, r
    assert lxc_entries(hld) == entries
    assert hld.snapshot() == before
    # An archive's own hld files are never taken from it (they decide what a start removes).
    marked = hld.dir / "marked.tar"
    hostile_archive(marked, {"format": 1, "service": hld.name("mark"), "definition": definition(state="stopped")},
                    [("config", b"lxc.rootfs.path = dir:/x\nlxc.uts.name = x\n"), ("rootfs/x", b"x"),
                     ("hl-adopting", b""), ("hl-restore-data", b"tmp %s/.victim.hl-restore-zzz\n" % str(hld.dir).encode())])
    victim = hld.dir / ".victim.hl-restore-zzz"
    victim.mkdir()
    hld.hlctl("restore", marked, "--no-wait")
    assert not (hld.lxcpath / hld.name("mark") / "hl-adopting").exists()
    assert not (hld.lxcpath / hld.name("mark") / "hl-restore-data").exists()
    assert victim.is_dir()
    victim.rmdir()
    assert not os.path.exists("/etc/hl-test-evil")
    assert not (hld.dir / "other").exists()
    assert not [p for p in os.listdir(hld.dir) if ".hl-restore" in p or "before-restore" in p]
    assert (data / "state").read_text() == "good\n"


def test_kill_while_data_is_restored_leaves_the_data_as_it_was(hld):
    name = hld.name("kdata")
    data = hld.dir / "data"
    data.mkdir()
    (data / "state").write_text("good\n")
    with open(data / "noise", "wb") as f:
        f.write(os.urandom(256 << 20))
    hld.write(name, data_definition(data, state="stopped"))
    hld.apply()
    archive = hld.hlctl("backup", name, json=True).data["archive"]
    hld.hlctl("destroy", name, "--yes", "--force")
    (data / "state").write_text("changed\n")
    env = dict(os.environ, HLD_SOCKET=str(hld.socket))
    restore = subprocess.Popen([str(HLCTL), "restore", archive, "--no-wait"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def unpacking():
        return [p for p in os.listdir(hld.dir) if p.startswith(".data.hl-restore-")]
    wait_for("the data being unpacked", unpacking, 60, interval=0.005)
    os.killpg(hld.pid, signal.SIGKILL)
    hld.proc.wait()
    restore.wait(timeout=30)
    hld.start()
    # Nothing of the restore is left, and the data is as the kill found it.
    assert not unpacking() and not [p for p in os.listdir(hld.dir) if "before-restore" in p]
    assert not [e for e in lxc_entries(hld) if e.startswith(".hl-restore")] and name not in hld.services()
    assert (data / "state").read_text() == "changed\n"
    # And the restore works after it.
    hld.hlctl("restore", archive, "--no-wait")
    assert (data / "state").read_text() == "good\n" and (data / "noise").stat().st_size == 256 << 20
