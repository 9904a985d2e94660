# SPDX-License-Identifier: LGPL-2.1-or-later
"""[Health] checks against real busybox containers: verdicts, restarts of an unhealthy
service, sweeps with hlctl health (and its exit status), the probe record, bad Check=
lines, and the Prometheus file."""

import json as jsonlib
import os
import re
import subprocess
import time

import pytest

from conftest import HLCTL, NOBODY, definition, wait_for

# busybox's init leaves loopback down: up now, and at every boot.
LO_UP = "Provision=echo '::sysinit:/bin/ip link set lo up' >> /etc/inittab && ip link set lo up"
# A web server that stays down while /tmp/down exists (in the rootfs, so it would outlive a
# restart: init removes it at boot), and an echo server on port 7000, both kept by init.
WEB = [
    LO_UP,
    "Provision=echo '::sysinit:/bin/rm -f /tmp/down' >> /etc/inittab",
    "Provision=mkdir -p /srv/www && echo hello > /srv/www/index.html",
    "Provision=echo \"::respawn:/bin/sh -c 'if test -e /tmp/down; then sleep 1; "
    "else exec /bin/httpd -f -p 127.0.0.1:80 -h /srv/www; fi'\" >> /etc/inittab",
    "Provision=echo '::respawn:/bin/nc -ll -p 7000 -e /bin/cat' >> /etc/inittab && kill -HUP 1",
]


def health_definition(checks, health=(), restart=(), provision=()):
    """A busybox service with Provision= lines, a [Health] section and maybe [Restart]."""
    lines = list(provision) + ["", "[Health]"] + ["Check=%s" % c for c in checks] + list(health)
    if restart:
        lines += ["", "[Restart]"] + list(restart)
    return definition(extra_container="\n".join(lines))



def health_of(h, name):
    return h.services()[name]["health"]


def wait_health(h, name, want, timeout=20):
    return wait_for("%s %s" % (name, want), lambda: health_of(h, name) == want, timeout)


def events_after(h, name, after_id):
    return [e for e in h.history(name) if e["id"] > after_id]


def sweep(h, *names):
    """hlctl --json health NAMES: the result, its rows by check, and the time it took."""
    started = time.monotonic()
    r = h.hlctl("health", *names, json=True, check=False)
    elapsed = time.monotonic() - started
    assert r.rc in (0, 1), r
    return r, jsonlib.loads(r.out), elapsed


