# SPDX-License-Identifier: LGPL-2.1-or-later
"""Services on real networks: a bridge and a router namespace of the test's own with
dnsmasq as DHCP and DNS server (netlab.py), busybox and Debian 12 system containers on it
with static IPv4 and IPv6 addresses and with DHCP, several NICs, MTU, a VLAN tag on a
VLAN-aware bridge; addresses in status, show and --json; the boot gate before Provision=
and the record of each step."""

import json
import os
import re
import time

import pytest

from conftest import definition, wait_for
from netlab import Lan, addresses, broadcast, container_ifaces, run

DEBIAN = os.environ.get("HL_DEBIAN_TEMPLATE", "/var/cache/hl-test/debian-12-hl.tar.zst")

# busybox: a web server on every address, kept by init (the template's own inittab).
WEB = ("Provision=mkdir -p /srv/www && echo \"hello from $(hostname)\" > /srv/www/index.html && "
       "echo '::respawn:/bin/httpd -f -p 80 -h /srv/www' >> /etc/inittab && kill -HUP 1")


@pytest.fixture
def lan(hld):
    net = Lan(hld.tag).up()
    try:
        yield net
    finally:
        # The containers first: their veths are ports of the bridge.
        hld.destroy_containers()
        net.down()



def config_value(h, name, key):
    text = (h.lxcpath / name / "config").read_text()
    m = re.search(r"^\s*%s\s*=\s*(.*)$" % re.escape(key), text, re.M)
    return m.group(1).strip() if m else None


def service(h, name):
    return h.services()[name]


def ifaces_of(h, name):
    return container_ifaces(h.container_pid(name))


