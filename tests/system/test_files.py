# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl push and pull against real busybox containers: files round-trip with their mode
and owner; a path is resolved inside the container, so a symlink pointing outside reads and
writes the container's file, never the host's; an interrupted push changes nothing."""

import hashlib
import json
import os
import socket

from conftest import NOBODY, definition, wait_for


def test_push_and_pull_round_trip_with_mode_and_owner(hld, tmp_path):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    src = tmp_path / "script.sh"
    src.write_bytes(b"#!/bin/sh\necho pushed\n")
    os.chmod(src, 0o750)
    h.hlctl("push", web, src, "/bin/tool")
    h.hlctl("push", web, src, "/root/", "--user", "1000:50")
    ls = h.sh(web, "ls -ln /bin/tool /root/script.sh").stdout
    assert "-rwxr-x---" in ls.splitlines()[0] and " 0 " in ls.splitlines()[0], ls
    assert "1000     50" in ls.splitlines()[1] or "1000 50" in " ".join(ls.splitlines()[1].split()), ls
    assert h.sh(web, "/bin/tool").stdout == "pushed\n"
    # A large file, byte for byte, both ways.
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(5 << 20))
    h.hlctl("push", web, blob, "/root/blob")
    back = tmp_path / "back"
    h.hlctl("pull", web, "/root/blob", back)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(blob.read_bytes()).digest()
    # A pull keeps the mode, and (as root) the owner as the container has it.
    h.hlctl("pull", web, "/root/script.sh", tmp_path)
    st = os.stat(tmp_path / "script.sh")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o750, 1000, 50), st
    assert not [p for p in os.listdir(tmp_path) if ".hl-pull-" in p]
    events = [e for e in h.history(web) if e["action"] == "attach"]
    assert [e["reason"] for e in events][:2] == ["push /bin/tool (mode 0750)",
                                                 "push /root/script.sh (mode 0750, owner 1000:50)"], events


def test_paths_resolve_inside_the_container(hld, tmp_path):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    secret = "/tmp/hl-host-only-%s" % h.tag
    with open(secret, "w") as f:
        f.write("the host's\n")
    try:
        h.sh(web, "echo \"the container's\" > %s; ln -s %s /abs; ln -s ../../../../../..%s /rel" % (secret, secret, secret))
        for link in ("/abs", "/rel"):
            out = tmp_path / link.strip("/")
            h.hlctl("pull", web, link, out)
            assert out.read_text() == "the container's\n", link
        h.hlctl("pull", web, "/../../../../..%s" % secret, tmp_path / "dots")
        assert (tmp_path / "dots").read_text() == "the container's\n"
        # Writing through the symlink writes the container's file (the link replaced, as
        # a rename does), and the host's stays as it was.
        src = tmp_path / "new"
        src.write_text("pushed\n")
        h.hlctl("push", web, src, "/abs")
        h.hlctl("push", web, src, "/../../../..%s" % secret)
        with open(secret) as f:
            assert f.read() == "the host's\n"
        assert h.sh(web, "cat %s" % secret).stdout == "pushed\n"
        # A directory, a missing file, a device: refused with the reason.
        for path, words in (("/etc", "Is a directory"), ("/nonexistent", "No such file"), ("/dev/null", "Invalid")):
            r = h.hlctl("pull", web, path, tmp_path / "x", check=False)
            assert r.rc == 1 and words in r.err, (path, r)
        assert not (tmp_path / "x").exists()
        r = h.hlctl("push", web, src, "relative/path", check=False)
        assert r.rc == 1 and "absolute path" in r.err, r
        r = h.hlctl("push", web, src, "/root", check=False)
        assert r.rc == 1 and "Is a directory" in r.err, r
        r = h.hlctl("push", web, src, "/x", user=NOBODY, check=False)
        assert r.rc != 0 and h.sh(web, "ls /x 2>&1 || true").stdout.strip().endswith("No such file or directory")
    finally:
        os.unlink(secret)


def test_an_interrupted_push_changes_nothing(hld):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    h.sh(web, "echo old > /root/target")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(h.socket))
    s.sendall(json.dumps({"method": "io.hl.Push", "parameters": {"name": web, "path": "/root/target"},
                          "upgrade": True}).encode() + b"\0")
    reply = b""
    while not reply.endswith(b"\0"):
        reply += s.recv(4096)
    assert b'"parameters"' in reply and b"error" not in reply, reply
    s.sendall(b"i\0\0\0\x04half")  # and no end: the client goes
    s.close()
    wait_for("the push given up", lambda: [e for e in h.history(web) if e["action"] == "attach"][-1]["result"]
             != "running", 10)
    assert h.sh(web, "cat /root/target").stdout == "old\n"
    assert h.sh(web, "ls -a /root").stdout.split().count("target") == 1
    assert ".hl-push" not in h.sh(web, "ls -a /root").stdout
