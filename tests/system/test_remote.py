# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl -H ssh://: the same verbs against another node's hld, through an sshd of the test's
own on loopback (sshlab.py) running hlctl --bridge, which joins the ssh session to that
node's socket. The "other node" is a private hld here; hlctl on the near side has no
socket of its own to fall back to (HLD_SOCKET points nowhere)."""

import os
import subprocess

import pytest

from conftest import HLCTL, definition
from sshlab import SSHD, SshLab


@pytest.fixture
def ssh(hld):
    if not os.access(SSHD, os.X_OK):
        if os.environ.get("HL_REQUIRE_SYSTEM") == "1":
            pytest.fail("%s is missing: tests/setup.sh installs openssh-server" % SSHD)
        pytest.skip("%s is missing: tests/setup.sh installs openssh-server" % SSHD)
    lab = SshLab(HLCTL.parent, hld.socket)
    try:
        yield lab.start()
    finally:
        lab.stop()


def remote(h, lab, *args, input=None, use_env=False):
    env = lab.env(dict(os.environ, HLD_SOCKET="/nonexistent/hld.sock"))
    cmd = [str(HLCTL)] + ([] if use_env else ["-H", lab.url]) + [str(a) for a in args]
    if use_env:
        env["HL_HOST"] = lab.url
    return subprocess.run(cmd, input=input, capture_output=True, env=env, timeout=60,
                          stdin=None if input is not None else subprocess.DEVNULL)


def test_status_and_verbs_on_another_node(hld, ssh):
    h = hld
    web, db = h.name("web"), h.name("db")
    h.write(web, definition())
    h.apply()
    # A definition applied from here lands there.
    local = h.dir / "remote-defs"
    h.write(db, definition(state="stopped"), directory=local)
    r = remote(h, ssh, "apply", local / ("%s.conf" % db))
    assert r.returncode == 0, r
    assert set(h.services()) == {web, db}

    # status over ssh is the local status, byte for byte.
    mine = h.hlctl("status").out
    r = remote(h, ssh, "status")
    assert r.returncode == 0 and r.stdout.decode() == mine, (r, mine)
    r = remote(h, ssh, "status", use_env=True)
    assert r.returncode == 0 and r.stdout.decode() == mine, r
    r = remote(h, ssh, "--json", "list")
    assert r.returncode == 0 and r.stdout.decode() == h.hlctl("--json", "list").out, r

    # A session over the same bridge: status and stdin pass.
    r = remote(h, ssh, "exec", web, "--", "sh", "-c", "cat; exit 5", input=b"through ssh\n")
    assert r.returncode == 5 and r.stdout == b"through ssh\n", r
    # A stream: logs, and an error comes back as the error it is.
    r = remote(h, ssh, "logs", web)
    assert r.returncode == 0 and r.stdout.decode() == h.hlctl("logs", web).out and b"-- hl " in r.stdout, r
    r = remote(h, ssh, "show", "nosuch")
    assert r.returncode == 1 and b"no service named nosuch" in r.stderr, r
    # The history says who ran it there: the ssh user.
    attach = [e for e in h.history(web) if e["action"] == "attach"][-1]
    assert attach["user"] == "root" and attach["reason"] == "sh -c cat; exit 5", attach


def test_bad_hosts_are_said(hld, ssh):
    h = hld
    for url in ("http://x", "ssh://", "ssh://-oProxyCommand=x", "ssh://a b", "ssh://h;rm"):
        r = remote(h, ssh, "-H", url, "status")
        assert r.returncode == 2 and b"-H takes ssh://" in r.stderr, (url, r)
    # Nobody listens there: ssh's own error, and hlctl's.
    env = ssh.env(dict(os.environ))
    r = subprocess.run([str(HLCTL), "-H", "ssh://root@127.0.0.1:1", "status"], capture_output=True, env=env,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and b"hld closed the connection" in r.stderr, r
    # The bridge alone, as any Varlink client would use it.
    r = subprocess.run([str(HLCTL), "--socket", str(h.socket), "--bridge"],
                       input=b'{"method":"io.hl.Version"}\0', capture_output=True, timeout=30)
    assert r.returncode == 0 and b'"version"' in r.stdout and r.stdout.endswith(b"\0"), r