def test_busybox_static_and_dhcp_addresses_hold_and_show(hld, lan):
    st, dh = hld.name("st"), hld.name("dh")
    hld.write(st, definition(extra_container="\n".join([
        "Network=bridge=%s,ip=%s/24,gw=%s,ip6=%s/64,gw6=%s" % (lan.bridge, lan.ip(10), lan.gw, lan.ip6(10), lan.gw6),
        WEB])))
    # After st: its check asks st's server, which must be up before the check's first
    # rounds count (st's create, with its Provision=, can take seconds).
    hld.write(dh, definition(extra_service="After=%s" % st, extra_container="\n".join([
        "Network=bridge=%s,ip=dhcp" % lan.bridge, "", "[Health]",
        # From one container to the other's address, across the bridge; the router
        # answers pings from the container's namespace.
        "Check=http http://%s/" % lan.ip(10), "Check=ping %s" % lan.gw, "Interval=1s", "Timeout=2s"])))
    hld.apply()

    # The static addresses survived the busybox boot (its rcS ran udhcpc, which would
    # have unconfigured eth0), with the right broadcast, and the gateway routes.
    ifs = ifaces_of(hld, st)
    assert addresses(ifs, "eth0") == ["%s/24" % lan.ip(10)], ifs
    assert broadcast(ifs, "eth0") == [lan.ip(255)], ifs
    assert "%s/64" % lan.ip6(10) in addresses(ifs, "eth0", "inet6"), ifs
    routes = run("nsenter", "-t", str(hld.container_pid(st)), "-n", "ip", "route").stdout
    assert "default via %s dev eth0" % lan.gw in routes, routes
    assert lan.ping_from_router(lan.ip(10))
    wait_for("IPv6 from the router", lambda: lan.ping_from_router(lan.ip6(10)), timeout=10)

    # The DHCP one has its lease from the LAN's server, for its stable MAC.
    mac = config_value(hld, dh, "lxc.net.0.hwaddr")
    assert mac and re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac) and int(mac[:2], 16) & 3 == 2, mac
    lease = wait_for("a lease for %s" % mac, lambda: lan.lease_of(mac))
    wait_for("%s on eth0" % lease, lambda: addresses(ifaces_of(hld, dh), "eth0") == ["%s/24" % lease])
    assert ifaces_of(hld, dh)["eth0"]["address"] == mac

    # The http check of one container against the other passes, and the ping.
    wait_for("%s healthy" % dh, lambda: service(hld, dh)["health"] == "healthy")
    rows = {row["check"]: row for row in hld.hlctl("health", dh, json=True).data["results"]}
    assert rows["ping %s" % lan.gw]["message"] == "echo reply from %s" % lan.gw, rows

    # status has the addresses, show each interface, --json too.
    wait_for("the lease in status", lambda: service(hld, dh).get("address") == lease, timeout=10)
    status = hld.hlctl("status").out
    assert re.search(r"^%s\s+RUNNING\s+\S+\s+%s\s" % (re.escape(st), re.escape(lan.ip(10))), status, re.M), status
    assert re.search(r"^%s\s+RUNNING\s+healthy\s+%s\s" % (re.escape(dh), re.escape(lease)), status, re.M), status
    interfaces = service(hld, st)["interfaces"]
    assert interfaces == [{"name": "eth0", "hwaddr": config_value(hld, st, "lxc.net.0.hwaddr"), "up": True,
                           "addresses": ["%s/24" % lan.ip(10), "%s/64" % lan.ip6(10)]}], interfaces
    show = hld.hlctl("show", st).out
    assert re.search(r"^Interface eth0:\s+%s/24, %s/64 \(" % (re.escape(lan.ip(10)), re.escape(lan.ip6(10))), show,
                     re.M), show

    # The lease renews: udhcpc asked now (SIGUSR1), the server acknowledges again and
    # the address stays.
    acks = lan.acks(mac)
    run("nsenter", "-t", str(hld.container_pid(dh)), "-p", "-m", "sh", "-c",
        "kill -USR1 $(cat /var/run/udhcpc.eth0.pid)")
    wait_for("a renewal", lambda: lan.acks(mac) > acks)
    assert addresses(ifaces_of(hld, dh), "eth0") == ["%s/24" % lease]

    # Restarts keep both: the static address, and the same lease for the same MAC.
    hld.hlctl("restart", st)
    hld.hlctl("restart", dh)
    assert addresses(ifaces_of(hld, st), "eth0") == ["%s/24" % lan.ip(10)]
    wait_for("the lease again", lambda: addresses(ifaces_of(hld, dh), "eth0") == ["%s/24" % lease])

    # A recreate keeps the MAC, so the DHCP reservation holds.
    hld.hlctl("destroy", "--yes", dh)
    hld.apply()
    assert config_value(hld, dh, "lxc.net.0.hwaddr") == mac
    wait_for("the same lease after a recreate", lambda: addresses(ifaces_of(hld, dh), "eth0") == ["%s/24" % lease])


def vlan_filtering_works():
    """Whether this kernel's bridges can filter VLANs (Proxmox's can; some CI kernels are
    built without CONFIG_BRIDGE_VLAN_FILTERING)."""
    probe = "hlvf%d" % os.getpid()
    ok = run("ip", "link", "add", probe, "type", "bridge", "vlan_filtering", "1", check=False).returncode == 0
    run("ip", "link", "del", probe, check=False)
    return ok


def test_a_tag_on_a_bridge_that_is_not_vlan_aware_is_a_clear_error(hld, lan):
    name = hld.name("tagx")
    hld.write(name, definition(extra_container="Network=bridge=%s,ip=%s/24,tag=10" % (lan.bridge, lan.ip(25))))
    assert hld.apply(check=False).rc != 0
    start = [e for e in hld.history(name) if e["action"] == "start"][-1]
    assert ("Network= eth0: tag=10 needs a VLAN-aware bridge, and %s does not filter VLANs (" % lan.bridge) in (
        start["reason"] + start.get("error", "")), start
    assert hld.state(name) == "STOPPED"


