# SPDX-License-Identifier: LGPL-2.1-or-later
"""Backups against real busybox containers: an archive of a running service that plain tar
reads, destroy, restore (files, definition, running and healthy), restore under another
name and over an existing one, progress, and archives that are truncated or hostile,
refused with nothing changed."""

import io
import json
import os
import signal
import subprocess
import tarfile

from conftest import HLCTL, SANITIZED, definition, wait_for

CHECKED = definition(extra_container="\n".join([
    "Provision=mkdir -p /srv && echo good > /srv/state",
    "",
    "[Health]",
    "Check=exec /bin/grep -q good /srv/state",
    "Interval=1s",
]))



def lxc_entries(hld):
    return sorted(os.listdir(hld.lxcpath))


def test_backup_destroy_restore_brings_the_service_back(hld):
    name = hld.name("bk")
    hld.write(name, CHECKED)
    hld.apply()
    wait_for("healthy", lambda: hld.services()[name]["health"] == "healthy", 30)
    hld.sh(name, "echo precious > /root/data && ln /root/data /root/link")
    pid = hld.container_pid(name)
    out = hld.dir / "backups"
    out.mkdir()

    r = hld.hlctl("backup", name, "--to", out, json=True)
    archive = r.data["archive"]
    assert archive.startswith(str(out) + "/" + name + "-") and archive.endswith(".tar.zst"), r.data
    assert r.data["size"] == os.path.getsize(archive) > 0
    # It ran on: frozen for the snapshot, never stopped; the backup's snapshot is gone.
    assert hld.container_pid(name) == pid
    assert hld.hlctl("snapshots", name, json=True).data["snapshots"] == []
    assert [f for f in os.listdir(out)] == [os.path.basename(archive)]
    # Plain tar reads it: the manifest first, the config, the root file system.
    names = subprocess.run(["tar", "--zstd", "-tf", archive], check=True, capture_output=True,
                           text=True).stdout.split()
    assert names[0] == "hl-backup.json" and "config" in names and "rootfs/root/data" in names, names[:10]
    listed = hld.hlctl("backups", name, "--to", out, json=True).data["backups"]
    assert [b["archive"] for b in listed] == [archive] and listed[0]["protected"] is False

    hld.hlctl("destroy", name, "--yes", "--force")
    assert name not in hld.services() and not (hld.lxcpath / name).exists()
    r = hld.hlctl("restore", archive)
    assert "%s is healthy." % name in r.out, r
    assert hld.state(name) == "RUNNING" and hld.services()[name]["health"] == "healthy"
    root = hld.rootfs(name)
    assert (root / "root/data").read_text() == "precious\n"
    assert os.stat(root / "root/data").st_ino == os.stat(root / "root/link").st_ino  # still one file
    # The definition came back with it, and the container is the one restored, not a new one.
    show = hld.hlctl("show", name, json=True).data
    assert "grep -q good /srv/state" in json.dumps(show), show
    events = [(e["action"], e["result"]) for e in hld.history(name)]
    assert events.count(("create", "ok")) == 1, events
    assert not [e for e in lxc_entries(hld) if e.startswith(".hl-restore")]


def test_restore_as_another_name_and_over_an_existing_one(hld):
    name = hld.name("orig")
    hld.write(name, definition())
    hld.apply()
    hld.sh(name, "echo v1 > /root/v")
    archive = hld.hlctl("backup", name, json=True).data["archive"]
    # The default directory is the state directory's.
    assert archive.startswith(str(hld.state_dir / "backups") + "/"), archive
    hld.sh(name, "echo v2 > /root/v")

    before = hld.snapshot()
    r = hld.hlctl("restore", archive, check=False)
    assert r.rc == 1 and "exists" in r.err and "--force" in r.err, r
    assert hld.snapshot() == before

    copy = hld.name("copy")
    hld.hlctl("restore", archive, "--as", copy)
    assert hld.state(copy) == "RUNNING"
    assert (hld.rootfs(copy) / "root/v").read_text() == "v1\n"
    assert (hld.rootfs(name) / "root/v").read_text() == "v2\n"
    config = (hld.lxcpath / copy / "config").read_text()
    assert "lxc.uts.name = %s" % copy in config and "/%s/rootfs" % copy in config

    hld.hlctl("restore", archive, "--force", timeout=60)
    assert hld.state(name) == "RUNNING"
    assert (hld.rootfs(name) / "root/v").read_text() == "v1\n"


