# SPDX-License-Identifier: LGPL-2.1-or-later
"""[Service] Host=: a service hl does not run (a VM, an appliance, a NAS), checked from the
node. No VM exists here: the router namespace of a LAN of the test's own stands in for it,
with a real DNS server (dnsmasq), a real http server and its kernel answering pings; the
node reaches it through an address of its own on the LAN's bridge. Going down is its link
going down, as a VM's does when it stops."""

import re

import pytest

from conftest import definition, wait_for
from netlab import Lan


def host_definition(address, checks, description="the database VM"):
    return "\n".join(["[Service]", "Description=%s" % description, "Host=%s" % address, "", "[Health]"]
                     + ["Check=%s" % c for c in checks]
                     + ["Interval=1s", "Timeout=1s", "Retries=1"]) + "\n"


@pytest.fixture
def lab(hld_dirs):
    """hld with a metrics file, and a LAN whose router is the 'VM'."""
    hld = hld_dirs
    lan = Lan(hld.tag, host_address=True)
    try:
        lan.up()
        hld.prom = hld.dir / "hl.prom"
        hld.start("--metrics-file", str(hld.prom))
        yield hld, lan
    finally:
        hld.destroy_containers()
        lan.down()


def health_of(h, name):
    return h.services()[name]["health"]


CHECKS = ["ping", "tcp 80", "http http://router.hl.test/index.html 200", "dns router.hl.test"]


def test_a_host_service_is_checked_from_the_node_and_never_run(lab):
    h, lan = lab
    vm, vm6 = h.name("db"), h.name("nas")
    h.write(vm, host_definition(lan.gw, CHECKS))
    h.write(vm6, host_definition(lan.gw6, ["ping"], description="a NAS on IPv6"))
    applied = h.apply()
    # Nothing to make: it is stored, and its checks start.
    assert [a for a in applied.data["actions"] if a["service"] in (vm, vm6)] == [], applied.data
    wait_for("%s healthy" % vm, lambda: health_of(h, vm) == "healthy", timeout=15)

    svc = h.services()[vm]
    assert svc["state"] == "HOST" and svc["host"] == lan.gw and svc["address"] == lan.gw, svc
    assert "pid" not in svc, svc
    # No container of its name, and none was ever made.
    assert vm not in h.containers()
    status = h.hlctl("status").out
    assert re.search(r"^%s\s+HOST\s+healthy\s+%s\s" % (vm, re.escape(lan.gw)), status, re.M), status
    shown = h.hlctl("show", vm).out
    assert re.search(r"^Host:\s+%s$" % re.escape(lan.gw), shown, re.M), shown

    # A sweep runs each check from the node, each with what the 'VM' answered.
    r = h.hlctl("health", vm, json=True)
    rows = {row["check"]: row for row in r.data["results"]}
    assert set(rows) == set(CHECKS) and all(row["ok"] for row in rows.values()), rows
    assert rows["ping"]["message"] == "echo reply from %s" % lan.gw, rows
    assert rows["tcp 80"]["message"] == "connected to %s port 80" % lan.gw, rows
    assert rows[CHECKS[2]]["message"] == "HTTP 200", rows
    assert rows["dns router.hl.test"]["message"].startswith("NOERROR from %s" % lan.gw), rows
    # The dns check asked the VM's server, and the http one sent the name as its Host.
    assert "router.hl.test" in lan.dnsmasq_log.read_text()
    wait_for("%s healthy" % vm6, lambda: health_of(h, vm6) == "healthy", timeout=15)
    rows = h.hlctl("health", vm6, json=True).data["results"]
    assert [(r["check"], r["ok"], r["message"]) for r in rows] == [("ping", True, "echo reply from %s" % lan.gw6)]

    # History and metrics have it as any other service's.
    verdicts = [e for e in h.history(vm) if e["action"] == "health"]
    assert verdicts and verdicts[0]["reason"] == "healthy: 4 checks pass", verdicts
    h.hlctl("health")
    lines = h.prom.read_text().splitlines()
    assert 'hl_service_healthy{service="%s"} 1' % vm in lines, lines
    assert 'hl_check_ok{service="%s",check="ping"} 1' % vm in lines, lines
    # It has no container that could be up or not.
    assert not any(line.startswith('hl_service_up{service="%s"}' % vm) for line in lines), lines

    # What acts on a container is refused, naming why, and changes nothing.
    before = h.snapshot()
    for verb in (["start", vm], ["stop", vm], ["restart", vm], ["backup", vm], ["snapshot", vm]):
        r = h.hlctl(*verb, check=False)
        assert r.rc != 0 and "is a Host= service (%s)" % lan.gw in r.err, (verb, r)
    assert h.snapshot() == before
    assert h.hlctl("plan", json=True).data["actions"] == []

    # The VM goes away: unhealthy, with the reason, in history; back, healthy again.
    lan.router_link(False)
    wait_for("%s unhealthy" % vm, lambda: health_of(h, vm) == "unhealthy", timeout=15)
    bad = [e for e in h.history(vm) if e["action"] == "health" and e["result"] == "failed"]
    assert bad and bad[0]["error"].split(":")[0] in CHECKS, bad
    r = h.hlctl("health", vm, json=True, check=False)
    assert r.rc == 1
    lan.router_link(True)
    wait_for("%s healthy again" % vm, lambda: health_of(h, vm) == "healthy", timeout=15)

    # destroy only forgets it: there is nothing else to destroy.
    h.hlctl("destroy", "--yes", vm)
    assert vm not in h.services()