def test_several_nics_mtu_and_a_vlan_tag(hld, lan):
    if not vlan_filtering_works():
        pytest.skip("this kernel's bridges cannot filter VLANs (no CONFIG_BRIDGE_VLAN_FILTERING): tag= is checked "
                    "by test_a_tag_on_a_bridge_that_is_not_vlan_aware_is_a_clear_error only")
    vlan = Lan(hld.tag[:4] + "v", vlan_aware=True).up()
    try:
        # The router of the VLAN-aware bridge sits in VLAN 10 only.
        run("bridge", "vlan", "add", "dev", vlan.host_end, "vid", "10", "pvid", "untagged")
        run("bridge", "vlan", "del", "dev", vlan.host_end, "vid", "1")
        tagged, untagged = hld.name("tag"), hld.name("untag")
        hld.write(tagged, definition(extra_container="\n".join([
            "Network=bridge=%s,ip=%s/24,mtu=1400,hwaddr=02:00:5e:10:20:30" % (lan.bridge, lan.ip(20)),
            "Network=bridge=%s,name=vlan10,ip=%s/24,tag=10" % (vlan.bridge, vlan.ip(20))])))
        hld.write(untagged, definition(extra_container="Network=bridge=%s,ip=%s/24" % (vlan.bridge, vlan.ip(21))))
        hld.apply()

        ifs = ifaces_of(hld, tagged)
        assert set(ifs) == {"lo", "eth0", "vlan10"}, ifs
        assert ifs["eth0"]["mtu"] == 1400 and ifs["vlan10"]["mtu"] == 1500
        assert addresses(ifs, "vlan10") == ["%s/24" % vlan.ip(20)]
        # liblxc made the host side of vlan10 an untagged port of VLAN 10.
        host_veth = config_value(hld, tagged, "lxc.net.1.veth.pair")
        ports = json.loads(run("bridge", "-j", "vlan", "show").stdout)
        port_of = {p["ifname"]: p for p in ports}
        veths = [p for name, p in port_of.items() if name not in (vlan.host_end, vlan.bridge) and
                 any(v.get("vlan") == 10 for v in p.get("vlans", []))]
        assert veths and all(v["vlan"] == 10 and "PVID" in v.get("flags", []) for v in veths[0]["vlans"]), ports
        assert host_veth is None or host_veth in port_of
        # In VLAN 10 the router answers; from VLAN 1, the untagged container's, it does not.
        assert vlan.ping_from_router(vlan.ip(20))
        assert not vlan.ping_from_router(vlan.ip(21))
        assert lan.ping_from_router(lan.ip(20))
        assert [i["name"] for i in service(hld, tagged)["interfaces"]] == ["eth0", "vlan10"]
    finally:
        hld.destroy_containers()
        vlan.down()


def test_changing_ip_or_adding_a_nic_is_applied_at_restart(hld, lan):
    name = hld.name("move")
    path = hld.write(name, definition(extra_container="Network=bridge=%s,ip=%s/24" % (lan.bridge, lan.ip(30))))
    hld.apply()
    pid = hld.container_pid(name)
    hld.write(name, definition(extra_container="\n".join([
        "Network=bridge=%s,ip=%s/24" % (lan.bridge, lan.ip(31)),
        "Network=bridge=%s,ip=%s/24,hwaddr=02:00:5e:10:20:32,mtu=1400" % (lan.bridge, lan.ip(32))])))
    plan = hld.hlctl("plan", path, json=True).data
    action = [a for a in plan["actions"] if a["service"] == name][0]
    # A restart-class change (hlctl(1)): an update whose changes take effect by the
    # restart hld does.
    assert action["action"] == "update" and "restart required" in action["reason"], plan
    assert "network eth0 %s/24 -> %s/24 (restart required)" % (lan.ip(30), lan.ip(31)) in action["changes"], action
    assert any(c.startswith("network eth1 ") and c.endswith("(restart required)") for c in action["changes"]), action
    hld.apply()
    assert hld.container_pid(name) != pid
    ifs = ifaces_of(hld, name)
    assert addresses(ifs, "eth0") == ["%s/24" % lan.ip(31)] and addresses(ifs, "eth1") == ["%s/24" % lan.ip(32)], ifs
    assert ifs["eth1"]["address"] == "02:00:5e:10:20:32" and ifs["eth1"]["mtu"] == 1400, ifs
    assert lan.ping_from_router(lan.ip(31)) and lan.ping_from_router(lan.ip(32))
    # The guest's own configuration followed (busybox: hld's script brings both up).
    script = (hld.rootfs(name) / "etc" / "hl-network").read_text()
    assert "ip link set eth1 up" in script, script
    assert hld.hlctl("plan", json=True).data["actions"] == [] or all(
        a["action"] == "none" for a in hld.hlctl("plan", json=True).data["actions"])


