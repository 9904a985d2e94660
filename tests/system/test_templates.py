# SPDX-License-Identifier: LGPL-2.1-or-later
"""Templates other than a script: a rootfs tarball (as in Proxmox's vztmpl cache), and a
clone of another container. Both made from what the test itself builds."""

import os
import subprocess
import tarfile

from conftest import definition


def make_tarball(tmp_path, tarball):
    """A minimal rootfs: busybox-static as init and shell, an inittab, a marker file."""
    root = tmp_path / "rootfs"
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "run"):
        (root / d).mkdir(parents=True)
    subprocess.run(["cp", "/bin/busybox", str(root / "bin" / "busybox")], check=True)
    for tool in ("sh", "sleep", "true", "cat"):
        os.symlink("busybox", root / "bin" / tool)
    os.symlink("../bin/busybox", root / "sbin" / "init")
    (root / "etc" / "inittab").write_text("::sysinit:/bin/true\n::respawn:/bin/sleep 3600\n")
    (root / "etc" / "marker").write_text("from the tarball\n")
    with tarfile.open(tarball, "w:gz") as t:
        t.add(root, arcname=".")
    os.chmod(tmp_path, 0o755)


def test_rootfs_tarball(hld, tmp_path):
    tarball = tmp_path / "rootfs.tar.gz"
    make_tarball(tmp_path, tarball)
    name = hld.name("tar")
    hld.write(name, definition(extra_container="").replace("Template=busybox", "Template=%s" % tarball))
    r = hld.apply()
    assert [a["result"] for a in r.data["actions"]] == ["ok", "ok"], r.data
    assert hld.state(name) == "RUNNING"
    out = hld.lxc("attach", "-n", name, "--", "/bin/cat", "/etc/marker").stdout
    assert out == "from the tarball\n"


def test_unsafe_tarball_is_refused(hld, tmp_path):
    """An entry that would leave the rootfs ("../") makes the create fail, and nothing of
    the container stays behind."""
    tarball = tmp_path / "evil.tar"
    with tarfile.open(tarball, "w") as t:
        info = tarfile.TarInfo("../escaped")
        data = b"x"
        info.size = len(data)
        import io
        t.addfile(info, io.BytesIO(data))
    os.chmod(tmp_path, 0o755)
    name = hld.name("evil")
    hld.write(name, definition().replace("Template=busybox", "Template=%s" % tarball))
    r = hld.apply(check=False)
    assert r.rc == 1, r
    assert not (hld.lxcpath / "escaped").exists()
    assert not (hld.lxcpath / name).exists()
    assert hld.containers() == []


def test_clone(hld):
    base, copy = hld.name("base"), hld.name("copy")
    hld.write(base, definition(state="stopped"))
    hld.write(copy, definition().replace("Template=busybox", "Template=clone:%s" % base))
    r = hld.apply()
    actions = [(a["service"], a["action"], a["result"]) for a in r.data["actions"]]
    assert (copy, "create", "ok") in actions and (copy, "start", "ok") in actions, actions
    assert hld.state(copy) == "RUNNING" and hld.state(base) == "STOPPED"
    assert hld.rootfs(copy) != hld.rootfs(base)


def test_a_clone_of_a_source_applied_before_goes_on_at_once(hld):
    """The source exists already and has nothing to do in the run; the clone sorts before
    it. The clone waited for the source's item, which the same pass then finished: the run
    was parked as if waiting for health, and went on only at the next periodic reconcile
    (a minute later)."""
    base, copy = hld.name("zbase"), hld.name("acopy")
    hld.write(base, definition(state="stopped"))
    hld.apply()
    hld.write(copy, definition().replace("Template=busybox", "Template=clone:%s" % base))
    r = hld.apply()
    actions = [(a["service"], a["action"], a["result"]) for a in r.data["actions"]]
    assert (copy, "create", "ok") in actions and (copy, "start", "ok") in actions, actions
    assert "waits for health verdicts" not in hld.log.read_text(), hld.log_tail(20)


STORAGE_CFG = """dir: local
\tpath {path}
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

dir: dumps
\tpath {path}
\tcontent backup
"""


def test_proxmox_storage_names(hld_dirs, tmp_path):
    """Template=local:vztmpl/FILE as pct users write it, through a storage.cfg in a tree of
    /etc/pve's layout (no Proxmox node here): the file under the storage's
    template/cache/. A storage that is not a directory, unknown, or without templates is an
    error of the Template= line, and nothing is made."""
    hld = hld_dirs
    vz = tmp_path / "vz"
    (vz / "template" / "cache").mkdir(parents=True)
    make_tarball(tmp_path, vz / "template" / "cache" / "mini-1.0_amd64.tar.gz")
    pve = tmp_path / "pve"
    pve.mkdir()
    (pve / "storage.cfg").write_text(STORAGE_CFG.format(path=vz))
    os.chmod(vz, 0o755)
    hld.start("--pve-root", str(pve))

    name = hld.name("pve")
    hld.write(name, definition().replace("Template=busybox", "Template=local:vztmpl/mini-1.0_amd64.tar.gz"))
    r = hld.apply()
    assert [a["result"] for a in r.data["actions"]] == ["ok", "ok"], r.data
    out = hld.lxc("attach", "-n", name, "--", "/bin/cat", "/etc/marker").stdout
    assert out == "from the tarball\n"

    before = hld.snapshot()
    for template, why in [
        ("local-lvm:vztmpl/mini-1.0_amd64.tar.gz", "storage local-lvm is of type lvmthin: hl reads templates from "
                                                   "directory storages (dir, nfs, cifs, cephfs) only"),
        ("nas:vztmpl/mini-1.0_amd64.tar.gz", "no storage nas in storage.cfg"),
        ("dumps:vztmpl/mini-1.0_amd64.tar.gz", "storage dumps does not hold container templates"),
        ("local:vztmpl/missing.tar.zst", "cannot read %s/template/cache/missing.tar.zst" % vz),
        ("local:iso/debian.iso", "is not a template volume of a Proxmox storage (STORAGE:vztmpl/FILE)"),
    ]:
        bad = hld.name("bad")
        path = hld.write(bad, definition().replace("Template=busybox", "Template=%s" % template),
                         directory=tmp_path / "bad")
        r = hld.hlctl("apply", path, check=False)
        assert r.rc == 1 and "%s.conf:4: Template: " % bad in r.err and why in r.err, (template, r)
    assert hld.snapshot() == before