def test_unhealthy_service_is_restarted_and_recovers(hld):
    name = hld.name("web")
    hld.write(name, health_definition(
        ["http http://127.0.0.1/", "tcp 7000"],
        health=["Interval=2s", "Timeout=1s", "Retries=2", "StartPeriod=3s"],
        restart=["Policy=on-failure"], provision=WEB))
    hld.apply()
    wait_health(hld, name, "healthy")

    status = hld.hlctl("status").out
    assert re.search(r"^%s\s+RUNNING\s+healthy\s" % re.escape(name), status, re.M), status
    show = hld.hlctl("show", name).out
    assert re.search(r"^Health:\s+healthy$", show, re.M), show
    assert re.search(r"^Degraded:\s+no$", show, re.M), show
    r = hld.hlctl("health", name)
    assert re.search(r"^%s\s+http http://127\.0\.0\.1/\s+ok\s.*HTTP 200$" % re.escape(name), r.out, re.M), r
    assert re.search(r"^%s\s+tcp 7000\s+ok\s" % re.escape(name), r.out, re.M), r
    assert re.search(r"^1 service, 2 checks: 2 ok, 0 failed in [0-9.]+ m?s\.$", r.out, re.M), r

    pid = hld.container_pid(name)
    last = hld.history(name)[-1]["id"]
    # The web server goes away and stays away until the container starts again.
    hld.lxc("attach", "-n", name, "--", "sh", "-c", "touch /tmp/down && killall httpd")
    killed = time.monotonic()

    # Retries=2 failed rounds, Interval=2s apart (jittered within it): about 4 s.
    failed = wait_for("a health failure event", lambda: [
        e for e in events_after(hld, name, last) if e["action"] == "health" and e["result"] == "failed"], 12)
    assert time.monotonic() - killed < 12
    assert "unhealthy" in failed[0]["reason"], failed
    assert "http http://127.0.0.1/" in (failed[0].get("error") or ""), failed

    restart = wait_for("a restart for health", lambda: [
        e for e in events_after(hld, name, last) if e["action"] == "restart" and e["result"] == "ok"], 20)
    assert "unhealthy" in restart[0]["reason"], restart
    assert hld.container_pid(name) not in (None, pid)

    # The restart ran init's sysinit again, which removed the marker: healthy again.
    wait_health(hld, name, "healthy", timeout=20)
    story = [(e["action"], e["result"]) for e in events_after(hld, name, last)
             if e["action"] in ("health", "restart")]
    assert story[:3] == [("health", "failed"), ("restart", "ok"), ("health", "ok")], story
    assert hld.hlctl("health", name).rc == 0

    record = hld.hlctl("health", "--history", name, json=True).data
    assert record["service"] == name and record["since"] == 0
    assert record["probes"] >= 6
    assert 2 <= record["failures_count"] < record["probes"]
    assert 0 < record["uptime"] < 1
    assert abs(record["uptime"] - (record["probes"] - record["failures_count"]) / record["probes"]) < 1e-6
    assert record["flaps"] >= 3  # healthy, unhealthy, healthy again
    assert "failing_since" not in record  # it passes now
    # The verdict took Retries=2 failed rounds; under a slow (sanitizer) build one of them
    # may have failed on another check, so at least one http failure is certain.
    http_failures = [f for f in record["failures"] if f["check"] == "http http://127.0.0.1/"]
    assert len(http_failures) >= 1, record
    # Refused while the server was down; unreachable if a round fell between the restart
    # and init bringing loopback up.
    assert all("port 80" in f["message"] or "unreachable" in f["message"] for f in http_failures), record
    assert any("port 80" in f["message"] for f in http_failures), record

    table = hld.hlctl("health", "--history", name).out
    assert re.search(r"^Uptime:\s+\d+\.\d\d% \(\d+ probes, \d+ failed\)$", table, re.M), table
    assert re.search(r"^Flaps:\s+\d+$", table, re.M), table
    assert re.search(r"^Since:\s+all that is kept$", table, re.M), table
    assert re.search(r"^  TIME\s+CHECK\s+LATENCY\s+MESSAGE$", table, re.M), table
    assert re.search(r"^  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+http http://127\.0\.0\.1/\s", table, re.M), table

    recent = hld.hlctl("health", "--history", name, "--since", "1h", json=True).data
    assert recent["since"] > time.time() - 3700
    assert recent["probes"] == pytest.approx(record["probes"], abs=10)
    assert hld.hlctl("health", "--history", name, "--since", "1h").out.count("Since:") == 1


def test_hanging_probe_costs_its_timeout_once(hld):
    hang, quick = hld.name("hang"), hld.name("quick")
    # Three checks that never end: run one after another they would take 3 s.
    hld.write(hang, health_definition(
        ["exec /bin/sleep 1000", "exec /bin/sleep 1001", "exec /bin/sleep 1002"],
        health=["Timeout=1s"], restart=["Policy=no"]))
    hld.write(quick, health_definition(["exec /bin/true"]))
    hld.apply()
    wait_health(hld, quick, "healthy")

    r, data, elapsed = sweep(hld, hang, quick)
    assert r.rc == 1 and data["healthy"] is False, r
    assert elapsed < 2.5, elapsed
    assert data["duration_ms"] <= 2000, data
    rows = {(row["service"], row["check"]): row for row in data["results"]}
    assert len(rows) == 4, data
    for n in (1000, 1001, 1002):
        row = rows[(hang, "exec /bin/sleep %d" % n)]
        assert row["ok"] is False and row["message"] == "not finished within 1.0 s", row
        assert 900 <= row["latency_ms"] < 2000, row
    assert rows[(quick, "exec /bin/true")]["ok"] is True
    assert rows[(quick, "exec /bin/true")]["latency_ms"] < 900, rows

    table = hld.hlctl("health", hang, quick, check=False)
    assert table.rc == 1, table
    assert re.search(r"^%s\s+exec /bin/sleep 1000\s+FAIL\s.*not finished within 1\.0 s$" % re.escape(hang),
                     table.out, re.M), table
    assert re.search(r"^2 services, 4 checks: 1 ok, 3 failed in ", table.out, re.M), table

    # Killed at the timeout: the sleeps do not pile up in the container.
    ps = hld.lxc("attach", "-n", hang, "--", "ps").stdout
    assert ps.count("sleep 100") <= 3, ps


