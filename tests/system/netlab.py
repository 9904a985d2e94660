# SPDX-License-Identifier: LGPL-2.1-or-later
"""A LAN of the test's own: a Linux bridge on the host, and a network namespace acting as
the LAN's router on it, with dnsmasq from Debian as its DHCP and DNS server and a small
http server. The bridge has no address on the host (unless host_address: then .254, so that
the node itself reaches the router) and nothing routes out of it: every packet stays
between the router's namespace, the containers on the bridge and the node.

    lan = Lan(tag); lan.up(); ...; lan.down()
"""

import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def run(*cmd, check=True, ns=None):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def _used_subnets():
    out = run("ip", "-4", "route", "show", "table", "all").stdout + run("ip", "-4", "addr").stdout
    return out


class Lan:
    def __init__(self, tag, vlan_aware=False, gateway_answers=True, host_address=False):
        self.tag = tag
        self.bridge = "hlb" + tag
        self.ns = "hlns-" + tag
        self.host_end = "hlv" + tag
        self.vlan_aware = vlan_aware
        self.gateway_answers = gateway_answers
        # The node's own address on the LAN (.254), for what hld checks from the node.
        self.host_address = host_address
        used = _used_subnets()
        while True:
            self.net = "10.%d.%d" % (random.randint(200, 249), random.randint(0, 255))
            if (self.net + ".") not in used:
                break
        self.gw = self.net + ".1"
        # Written as the kernel prints it (no leading zeros), for comparisons.
        self.net6 = "fd%02x:%x:%x::" % (random.randint(0x10, 0xff), random.randint(1, 0xffff),
                                         random.randint(1, 0xffff))
        self.gw6 = self.net6 + "1"
        self.dir = Path(tempfile.mkdtemp(prefix="hl-lan-"))
        self.procs = []

    # --- addresses ---------------------------------------------------------------------

    def ip(self, host):
        return "%s.%d" % (self.net, host)

    def ip6(self, host):
        return "%s%x" % (self.net6, host)

    # --- life --------------------------------------------------------------------------

    def up(self):
        run("ip", "link", "add", self.bridge, "type", "bridge",
            *(("vlan_filtering", "1") if self.vlan_aware else ()))
        run("ip", "link", "set", self.bridge, "up")
        if self.host_address:
            run("ip", "addr", "add", self.ip(254) + "/24", "dev", self.bridge)
            run("ip", "-6", "addr", "add", self.ip6(254) + "/64", "dev", self.bridge, "nodad")
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "add", self.host_end, "type", "veth", "peer", "name", "lan0", "netns", self.ns)
        run("ip", "link", "set", self.host_end, "master", self.bridge, "up")
        run("ip", "link", "set", "lo", "up", ns=self.ns)
        run("ip", "addr", "add", self.gw + "/24", "dev", "lan0", ns=self.ns)
        run("ip", "-6", "addr", "add", self.gw6 + "/64", "dev", "lan0", "nodad", ns=self.ns)
        run("ip", "link", "set", "lan0", "up", ns=self.ns)
        if not self.gateway_answers:
            # The router's namespace drops what comes to it: no ping, no DNS, no DHCP.
            run("ip", "link", "set", "lan0", "down", ns=self.ns)
        www = self.dir / "www"
        www.mkdir()
        (www / "index.html").write_text("router of %s\n" % self.tag)
        (www / "pkg.txt").write_text("a package\n")
        self.leases = self.dir / "leases"
        self.dnsmasq_log = self.dir / "dnsmasq.log"
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns, DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null",
             "--bind-interfaces", "--interface=lan0", "--except-interface=lo", "--user=root",
             "--no-resolv", "--no-hosts", "--no-ping", "--dhcp-authoritative", "--log-dhcp", "--log-queries",
             "--log-facility=%s" % self.dnsmasq_log, "--dhcp-leasefile=%s" % self.leases,
             "--pid-file=%s" % (self.dir / "dnsmasq.pid"),
             "--dhcp-range=%s,%s,255.255.255.0,2m" % (self.ip(100), self.ip(150)),
             "--dhcp-option=option:router,%s" % self.gw, "--dhcp-option=option:dns-server,%s" % self.gw,
             "--domain=hl.test", "--local=/hl.test/", "--host-record=router.hl.test,%s" % self.gw,
             "--host-record=localhost,127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "python3", "-m", "http.server", "80", "--bind", "0.0.0.0",
             "--directory", str(www)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            listening = run("ss", "-Hlntu", ns=self.ns).stdout
            if ":80 " in listening and ":53 " in listening:
                break
            for p in self.procs:
                if p.poll() is not None:
                    raise AssertionError("the LAN's %s exited: %s" % (p.args, p.stderr.read() if p.stderr else ""))
            if time.monotonic() > deadline:
                raise AssertionError("the LAN's servers did not listen: %s" % listening)
            time.sleep(0.05)
        return self

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        run("ip", "netns", "del", self.ns, check=False)
        run("ip", "link", "del", self.host_end, check=False)
        run("ip", "link", "del", self.bridge, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- what the router saw -----------------------------------------------------------

    def lease_of(self, mac):
        """The address dnsmasq leased to mac, or None."""
        try:
            for line in self.leases.read_text().splitlines():
                f = line.split()
                if len(f) >= 3 and f[1].lower() == mac.lower():
                    return f[2]
        except OSError:
            pass
        return None

    def acks(self, mac):
        """How many DHCPACKs dnsmasq logged for mac (the first lease and each renewal)."""
        try:
            text = self.dnsmasq_log.read_text()
        except OSError:
            return 0
        return sum(1 for line in text.splitlines() if "DHCPACK" in line and mac.lower() in line.lower())

    def router_link(self, up):
        """The router's side of the LAN up or down: a VM that goes away and comes back."""
        run("ip", "link", "set", "lan0", "up" if up else "down", ns=self.ns)

    def ping_from_router(self, address):
        return run("ping", "-c", "1", "-W", "2", address, ns=self.ns, check=False).returncode == 0

    def bridge_vlans(self, port):
        return run("bridge", "-j", "vlan", "show", "dev", port).stdout


def container_ifaces(pid):
    """The container's interfaces as `ip -j addr` sees them in its netns."""
    import json
    out = run("nsenter", "-t", str(pid), "-n", "ip", "-j", "addr").stdout
    return {i["ifname"]: i for i in json.loads(out)}


def addresses(ifaces, name, family="inet"):
    return ["%s/%d" % (a["local"], a["prefixlen"]) for a in ifaces[name].get("addr_info", [])
            if a["family"] == family and a.get("scope") == "global"]


def broadcast(ifaces, name):
    return [a.get("broadcast") for a in ifaces[name].get("addr_info", []) if a["family"] == "inet"]
