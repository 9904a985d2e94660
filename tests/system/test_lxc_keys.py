# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lxc=KEY=VALUE, the escape hatch for lxc keys hl does not model: written into the real
container's config, in effect in the running container (a resource limit of its init, a
sysctl of its network namespace), compared without drift, put back when edited out behind
hld's back, cleared when the line goes; refused for keys hl owns, for keys liblxc does not
know, and for anyone but root to apply (as Proxmox keeps raw lxc keys to root@pam)."""

import os
import re
import subprocess

from conftest import admin_group, definition
from test_permissions import call_as

LINES = ["Lxc=lxc.prlimit.nofile = 1234", "Lxc=lxc.sysctl.net.ipv4.ip_forward=1", "Lxc=lxc.cap.drop=sys_rawio"]
# What the busybox template's own config drops.
TEMPLATE_DROPS = ["mac_admin", "mac_override", "sys_module", "sys_time"]


def config_lines(h, name):
    return (h.lxcpath / name / "config").read_text().splitlines()


def drops(h, name):
    """The lxc.cap.drop values of the config, one per capability, sorted."""
    return sorted(cap for l in config_lines(h, name) if l.startswith("lxc.cap.drop")
                  for cap in l.split("=", 1)[1].split())


def nofile(pid):
    for line in open("/proc/%d/limits" % pid):
        if line.startswith("Max open files"):
            return line.split()[3:5]
    raise AssertionError("no open-files limit for %d" % pid)


def ip_forward(pid):
    return subprocess.run(["nsenter", "-t", str(pid), "-n", "cat", "/proc/sys/net/ipv4/ip_forward"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_lxc_keys_are_written_in_effect_and_kept(hld):
    h = hld
    name = h.name("raw")
    h.write(name, definition(extra_container="\n".join(LINES)))
    h.apply()
    config = config_lines(h, name)
    assert "lxc.prlimit.nofile = 1234" in config and "lxc.sysctl.net.ipv4.ip_forward = 1" in config, config
    # A key the template's config has too: its own values stay, hl's is there once (the
    # create writes the settings twice).
    assert drops(h, name) == sorted(TEMPLATE_DROPS + ["sys_rawio"]), config
    pid = h.container_pid(name)
    assert nofile(pid) == ["1234", "1234"]
    assert ip_forward(pid) == "1"
    assert h.hlctl("show", name, json=True).data["definition"]["container"]["lxc"] == [
        {"key": "lxc.prlimit.nofile", "value": "1234"}, {"key": "lxc.sysctl.net.ipv4.ip_forward", "value": "1"},
        {"key": "lxc.cap.drop", "value": "sys_rawio"}]
    # What liblxc reads back is no drift.
    assert h.hlctl("plan", json=True).data["actions"] == []

    # Edited out behind hld's back: drift, and written again.
    path = h.lxcpath / name / "config"
    path.write_text("\n".join(l for l in config if not l.startswith("lxc.prlimit.")) + "\n")
    actions = h.hlctl("plan", json=True).data["actions"]
    assert [a["action"] for a in actions] == ["update", "restart"], actions
    assert "lxc.prlimit.nofile = (unset)" in actions[0]["changes"][0], actions
    h.hlctl("reconcile")
    assert "lxc.prlimit.nofile = 1234" in config_lines(h, name)
    assert nofile(h.container_pid(name)) == ["1234", "1234"]
    assert drops(h, name) == sorted(TEMPLATE_DROPS + ["sys_rawio"])

    # Lines taken away: their keys are cleared, at the restart the change needs, and of a
    # key the template has too only hl's value goes.
    h.write(name, definition(extra_container=LINES[1]))
    actions = h.apply().data["actions"]
    assert [a["action"] for a in actions] == ["update", "restart"], actions
    assert not any(l.startswith("lxc.prlimit.") for l in config_lines(h, name))
    assert nofile(h.container_pid(name)) != ["1234", "1234"]
    assert ip_forward(h.container_pid(name)) == "1"
    assert drops(h, name) == TEMPLATE_DROPS
    assert h.hlctl("plan", json=True).data["actions"] == []


def test_bad_lxc_lines_are_errors_at_their_line(hld):
    h = hld
    name = h.name("bad")
    path = h.write(name, definition(extra_container="\n".join([
        "Lxc=lxc.uts.name=other", "Lxc=lxc.net.0.link=vmbr0", "Lxc=lxc.frobnicate=1", "Lxc=LXC.Tty=1",
        "Lxc=lxc.tty.max"])))
    before = h.snapshot()
    r = h.hlctl("apply", path, check=False)
    assert r.rc == 1 and r.out == "", r
    lines = r.err.strip().splitlines()
    where = "hlctl: %s:" % path
    assert lines == [where + "6: Lxc: lxc.uts.name is hl's: set it with Hostname=",
                     where + "7: Lxc: lxc.net.0.link is hl's: set it with Network=",
                     where + "9: Lxc: \"LXC.Tty\" is not an lxc key: lxc. and then lower-case letters, digits, '.', "
                             "'_' and '-'",
                     where + "10: Lxc: \"lxc.tty.max\" is not KEY=VALUE (Lxc=lxc.cgroup2.devices.allow=c 10:200 rwm)"], r
    # A key this liblxc does not know is found once the file parses.
    path = h.write(name, definition(extra_container="Lxc=lxc.frobnicate=1"))
    r = h.hlctl("apply", path, check=False)
    assert r.rc == 1 and r.err.strip() == "hlctl: %s:6: Lxc: this liblxc has no key lxc.frobnicate" % path, r
    assert h.snapshot() == before
    assert name not in h.containers()


def test_only_root_applies_lxc_keys(hld):
    h = hld
    with admin_group(h) as gid:
        name = h.name("raw")
        text = definition(extra_container=LINES[0])
        plain = definition()
        # A member of the admin group may plan it, not apply it.
        reply = call_as(h.socket, 45678, "io.hl.Plan", {"definitions": [{"name": name, "text": text}]}, groups=[gid])
        assert "error" not in reply, reply
        before = h.snapshot()
        reply = call_as(h.socket, 45678, "io.hl.Apply", {"definitions": [{"name": name, "text": text}]},
                        groups=[gid])
        assert reply.get("error") == "io.hl.PermissionDenied", reply
        assert re.search(r"%s\.conf:6: Lxc: raw lxc keys are root's to apply \(uid 45678 is not root\)" % name,
                         reply["parameters"]["message"]), reply
        assert h.snapshot() == before
        # Root applies it; the member may apply the same revision again, and changes
        # without Lxc= lines.
        h.write(name, text)
        h.apply()
        reply = call_as(h.socket, 45678, "io.hl.Apply", {"definitions": [{"name": name, "text": text}]},
                        groups=[gid])
        assert "error" not in reply, reply
        reply = call_as(h.socket, 45678, "io.hl.Apply", {"definitions": [{"name": name, "text": plain}]},
                        groups=[gid])
        assert "error" not in reply, reply
        assert not any(l.startswith("lxc.prlimit.") for l in config_lines(h, name))


def test_a_key_an_include_gives_too_stays_the_includes(hld, tmp_path):
    """A tarball's container includes LXC's common.conf, whose devices.allow lines liblxc's
    reader mixes into the key's values: they stay the include's, never copied into the
    config, however often hld writes it; hld's own line is there once, and goes alone."""
    from test_templates import make_tarball
    h = hld
    tarball = tmp_path / "rootfs.tar.gz"
    make_tarball(tmp_path, tarball)
    name = h.name("inc")
    key = "lxc.cgroup2.devices.allow" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else \
        "lxc.cgroup.devices.allow"
    text = definition(extra_container="Lxc=%s=c 10:200 rwm" % key).replace("Template=busybox", "Template=%s" % tarball)
    h.write(name, text)
    h.apply()
    assert any(l.startswith("lxc.include") for l in config_lines(h, name))
    for memory in ("96M", "64M", "80M"):  # three more writes of the settings, each a restart
        h.write(name, text.replace("Memory=64M", "Memory=%s" % memory))
        h.apply()
    config = config_lines(h, name)
    assert [l for l in config if l.startswith(key)] == ["%s = c 10:200 rwm" % key], config
    h.write(name, text.replace("\nLxc=%s=c 10:200 rwm" % key, ""))
    h.apply()
    assert not any(l.startswith(key) for l in config_lines(h, name))
    assert h.state(name) == "RUNNING"
