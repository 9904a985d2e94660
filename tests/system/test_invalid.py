# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad input: a clear error, and nothing changed (revisions, events, containers)."""

import os
import re

import pytest

from conftest import definition

MIB = 1024 * 1024


@pytest.fixture
def base(hld):
    """hld with one running service, so that 'nothing changed' has something to keep."""
    name = hld.name("base")
    hld.write(name, definition())
    hld.apply()
    hld.base = name
    return hld


def assert_unchanged(h, before):
    assert h.snapshot() == before
    assert h.services()[h.base]["limits"]["memory"] == 64 * MIB
    assert h.state(h.base) == "RUNNING"


def one_error_line(result):
    assert result.rc == 1, result
    assert result.out == "", result
    lines = result.err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], result
    return lines[0]


BAD_FILES = [
    # (case, text, expected FILE:LINE: KEY:)
    ("unknown-key", "[Service]\nDescription=x\n\n[Container]\nTemplate=busybox\nMemory=64M\nFoo=bar\n",
     (7, "Foo")),
    ("bad-size", "[Container]\nTemplate=busybox\nMemory=12X\n", (3, "Memory")),
    ("unknown-section", "[Service]\n[Frobnicate]\nTemplate=busybox\n", (2, None)),
    ("bad-state", "[Service]\nState=sleeping\n[Container]\nTemplate=busybox\n", (2, "State")),
    ("too-little-memory", "[Container]\nTemplate=busybox\nMemory=1M\n", (3, "Memory")),
]


@pytest.mark.parametrize("case,text,where", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_definition_changes_nothing(base, case, text, where):
    h = base
    # The bad file comes with a valid change of the base service: that is not stored either.
    good = h.write(h.base, definition(memory="96M"), directory=h.dir / "batch")
    bad_name = h.name("bad")
    bad = h.write(bad_name, text, directory=h.dir / "batch")
    before = h.snapshot()

    r = h.hlctl("apply", good, bad, check=False)
    line = one_error_line(r)
    lineno, key = where
    prefix = r"%s\.conf:%d: " % (re.escape(bad_name), lineno)
    if key:
        prefix += re.escape(key) + ":"
    assert re.search(prefix, line), line
    assert_unchanged(h, before)

    # plan refuses it the same way and changes nothing either.
    p = h.hlctl("plan", good, bad, check=False)
    assert one_error_line(p) == line
    assert_unchanged(h, before)


def test_requires_cycle_across_files_is_named(base):
    h = base
    a, b = h.name("ca"), h.name("cb")
    pa = h.write(a, definition(requires=[b]), directory=h.dir / "cycle")
    pb = h.write(b, definition(requires=[a]), directory=h.dir / "cycle")
    before = h.snapshot()
    r = h.hlctl("apply", pa, pb, check=False)
    line = one_error_line(r)
    assert "cycle" in line.lower(), line
    assert re.search(r"(%s -> %s -> %s|%s -> %s -> %s)" % (a, b, a, b, a, b), line), line
    assert_unchanged(h, before)

    with h.varlink() as v:
        reply = v.call("io.hl.Apply", {"definitions": [
            {"name": a, "text": pa.read_text(), "file": "a.conf"},
            {"name": b, "text": pb.read_text(), "file": "b.conf"}]})
    assert reply.get("error") == "io.hl.InvalidDefinition", reply
    assert reply["parameters"]["key"] == "Requires"
    assert_unchanged(h, before)


def test_requires_unknown_service(base):
    h = base
    name = h.name("orphan")
    path = h.write(name, definition(requires=[h.name("nosuch")]), directory=h.dir / "orphan")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert h.name("nosuch") in line, line
    assert_unchanged(h, before)


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "UPPER", "-lead", "x" * 64, "", "100"],
                         ids=["dotdot", "slash", "dots", "upper", "dash", "64-chars", "empty", "vmid"])