def test_backup_streams_progress(hld):
    name = hld.name("prog")
    hld.write(name, definition(state="stopped"))
    hld.apply()
    with open(hld.rootfs(name) / "root/noise", "wb") as f:
        f.write(os.urandom(192 << 20))
    with hld.varlink(timeout=300) as v:
        v.send({"method": "io.hl.Backup", "parameters": {"name": name}, "more": True})
        replies = []
        while True:
            reply = v.recv()
            replies.append(reply)
            if not reply.get("continues"):
                break
    progress = [r["parameters"]["progress"] for r in replies[:-1]]
    assert all(0 <= p["bytes"] <= p["total"] for p in progress), progress
    assert [p["bytes"] for p in progress] == sorted(p["bytes"] for p in progress)
    # A sanitizer build runs the pool's work on the loop (daemon/work.h): no tick comes
    # while the archive is written there.
    if not SANITIZED:
        assert any(p["total"] >= 192 << 20 and 0 < p["bytes"] for p in progress), progress
    assert replies[-1]["parameters"]["archive"].endswith(".tar.zst"), replies[-1]


def hostile_archive(path, manifest, entries):
    """A plain tar (libarchive reads it as it reads tar.zst): the manifest, then entries."""
    with tarfile.open(path, "w") as t:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("hl-backup.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        for entry_name, text in entries:
            info = tarfile.TarInfo(entry_name)
            info.size = len(text)
            t.addfile(info, io.BytesIO(text))


def test_bad_archives_change_nothing(hld):
    name = hld.name("good")
    hld.write(name, definition(state="stopped"))
    hld.apply()
    archive = hld.hlctl("backup", name, json=True).data["archive"]
    truncated = hld.dir / "truncated.tar.zst"
    with open(archive, "rb") as f:
        data = f.read()
    truncated.write_bytes(data[: len(data) // 2])
    manifest = {"format": 1, "service": hld.name("evil"), "definition": definition()}
    escape = hld.dir / "escape.tar"
    hostile_archive(escape, manifest, [("config", b"lxc.rootfs.path = dir:/x\n"), ("../../evil", b"x")])
    absolute = hld.dir / "absolute.tar"
    hostile_archive(absolute, manifest, [("config", b"lxc.rootfs.path = dir:/x\n"), ("/tmp/hl-evil", b"x")])
    no_manifest = hld.dir / "plain.tar"
    with tarfile.open(no_manifest, "w") as t:
        t.add(__file__, arcname="README")
    bad_definition = hld.dir / "baddef.tar"
    hostile_archive(bad_definition, dict(manifest, definition="[Container]\nMemory=lots\n"), [])
    not_an_archive = hld.dir / "zero.tar.zst"
    not_an_archive.write_bytes(b"\0" * 4096)

    hld.hlctl("destroy", name, "--yes", "--force")
    before = hld.snapshot()
    entries = lxc_entries(hld)
    cases = [
        (truncated, "cannot restore"),
        (escape, "unsafe entry ../../evil"),
        (absolute, "unsafe entry /tmp/hl-evil"),
        (no_manifest, "not an hl backup"),
        (bad_definition, "does not parse"),
        (not_an_archive, "not an hl backup"),
    ]
    for path, message in cases:
        r = hld.hlctl("restore", path, check=False)
        assert r.rc == 1 and message in r.err, (path, r)
    assert hld.snapshot() == before
    assert lxc_entries(hld) == entries
    assert not os.path.exists("/tmp/hl-evil") and not (hld.dir.parent / "evil").exists()
    # The whole archive restores, and then the name is taken.
    hld.hlctl("restore", archive, "--no-wait")
    assert hld.state(name) == "STOPPED"


def test_kills_during_backup_and_restore_leave_nothing_half_made(hld):
    """SIGKILL of hld and its helpers in the middle of writing an archive and in the middle
    of unpacking one: no archive that looks complete, no half container, no leftover
    snapshot; the next hld cleans up and both work again."""
    name = hld.name("cut")
    hld.write(name, definition(state="stopped"))
    hld.apply()
    with open(hld.rootfs(name) / "root/noise", "wb") as f:
        f.write(os.urandom(256 << 20))
    out = hld.dir / "out"
    out.mkdir()
    env = dict(os.environ, HLD_SOCKET=str(hld.socket))
    backup = subprocess.Popen([str(HLCTL), "backup", name, "--to", str(out)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for("the archive being written", lambda: [f for f in os.listdir(out) if f.endswith(".tmp")], 60,
             interval=0.02)
    os.killpg(hld.pid, signal.SIGKILL)
    hld.proc.wait()
    backup.wait(timeout=30)
    assert not [f for f in os.listdir(out) if f.endswith(".tar.zst")], os.listdir(out)

    hld.start()
    # The backup's snapshot went with the restart; the next backup clears the leftover.
    assert hld.hlctl("snapshots", name, json=True).data["snapshots"] == []
    archive = hld.hlctl("backup", name, "--to", out, json=True).data["archive"]
    assert sorted(os.listdir(out)) == [os.path.basename(archive)]

    # Killed while unpacking, and killed just after the rename into place (before the apply
    # has stored the service): never a container without its service after the next start.
    moments = [
        ("unpacking", lambda: [e for e in lxc_entries(hld) if e.startswith(".hl-restore")]),
        ("renamed", lambda: (hld.lxcpath / name / "hl-restoring").exists()),
    ]
    for moment, predicate in moments:
        if name in hld.services():
            hld.hlctl("destroy", name, "--yes", "--force")
        before = hld.snapshot()
        restore = subprocess.Popen([str(HLCTL), "restore", archive, "--no-wait"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for("the restore %s" % moment, predicate, 60, interval=0.005)
        os.killpg(hld.pid, signal.SIGKILL)
        hld.proc.wait()
        restore.wait(timeout=30)
        hld.start()
        assert not [e for e in lxc_entries(hld) if e.startswith(".hl-restore")], lxc_entries(hld)
        # Either the kill came before the apply stored the service, and nothing is left;
        # or after, and the service is whole.
        if name in hld.services():
            assert name in hld.containers() and not (hld.lxcpath / name / "hl-restoring").exists()
        else:
            assert hld.snapshot()["containers"] == before["containers"], (moment, lxc_entries(hld))
            hld.hlctl("restore", archive, "--no-wait")
        assert (hld.rootfs(name) / "root/noise").stat().st_size == 256 << 20


def test_scheduled_backups_are_pruned_by_keep_and_protected_ones_stay(hld):
    name = hld.name("sched")
    out = hld.dir / "scheduled"
    out.mkdir()
    hld.write(name, definition(extra_container="\n".join(
        ["", "[Backup]", "Schedule=*:*:0/3", "Keep=keep-last=2", "Dir=%s" % out])))
    hld.apply()

    def archives():
        return sorted(f for f in os.listdir(out) if f.endswith(".tar.zst"))

    first = wait_for("the first scheduled archive", archives, 30)[0]
    (out / (first + ".protected")).write_text("")
    ok = lambda: [e for e in hld.history(name) if e["action"] == "backup" and e["result"] == "ok"]  # noqa: E731
    wait_for("four scheduled backups", lambda: len(ok()) >= 4, 60)
    wait_for("the pruning", lambda: len(archives()) == 3, 15)
    assert first in archives()  # protected: never pruned
    assert all("on schedule" in e["reason"] and e.get("uid") is None for e in ok()), ok()
    pruned = [e for e in hld.history(name) if e["action"] == "delete-backup"]
    assert pruned and all("pruned by Keep=keep-last=2" in e["reason"] for e in pruned), pruned
    listed = hld.hlctl("backups", name, json=True).data["backups"]
    marks = {os.path.basename(b["archive"]): (b["protected"], b.get("retention")) for b in listed}
    assert marks[first] == (True, None), marks
    assert sorted(v for k, v in marks.items() if k != first)[-2:] == [(False, "keep-last")] * 2, marks
    assert "keep-last" in hld.hlctl("backups", name).out
