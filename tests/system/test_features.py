# SPDX-License-Identifier: LGPL-2.1-or-later
"""Features= as Proxmox names them, against a real busybox container: nesting (LXC's
nesting.conf mounts and allow_nesting) and fuse (/dev/fuse bound in); taking them away is a
restart-class change, and they are gone after it."""

import re

from conftest import definition


def config_value(hld, name, key):
    text = (hld.lxcpath / name / "config").read_text()
    return re.findall(r"^\s*%s\s*=\s*(.*)$" % re.escape(key), text, re.M)


def test_nesting_and_fuse(hld):
    name = hld.name("feat")
    hld.write(name, definition(extra_container="Features=nesting,fuse"))
    hld.apply()
    assert hld.state(name) == "RUNNING"
    out = hld.sh(name, "ls -l /dev/fuse; head -1 /dev/.lxc/proc/self/status; test -d /dev/.lxc/sys/kernel && echo sys").stdout
    lines = out.splitlines()
    assert lines[0].startswith("c") and lines[0].endswith("/dev/fuse"), out
    assert lines[1].startswith("Name:") and lines[2] == "sys", out
    assert config_value(hld, name, "lxc.apparmor.allow_nesting") == ["1"]
    # Nothing to do while it stays so.
    assert hld.hlctl("plan", hld.defs, json=True).data["actions"] == []

    hld.write(name, definition())
    plan = hld.hlctl("plan", hld.defs, json=True).data["actions"]
    assert [a["action"] for a in plan] == ["update", "restart"], plan
    assert any(c.startswith("nesting 1 -> 0") for c in plan[0]["changes"]), plan
    hld.apply()
    out = hld.sh(name, "test -e /dev/fuse && echo fuse; test -d /dev/.lxc/proc && echo nesting; true").stdout
    assert out == "", out
    assert config_value(hld, name, "lxc.apparmor.allow_nesting") in ([], ["0"])
