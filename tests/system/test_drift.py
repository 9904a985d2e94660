# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drift: what is compared is the live container (its config and cgroup), not hld's
database, so an edit behind hld's back shows in the plan and the next reconcile undoes it."""

import re

from conftest import definition


def test_hand_edited_config_is_drift(hld):
    name = hld.name("drift")
    hld.write(name, definition(memory="64M"))
    hld.apply()
    config = hld.lxcpath / name / "config"
    text = config.read_text()
    key = re.search(r"^(lxc\.cgroup2?\.memory\.(?:limit_in_bytes|max)) = (\d+)$", text, re.M)
    assert key and key.group(2) == str(64 << 20), text
    # An operator "fixes" the limit by hand, and adds an environment variable.
    config.write_text(text.replace(key.group(0), "%s = %d" % (key.group(1), 128 << 20))
                      + "lxc.environment = BYHAND=1\n")

    plan = hld.hlctl("plan", json=True).data["actions"]
    updates = [a for a in plan if a["service"] == name and a["action"] == "update"]
    assert updates, plan
    changes = "\n".join(updates[0]["changes"])
    assert "memory 128M -> 64M (live)" in changes, changes
    assert "environment BYHAND=1 -> (none) (restart required)" in changes, changes
    # The plan says it; the reconcile does it.
    hld.hlctl("reconcile")
    text = config.read_text()
    assert "%s = %d" % (key.group(1), 64 << 20) in text and "BYHAND" not in text, text
    assert hld.hlctl("plan", json=True).data["actions"] == []


def test_a_live_limit_changed_behind_hlds_back_is_drift(hld):
    """lxc-cgroup (or pct set on a node) changes the running container's limit and not its
    config: the survey reads the cgroup too, the plan says so, a reconcile sets it again."""
    name = hld.name("live")
    hld.write(name, definition(memory="64M"))
    hld.apply()
    key = "memory.max" if hld.lxc("cgroup", "-n", name, "memory.max", check=False).returncode == 0 \
        else "memory.limit_in_bytes"
    pid = hld.container_pid(name)
    hld.lxc("cgroup", "-n", name, key, str(32 << 20))
    assert hld.memory_limit(name) == 32 << 20
    plan = hld.hlctl("plan", json=True).data["actions"]
    updates = [a for a in plan if a["service"] == name and a["action"] == "update"]
    assert updates and "memory 32M -> 64M (live: the running container's limit)" in updates[0]["changes"], plan
    assert "definition changed (applied live)" == updates[0]["reason"], updates
    hld.hlctl("reconcile")
    assert hld.memory_limit(name) == 64 << 20
    assert hld.container_pid(name) == pid, "a live change restarted the container"
    assert hld.hlctl("plan", json=True).data["actions"] == []