def test_bad_service_name_over_varlink(base, name):
    h = base
    before = h.snapshot()
    text = definition()
    for method in ("io.hl.Apply", "io.hl.Plan"):
        reply = h.call(method, {"definitions": [{"name": name, "text": text, "file": "x.conf"}]})
        assert reply.get("error") == "io.hl.InvalidArgument", (method, reply)
        assert reply["parameters"].get("message"), reply
    assert_unchanged(h, before)
    # Nothing was made outside the private directories either.
    assert not (h.dir / "escape").exists() and not (h.lxcpath / "a").exists()


def test_name_length_limit(base):
    h = base
    ok = h.tag + "-" + "n" * (63 - len(h.tag) - 1)
    assert len(ok) == 63
    reply = h.call("io.hl.Plan", {"definitions": [{"name": ok, "text": definition()}]})
    assert "error" not in reply, reply
    path = h.write(ok + "x", definition(), directory=h.dir / "long")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert "name" in line.lower(), line
    assert_unchanged(h, before)


def test_an_all_digit_name_is_a_proxmox_vmid(base):
    h = base
    path = h.write("105", definition(), directory=h.dir / "vmid")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert "not all digits (a Proxmox VMID)" in line and "\"105\"" in line, line
    assert_unchanged(h, before)


def test_two_definitions_with_one_name(base):
    h = base
    before = h.snapshot()
    reply = h.call("io.hl.Apply", {"definitions": [
        {"name": h.base, "text": definition(memory="96M")},
        {"name": h.base, "text": definition(memory="128M")}]})
    assert reply.get("error") == "io.hl.InvalidArgument", reply
    assert_unchanged(h, before)


def test_malformed_frame_then_still_answers(base):
    h = base
    before = h.snapshot()
    for garbage in (b"this is not json\0", b"[1, 2, 3]\0", b'{"parameters": {}}\0',
                    b'{"method": 5}\0', b'{"method": "io.hl.List", "bogus": 1}\0', b"\xff\xfe\0"):
        with h.varlink(timeout=10) as v:
            v.send(garbage)
            reply = v.recv()
            if reply is not None:
                assert reply.get("error") in ("io.hl.InvalidArgument",
                                              "org.varlink.service.InvalidParameter"), (garbage, reply)
                if reply["error"] == "io.hl.InvalidArgument":
                    # After garbage the stream cannot be trusted: the connection is closed.
                    assert reply["parameters"].get("parameter") == "message", reply
                    assert v.recv() is None, garbage
        assert "services" in h.call("io.hl.List")["parameters"]
    assert_unchanged(h, before)


