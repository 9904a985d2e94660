# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl import pct on configs in Proxmox's format. No Proxmox node exists here: the test
makes a tree in /etc/pve's layout (--pve-root, HL_PVE_ROOT) holding the six services of
the seed lab (tests/unit/data/pct, whose .ok files say what each key becomes), imports
them, and has a real hld plan the result. Bad configs write nothing."""

import re
import shutil
from pathlib import Path


FIXTURES = Path(__file__).resolve().parent.parent / "unit" / "data" / "pct"
VMIDS = ["101", "102", "103", "104", "105", "106"]


def pve_root(hld):
    root = hld.dir / "pve"
    (root / "lxc").mkdir(parents=True, exist_ok=True)
    for vmid in VMIDS:
        shutil.copy(FIXTURES / ("%s.conf" % vmid), root / "lxc")
    return root


def expected_notes(root):
    """What the .ok files say is lost or left out, as hlctl prints it."""
    notes = []
    for vmid in VMIDS:
        report = (FIXTURES / ("%s.ok" % vmid)).read_text().split("---\n", 1)[1]
        for line in report.splitlines():
            m = re.match(r"^(\d+) (\S+): (mapped with loss|not mapped)(?: -> .*?)? \((.*)\)$", line)
            if m:
                notes.append("%s/lxc/%s.conf:%s: %s: %s: %s" % (root, vmid, m.group(1), m.group(2), m.group(3),
                                                                m.group(4)))
    return notes


def test_the_seed_lab_imports_and_plans(hld):
    root = pve_root(hld)
    out = hld.dir / "imported"
    out.mkdir()
    r = hld.hlctl("import", "pct", *VMIDS, "--template", "busybox", "--to", out, env={"HL_PVE_ROOT": str(root)})
    names = sorted(p.name for p in out.iterdir())
    assert names == ["db.conf", "homeassistant.conf", "media.conf", "monitor.conf", "pihole.conf", "proxy.conf"], names
    assert r.out.splitlines()[0] == "%s/lxc/101.conf: wrote %s/proxy.conf" % (root, out), r.out
    # The report of what did not come along is exact: every line, and nothing else.
    notes = [l for l in r.err.splitlines()
             if not re.search(r"\.conf: \d+ snapshots? not imported$", l) and "pending changes" not in l]
    assert notes == expected_notes(root), r.err
    assert "%s/lxc/102.conf: 1 snapshot not imported" % root in r.err
    assert "%s/lxc/104.conf: pending changes ([pve:pending]) not applied" % root in r.err
    proxy = (out / "proxy.conf").read_text()
    assert "Network=name=eth0,bridge=vmbr0,gw=192.168.1.1,hwaddr=BC:24:11:10:01:01,ip=192.168.1.10/24\n" in proxy
    assert "Mount=/srv/proxy/certs:/etc/nginx/certs:ro\n" in proxy
    assert "Mount=/srv/db/data:/var/lib/postgresql:backup\n" in (out / "db.conf").read_text()
    # Proxmox's startup order among the six: pihole (order=0), then proxy (order=1), then
    # the four without an order, as Proxmox starts them last.
    assert "[Service]\nAfter=pihole\n" in proxy, proxy
    assert "After" not in (out / "pihole.conf").read_text()
    for name in ("db", "homeassistant", "media", "monitor"):
        assert "[Service]\nAfter=proxy\n" in (out / ("%s.conf" % name)).read_text(), name
    assert "Lxc=lxc.cgroup2.devices.allow=c 10:200 rwm\n" in (out / "monitor.conf").read_text() + \
        (out / "homeassistant.conf").read_text()

    # hld accepts what was made: a plan of six creates, each saying what the node lacks.
    plan = hld.hlctl("plan", out, json=True).data
    creates = [a["service"] for a in plan["actions"] if a["action"] == "create"]
    assert sorted(creates) == ["db", "homeassistant", "media", "monitor", "pihole", "proxy"], plan
    assert creates[:2] == ["pihole", "proxy"], creates

    # --json: the mapping, key by key.
    r = hld.hlctl("import", "pct", "105", "--template", "busybox", "--pve-root", root, json=True)
    [media] = r.data
    fates = {k["key"]: k["fate"] for k in media["keys"]}
    assert fates["mp0"] == "mapped with loss" and fates["mp1"] == "not mapped" and fates["cores"] == "mapped"
    assert media["name"] == "media" and media["config"] == "%s/lxc/105.conf" % root


def test_bad_configs_write_nothing(hld):
    root = pve_root(hld)
    (root / "lxc" / "110.conf").write_text("cores: two\nmemory: 512\nnet0: bridge=vmbr0,speed=fast\nfrob: 1\n")
    (root / "lxc" / "111.conf").write_text("hostname: 111\nmemory: 64\n")
    out = hld.dir / "imported"
    out.mkdir()
    r = hld.hlctl("import", "pct", "101", "110", "111", "--template", "busybox", "--to", out, "--pve-root", root,
                  check=False)
    assert r.rc == 1, r
    errors = [l for l in r.err.splitlines() if "lxc/11" in l]
    assert errors == [
        "%s/lxc/110.conf:1: cores: \"two\" is not a number of cores (1 to 8192)" % root,
        "%s/lxc/110.conf:3: net0: speed is not an option of a Proxmox network interface" % root,
        "%s/lxc/110.conf:4: frob: not a key of Proxmox's container config" % root,
        "%s/lxc/111.conf:1: hostname: \"111\" does not make a service name (a-z, 0-9 and '-', not all digits): "
        "import it with --name" % root,
    ], r.err
    assert list(out.iterdir()) == []
    # Two configs making one name, and a name already written: nothing either.
    (root / "lxc" / "112.conf").write_text("hostname: proxy\nmemory: 64\n")
    r = hld.hlctl("import", "pct", "101", "112", "--template", "busybox", "--to", out, "--pve-root", root,
                  check=False)
    assert r.rc == 1 and "both make service proxy" in r.err and list(out.iterdir()) == [], r
    hld.hlctl("import", "pct", "112", "--template", "busybox", "--to", out, "--pve-root", root, "--name", "cache")
    r = hld.hlctl("import", "pct", "101", "112", "--template", "busybox", "--to", out, "--pve-root", root,
                  "--name", "x", check=False)
    assert r.rc == 2 and "--name names the service of one config" in r.err, r
    (root / "lxc" / "113.conf").write_text("hostname: cache\nmemory: 64\n")
    r = hld.hlctl("import", "pct", "101", "113", "--template", "busybox", "--to", out, "--pve-root", root,
                  check=False)
    assert r.rc == 1 and "cache.conf exists" in r.err, r
    assert sorted(p.name for p in out.iterdir()) == ["cache.conf"]
    # Without a template, or of another kind: a usage error.
    r = hld.hlctl("import", "pct", "101", "--pve-root", root, check=False)
    assert r.rc == 2 and "needs --template" in r.err, r
    r = hld.hlctl("import", "qm", "101", "--template", "busybox", check=False)
    assert r.rc == 2 and "imports pct containers" in r.err, r