def test_exit_status(hld):
    good, bad, plain = hld.name("good"), hld.name("bad"), hld.name("plain")
    hld.write(good, health_definition(["exec /bin/true"]))
    hld.write(bad, health_definition(["exec /bin/false"], health=["Retries=1"], restart=["Policy=no"]))
    hld.write(plain, definition())
    hld.apply()
    wait_health(hld, good, "healthy")
    wait_health(hld, bad, "unhealthy")

    assert hld.hlctl("health", good).rc == 0
    assert hld.hlctl("health", good, json=True).data["healthy"] is True
    r = hld.hlctl("health", check=False)  # every service with checks
    assert r.rc == 1, r
    assert re.search(r"^%s\s+exec /bin/false\s+FAIL\s.*exit status 1$" % re.escape(bad), r.out, re.M), r
    assert plain not in r.out, r
    assert r.err == "", r
    r = hld.hlctl("--json", "health", bad, check=False)
    assert r.rc == 1 and '"healthy": false' in r.out, r
    # A sweep changes nothing: anyone may ask, on either socket (hld-health.service does so
    # as a dynamic user on the read-only one).
    assert hld.hlctl("health", good, user=NOBODY).rc == 0
    assert hld.hlctl("health", good, user=NOBODY, env={"HLD_SOCKET": str(hld.dir / "hld-ro.sock")}).rc == 0
    assert hld.hlctl("health", user=NOBODY, check=False).rc == 1

    # Named without checks: one good row; named while stopped: one failed row.
    _, data, _ = sweep(hld, plain)
    assert data["healthy"] is True
    rows = [(x["check"], x["ok"], x["message"]) for x in data["results"]]
    assert rows == [("-", True, "no checks defined")], data
    hld.hlctl("stop", good)
    r, data, _ = sweep(hld, good)
    assert r.rc == 1
    rows = [(x["check"], x["ok"], x["message"]) for x in data["results"]]
    assert rows == [("-", False, "container is STOPPED")], data
    assert hld.services()[good]["health"] == "none"
    assert re.search(r"^%s\s+STOPPED\s+-\s" % re.escape(good), hld.hlctl("status").out, re.M)

    r = hld.hlctl("health", hld.name("nosuch"), check=False)
    assert r.rc == 1 and "no service named" in r.err, r

    for args in (["health", "--history"], ["health", "--history", good, bad], ["health", "--since", "1h"],
                 ["health", "--since"], ["status", "--history"]):
        r = hld.hlctl(*args, check=False)
        assert r.rc == 2 and r.out == "" and r.err.strip(), r

    missing = {"HLD_SOCKET": str(hld.dir / "no-such.sock")}
    for json in (False, True):
        r = hld.hlctl("health", json=json, check=False, env=missing)
        assert r.rc == 2 and "no-such.sock" in r.err, r
    hld.stop()
    r = hld.hlctl("health", check=False)
    assert r.rc == 2 and "is hld running?" in r.err, r


def test_dns_check_without_resolver_fails_clearly(hld):
    lo, nolo = hld.name("dns"), hld.name("nolo")
    # No resolv.conf in busybox: the query goes to 127.0.0.1, where nothing answers.
    hld.write(lo, health_definition(["dns example.com", "dns example.com AAAA nxdomain"],
                                    health=["Timeout=1s"], restart=["Policy=no"], provision=[LO_UP]))
    # And without loopback there is no route at all.
    hld.write(nolo, health_definition(["dns example.com"], health=["Timeout=1s"], restart=["Policy=no"]))
    hld.apply()

    r, data, elapsed = sweep(hld, lo, nolo)
    assert r.rc == 1 and data["healthy"] is False
    assert elapsed < 3, elapsed
    rows = {(x["service"], x["check"]): x for x in data["results"]}
    for key in ((lo, "dns example.com"), (lo, "dns example.com AAAA nxdomain")):
        assert rows[key]["ok"] is False
        assert re.search(r"no answer within 1\.0 s|connection refused", rows[key]["message"]), rows[key]
    assert rows[(nolo, "dns example.com")]["ok"] is False
    assert re.search(r"network is unreachable|no answer within 1\.0 s",
                     rows[(nolo, "dns example.com")]["message"], re.I), rows