def test_a_container_requiring_a_host_service_waits_for_it(lab):
    h, lan = lab
    vm, web = h.name("db"), h.name("web")
    h.write(vm, host_definition(lan.gw, ["tcp 80", "ping"]))
    h.write(web, definition(requires=[vm]))
    h.apply()
    assert h.state(web) == "RUNNING"
    wait_for("%s healthy" % vm, lambda: health_of(h, vm) == "healthy", timeout=15)
    # Starting what requires it never starts it: it has nothing to start.
    assert h.hlctl("restart", web).rc == 0

    # The VM down: what requires it keeps running, shown degraded, and a start waits.
    lan.router_link(False)
    wait_for("%s unhealthy" % vm, lambda: health_of(h, vm) == "unhealthy", timeout=15)
    assert h.services()[web]["degraded"] == vm
    h.hlctl("stop", web)
    r = h.hlctl("start", web, check=False)
    assert r.rc != 0, r
    assert "requires %s (Host=%s), which is unhealthy: started when it is healthy" % (vm, lan.gw) in r.out + r.err, r
    assert h.state(web) == "STOPPED"

    # The VM back: its healthy verdict starts what waited for it, with no one asking.
    lan.router_link(True)
    h.wait_state(web, "RUNNING", timeout=20)
    assert h.services()[vm]["health"] == "healthy"
    assert "degraded" not in h.services()[web]


BAD = [
    ("with-container", "[Service]\nHost=10.9.9.9\n\n[Container]\nTemplate=busybox\n", 4,
     "[Container] in a Host= service: hl does not run it"),
    ("exec-check", "[Service]\nHost=10.9.9.9\n[Health]\nCheck=exec /bin/true\n", 4,
     "Check: exec runs a command in a container, and a Host= service has none"),
    ("not-an-address", "[Service]\nHost=nas.lan\n", 2, "Host: \"nas.lan\" is not an IP address"),
]


@pytest.mark.parametrize("case,text,line,why", BAD, ids=[b[0] for b in BAD])
def test_bad_host_services_change_nothing(hld, case, text, line, why):
    name = hld.name("bad")
    path = hld.write(name, text)
    before = hld.snapshot()
    for verb in ("plan", "apply"):
        r = hld.hlctl(verb, path, check=False)
        assert r.rc == 1 and r.out == "", r
        assert "%s.conf:%d: %s" % (name, line, why) in r.err, r
    assert hld.snapshot() == before
    assert name not in hld.services() and name not in hld.containers()


def test_a_service_with_a_container_does_not_become_a_host_service(hld):
    """Its container would be left running, no one's: destroyed first, then declared."""
    name = hld.name("moved")
    hld.write(name, definition())
    hld.apply()
    path = hld.write(name, host_definition("10.9.9.9", ["ping"]))
    before = hld.snapshot()
    r = hld.hlctl("apply", path, check=False)
    assert r.rc == 1 and "%s.conf:3: Host: %s has a container: hlctl destroy %s first" % (name, name, name) in r.err, r
    assert hld.snapshot() == before and hld.state(name) == "RUNNING"
    hld.hlctl("destroy", "--yes", name)
    hld.hlctl("apply", path)
    assert hld.services()[name]["state"] == "HOST" and name not in hld.containers()
