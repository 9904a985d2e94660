# SPDX-License-Identifier: LGPL-2.1-or-later
"""hld as a systemd service, without systemd as PID 1: what the unit relies on is
reproduced by hand. sd_notify and the watchdog through a NOTIFY_SOCKET of the test's own,
socket activation through systemd-socket-activate (which passes sockets exactly as a
.socket unit does), and the cgroup a service runs in made and killed as systemd would."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HLD, HLCTL, definition


def read_notify(sock, until, timeout=10):
    """Collects sd_notify datagrams until one contains `until`."""
    sock.settimeout(timeout)
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = sock.recv(4096).decode()
        seen.append(data)
        if until in data:
            return seen
    raise AssertionError("no %r among %r" % (until, seen))


def test_notify_ready_status_watchdog_stopping(hld):
    hld.stop()
    path = hld.dir / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        env = dict(os.environ, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
        proc = subprocess.Popen([str(HLD), "--state-dir", str(hld.state_dir), "--lxcpath", str(hld.lxcpath),
                                 "--socket", str(hld.socket)], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ready = read_notify(sock, "READY=1")
            assert any("STATUS=" in m for m in ready), ready
            # The watchdog is pinged from the loop at half the interval: several in a second.
            start = time.monotonic()
            pings = 0
            while time.monotonic() - start < 1.0:
                if "WATCHDOG=1" in sock.recv(4096).decode():
                    pings += 1
            assert pings >= 3, pings
            proc.send_signal(signal.SIGTERM)
            read_notify(sock, "STOPPING=1")
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_socket_activation_starts_hld(hld):
    """hlctl connecting to a stopped hld starts it: the socket is systemd's (here
    systemd-socket-activate's), hld gets it by name and answers on it."""
    hld.stop()
    ro = hld.dir / "hld-ro.sock"
    os.unlink(hld.socket) if hld.socket.exists() else None
    proc = subprocess.Popen(["systemd-socket-activate", "-l", str(hld.socket), "-l", str(ro),
                             "--fdname=control:readonly",
                             str(HLD), "--state-dir", str(hld.state_dir), "--lxcpath", str(hld.lxcpath),
                             "--socket", str(hld.socket)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not hld.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Nothing runs hld yet: only the listener, with no child.
        assert subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True).stdout.strip() == b""
        r = subprocess.run([str(HLCTL), "--socket", str(hld.socket), "--json", "version"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r
        assert '"interface"' in r.stdout
        r = subprocess.run([str(HLCTL), "--socket", str(ro), "status"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def wait_connectable(path, timeout=20):
    """Until something accepts on path: a socket file alone may be a stale one, or one
    bound and not yet listening."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(path))
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing accepts on %s" % path)


def cgroup_root():
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return Path("/sys/fs/cgroup")             # v2: the unified hierarchy
    if os.path.isdir("/sys/fs/cgroup/systemd"):
        return Path("/sys/fs/cgroup/systemd")     # hybrid: systemd tracks units here
    pytest.skip("no cgroup hierarchy that systemd would use")


def test_containers_are_not_in_hlds_cgroup(hld):
    """Stopping hld.service kills whatever is in its cgroup (KillMode=mixed sends SIGKILL to
    the rest). Containers must not be there: liblxc moves each monitor and payload into
    cgroups of their own (lxc.monitor.NAME, lxc.payload.NAME). Reproduced: hld runs in a
    cgroup made for the test, which is then killed whole, as systemd would."""
    root = cgroup_root()
    unit = root / ("hl-test-%s.service" % hld.tag)
    hld.stop()
    hld.socket.unlink(missing_ok=True)
    unit.mkdir()
    try:
        def enter():
            (unit / "cgroup.procs").write_text(str(os.getpid()))
        proc = subprocess.Popen([str(HLD), "--state-dir", str(hld.state_dir), "--lxcpath", str(hld.lxcpath),
                                 "--socket", str(hld.socket)], preexec_fn=enter, stdin=subprocess.DEVNULL,
                                stdout=open(hld.log, "ab"), stderr=subprocess.STDOUT)
        hld.proc = proc
        wait_connectable(hld.socket)
        name = hld.name("kept")
        hld.write(name, definition())
        hld.apply()
        init = hld.container_pid(name)
        members = {int(p) for p in (unit / "cgroup.procs").read_text().split()}
        assert proc.pid in members
        assert init not in members
        monitor = int(Path("/proc/%d/stat" % init).read_text().split(")")[1].split()[1])
        assert monitor not in members, "the container's monitor must leave hld's cgroup"

        # systemctl stop hld, KillMode=control-group: everything in the cgroup dies.
        for pid in members:
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        hld.exit_codes.append(proc.returncode)
        assert hld.state(name) == "RUNNING"
        assert hld.container_pid(name) == init
    finally:
        for _ in range(50):
            try:
                unit.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    # The fixture's own hld comes back for the teardown.
    hld.start()
    assert hld.hlctl("reconcile", json=True).data["actions"] == []