BAD_CHECKS = [
    # (case, [Health] lines, key, words of the reason)
    ("not-a-kind", ["Check=icmp 10.0.0.1"], "Check", "is not a kind of check"),
    ("no-command", ["Check=exec"], "Check", "exec needs a command"),
    ("port-range", ["Check=tcp 70000"], "Check", "not between 1 and 65535"),
    ("tcp-address", ["Check=tcp 80 example.com"], "Check", "is not an IP address"),
    ("https", ["Check=http https://127.0.0.1/"], "Check", "is not an http:// URL"),
    ("http-host", ["Check=http http://example.com/"], "Check", "must be an IP address or localhost"),
    ("http-status", ["Check=http http://127.0.0.1/ 99"], "Check", "is not between 100 and 599"),
    ("dns-type", ["Check=dns example.com ANY"], "Check", "is not a query type"),
    ("quote", ["Check=exec /bin/sh -c 'true"], "Check", "unterminated quote"),
    ("interval", ["Check=tcp 80", "Interval=500ms"], "Interval", "at least 1s"),
    ("timeout", ["Check=tcp 80", "Timeout=50ms"], "Timeout", "at least 100ms"),
    ("retries", ["Check=tcp 80", "Retries=0"], "Retries", "from 1 to 100"),
    ("too-many", ["Check=tcp %d" % p for p in range(1, 34)], "Check", "at most 32 checks"),
]


@pytest.mark.parametrize("case,lines,key,reason", BAD_CHECKS, ids=[c[0] for c in BAD_CHECKS])
def test_bad_health_section_changes_nothing(hld, case, lines, key, reason):
    base = hld.name("base")
    hld.write(base, definition())
    hld.apply()
    # A valid change of the base service comes with the bad file: it is not stored either.
    good = hld.write(base, health_definition(["exec /bin/true"]), directory=hld.dir / "batch")
    bad_name = hld.name("bad")
    text = health_definition([], health=lines)
    bad = hld.write(bad_name, text, directory=hld.dir / "batch")
    wrong = [line for line in lines if line.startswith(key + "=")][-1 if key == "Check" else 0]
    lineno = text.split("\n").index(wrong) + 1
    before = hld.snapshot()
    revision = hld.services()[base]["revision"]

    for verb in ("apply", "plan"):
        r = hld.hlctl(verb, good, bad, check=False)
        assert r.rc == 1 and r.out == "", r
        err = r.err.strip()
        assert "\n" not in err, r
        where = r"%s\.conf:%d: %s: " % (re.escape(bad_name), lineno, key)
        assert re.search(where + ".*" + re.escape(reason), err), err
    assert hld.snapshot() == before
    assert hld.services()[base]["revision"] == revision
    assert bad_name not in hld.services()


def metrics_lines(path):
    """The metrics file's lines; an empty file or one without its metrics is a failure."""
    lines = path.read_text().splitlines()
    assert lines, "%s is empty" % path
    for metric in ("hl_service_up", "hl_service_restarts"):
        assert "# TYPE %s gauge" % metric in lines, (metric, lines)
    return lines


