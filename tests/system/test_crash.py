# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crash safety: hld killed with SIGKILL at many points of an apply, then started again.

Each round applies a small homelab (six services with Requires= between them) to an empty
node and kills hld when its database holds the k-th event row of that apply, for k = 0, 1,
2 ... (0: the moment the apply was sent), so the kills fall before, inside and between
actions: mid-create, between create and start, during a start. After every kill hld is
started again on the same directories and must bring the node to its definitions by
itself: every container running, none doubled, none half-made, no history row lost,
no action left "running", and a reconcile after that has nothing to do.
"""

import collections
import os
import signal
import subprocess
import time

from conftest import HLCTL, definition

# The shape of the demo homelab, with this test's own names.
LAB = {
    "dns": [],
    "db": [],
    "proxy": ["dns"],
    "mon": ["dns"],
    "auto": ["dns", "db"],
    "media": ["proxy"],
}
# Each service makes a create and a start event, each written twice (running, then its
# result): past about 24 rows the apply is over; the last points land after it.
KILL_POINTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 20, 24]


def wait_for_events(hld, baseline, k, proc, timeout=30):
    """Waits until the events table has k rows (or updates) beyond baseline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (rows,), = hld.db("SELECT count(*) + coalesce(sum(result != 'running'), 0) FROM events WHERE id > ?",
                          (baseline,))
        if rows >= k or proc.poll() is not None:
            return rows
        time.sleep(0.002)
    raise AssertionError("the apply did not reach %d event rows within %d s" % (k, timeout))


def check_node(hld, names, rows_before, label):
    """The invariants that must hold after hld came back and reconciled."""
    violations = []
    listed = hld.containers()
    doubled = [n for n, c in collections.Counter(listed).items() if c > 1]
    if doubled:
        violations.append("%s: containers listed twice: %s" % (label, doubled))
    if sorted(listed) != sorted(names):
        violations.append("%s: containers %s, wanted %s" % (label, sorted(listed), sorted(names)))
    leftovers = sorted(d for d in os.listdir(hld.lxcpath) if d not in names)
    if leftovers:
        violations.append("%s: directories in the lxcpath that are no container: %s" % (label, leftovers))
    for n in names:
        if os.path.exists(os.path.join(hld.lxcpath, n, "hl-creating")):
            violations.append("%s: %s is still marked half-created" % (label, n))
        if hld.state(n) != "RUNNING":
            violations.append("%s: %s is %s" % (label, n, hld.state(n)))
    ids = {r[0] for r in hld.db("SELECT id FROM events")}
    lost = rows_before - ids
    if lost:
        violations.append("%s: history rows lost: %s" % (label, sorted(lost)))
    (running,), = hld.db("SELECT count(*) FROM events WHERE result = 'running'")
    if running:
        violations.append("%s: %d events still 'running' after the restart" % (label, running))
    if hld.hlctl("reconcile", json=True).data["actions"] != []:
        violations.append("%s: the reconcile after recovery still had work" % label)
    return violations


