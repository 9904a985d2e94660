# SPDX-License-Identifier: LGPL-2.1-or-later
"""dns checks against a real resolver inside the container's network namespace: a tiny
DNS responder of the test's own, entered into the container's netns with nsenter (busybox
has no DNS server), answering NOERROR for one name and NXDOMAIN for a "blocked" one — the
DNS-filter case."""

import json
import subprocess
import sys

from test_health import health_definition

LO_UP = "Provision=echo '::sysinit:/bin/ip link set lo up' >> /etc/inittab && ip link set lo up"

RESPONDER = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    name, i = [], 12
    while q[i]:
        name.append(q[i + 1:i + 1 + q[i]].decode()); i += 1 + q[i]
    blocked = ".".join(name) == "ads.example.com"
    flags = b"\x81\x83" if blocked else b"\x81\x80"
    answer = b"" if blocked else q[12:i + 5] and (b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01")
    s.sendto(q[:2] + flags + q[4:6] + (b"\x00\x00" if blocked else b"\x00\x01") + b"\x00\x00\x00\x00"
             + q[12:i + 5] + answer, peer)
'''


def test_dns_check_noerror_and_nxdomain(hld):
    name = hld.name("dnsf")
    hld.write(name, health_definition(["dns example.com", "dns ads.example.com A nxdomain"],
                                      health=["Interval=1h", "Timeout=2s"], provision=[LO_UP]))
    hld.apply()
    pid = hld.container_pid(name)
    responder = subprocess.Popen(["nsenter", "-t", str(pid), "-n", sys.executable, "-c", RESPONDER],
                                 stdout=subprocess.PIPE, text=True)
    try:
        assert responder.stdout.readline().strip() == "ready"
        r = hld.hlctl("health", name, json=True, check=False)
        rows = {row["check"]: row for row in r.data["results"]}
        assert rows["dns example.com"]["ok"] is True, rows
        assert rows["dns example.com"]["message"].startswith("NOERROR"), rows
        assert rows["dns ads.example.com A nxdomain"]["ok"] is True, rows
        assert rows["dns ads.example.com A nxdomain"]["message"].startswith("NXDOMAIN"), rows
        assert r.rc == 0
    finally:
        responder.kill()
        responder.wait()
    # The resolver gone, the same checks fail, at once: the port is closed.
    r = hld.hlctl("health", name, json=True, check=False)
    assert r.rc == 1
    results = json.loads(r.out)["results"]
    assert all(not row["ok"] and "refused" in row["message"] for row in results), results


def test_dns_check_asks_the_server_it_names(hld):
    """@ADDRESS asks that server, as dig does; @resolver the container's resolv.conf; and by
    default the service itself (127.0.0.1 in its netns), so that a DNS filter's check asks
    the filter, not the upstream its own resolv.conf names."""
    name = hld.name("dnsat")
    hld.write(name, health_definition(
        ["dns example.com @127.0.0.2", "dns example.com @resolver", "dns example.com"],
        health=["Interval=1h", "Timeout=2s"],
        provision=[LO_UP, "Provision=echo 'nameserver 127.0.0.3' > /etc/resolv.conf"]))
    hld.apply()
    pid = hld.container_pid(name)
    responders = []
    try:
        for address in ("127.0.0.2", "127.0.0.3"):
            p = subprocess.Popen(["nsenter", "-t", str(pid), "-n", sys.executable, "-c",
                                  RESPONDER.replace('"127.0.0.1"', '"%s"' % address)],
                                 stdout=subprocess.PIPE, text=True)
            responders.append(p)
            assert p.stdout.readline().strip() == "ready"
        r = hld.hlctl("health", name, json=True, check=False)
        assert r.rc == 1, r
        rows = {row["check"]: row for row in json.loads(r.out)["results"]}
        assert rows["dns example.com @127.0.0.2"]["ok"], rows
        assert rows["dns example.com @127.0.0.2"]["message"].startswith("NOERROR from 127.0.0.2"), rows
        assert rows["dns example.com @resolver"]["ok"], rows
        assert "from 127.0.0.3" in rows["dns example.com @resolver"]["message"], rows
        # Nothing answers on 127.0.0.1: the default asks the service itself, and fails.
        assert not rows["dns example.com"]["ok"], rows
        assert "127.0.0.1 port 53" in rows["dns example.com"]["message"], rows
    finally:
        for p in responders:
            p.kill()
            p.wait()
