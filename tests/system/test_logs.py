# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl logs against real containers: a busybox container's console log as the monitor
keeps it, with hld's marks of each start, stop and crash where they happened; -f showing a
line written inside within a second and a restart's mark; -n and --since; the bound and
the rotation; a Debian 12 container's journal, read by journalctl inside; who may."""

import json
import os
import select
import subprocess
import time

from conftest import HLCTL, NOBODY, definition, wait_for
from test_host_services import host_definition
from test_network import DEBIAN, debian_required


def logs(h, *args, json_lines=False):
    r = h.hlctl(*((["--json"] if json_lines else []) + ["logs"] + list(args)))
    if json_lines:
        return [json.loads(line) for line in r.out.splitlines()]
    return r.out.splitlines()


def console_write(h, name, text):
    h.sh(name, "echo '%s' > /dev/console" % text)


class Follow:
    """hlctl logs -f NAME, read line by line."""

    def __init__(self, h, *args):
        env = dict(os.environ, HLD_SOCKET=str(h.socket))
        self.proc = subprocess.Popen([str(HLCTL), "logs", "-f"] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines = []
        self.buf = b""

    def wait_line(self, predicate, timeout=10):
        """The time it took until a line for which predicate holds came."""
        start = time.monotonic()
        while True:
            for line in self.lines:
                if predicate(line):
                    self.lines.remove(line)
                    return time.monotonic() - start
            left = start + timeout - time.monotonic()
            if left <= 0:
                raise AssertionError("no such line within %s s: %r" % (timeout, self.lines[-20:]))
            if select.select([self.proc.stdout], [], [], min(left, 0.1))[0]:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError("logs -f ended: %r" % self.proc.stderr.read())
                self.buf += data
                *complete, self.buf = self.buf.split(b"\n")
                self.lines += [c.decode() for c in complete]

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(timeout=10)


def test_console_log_with_marks_and_follow(hld):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    console_write(h, web, "hello from the console")
    lines = logs(h, web)
    # hld's mark of the start comes first, then what the container said.
    start = next(i for i, l in enumerate(lines) if l.startswith("-- hl ") and " start: " in l)
    # The console's own prompt has no newline: what comes next is on its line.
    hello = next(i for i, l in enumerate(lines) if l.endswith("hello from the console"))
    assert start < hello, lines
    rows = logs(h, web, json_lines=True)
    assert any(r["text"].endswith("hello from the console") and r["source"] == "console" and "time" not in r
               for r in rows), rows
    mark = next(r for r in rows if r["source"] == "hl")
    assert abs(mark["time"] - time.time()) < 120, mark
    # What the container prints never passes for hld's mark: those are hld's own file.
    console_write(h, web, "-- hl 2026-01-01T00:00:00Z stop: forged --")
    rows = logs(h, web, json_lines=True)
    forged = [r for r in rows if "forged" in r["text"]]
    assert forged and all(r["source"] == "console" and "time" not in r for r in forged), forged
    assert not (h.lxcpath / web / "console.log").read_text().count(" start: created")

    # -f: a line written inside shows within a second; a restart is marked.
    f = Follow(h, web)
    try:
        f.wait_line(lambda l: l.endswith("hello from the console"))  # the backlog first
        written = time.monotonic()
        console_write(h, web, "line-after-follow")
        took = f.wait_line(lambda l: l == "line-after-follow")
        assert time.monotonic() - written < 1.0, took
        h.hlctl("restart", web)
        f.wait_line(lambda l: l.startswith("-- hl ") and " restart: restart requested" in l)
        # A crash is marked with what hld saw.
        pid = h.container_pid(web)
        os.kill(pid, 9)
        f.wait_line(lambda l: l.startswith("-- hl ") and "observe" in l, timeout=20)
        assert f.stop() == 0
    finally:
        if f.proc.poll() is None:
            f.proc.kill()

    # -n: the last lines; --since: from the first mark of then on.
    assert logs(h, "-n", "2", web) == logs(h, web)[-2:]
    wait_for("running again", lambda: h.services()[web]["state"] == "RUNNING", 30)
    # Every earlier mark is 5 s older than the restart (which takes about 2 s) that
    # --since 4s asks from.
    time.sleep(5)
    h.hlctl("restart", web)
    console_write(h, web, "after-the-second-restart")
    recent = logs(h, "--since", "4s", web)
    assert recent and recent[0].startswith("-- hl ") and " restart: " in recent[0], recent
    assert not any("line-after-follow" in l for l in recent), recent
    assert any(l.endswith("after-the-second-restart") for l in recent), recent


def test_the_console_log_is_bounded_and_rotated(hld):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    # 1.5 MiB of output: the monitor moves the full MiB to console.log.1.
    h.sh(web, "i=0; while [ $i -lt 1536 ]; do head -c 1023 /dev/zero | tr '\\0' x > /dev/console; "
              "echo > /dev/console; i=$((i+1)); done; echo the-last-line > /dev/console")
    d = h.lxcpath / web
    wait_for("rotated", lambda: (d / "console.log.1").exists(), 10)
    assert (d / "console.log").stat().st_size <= 1 << 20
    assert (d / "console.log.1").stat().st_size <= 1 << 20
    lines = logs(h, web)
    assert lines[-1] == "the-last-line", lines[-3:]
    assert sum(1 for l in lines if l == "x" * 1023) >= 1000


def test_logs_of_a_stopped_container_and_what_is_refused(hld):
    h = hld
    web, vm = h.name("web"), h.name("vm")
    h.write(web, definition())
    h.write(vm, host_definition("10.9.9.9", []))
    h.apply()
    console_write(h, web, "said before the stop")
    h.hlctl("stop", web)
    lines = logs(h, web)
    assert any(l.endswith("said before the stop") for l in lines) and " stop: " in lines[-1], lines
    r = h.hlctl("logs", web, user=NOBODY, check=False)
    assert r.rc != 0 and "root and the group" in r.err, r
    r = h.hlctl("logs", vm, check=False)
    assert r.rc != 0 and "Host= service" in r.err, r
    r = h.hlctl("logs", "nosuch", check=False)
    assert r.rc != 0 and "no service named nosuch" in r.err, r
    # Following needs "more"; a stream without it is refused.
    with h.varlink() as v:
        r = v.call("io.hl.Logs", {"name": web, "follow": True})
        assert r["error"] == "org.varlink.service.ExpectedMore", r
    # Lxc= may not move the log away.
    h.write(web, definition(extra_container="Lxc=lxc.console.logfile=/tmp/elsewhere"))
    r = h.apply(check=False)
    assert r.rc != 0 and "lxc.console.logfile is hl's" in r.err, r


def test_the_journal_of_a_systemd_container(hld):
    debian_required()
    h = hld
    deb = h.name("deb")
    h.write(deb, "\n".join(["[Service]", "", "[Container]", "Template=%s" % DEBIAN, "Memory=256M",
                            "Provision=systemctl is-system-running --wait || true"]) + "\n")
    h.apply()
    h.sh(deb, "logger -t hltest hello-journal")
    wait_for("the journal line", lambda: any("hello-journal" in l for l in logs(h, deb)), 20)
    rows = logs(h, deb, json_lines=True)
    line = next(r for r in rows if "hello-journal" in r["text"])
    assert line["source"] == "journal" and "hltest" in line["text"] and abs(line["time"] - time.time()) < 120, line
    # hld's marks merged in by time, and only marks from the console log.
    assert any(r["source"] == "hl" and " start: " in r["text"] for r in rows), rows
    assert all(r["source"] in ("journal", "hl") for r in rows), [r for r in rows if r["source"] == "console"][:3]
    times = [r["time"] for r in rows if r.get("time")]
    assert times == sorted(times)
    f = Follow(h, deb)
    try:
        time.sleep(1)
        h.sh(deb, "logger -t hltest followed-line")
        f.wait_line(lambda l: "followed-line" in l)
        assert f.stop() == 0
    finally:
        if f.proc.poll() is None:
            f.proc.kill()