def test_oversized_frame_closes_connection(base):
    h = base
    before = h.snapshot()
    with h.varlink(timeout=30) as v:
        chunk = b"a" * (1024 * 1024)
        try:
            # 5 MiB and never a NUL; the connection stays open on our side, so only hld's
            # limit can end the wait for a reply.
            for _ in range(5):
                v.send(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = v.recv()
        if reply is not None:
            assert reply.get("error") == "io.hl.InvalidArgument", reply
            assert reply["parameters"].get("parameter") == "message", reply
            assert v.recv() is None
    assert "services" in h.call("io.hl.List")["parameters"]
    assert_unchanged(h, before)


def test_unknown_method_and_interface(base):
    h = base
    before = h.snapshot()
    with h.varlink() as v:
        reply = v.call("io.hl.Frobnicate", {})
        assert reply.get("error") == "org.varlink.service.MethodNotFound", reply
        # The connection stays usable after an error reply.
        reply = v.call("com.example.nothing.Method", {})
        assert reply.get("error") in ("org.varlink.service.InterfaceNotFound",
                                      "org.varlink.service.MethodNotFound"), reply
        assert "services" in v.call("io.hl.List", {})["parameters"]
    assert_unchanged(h, before)


@pytest.mark.parametrize("method,parameters,field", [
    ("io.hl.Show", {"name": 5}, "name"),
    ("io.hl.Show", {}, "name"),
    ("io.hl.List", {"surprise": True}, "surprise"),
    ("io.hl.Apply", {"definitions": "not a list"}, "definitions"),
    ("io.hl.History", {"limit": "ten"}, "limit"),
])
def test_invalid_parameter(base, method, parameters, field):
    h = base
    before = h.snapshot()
    reply = h.call(method, parameters)
    assert reply.get("error") == "org.varlink.service.InvalidParameter", reply
    assert reply["parameters"].get("parameter") == field, reply
    assert_unchanged(h, before)


def test_unknown_service(base):
    h = base
    before = h.snapshot()
    for verb in ("show", "start", "stop", "restart"):
        r = h.hlctl(verb, h.name("nosuch"), check=False)
        line = one_error_line(r)
        assert h.name("nosuch") in line, line
    r = h.hlctl("destroy", h.name("nosuch"), "--yes", check=False)
    assert one_error_line(r)
    reply = h.call("io.hl.Show", {"name": h.name("nosuch")})
    assert reply.get("error") == "io.hl.NoSuchService", reply
    assert_unchanged(h, before)


def test_carriage_return_in_environment_injects_nothing(base):
    """A carriage return ends a line of an LXC config: Environment=A=1<CR>lxc.hook... would
    have added a hook that runs as root on the host. It is refused at its line, and no
    container config ever sees it."""
    h = base
    marker = h.dir / "hook-ran"
    name = h.name("inject")
    text = definition(extra_container="Environment=A=1\rlxc.hook.pre-start = /bin/touch %s" % marker)
    path = h.write(name, text, directory=h.dir / "inject")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert re.search(r"%s\.conf:\d+: Environment: .*control character 0x0d" % re.escape(name), line), line
    # Over Varlink, as any other client would send it: the same refusal.
    reply = h.call("io.hl.Apply", {"definitions": [{"name": name, "text": text}]})
    assert reply.get("error") == "io.hl.InvalidDefinition", reply
    assert_unchanged(h, before)
    assert not marker.exists()
    assert all("\r" not in p.read_text() for p in h.lxcpath.glob("*/config"))


def test_what_systemd_accepts_is_accepted(base):
    """A byte order mark, CRLF line ends, decimal sizes and systemd's time spans."""
    h = base
    name = h.name("spell")
    text = ("\ufeff[Service]\r\nDescription=saved by Notepad\r\n[Container]\r\nTemplate=busybox\r\nMemory=1.5G\r\n"
            "[Restart]\r\nRestartSec=1m 30s\r\nStartLimitIntervalSec=1.5min\r\n")
    path = h.dir / "spell" / ("%s.conf" % name)
    path.parent.mkdir()
    path.write_bytes(text.encode("utf-8"))
    h.apply(path)
    d = h.hlctl("show", name, json=True).data["definition"]
    assert d["container"]["memory"] == 3 << 29, d
    assert d["restart"]["restart_sec_ms"] == 90000, d
    assert d["description"] == "saved by Notepad"


def test_nul_byte_names_its_line(base):
    h = base
    name = h.name("nul")
    path = h.dir / "nul" / ("%s.conf" % name)
    path.parent.mkdir()
    path.write_bytes(b"[Service]\nDescription=ok\nDescription=a\0b\n[Container]\nTemplate=busybox\n")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert re.search(r"%s\.conf:3: .*NUL" % re.escape(name), line), line
    assert_unchanged(h, before)


def test_unknown_requires_names_its_line(base):
    h = base
    name = h.name("req")
    path = h.write(name, "[Service]\nDescription=x\nRequires=%s\n[Container]\nTemplate=busybox\n" % h.name("ghost"),
                   directory=h.dir / "req")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert re.search(r"%s\.conf:3: Requires: no service named %s" % (re.escape(name), h.name("ghost")), line), line
    assert_unchanged(h, before)


def test_mount_with_a_relative_target_says_so(base):
    h = base
    name = h.name("mnt")
    path = h.write(name, definition(extra_container="Mount=/a:b:/data"), directory=h.dir / "mnt")
    before = h.snapshot()
    line = one_error_line(h.hlctl("apply", path, check=False))
    assert 'Mount: target "b" is not an absolute path' in line and "SOURCE:TARGET" in line, line
    assert_unchanged(h, before)


@pytest.mark.parametrize("template,why", [
    ("no-such-template", "no template script no-such-template"),
    ("..", "is not a template name"),
    ("/dev/zero", "is not a regular file"),
    ("TEXTFILE", "is not a rootfs tarball"),
    ("/nonexistent/rootfs.tar.zst", "cannot read /nonexistent/rootfs.tar.zst"),
], ids=["no-script", "dotdot", "device", "not-an-archive", "missing"])
def test_template_is_checked_before_any_create(base, template, why):
    h = base
    if template == "TEXTFILE":
        template = str(h.dir / "readme.tar")
        (h.dir / "readme.tar").write_text("this is not a tarball\n" * 100)
    name = h.name("tpl")
    path = h.write(name, "[Service]\nDescription=x\n[Container]\nTemplate=%s\n" % template, directory=h.dir / "tpl")
    before = h.snapshot()
    for verb in ("plan", "apply"):
        line = one_error_line(h.hlctl(verb, path, check=False))
        assert re.search(r"%s\.conf:4: Template: " % re.escape(name), line), line
        assert why in line, line
    assert_unchanged(h, before)
    assert not (h.lxcpath / name).exists()


def test_apply_of_a_fifo_is_refused_at_once(base):
    h = base
    fifo = h.dir / ("%s.conf" % h.name("fifo"))
    os.mkfifo(fifo)
    before = h.snapshot()
    r = h.hlctl("apply", fifo, check=False, timeout=10)
    line = one_error_line(r)
    assert "not a regular file" in line, line
    device = h.dir / ("%s.conf" % h.name("dev"))
    os.symlink("/dev/zero", device)
    r = h.hlctl("apply", device, check=False, timeout=10)
    assert "not a regular file" in one_error_line(r)
    assert_unchanged(h, before)


def test_an_integer_beyond_64_bits_is_a_bad_parameter(base):
    h = base
    before = h.snapshot()
    with h.varlink(timeout=10) as v:
        v.send(b'{"method":"io.hl.History","parameters":{"limit":99999999999999999999999}}\0')
        reply = v.recv()
        assert reply.get("error") == "org.varlink.service.InvalidParameter", reply
        assert reply["parameters"]["parameter"] == "limit", reply
        # The connection is still good.
        assert "services" in v.call("io.hl.List", {})["parameters"]
    assert_unchanged(h, before)


def test_every_error_of_a_file_is_reported(base):
    """Three typos on three lines: three errors, each at its line, and nothing stored."""
    h = base
    name = h.name("typos")
    path = h.write(name, "[Service]\nDescripton=x\n[Container]\nTemplate=busybox\nMemroy=64M\nCores=two\n",
                   directory=h.dir / "typos")
    before = h.snapshot()
    r = h.hlctl("apply", path, check=False)
    assert r.rc == 1 and r.out == "", r
    lines = r.err.strip().split("\n")
    prefix = "hlctl: %s:" % path
    assert lines == [prefix + "2: Descripton: unknown key", prefix + "5: Memroy: unknown key",
                     prefix + '6: Cores: "two" is not a number of cores between 1 and 1024'], lines
    reply = h.call("io.hl.Plan", {"definitions": [{"name": name, "text": path.read_text(), "file": "t.conf"}]})
    assert reply["error"] == "io.hl.InvalidDefinition", reply
    assert [(e["line"], e["key"]) for e in reply["parameters"]["errors"]] == [(2, "Descripton"), (5, "Memroy"), (6, "Cores")]
    assert reply["parameters"]["line"] == 2
    assert_unchanged(h, before)