def test_sigkill_at_many_points_during_apply(hld):
    names = {short: hld.name(short) for short in LAB}
    for short, requires in LAB.items():
        hld.write(names[short], definition(memory="32M", requires=[names[r] for r in requires]))
    violations = []
    rounds = 0

    for k in KILL_POINTS:
        # An empty node: the apply has everything to do.
        for short in reversed(list(LAB)):
            if names[short] in hld.services():
                hld.hlctl("destroy", names[short], "--yes", "--force")
        assert hld.containers() == []
        (baseline,), = hld.db("SELECT coalesce(max(id), 0) FROM events")

        env = dict(os.environ, HLD_SOCKET=str(hld.socket))
        proc = subprocess.Popen([str(HLCTL), "apply", str(hld.defs)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        if k > 0:
            wait_for_events(hld, baseline, k, proc)
        else:
            time.sleep(0.01)
        hld.kill(signal.SIGKILL)
        proc.wait(timeout=30)
        rows_before = {r[0] for r in hld.db("SELECT id FROM events")}

        hld.start()
        # The apply may have died before its revisions were stored: what a user does then
        # is apply again, which must finish the job whatever state the node was left in.
        hld.apply()
        violations += check_node(hld, list(names.values()), rows_before, "kill at event %d" % k)
        rounds += 1

    print("crash safety: %d kill points, %d runs, %d violations" % (len(KILL_POINTS), rounds, len(violations)))
    assert violations == []


def _tracer_attached(pid):
    """True when every thread of pid is traced (strace -f attaches to them one by one)."""
    tasks = os.listdir("/proc/%d/task" % pid)
    for t in tasks:
        with open("/proc/%d/task/%s/status" % (pid, t)) as f:
            if "TracerPid:\t0\n" in f.read():
                return False
    return True


def test_kill_during_config_write_keeps_the_config(hld):
    """The worst moment of an update, on purpose: strace holds every write to the
    container's config (or the temporary file it is written to) for seconds, and hld is
    SIGKILLed then. The container must keep a whole config and start afterwards."""
    name = hld.name("cfg")
    hld.write(name, definition(memory="64M"))
    hld.apply()
    config = hld.lxcpath / name / "config"
    tmp = hld.lxcpath / name / "config.tmp"
    good = config.read_text()
    assert "lxc.rootfs.path" in good

    strace = subprocess.Popen(
        ["strace", "-qq", "-f", "-p", str(hld.pid), "-o", "/dev/null", "-P", str(config), "-P", str(tmp),
         "-e", "trace=write,pwrite64,writev", "-e", "inject=write,pwrite64,writev:delay_enter=5000000"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _tracer_attached(hld.pid):
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.05)
        # A live memory change rewrites the config.
        hld.write(name, definition(memory="96M"))
        env = dict(os.environ, HLD_SOCKET=str(hld.socket))
        apply = subprocess.Popen([str(HLCTL), "apply", str(hld.defs)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        # The write is held: the old code has truncated the config by now, the new one has
        # made the temporary file and not renamed it yet.
        deadline = time.monotonic() + 15
        while not (tmp.exists() or config.stat().st_size == 0):
            assert time.monotonic() < deadline, "the config write never started"
            time.sleep(0.01)
        time.sleep(0.2)
        hld.kill(signal.SIGKILL)
        apply.wait(timeout=30)
    finally:
        strace.kill()
        strace.wait()

    assert config.read_text() == good, "the config was damaged by the kill"
    assert tmp.exists(), "the kill did not interrupt the write"
    hld.start()
    # The stored revision (96M) is carried out, and the container still starts. (Right
    # after the start the new hld's own write may have its config.tmp: look once it is done.)
    hld.hlctl("reconcile")
    assert not tmp.exists(), "the temporary file of the interrupted write was left"
    assert "removed 1 temporary files of an interrupted write" in hld.log.read_text()
    assert hld.memory_limit(name) == 96 * 1024 * 1024
    hld.hlctl("restart", name)
    assert hld.state(name) == "RUNNING"
    assert "lxc.rootfs.path" in config.read_text()


def test_damaged_config_is_reported_and_never_started(hld):
    """A config that lost what hld wrote (a power cut on another tool's write, a hand edit)
    is reported as damaged, with what to do, and the container is not started so."""
    name = hld.name("dmg")
    hld.write(name, definition())
    hld.apply()
    hld.stop()
    hld.lxc("stop", "-n", name, "-k")
    (hld.lxcpath / name / "config").write_text("")
    hld.start()

    s = hld.services()[name]
    assert s["condition"] == "damaged", s
    assert "lost lxc.rootfs.path" in s["problem"] and "hlctl destroy" in s["problem"], s
    r = hld.hlctl("start", name, check=False)
    assert hld.state(name) == "STOPPED"
    held = [e for e in hld.history(name) if e["action"] == "hold"]
    assert held and "damaged" in held[-1]["reason"], hld.history(name)
    assert "damaged" in hld.hlctl("show", name).out
    # Destroying it is the way out, and works.
    hld.hlctl("destroy", name, "--yes")
    assert hld.containers() == []
    del r


def test_interrupted_destroy_is_finished_not_undone(hld):
    """A kill in the middle of hlctl destroy brought the service back, re-created empty.
    The destroy is recorded first; the next start finishes it. strace slows every unlink
    so that the kill lands while the root file system is being removed."""
    name = hld.name("gone")
    keep = hld.name("keep")
    hld.write(name, definition())
    hld.write(keep, definition())
    hld.apply()
    rootfs = hld.rootfs(name)
    strace = subprocess.Popen(
        ["strace", "-qq", "-f", "-p", str(hld.pid), "-o", "/dev/null", "-e", "trace=unlink,unlinkat,rmdir",
         "-e", "inject=unlink,unlinkat,rmdir:delay_enter=20000"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _tracer_attached(hld.pid):
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.05)
        env = dict(os.environ, HLD_SOCKET=str(hld.socket))
        destroy = subprocess.Popen([str(HLCTL), "destroy", name, "--yes"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        files = sum(len(f) + len(d) for _, d, f in os.walk(rootfs))
        deadline = time.monotonic() + 30
        # Killed once the removal is under way, well before its end: hld and the helper
        # process it forked for the destroy, as a power cut (or systemd's stop) would.
        while sum(len(f) + len(d) for _, d, f in os.walk(rootfs)) > files - 5:
            assert time.monotonic() < deadline, "the destroy never started removing files"
            time.sleep(0.02)
        os.killpg(hld.pid, signal.SIGKILL)
        hld.proc.wait(timeout=10)
        destroy.wait(timeout=30)
    finally:
        strace.kill()
        strace.wait()
    assert rootfs.exists(), "the kill came too late to test anything"
    hld.start()
    hld.hlctl("reconcile")
    assert name not in hld.services(), hld.services()
    assert name not in hld.containers()
    assert not (hld.lxcpath / name).exists()
    assert hld.state(keep) == "RUNNING"
    results = [(e["action"], e["result"]) for e in hld.history(name)]
    assert ("destroy", "interrupted") in results and ("destroy", "ok") in results, results
    assert ("create", "ok") in results and results.count(("create", "ok")) == 1, results