def test_a_missing_bridge_is_a_clear_error_before_start(hld):
    name = hld.name("nobr")
    hld.write(name, definition(extra_container="Network=bridge=hlnone%s,ip=dhcp" % hld.tag[:3]))
    r = hld.apply(check=False)
    assert r.rc != 0
    events = hld.history(name)
    assert any("the bridge hlnone%s does not exist on this node" % hld.tag[:3] in (e.get("reason", "") +
               e.get("error", "")) for e in events), events
    assert hld.state(name) in ("STOPPED", "MISSING")


def test_a_failing_provision_step_has_its_output_in_history(hld):
    name = hld.name("prov")
    hld.write(name, definition(extra_container="\n".join([
        "Provision=echo first step",
        "Provision=echo to stdout; echo 'E: Unable to locate package nosuchpkg' >&2; exit 100",
        "Provision=echo never"])))
    r = hld.apply(check=False)
    assert r.rc != 0
    create = [e for e in hld.history(name) if e["action"] == "create"][-1]
    assert create["result"] == "failed"
    assert create["error"] == ("Provision step 2 (echo to stdout; echo 'E: Unable to locate package nosuchpkg' >&2; "
                               "exit 100) failed with status 100: E: Unable to locate package nosuchpkg"), create
    steps = create["steps"]
    assert [(s["step"], s["status"]) for s in steps] == [(1, 0), (2, 100)], steps
    assert steps[0]["stdout"] == "first step\n" and steps[1]["stdout"] == "to stdout\n"
    assert steps[1]["stderr"] == "E: Unable to locate package nosuchpkg\n"
    assert create["boot_ms"] >= 0
    # In the table too.
    table = hld.hlctl("history", name).out
    assert "failed with status 100: E: Unable to locate package nosuchpkg" in table, table
    # Nothing half-made is left.
    assert hld.containers() == []


def test_provision_output_is_bounded_and_kept_on_success(hld):
    name = hld.name("big")
    hld.write(name, definition(extra_container="\n".join([
        # 1 MB of output and a line of bytes that are not UTF-8.
        "Provision=i=0; while [ $i -lt 20000 ]; do echo line $i of fifty bytes to make the output long; "
        "i=$((i+1)); done; printf 'bad \\377\\376 bytes\\n' >&2"])))
    hld.apply()
    create = [e for e in hld.history(name) if e["action"] == "create"][-1]
    step = create["steps"][0]
    assert step["status"] == 0
    assert len(step["stdout"]) <= 2048 and step["stdout"].endswith("line 19999 of fifty bytes to make the output long\n")
    assert step["stderr"] == "bad ?? bytes\n", step
    show = hld.hlctl("show", name).out
    assert re.search(r"^Provisioned \(create of .*, ok; booted in [0-9.]+ s\):$", show, re.M), show
    assert re.search(r"^  1\s+ok\s+", show, re.M), show


# --- Debian 12 system containers ------------------------------------------------------------

def debian_required():
    if not os.path.exists(DEBIAN):
        if os.environ.get("HL_REQUIRE_SYSTEM") == "1":
            pytest.fail("%s is missing: tests/setup.sh builds it" % DEBIAN)
        pytest.skip("%s is missing: tests/setup.sh builds it" % DEBIAN)


