# SPDX-License-Identifier: LGPL-2.1-or-later
"""Templates other than a script: a rootfs tarball (as in Proxmox's vztmpl cache), and a
clone of another container. Both made from what the test itself builds."""

import os
import subprocess
import tarfile

from conftest import definition


def test_rootfs_tarball(hld, tmp_path):
    # A minimal rootfs: busybox-static as init and shell, an inittab.
    root = tmp_path / "rootfs"
    for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "run"):
        (root / d).mkdir(parents=True)
    subprocess.run(["cp", "/bin/busybox", str(root / "bin" / "busybox")], check=True)
    for tool in ("sh", "sleep", "true", "cat"):
        os.symlink("busybox", root / "bin" / tool)
    os.symlink("../bin/busybox", root / "sbin" / "init")
    (root / "etc" / "inittab").write_text("::sysinit:/bin/true\n::respawn:/bin/sleep 3600\n")
    (root / "etc" / "marker").write_text("from the tarball\n")
    tarball = tmp_path / "rootfs.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        t.add(root, arcname=".")
    os.chmod(tmp_path, 0o755)

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
