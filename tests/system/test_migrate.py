# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl import pct VMID --migrate, against a container made in Proxmox's style (no Proxmox
node exists here, so the test makes one as pct would leave it): named by its VMID, in an
lxcpath of its own, a dir rootfs, a veth with a fixed MAC on a bridge of the test's own,
and its pct config in a tree of /etc/pve's layout. The migrated service has the same files,
MAC and address and runs; the original is untouched but for onboot; a SIGKILL of hld in
the middle leaves the original startable and nothing half-made."""

import os
import signal
import subprocess

import pytest

from conftest import HLCTL, wait_for
from netlab import Lan, addresses, container_ifaces

HWADDR = "BC:24:11:10:01:05"


def make_pve(hld, lan, lxcpath, pct):
    root = hld.dir / "pve"
    (root / "lxc").mkdir(parents=True)
    lxcpath.mkdir()
    ip = lan.ip(50)
    (root / "lxc" / "105.conf").write_text(
        "#Web server%%3A migrated\n"
        "arch: amd64\n"
        "cores: 1\n"
        "hostname: web\n"
        "memory: 128\n"
        "net0: name=eth0,bridge=%s,firewall=1,gw=%s,hwaddr=%s,ip=%s/24,type=veth\n"
        "onboot: 1\n"
        "ostype: debian\n"
        "rootfs: local:105/vm-105-disk-0.raw,size=2G\n"
        "swap: 0\n" % (lan.bridge, lan.gw, HWADDR, ip))
    base = hld.dir / "pve-style.conf"
    base.write_text("lxc.net.0.type = veth\nlxc.net.0.link = %s\nlxc.net.0.hwaddr = %s\nlxc.net.0.flags = up\n"
                    % (lan.bridge, HWADDR.lower()))
    subprocess.run(["lxc-create"] + pct + ["-t", "busybox", "-f", str(base)], check=True, capture_output=True)
    rootfs = lxcpath / "105" / "rootfs"
    (rootfs / "srv").mkdir(exist_ok=True)
    (rootfs / "srv" / "state").write_text("made under Proxmox\n")
    os.link(rootfs / "srv" / "state", rootfs / "srv" / "state-link")
    subprocess.run(["lxc-start"] + pct + ["-d"], check=True, capture_output=True)
    (root / "qemu-server").mkdir()
    (root / "qemu-server" / "200.conf").write_text("#Security lab\nname: kali\nmemory: 4096\nonboot: 0\n"
                                                   "\n[before]\nname: old\n")
    hld.start("--pve-root", str(root), "--pve-lxcpath", str(lxcpath))
    env = {"HL_PVE_ROOT": str(root)}
    return hld, lan, root, lxcpath, pct, ip, env


@pytest.fixture
def pve(hld_dirs):
    """hld started with a /etc/pve tree, a LAN, and a pct-style container 105 running on it."""
    hld = hld_dirs
    lan = Lan(hld.tag).up()
    lxcpath = hld.dir / "pve-lxc"
    pct = ["-P", str(lxcpath), "-n", "105"]
    try:
        yield make_pve(hld, lan, lxcpath, pct)
    finally:
        # Also when the setup failed half-way: the LAN and the container go.
        subprocess.run(["lxc-stop"] + pct + ["-k"], capture_output=True)
        subprocess.run(["lxc-destroy"] + pct + ["-f"], capture_output=True)
        hld.destroy_containers()
        lan.down()


def test_migrate_keeps_files_mac_and_address(pve):
    hld, lan, root, lxcpath, pct, ip, env = pve
    config_before = (lxcpath / "105" / "config").read_text()
    pct_before = (root / "lxc" / "105.conf").read_text()
    base = ["import", "pct", "105", "--migrate", "--template", "busybox", "--lxcpath", lxcpath]

    # Running, and not asked to stop it: refused, nothing changed.
    r = hld.hlctl(*base, env=env, check=False)
    assert r.rc == 1 and "105 is RUNNING" in r.err and "--yes stops it" in r.err, r
    assert hld.services() == {} and hld.containers() == []

    out = hld.dir / "imported"
    out.mkdir()
    r = hld.hlctl(*base, "--yes", "--to", out, env=env)
    assert "wrote %s/web.conf" % out in r.out, r
    assert hld.state("web") == "RUNNING"
    # The same files (a hard link still one file), MAC and address.
    state = hld.rootfs("web") / "srv" / "state"
    assert state.read_text() == "made under Proxmox\n"
    assert os.stat(state).st_ino == os.stat(hld.rootfs("web") / "srv" / "state-link").st_ino
    ifaces = container_ifaces(hld.container_pid("web"))
    assert ifaces["eth0"]["address"] == HWADDR.lower(), ifaces["eth0"]
    wait_for("the address", lambda: addresses(container_ifaces(hld.container_pid("web")), "eth0") == [ip + "/24"], 20)
    assert lan.ping_from_router(ip)
    # The original: stopped, its config and files as they were, onboot off in its pct config.
    assert subprocess.run(["lxc-info"] + pct + ["-s", "-H"], capture_output=True, text=True).stdout.strip() == "STOPPED"
    assert (lxcpath / "105" / "config").read_text() == config_before
    assert (lxcpath / "105" / "rootfs" / "srv" / "state").read_text() == "made under Proxmox\n"
    pct_after = (root / "lxc" / "105.conf").read_text()
    assert pct_after == pct_before.replace("onboot: 1\n", "onboot: 0\n"), pct_after
    # From now on it is hl's like any other: a check added, healthy.
    (out / "web.conf").write_text((out / "web.conf").read_text() +
                                  "\n[Health]\nCheck=exec /bin/grep -q Proxmox /srv/state\nInterval=1s\n")
    hld.hlctl("apply", out)
    wait_for("healthy", lambda: hld.services()["web"]["health"] == "healthy", 30)
    assert hld.hlctl("plan", out, json=True).data["actions"] == []
    # Going back is starting the original (after the hl service is stopped: one MAC).
    hld.hlctl("stop", "web")
    subprocess.run(["lxc-start"] + pct + ["-d"], check=True, capture_output=True)
    wait_for("the original running", lambda: subprocess.run(["lxc-info"] + pct + ["-s", "-H"], capture_output=True,
                                                           text=True).stdout.strip() == "RUNNING", 20)


def test_sigkill_mid_migrate_leaves_the_original_startable(pve):
    hld, lan, root, lxcpath, pct, ip, env = pve
    subprocess.run(["lxc-stop"] + pct + ["-k"], check=True, capture_output=True)
    with open(lxcpath / "105" / "rootfs" / "noise", "wb") as f:
        f.write(os.urandom(384 << 20))
    pct_before = (root / "lxc" / "105.conf").read_text()
    migrate = subprocess.Popen([str(HLCTL), "import", "pct", "105", "--migrate", "--template", "busybox",
                                "--lxcpath", str(lxcpath)],
                               env=dict(os.environ, HLD_SOCKET=str(hld.socket), **env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for("the copy under way", lambda: (hld.lxcpath / "web" / "rootfs" / "bin").exists(), 60, interval=0.01)
    os.killpg(hld.pid, signal.SIGKILL)
    hld.proc.wait()
    migrate.wait(timeout=30)
    hld.start("--pve-root", str(root))
    # Nothing half-made kept, no service, the pct config as it was; the original starts.
    assert hld.services() == {} and not (hld.lxcpath / "web").exists(), os.listdir(hld.lxcpath)
    assert (root / "lxc" / "105.conf").read_text() == pct_before
    subprocess.run(["lxc-start"] + pct + ["-d"], check=True, capture_output=True)
    wait_for("the original running", lambda: subprocess.run(["lxc-info"] + pct + ["-s", "-H"], capture_output=True,
                                                           text=True).stdout.strip() == "RUNNING", 20)


def test_bad_migrations_change_nothing(pve):
    hld, lan, root, lxcpath, pct, ip, env = pve
    base = ["import", "pct", "105", "--migrate", "--template", "busybox"]
    cases = [
        (["--lxcpath", hld.dir], "there is no container 105 in %s" % hld.dir),
        (["--lxcpath", lxcpath, "--yes", "--rootfs", hld.dir / "pve-style.conf"], "is not a directory"),
        (["--lxcpath", hld.lxcpath, "--yes"], "is hld's own lxcpath"),
    ]
    for extra, why in cases:
        r = hld.hlctl(*(base + extra), env=env, check=False)
        assert r.rc != 0 and why in r.err, (extra, r)
    assert hld.services() == {} and hld.containers() == []
    assert subprocess.run(["lxc-info"] + pct + ["-s", "-H"], capture_output=True, text=True).stdout.strip() == "RUNNING"
    assert "onboot: 1\n" in (root / "lxc" / "105.conf").read_text()


def test_status_all_shows_what_proxmox_runs_read_only(pve):
    hld, lan, root, lxcpath, pct, ip, env = pve
    data = hld.hlctl("status", "--all", json=True).data
    assert data["proxmox"] == [
        {"kind": "lxc", "vmid": "105", "name": "web", "state": "RUNNING", "onboot": True},
        {"kind": "qemu", "vmid": "200", "name": "kali", "state": "unknown (no qm here)", "onboot": False},
    ], data
    table = hld.hlctl("status", "--all").out
    assert "PROXMOX" in table and "kali" in table and "read-only" in table, table
    # Without --all, nothing of Proxmox's is read.
    assert "proxmox" not in hld.hlctl("status", json=True).data