def debian(extra, service=""):
    return "\n".join(["[Service]", service, "", "[Container]", "Template=%s" % DEBIAN, "Memory=256M", extra]) + "\n"


def test_debian_with_dhcp_provisions_with_systemctl_and_the_network_first_try(hld, lan):
    debian_required()
    name = hld.name("deb")
    hld.write(name, debian("\n".join([
        "Network=bridge=%s,ip=dhcp" % lan.bridge,
        # Right after the start systemctl would fail with "Failed to connect to bus", and
        # a name would not resolve: the boot gate waits for both.
        "Provision=systemctl is-system-running",
        "Provision=systemctl mask --now systemd-timesyncd.service 2>/dev/null || true",
        "Provision=wget -q -O /root/pkg.txt http://router.hl.test/pkg.txt && grep -q 'a package' /root/pkg.txt",
        "", "[Health]", "Check=exec /bin/systemctl is-active --quiet networking.service", "Interval=2s"])))
    hld.apply()
    create = [e for e in hld.history(name) if e["action"] == "create"][-1]
    assert create["result"] == "ok", create
    assert [s["status"] for s in create["steps"]] == [0, 0, 0], create
    assert create["steps"][0]["stdout"].strip() in ("running", "degraded"), create
    mac = config_value(hld, name, "lxc.net.0.hwaddr")
    lease = lan.lease_of(mac)
    assert lease, lan.leases.read_text()
    interfaces = (hld.rootfs(name) / "etc/network/interfaces").read_text()
    assert "auto eth0\niface eth0 inet dhcp\n" in interfaces, interfaces
    wait_for("healthy", lambda: service(hld, name)["health"] == "healthy", timeout=60)
    wait_for("the lease in status", lambda: service(hld, name).get("address") == lease, timeout=10)
    ifs = ifaces_of(hld, name)
    assert broadcast(ifs, "eth0") == [lan.ip(255)], ifs
    # Across a restart the container asks again and gets the same lease.
    hld.hlctl("restart", name)
    wait_for("the lease after a restart", lambda: addresses(ifaces_of(hld, name), "eth0") == ["%s/24" % lease],
             timeout=60)


def test_debian_with_static_addresses_and_a_check_across_the_bridge(hld, lan):
    debian_required()
    name, web = hld.name("debs"), hld.name("web")
    hld.write(web, definition(extra_container="\n".join([
        "Network=bridge=%s,ip=%s/24,ip6=%s/64" % (lan.bridge, lan.ip(41), lan.ip6(41)), WEB])))
    hld.write(name, debian(service="Requires=%s" % web, extra="\n".join([
        "Network=bridge=%s,ip=%s/24,gw=%s,ip6=%s/64,gw6=%s" % (lan.bridge, lan.ip(40), lan.gw, lan.ip6(40), lan.gw6),
        "Nameserver=%s" % lan.gw, "SearchDomain=hl.test",
        "Provision=getent hosts router && systemctl is-system-running",
        "", "[Health]", "Check=http http://%s/pkg.txt" % lan.gw, "Check=dns router.hl.test A @resolver",
        # The busybox neighbour's page, over IPv4 and IPv6 across the bridge.
        "Check=http http://%s/" % lan.ip(41), "Check=http http://[%s]/" % lan.ip6(41),
        "Interval=2s"])))
    hld.apply()
    ifs = ifaces_of(hld, name)
    assert addresses(ifs, "eth0") == ["%s/24" % lan.ip(40)] and broadcast(ifs, "eth0") == [lan.ip(255)], ifs
    # Debian's networking.service ran over it and left it alone (inet manual).
    assert "%s/64" % lan.ip6(40) in addresses(ifs, "eth0", "inet6"), ifs
    resolv = (hld.rootfs(name) / "etc/resolv.conf").read_text()
    assert "nameserver %s\n" % lan.gw in resolv and "search hl.test\n" in resolv, resolv
    wait_for("healthy", lambda: service(hld, name)["health"] == "healthy", timeout=60)
    hld.hlctl("restart", name)
    assert addresses(ifaces_of(hld, name), "eth0") == ["%s/24" % lan.ip(40)]
    assert service(hld, name)["state"] == "RUNNING"