def test_metrics_file(hld_dirs):
    h = hld_dirs
    metrics_dir = h.dir / "metrics"
    metrics_dir.mkdir()
    prom = metrics_dir / "hl.prom"
    h.start("--metrics-file", str(prom))
    name, plain = h.name("web"), h.name("plain")
    h.write(name, health_definition(["exec /bin/true", "exec /bin/sh -c 'exit 0'"]))
    h.write(plain, definition())
    h.apply()
    wait_health(h, name, "healthy")

    assert h.hlctl("health").rc == 0
    lines = metrics_lines(prom)
    assert (prom.stat().st_mode & 0o777) == 0o644
    assert 'hl_service_up{service="%s"} 1' % name in lines, lines
    assert 'hl_service_up{service="%s"} 1' % plain in lines, lines
    assert 'hl_service_healthy{service="%s"} 1' % name in lines, lines
    # No checks, no verdict: absent rather than a made-up value.
    assert not any(line.startswith('hl_service_healthy{service="%s"}' % plain) for line in lines), lines
    assert 'hl_service_restarts{service="%s"} 0' % name in lines, lines
    for check in ("exec /bin/true", "exec /bin/sh -c 'exit 0'"):
        labels = '{service="%s",check="%s"}' % (name, check)
        assert "hl_check_ok%s 1" % labels in lines, lines
        latency = [line for line in lines if line.startswith("hl_check_latency_seconds%s " % labels)]
        assert len(latency) == 1 and 0 <= float(latency[0].split()[-1]) < 5, lines
    for line in lines:
        assert line.startswith("# HELP hl_") or line.startswith("# TYPE hl_") or \
            re.match(r'^hl_[a-z_]+\{service="[^"]+"(,check="[^"]*")?\} [0-9.]+$', line), line

    # Replaced by a rename each time, never rewritten in place: a reader that has the old
    # file open keeps reading it whole. No temporary file is left behind.
    with open(prom) as old:
        text = old.read()
        h.hlctl("stop", plain)
        h.hlctl("health")
        assert os.fstat(old.fileno()).st_ino != prom.stat().st_ino
        old.seek(0)
        assert old.read() == text
    assert 'hl_service_up{service="%s"} 0' % plain in metrics_lines(prom)
    assert sorted(os.listdir(metrics_dir)) == ["hl.prom"]


def test_metrics_file_groups_each_metric(hld_dirs):
    # The text format wants all lines of a metric in one group: hl_check_ok and
    # hl_check_latency_seconds samples must not alternate.
    h = hld_dirs
    prom = h.dir / "hl.prom"
    h.start("--metrics-file", str(prom))
    name = h.name("web")
    h.write(name, health_definition(["exec /bin/true", "exec /bin/sh -c 'exit 0'"]))
    h.apply()
    h.hlctl("health")
    seen, current = set(), None
    for line in metrics_lines(prom):
        metric = line.split()[2] if line.startswith("#") else line.split("{")[0]
        if metric != current:
            assert metric not in seen, "%s appears in two groups:\n%s" % (metric, prom.read_text())
            seen.add(metric)
            current = metric


def test_metrics_file_follows_a_stop(hld_dirs):
    # Not only sweeps and verdicts rewrite the file: a stop does too, without a sweep.
    h = hld_dirs
    prom = h.dir / "hl.prom"
    h.start("--metrics-file", str(prom))
    name = h.name("web")
    h.write(name, health_definition(["exec /bin/true"]))
    h.apply()
    wait_health(h, name, "healthy")
    wait_for("the healthy verdict in the metrics",
             lambda: 'hl_service_healthy{service="%s"} 1' % name in metrics_lines(prom), 10)
    h.hlctl("stop", name)
    wait_for("the stop in the metrics",
             lambda: 'hl_service_up{service="%s"} 0' % name in metrics_lines(prom), 10)
    assert not any(line.startswith('hl_service_healthy{service="%s"}' % name) for line in metrics_lines(prom))


def test_failing_since_is_when_the_streak_began(hld):
    # One check fails, the other passes in every round: the passing one must not reset the
    # failing one's streak.
    name = hld.name("half")
    hld.write(name, health_definition(["exec /bin/false", "exec /bin/true"],
                                      health=["Interval=1s", "Timeout=500ms", "Retries=1"],
                                      restart=["Policy=no"]))
    hld.apply()
    wait_health(hld, name, "unhealthy")
    became = [e for e in hld.history(name) if e["action"] == "health"][0]["time"]
    time.sleep(4)
    record = hld.hlctl("health", "--history", name, json=True).data
    assert "failing_since" in record, record
    assert record["failing_since"] <= became, (became, record)


