# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl exec, enter and console against real busybox containers: exit statuses, stdin,
stdout and stderr apart, a pty with job control and window sizes (driven through python's
pty module), the console and its detach key, who may, what the history keeps, and that a
client that leaves takes its command with it."""

import fcntl
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

from conftest import HLCTL, NOBODY, definition, wait_for
from test_host_services import host_definition


class Pty:
    """hlctl run in a pseudo-terminal of the test's, read and written as a user would."""

    def __init__(self, h, *args, rows=30, cols=100):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["HLD_SOCKET"] = str(h.socket)
            os.environ["TERM"] = "xterm"
            os.execv(str(HLCTL), [str(HLCTL)] + [str(a) for a in args])
        self.resize(rows, cols)
        self.out = b""
        self.status = None

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, data):
        os.write(self.fd, data)

    def read_until(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            if time.monotonic() > deadline:
                raise AssertionError("%r not seen in %r" % (needle, self.out[-2000:]))
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError("hlctl ended before %r: %r" % (needle, self.out[-2000:]))
                self.out += data
        return self.out

    def wait(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                # What it wrote last is still in the terminal: read to its end (EIO).
                while select.select([self.fd], [], [], 0.5)[0]:
                    try:
                        data = os.read(self.fd, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    self.out += data
                os.close(self.fd)
                return self.status
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:
                    pass
        raise AssertionError("hlctl did not end: %r" % self.out[-2000:])

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.wait()
            except (ProcessLookupError, ChildProcessError):
                pass


def run(h, *args, input=None, check_rc=None, timeout=60):
    env = dict(os.environ, HLD_SOCKET=str(h.socket))
    proc = subprocess.run([str(HLCTL)] + [str(a) for a in args], input=input, capture_output=True,
                          env=env, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    if check_rc is not None:
        assert proc.returncode == check_rc, (proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture
def web(hld):
    name = hld.name("web")
    hld.write(name, definition())
    hld.apply()
    return name


def attach_events(h, name):
    return [e for e in h.history(name) if e["action"] == "attach"]


def test_exec_passes_status_stdin_and_streams(hld, web):
    h = hld
    p = run(h, "exec", web, "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert p.returncode == 7, p
    assert p.stdout == b"out\n" and p.stderr == b"err\n", p
    # stdin reaches the command, and its end too: cat ends.
    p = run(h, "exec", web, "--", "cat", input=b"hi\n", check_rc=0)
    assert p.stdout == b"hi\n", p
    # Large output in order, larger than every buffer on the way.
    p = run(h, "exec", web, "--", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done",
            check_rc=0)
    lines = p.stdout.decode().splitlines()
    assert lines == ["line%d" % i for i in range(20000)], lines[-3:]
    # And a large stdin, echoed back: neither side waits for the other.
    blob = os.urandom(3 << 20)
    p = run(h, "exec", web, "--", "cat", input=blob, check_rc=0)
    assert p.stdout == blob
    # A signal's death is 128+N, as a shell says it.
    p = run(h, "exec", web, "--", "sh", "-c", "kill -9 $$")
    assert p.returncode == 128 + 9, p
    # What does not exist is 127, as a shell says it; nothing else went wrong.
    p = run(h, "exec", web, "--", "/no/such/program")
    assert p.returncode == 127 and b"No such file" in p.stderr, p
    # --env, --cwd and --user, with the environment cleared but for hl's own.
    p = run(h, "exec", "--env", "GREETING=hello there", "--cwd", "/etc", "--user", "1000:1000", web, "--",
            "sh", "-c", 'echo "$GREETING"; pwd; id -u; id -g; echo "${HLD_SOCKET:-unset}"', check_rc=0)
    assert p.stdout.decode().split("\n")[:5] == ["hello there", "/etc", "1000", "1000", "unset"], p
    p = run(h, "exec", "--user", "nosuchuser", web, "--", "true")
    assert p.returncode == 125 and b"no user nosuchuser" in p.stderr, p
    p = run(h, "exec", "--cwd", "/no/such/dir", web, "--", "true")
    assert p.returncode == 125 and b"/no/such/dir" in p.stderr, p

    # Each is in the history: who ran what, and how it ended.
    wait_for("every event ended", lambda: all(e["result"] != "running" for e in attach_events(h, web)), 10)
    events = attach_events(h, web)
    assert len(events) == 9, events
    first = events[0]
    assert first["user"] == "root" and first["reason"] == "sh -c echo out; echo err >&2; exit 7", first
    assert first["result"] == "ok" and first["exit"] == 7, first
    assert any(e["reason"].endswith("as 1000:1000") for e in events), events


def test_enter_gives_a_login_shell_with_job_control_and_window_sizes(hld, web):
    h = hld
    t = Pty(h, "enter", web, rows=30, cols=100)
    try:
        t.read_until(b"# ")
        # The pty is the container's own, so tty(1) finds it; the size is the client's.
        t.write(b"tty; stty size; echo TERM=$TERM\r")
        t.read_until(b"TERM=xterm")
        assert b"/dev/pts/" in t.out and b"30 100" in t.out, t.out
        # A window change reaches the command.
        t.resize(45, 132)
        os.kill(t.pid, signal.SIGWINCH)
        time.sleep(0.3)
        t.write(b"stty size\r")
        t.read_until(b"45 132")
        # Job control: a job in the background, listed, and Ctrl-C reaches the foreground.
        t.write(b"sleep 300 & jobs\r")
        t.read_until(b"Running")
        t.write(b"sleep 100\r")
        time.sleep(0.5)
        t.write(b"\x03")
        t.write(b"echo after-$?\r")
        t.read_until(b"after-130")
        t.write(b"exit 3\r")
        assert t.wait() == 3
    finally:
        t.kill()
    e = attach_events(h, web)[-1]
    assert e["reason"] == "login shell (terminal)" and e["exit"] == 3, e


def test_console_attaches_and_detaches(hld, web):
    h = hld
    t = Pty(h, "console", web)
    try:
        t.read_until(b"Ctrl-a q")
        # busybox's inittab asks for Enter on the console, then gives a shell.
        time.sleep(0.5)
        t.write(b"\r")
        t.read_until(b"# ")
        t.write(b"echo on-the-$((6*7))\r")
        t.read_until(b"on-the-42")
        t.write(b"\x01q")
        assert t.wait() == 0
        assert b"detached" in t.out
    finally:
        t.kill()
    assert attach_events(h, web)[-1]["reason"] == "console"


def test_a_client_that_leaves_takes_its_command(hld, web):
    h = hld
    env = dict(os.environ, HLD_SOCKET=str(h.socket))
    client = subprocess.Popen([str(HLCTL), "exec", web, "--", "sleep", "7777"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    wait_for("the command inside", lambda: "sleep 7777" in h.sh(web, "ps").stdout, 10)
    client.kill()
    client.wait()
    wait_for("the command gone", lambda: "sleep 7777" not in h.sh(web, "ps").stdout, 10)
    wait_for("its event ended", lambda: attach_events(h, web)[-1]["result"] != "running", 10)
    e = attach_events(h, web)[-1]
    assert e["error"] == "the client left" and e["signal"] in (1, 9), e
    # Nothing of the session is left in hld: no helper, and hld still answers.
    wait_for("no helper", lambda: subprocess.run(["pgrep", "-f", "hl-session"], capture_output=True).returncode == 1, 10)
    assert h.services()[web]["state"] == "RUNNING"

    # A signal hlctl gets goes to the command without a terminal: TERM ends the sleep.
    client = subprocess.Popen([str(HLCTL), "exec", web, "--", "sh", "-c", "trap 'exit 42' TERM; sleep 600 & wait"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    wait_for("the command inside", lambda: "sleep 600" in h.sh(web, "ps").stdout, 10)
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=10) == 42


def test_hld_stopping_ends_its_sessions(hld, web):
    h = hld
    t = Pty(h, "enter", web)
    try:
        t.read_until(b"# ")
        t.write(b"sleep 8888\r")
        wait_for("the command inside", lambda: "sleep 8888" in h.sh(web, "ps").stdout, 10)
        h.stop()
        t.wait()
        wait_for("the command gone", lambda: "sleep 8888" not in h.sh(web, "ps").stdout, 10)
    finally:
        t.kill()
    h.start()
    # The event of the session hld did not see end is interrupted, not lost.
    e = attach_events(h, web)[-1]
    assert e["result"] in ("interrupted", "ok"), e


def test_who_may_and_what_is_refused(hld, web):
    h = hld
    marker = "/tmp/hl-exec-ran"
    stopped, vm = h.name("off"), h.name("vm")
    h.write(stopped, definition(state="stopped"))
    h.write(vm, host_definition("10.9.9.9", []))
    h.apply()
    before = len(attach_events(h, web))
    # A user outside the admin group: refused, and nothing runs.
    r = h.hlctl("exec", web, "--", "touch", marker, user=NOBODY, check=False)
    assert r.rc == 255 and ("read-only" in r.err or "needs root" in r.err), r
    assert "No such file" in h.sh(web, "ls %s 2>&1 || true" % marker).stdout
    assert len(attach_events(h, web)) == before
    # Not running, no container, no such service: each said, exit 255 as ssh's.
    for name, words in ((stopped, "is not running (STOPPED)"), (vm, "Host= service"),
                        ("nosuch", "no service named nosuch")):
        p = run(h, "exec", name, "--", "true")
        assert p.returncode == 255 and words.encode() in p.stderr, p
    p = run(h, "enter", web)
    assert p.returncode == 2 and b"needs a terminal" in p.stderr, p
    p = run(h, "exec", "--env", "=x", web, "--", "true")
    assert p.returncode == 2, p
    # Raw Varlink: Exec without upgrade, upgrade on another method, bad parameters.
    with h.varlink() as v:
        r = v.call("io.hl.Exec", {"name": web, "command": ["true"]})
        assert r["error"] == "org.varlink.service.InvalidParameter", r
        r = v.call("io.hl.List", {}, upgrade=True)
        assert r["error"] == "org.varlink.service.InvalidParameter" and r["parameters"]["parameter"] == "upgrade", r
        r = v.call("io.hl.Exec", {"name": web, "env": ["NOEQUALS"]}, upgrade=True)
        assert r["error"] == "io.hl.InvalidArgument", r
        r = v.call("io.hl.Exec", {"name": web, "cwd": "relative"}, upgrade=True)
        assert r["error"] == "io.hl.InvalidArgument", r
    assert len(attach_events(h, web)) == before


def test_bytes_after_an_upgrade_call_are_refused(hld, web):
    h = hld
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(h.socket))
    call = b'{"method":"io.hl.Exec","parameters":{"name":"%s","command":["true"]},"upgrade":true}\0' % web.encode()
    # Frames sent before the answer would be read by the wrong process: refused.
    s.sendall(call + b"i\0\0\0\x02hi")
    reply = b""
    while not reply.endswith(b"\0"):
        data = s.recv(4096)
        if not data:
            break
        reply += data
    assert b"InvalidParameter" in reply and b"nothing may follow" in reply, reply
    s.close()
    assert attach_events(h, web) == []


def test_a_client_that_shuts_its_side_still_gets_the_output(hld, web):
    """socat at its input's end shuts the connection for writing: the end of stdin, not of
    the session; the output and the status still come."""
    h = hld
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(str(h.socket))
    s.sendall(b'{"method":"io.hl.Exec","parameters":{"name":"%s","command":["sh","-c","sleep 1; echo late; exit 3"]},'
              b'"upgrade":true}\0' % web.encode())
    data = b""
    while b"\0" not in data:
        data += s.recv(4096)
    s.shutdown(socket.SHUT_WR)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    stream = data.split(b"\0", 1)[1]
    assert b"o\0\0\0\x05late\n" in stream and stream.endswith(b"x\0\0\0\x06exit 3"), stream