def test_debian_with_an_unreachable_gateway_fails_after_boot_timeout(hld):
    debian_required()
    dead = Lan(hld.tag[:4] + "d", gateway_answers=False).up()
    try:
        name = hld.name("debg")
        hld.write(name, debian("\n".join([
            "Network=bridge=%s,ip=%s/24,gw=%s" % (dead.bridge, dead.ip(50), dead.gw),
            "Nameserver=%s" % dead.gw, "BootTimeout=8s", "Provision=true"])))
        started = time.monotonic()
        r = hld.apply(check=False)
        took = time.monotonic() - started
        assert r.rc != 0
        create = [e for e in hld.history(name) if e["action"] == "create"][-1]
        assert create["result"] == "failed"
        assert create["error"] == "%s did not finish booting within BootTimeout=8s: eth0: gateway %s does not answer" % (
            name, dead.gw), create
        assert create["boot_error"] == "eth0: gateway %s does not answer" % dead.gw
        assert create["steps"] == []
        assert 8 <= took < 60, took
        # Nothing half-made is left.
        assert hld.containers() == []
    finally:
        hld.destroy_containers()
        dead.down()


def test_systemd_networkd_guest_gets_dhcp_and_keeps_its_static_address(hld, lan):
    """A template with systemd-networkd and without ifupdown (as Ubuntu's are): the Debian
    template with ifupdown taken out of a stopped container, cloned."""
    debian_required()
    base, name = hld.name("ndbase"), hld.name("nd")
    hld.write(base, debian("", service="State=stopped"))
    hld.apply()
    root = hld.rootfs(base)
    for f in ("etc/network/interfaces", "usr/sbin/ifup", "usr/sbin/ifdown", "usr/sbin/ifquery",
              "etc/systemd/system/multi-user.target.wants/networking.service",
              "etc/systemd/system/network-online.target.wants/networking.service"):
        if (root / f).exists() or (root / f).is_symlink():
            (root / f).unlink()
    hld.write(name, "\n".join([
        "[Service]", "", "[Container]", "Template=clone:%s" % base, "Memory=256M",
        "Network=bridge=%s,ip=dhcp" % lan.bridge,
        "Network=bridge=%s,ip=%s/24,ip6=%s/64" % (lan.bridge, lan.ip(70), lan.ip6(70)),
        # networkd gives a lease's DNS servers to systemd-resolved only, which this guest
        # lacks: the resolver is named (docs/networking.md).
        "Nameserver=%s" % lan.gw, "BootTimeout=60s",
        "Provision=systemctl is-active systemd-networkd && getent hosts router.hl.test"]) + "\n")
    hld.apply()
    files = sorted(p.name for p in (hld.rootfs(name) / "etc/systemd/network").glob("10-hl-*.network"))
    assert files == ["10-hl-eth0.network", "10-hl-eth1.network"], files
    assert "DHCP=ipv4" in (hld.rootfs(name) / "etc/systemd/network/10-hl-eth0.network").read_text()
    mac = config_value(hld, name, "lxc.net.0.hwaddr")
    lease = wait_for("a lease for %s" % mac, lambda: lan.lease_of(mac), timeout=60)
    wait_for("the lease on eth0", lambda: addresses(ifaces_of(hld, name), "eth0") == ["%s/24" % lease], timeout=60)
    ifs = ifaces_of(hld, name)
    assert addresses(ifs, "eth1") == ["%s/24" % lan.ip(70)] and broadcast(ifs, "eth1") == [lan.ip(255)], ifs
    assert "%s/64" % lan.ip6(70) in addresses(ifs, "eth1", "inet6"), ifs
    create = [e for e in hld.history(name) if e["action"] == "create"][-1]
    assert [s["status"] for s in create["steps"]] == [0], create