def test_held_unhealthy_service_is_restarted_after_the_back_off(hld_dirs):
    # The back-off timer must wake for a running, unhealthy service too; with the reconcile
    # timer off, nothing else would restart it.
    h = hld_dirs
    h.start("--reconcile-interval", "0")
    name = h.name("sick")
    h.write(name, health_definition(["exec /bin/false"], health=["Interval=1s", "Timeout=500ms", "Retries=1"],
                                    restart=["Policy=on-failure", "StartLimitBurst=1", "RestartSec=1s"]))
    h.apply()
    hold = wait_for("a hold", lambda: [e for e in h.history(name) if e["action"] == "hold"], 30)
    assert "next restart in" in hold[0]["reason"], hold
    wait_for("a restart after the back-off", lambda: [
        e for e in h.history(name) if e["action"] == "restart" and e["id"] > hold[0]["id"]], 15)


def _waiting_pair(h, web_made=False):
    """db, whose check fails until /tmp/ready exists (a long StartPeriod keeps it starting,
    with no verdict), web that requires db, and other, on its own. With web_made, web's
    container exists (stopped) before."""
    db, web, other = h.name("db"), h.name("web"), h.name("other")
    h.write(other, definition())
    if web_made:
        h.write(web, definition(state="stopped"))
    h.apply()
    h.write(db, health_definition(["exec /bin/sh -c 'test -e /tmp/ready'"],
                                  health=["Interval=2s", "Timeout=1s", "Retries=1", "StartPeriod=10m"]))
    h.write(web, definition(requires=[db]))
    env = dict(os.environ, HLD_SOCKET=str(h.socket))
    apply = subprocess.Popen([str(HLCTL), "--json", "apply", str(h.defs)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wait_for("web waiting for db", lambda: h.services().get(web, {}).get("waiting_for") == db, 30)
    return db, web, other, apply


def test_waiting_for_health_does_not_block_other_runs(hld):
    """A start that waits for a requirement's first healthy verdict held the whole run
    queue: stop and reconcile of unrelated services waited minutes. Only the start waits."""
    h = hld
    db, web, other, apply = _waiting_pair(h)
    try:
        started = time.monotonic()
        h.hlctl("stop", other, timeout=60)
        h.hlctl("reconcile", timeout=60)
        elapsed = time.monotonic() - started
        assert h.state(other) == "STOPPED"
        assert h.state(web) != "RUNNING" and apply.poll() is None
        why = h.hlctl("why", web).out
        assert re.search(r"waits for %s to become healthy \(since \d\d:\d\d:\d\d" % db, why), why
        s = h.services()[web]
        assert s["waiting_for"] == db and s["waiting_since"] <= time.time()
        # The verdict comes: the parked start goes on, and the apply ends well.
        h.lxc("attach", "-n", db, "--", "touch", "/tmp/ready")
        out, err = apply.communicate(timeout=60)
        assert apply.returncode == 0, (out, err)
        assert h.state(web) == "RUNNING"
        assert "waiting_for" not in h.services()[web]
        print("stop + reconcile of other services while a start waited for health: %.2f s" % elapsed)
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.wait()


def test_a_person_takes_over_a_waiting_start(hld):
    """hlctl stop of the service whose start waits: the stop wins, the waiting start is
    skipped as superseded, and the apply that was waiting returns."""
    h = hld
    db, web, other, apply = _waiting_pair(h, web_made=True)
    try:
        h.hlctl("stop", web, timeout=60)
        out, err = apply.communicate(timeout=60)
        # Skipped, not failed: a person's later word won.
        assert apply.returncode == 0, (out, err)
        actions = {(a["service"], a["action"]): a for a in jsonlib.loads(out)["actions"]}
        assert actions[(web, "start")]["result"] == "skipped"
        assert "superseded by run" in actions[(web, "start")]["error"], actions
        assert h.state(web) == "STOPPED"
        h.lxc("attach", "-n", db, "--", "touch", "/tmp/ready")
        wait_health(h, db, "healthy")
        time.sleep(1)
        assert h.state(web) != "RUNNING"
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.wait()


@pytest.mark.parametrize("lines", [["Interval=5s"], ["Interval=2s", "Timeout=2s"]], ids=["interval-alone", "timeout-equal"])
def test_any_timeout_is_accepted(hld, lines):
    """As Docker, Podman and Kubernetes: a timeout need not be shorter than the interval."""
    name = hld.name("tmo")
    hld.write(name, health_definition(["exec /bin/true"], health=lines))
    hld.apply()
    wait_health(hld, name, "healthy")


def test_rounds_never_overlap(hld):
    """Interval= counts from the end of a round: a check that takes all its Timeout= is
    followed Interval= later by the next, never run twice at once."""
    name = hld.name("slow")
    hld.write(name, health_definition(["exec /bin/sleep 10"], health=["Interval=1s", "Timeout=1500ms", "Retries=1"],
                                      restart=["Policy=no"]))
    hld.apply()
    deadline = time.monotonic() + 30
    while True:
        times = [t for (t,) in hld.db("SELECT time FROM health_results WHERE service = ? ORDER BY id", (name,))]
        if len(times) >= 4:
            break
        assert time.monotonic() < deadline, times
        time.sleep(0.5)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Each round ends 1.5 s after it starts; the next starts 1 s after that.
    assert all(g >= 2300 for g in gaps), gaps


def test_a_sweep_is_never_answered_by_a_round_begun_before_it(hld):
    """The check reads the file when it begins and answers a second later, and a round is
    in flight about half the time: a sweep answered by that round would report the file as
    it was before the write that preceded the call (an update kept on a stale verdict)."""
    name = hld.name("fresh")
    check = "exec /bin/sh -c 'grep -q good /root/state; r=$?; sleep 1; exit $r'"
    hld.write(name, health_definition([check], health=["Interval=1s", "Timeout=5s"],
                                      provision=["Provision=echo good > /root/state"]))
    hld.apply()
    wait_health(hld, name, "healthy")
    state = hld.rootfs(name) / "root/state"
    # A sweep's answer ends a round, and the next begins a second later: waits of a varied
    # length land the writes inside rounds as often as between them.
    for i, pause in enumerate([1.3, 1.5, 0.4, 1.2, 1.6, 1.4, 0.2, 1.5]):
        good = i % 2 == 1
        time.sleep(pause)
        state.write_text("good\n" if good else "bad\n")
        r = hld.hlctl("--json", "health", name, check=False)
        assert jsonlib.loads(r.out)["healthy"] is good and r.rc == (0 if good else 1), (i, r)


def test_stopping_while_three_starts_wait_for_a_verdict(hld):
    """Three runs parked, each with a start waiting for db's first verdict, when hld is
    told to stop: ending the first resumed the others, one of which ended (and freed) the
    run the walk held next, and hld crashed (seen in CI's test_apply_demo_set; this test
    made it crash each time on that build). Each waiting start is skipped, each caller's
    hlctl fails, and hld exits 0."""
    h = hld
    db, webs = h.name("db"), [h.name("web%d" % i) for i in range(3)]
    # Their containers made first (a create waits for what it requires, too).
    for w in webs:
        h.write(w, definition(state="stopped"))
    h.apply()
    h.write(db, health_definition(["exec /bin/sh -c 'test -e /tmp/ready'"],
                                  health=["Interval=2s", "Timeout=1s", "Retries=1", "StartPeriod=10m"]))
    for w in webs:
        h.write(w, definition(requires=[db], state="stopped"))
    h.apply()
    env = dict(os.environ, HLD_SOCKET=str(h.socket))
    starts = []
    try:
        for w in webs:
            starts.append(subprocess.Popen([str(HLCTL), "start", w], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True, env=env))
            wait_for("%s waiting for db" % w, lambda: h.services()[w].get("waiting_for") == db, 30)
        assert h.log.read_text().count("waits for health verdicts") >= 3, h.log_tail(20)
        assert h.stop() == 0, h.log_tail(30)
        for p in starts:
            out, err = p.communicate(timeout=30)
            assert p.returncode == 1 and ("hld is stopping" in out + err or "closed the connection" in err), (out, err)
    finally:
        for p in starts:
            if p.poll() is None:
                p.kill()
                p.wait()
