# SPDX-License-Identifier: LGPL-2.1-or-later
"""System tests: a private hld (state dir, lxcpath, socket of its own) driven with hlctl and
a raw Varlink client, against real busybox containers.

Run as root after building: `python3 -m pytest -q tests/system` (HL_BUILD names another
build directory). Every test makes its own hld; service names carry a random tag so that
containers of concurrent runs never share a cgroup name (liblxc's lxc.payload.NAME).
"""

import contextlib
import grp
import json as jsonlib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import string
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("HL_BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
HLD = BUILD / "daemon" / "hld"
HLCTL = BUILD / "cli" / "hlctl"
DEMO_DIR = ROOT / "docs" / "examples" / "homelab"
INTERFACE_FILE = ROOT / "lib" / "io.hl.varlink"

NOBODY = 65534


def _sanitized():
    """True for a build with AddressSanitizer: its memory figures mean nothing, and its
    liblxc work runs on the loop thread (daemon/work.h)."""
    try:
        with open(HLD, "rb") as f:
            return b"libasan.so" in f.read()
    except OSError:
        return False


SANITIZED = _sanitized()
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _skip_reason():
    if os.geteuid() != 0:
        return "system tests need root (real LXC containers)"
    if not os.access(HLD, os.X_OK):
        return "%s does not exist: build hl first (ninja -C %s)" % (HLD, BUILD)
    if not os.access(HLCTL, os.X_OK):
        return "%s does not exist: build hl first (ninja -C %s)" % (HLCTL, BUILD)
    if shutil.which("lxc-create") is None:
        return "the lxc tools are not installed (apt-get install lxc)"
    return None


SKIP_REASON = _skip_reason()


@pytest.fixture(autouse=True)
def _system_requirements():
    # CI sets HL_REQUIRE_SYSTEM=1: there a suite that cannot run is a failure, not a skip.
    if SKIP_REASON:
        if os.environ.get("HL_REQUIRE_SYSTEM") == "1":
            pytest.fail(SKIP_REASON)
        pytest.skip(SKIP_REASON)


def new_tag():
    """A short random prefix for service names: a letter then four letters or digits."""
    return random.choice(string.ascii_lowercase) + "".join(
        random.choices(string.ascii_lowercase + string.digits, k=4))


def definition(memory="64M", requires=(), state=None, description=None, extra_service="",
               extra_container=""):
    """The text of a busybox service definition."""
    lines = ["[Service]"]
    if description:
        lines.append("Description=%s" % description)
    for r in requires:
        lines.append("Requires=%s" % r)
    if state:
        lines.append("State=%s" % state)
    if extra_service:
        lines.append(extra_service.rstrip("\n"))
    lines += ["", "[Container]", "Template=busybox"]
    if memory:
        lines.append("Memory=%s" % memory)
    if extra_container:
        lines.append(extra_container.rstrip("\n"))
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def admin_group(hld):
    """A group of the test's own, made hld's admin group (hld restarted with it): its gid."""
    group = "hl" + hld.tag
    subprocess.run(["groupadd", group], check=True)
    try:
        hld.stop()
        hld.start("--admin-group", group)
        yield grp.getgrnam(group).gr_gid
    finally:
        subprocess.run(["groupdel", group], check=False)


class HlctlError(AssertionError):
    pass


class Result:
    """The outcome of one hlctl run."""

    def __init__(self, args, proc, want_json):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.data = None
        if want_json and self.rc == 0 and self.out.strip():
            try:
                self.data = jsonlib.loads(self.out)
            except ValueError as e:
                raise HlctlError("hlctl %s: stdout is not JSON (%s): %r"
                                 % (" ".join(args), e, self.out[:2000]))

    def __repr__(self):
        return "<hlctl %s: rc=%d stdout=%r stderr=%r>" % (
            " ".join(self.args), self.rc, self.out[-2000:], self.err[-2000:])


class Varlink:
    """A raw Varlink client: JSON objects terminated by NUL on a Unix stream socket."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, message):
        """Sends a dict as one frame, or bytes exactly as given."""
        if isinstance(message, dict):
            message = jsonlib.dumps(message).encode() + b"\0"
        self.sock.sendall(message)

    def recv(self):
        """The next reply as a dict, or None when hld closed the connection."""
        while b"\0" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buf:
                    raise AssertionError("connection closed inside a frame: %r" % self.buf[:200])
                return None
            self.buf += chunk
        frame, self.buf = self.buf.split(b"\0", 1)
        return jsonlib.loads(frame)

    def call(self, method, parameters=None, **fields):
        message = {"method": method}
        if parameters is not None:
            message["parameters"] = parameters
        message.update(fields)
        self.send(message)
        reply = self.recv()
        if reply is None:
            raise AssertionError("hld closed the connection instead of answering %s" % method)
        return reply


def wait_for(what, predicate, timeout=30, interval=0.2):
    """Polls predicate() until it returns something true; that value. Raises with what
    was awaited when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %s s" % (what, timeout))
        time.sleep(interval)


def _drop_to(uid):
    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return drop


class Hld:
    """One private hld: its directories, process, and helpers to drive and inspect it."""

    def __init__(self, base):
        self.dir = Path(base)
        self.state_dir = self.dir / "state"
        self.lxcpath = self.dir / "lxc"
        self.socket = self.dir / "hld.sock"
        self.log = self.dir / "hld.log"
        self.defs = self.dir / "defs"
        self.db_path = self.state_dir / "hld.db"
        self.tag = new_tag()
        self.proc = None
        self.args = []
        self.exit_codes = []
        for d in (self.state_dir, self.lxcpath, self.defs):
            d.mkdir(mode=0o755)
        os.chmod(self.dir, 0o755)

    # --- the daemon -------------------------------------------------------------------

    def start(self, *extra, timeout=10):
        if extra:
            self.args = list(extra)
        cmd = [str(HLD), "--state-dir", str(self.state_dir), "--lxcpath", str(self.lxcpath),
               "--socket", str(self.socket)] + self.args
        with open(self.log, "ab") as log:
            log.write(("=== %s\n" % " ".join(cmd)).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("hld exited with %d while starting:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect(str(self.socket))
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("hld's socket did not accept within %d s:\n%s"
                                     % (timeout, self.log_tail()))
            time.sleep(0.02)

    @property
    def pid(self):
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def kill(self, sig=signal.SIGKILL, timeout=10):
        """Sends sig to hld and waits for it to exit; returns its exit status."""
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.exit_codes.append(rc)
        return rc

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit status or None."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("hld did not stop within %d s of SIGTERM" % timeout)
        self.exit_codes.append(rc)
        return rc

    def restart(self, sig=signal.SIGTERM):
        if self.pid is not None:
            if sig == signal.SIGTERM:
                self.stop()
            else:
                self.kill(sig)
        return self.start()

    def log_tail(self, lines=60):
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no hld log)"
        return "\n".join(text.splitlines()[-lines:])

    # --- clients ----------------------------------------------------------------------

    def hlctl(self, *args, json=False, check=True, user=None, timeout=300, env=None):
        args = [str(a) for a in args]
        binary = str(HLCTL)
        preexec = None
        if user is not None:
            # The build tree may not be reachable by other users: use a copy in our 0755 dir.
            binary = str(self.dir / "hlctl")
            if not os.path.exists(binary):
                shutil.copy2(HLCTL, binary)
                os.chmod(binary, 0o755)
            preexec = _drop_to(user)
        cmd = [binary] + (["--json"] if json else []) + args
        full_env = dict(os.environ, HLD_SOCKET=str(self.socket))
        if env:
            full_env.update(env)
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=full_env, timeout=timeout, preexec_fn=preexec, cwd=self.dir)
        result = Result(args, proc, json)
        for marker in SANITIZER_MARKERS:
            if marker in result.err:
                raise HlctlError("sanitizer report from hlctl %s:\n%s" % (" ".join(args), result.err))
        if check and result.rc != 0:
            raise HlctlError("hlctl %s failed: %r\nhld log:\n%s"
                             % (" ".join(args), result, self.log_tail(30)))
        return result

    def varlink(self, timeout=60):
        return Varlink(self.socket, timeout)

    def call(self, method, parameters=None, **fields):
        """One call on a fresh connection; the reply as a dict."""
        with self.varlink() as v:
            return v.call(method, parameters, **fields)

    # --- definitions ------------------------------------------------------------------

    def name(self, short):
        """A service name unique to this test: the tag, a dash, short."""
        return "%s-%s" % (self.tag, short)

    def write(self, name, text, directory=None):
        directory = Path(directory) if directory else self.defs
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        path = directory / ("%s.conf" % name)
        path.write_text(text)
        os.chmod(path, 0o644)
        return path

    def apply(self, *paths, json=True, check=True, user=None):
        return self.hlctl("apply", *(paths or [self.defs]), json=json, check=check, user=user)

    def services(self):
        return {s["name"]: s for s in self.hlctl("list", json=True).data["services"]}

    def history(self, service=None):
        args = ["history"] + ([service] if service else [])
        return self.hlctl(*args, json=True).data["events"]

    # --- LXC --------------------------------------------------------------------------

    def lxc(self, tool, *args, check=True):
        """Runs lxc-TOOL -P lxcpath ARGS; returns the completed process."""
        cmd = ["lxc-%s" % tool, "-P", str(self.lxcpath)] + [str(a) for a in args]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), proc.returncode, proc.stderr))
        return proc

    def sh(self, name, command):
        """Runs a shell command inside the running container name, environment cleared."""
        return self.lxc("attach", "-n", name, "--clear-env", "--", "/bin/sh", "-c", command)

    def containers(self, running=False):
        """Names lxc-ls lists in the private lxcpath, in its order (duplicates kept)."""
        out = self.lxc("ls", "-1", *(["--running"] if running else [])).stdout
        return out.split()

    def state(self, name):
        proc = self.lxc("info", "-n", name, "-s", "-H", check=False)
        if proc.returncode != 0:
            return "MISSING"
        return proc.stdout.strip()

    def container_pid(self, name):
        out = self.lxc("info", "-n", name, "-p", "-H").stdout.strip()
        return int(out) if out else None

    def memory_limit(self, name):
        """The container's memory limit from its cgroup (v1 limit_in_bytes or v2 max)."""
        for key in ("memory.limit_in_bytes", "memory.max"):
            proc = self.lxc("cgroup", "-n", name, key, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                value = proc.stdout.strip()
                return None if value == "max" else int(value)
        raise AssertionError("no memory limit readable for %s" % name)

    def rootfs(self, name):
        config = (self.lxcpath / name / "config").read_text()
        m = re.search(r"^\s*lxc\.rootfs\.path\s*=\s*(\S+)", config, re.M)
        path = m.group(1) if m else str(self.lxcpath / name / "rootfs")
        if ":" in path:
            path = path.split(":", 1)[1]
        return Path(path)

    def wait_state(self, name, state, timeout=20):
        deadline = time.monotonic() + timeout
        while self.state(name) != state:
            if time.monotonic() > deadline:
                raise AssertionError("%s is %s, not %s, after %d s"
                                     % (name, self.state(name), state, timeout))
            time.sleep(0.1)

    # --- the database -----------------------------------------------------------------

    def db(self, sql, params=()):
        """Rows of a read-only query on hld's database."""
        conn = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def count(self, table):
        return self.db("SELECT count(*) FROM %s" % table)[0][0]

    def snapshot(self):
        """What bad input must not change: stored revisions, events and containers."""
        return {
            "revisions": self.count("revisions"),
            "events": self.count("events"),
            "containers": sorted(self.containers()),
            "running": sorted(self.containers(running=True)),
        }

    # --- cleanup ----------------------------------------------------------------------

    def destroy_containers(self):
        """Stops and destroys every container of the private lxcpath; returns what is left."""
        if not self.lxcpath.exists():
            return []
        for name in set(self.containers()):
            self.lxc("stop", "-n", name, "-k", check=False)
            self.lxc("destroy", "-n", name, "-f", "-s", check=False)
        return self.containers()

    def sanitizer_reports(self):
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture
def hld_dirs(request):
    """An Hld with its directories, not started; everything removed afterwards."""
    base = tempfile.mkdtemp(prefix="hl-test-")
    h = Hld(base)
    problems = []
    try:
        yield h
    finally:
        try:
            rc = h.stop()
            if rc not in (None, 0):
                problems.append("hld exited with %s after SIGTERM" % rc)
        except Exception as e:  # still clean up the containers
            problems.append(str(e))
        left = h.destroy_containers()
        if left:
            problems.append("containers left in %s: %s" % (h.lxcpath, left))
        problems += ["sanitizer: " + line for line in h.sanitizer_reports()]
        failed = any(getattr(getattr(request.node, "rep_" + w, None), "failed", False)
                     for w in ("setup", "call"))
        if failed or problems:
            print("\n--- hld log (%s), last lines ---\n%s" % (h.log, h.log_tail(200 if problems else 60)))
            for p in problems:
                print("teardown: " + p)
        if not left:
            shutil.rmtree(base, ignore_errors=True)
        # A test that failed already counts once; its teardown problems are printed above.
        if problems and (left or not failed):
            pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def hld(hld_dirs):
    """A running private hld."""
    hld_dirs.start()
    return hld_dirs
