# SPDX-License-Identifier: LGPL-2.1-or-later
"""Template=oci: application containers from OCI images built here (ocilab.py: umoci and
skopeo, the host's static busybox, no registry, no network): an httpd image runs under
liblxc's init.lxc, serves, is healthy and stops on its signal; layers with whiteouts and an
opaque directory; the image's Env, User and WorkingDir, the definition's Environment=
winning; an oci-archive as Proxmox takes them; an application that exits is a crash; and
every kind of bad image refused with its reason and no container left behind."""

import json
import os
import shutil

import pytest

from conftest import wait_for
from ocilab import HTTPD, Image, busybox_files, have_tools


@pytest.fixture
def image(tmp_path):
    if not have_tools():
        if os.environ.get("HL_REQUIRE_SYSTEM") == "1":
            pytest.fail("umoci and skopeo are missing: tests/setup.sh installs them")
        pytest.skip("umoci and skopeo are missing: tests/setup.sh installs them")
    img = Image(tmp_path / "layout")
    img.new("v1", busybox_files({"/www/gone.txt": b"removed by a later layer\n", "/www/old/a": b"a\n"}),
            config=HTTPD + ["--config.env", "GREETING=from-the-image", "--config.env", "ONLY_IMAGE=1",
                            "--config.workingdir", "/www", "--config.stopsignal", "SIGTERM"])
    return img


def oci_definition(ref, extra_container="", extra=""):
    return "\n".join(["[Service]", "", "[Container]", "Template=oci:%s" % ref, "Memory=64M", extra_container,
                      "", "[Health]", "Check=http http://127.0.0.1:8080/", "Interval=1s", extra]) + "\n"


def service(h, name):
    return h.services()[name]


def test_an_httpd_image_runs_serves_and_stops(hld, image):
    h = hld
    web = h.name("web")
    h.write(web, oci_definition(image.ref("v1")))
    h.apply()
    wait_for("healthy", lambda: service(h, web)["health"] == "healthy", 20)
    # PID 1 is liblxc's init.lxc, the application its child.
    ps = h.sh(web, "cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc").stdout
    assert ps.startswith("init "), ps
    assert h.hlctl("exec", web, "--", "cat", "/www/index.html").out == "hello from an OCI image\n"
    conf = (h.lxcpath / web / "hl-oci.conf").read_text()
    assert "lxc.signal.halt = 15\n" in conf and "lxc.init.cwd = /www\n" in conf, conf
    argv = json.loads((h.lxcpath / web / "hl-oci-argv").read_text())
    assert argv == ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"], argv
    # Nothing drifts: the image's keys are its include's, not the definition's.
    assert h.hlctl("plan", h.defs).out.startswith("No changes"), h.hlctl("plan", h.defs).out
    # Its stop signal reaches the application through init.lxc: a clean stop, no kill.
    h.hlctl("stop", web, "--timeout", "20")
    stop = [e for e in h.history(web) if e["action"] == "stop"][-1]
    assert stop["result"] == "ok" and stop["duration_ms"] < 10000, stop
    assert h.state(web) == "STOPPED"


def test_layers_whiteouts_env_user_and_workdir(hld, image, tmp_path):
    h = hld
    # v2 removes a file and a directory of v1 (umoci writes whiteouts), v3 is v2 with a
    # layer made by hand that makes /www/opq opaque over what v1 put there.
    image.new("v2", {"/www/opq/lower": b"from below\n", "/www/new.txt": b"new\n"}, base="v1",
              remove=["/www/gone.txt", "/www/old"])
    image.raw_layer("v3", "v2", [("www/opq/", None), ("www/opq/.wh..wh..opq", b""), ("www/opq/upper", b"up\n")])
    image.new("v4", {"/etc/passwd": b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/www:/bin/sh\n",
                     "/run/": None},
              base="v3",
              config=["--config.user", "app", "--config.entrypoint", "/bin/sh", "--config.cmd", "-c",
                      "--config.cmd", "id -u > /tmp/uid; id -g > /tmp/gid; pwd > /tmp/cwd; env > /tmp/env; "
                      "exec httpd -f -p 8080 -h /www"])
    layers = image.manifest("v4")["layers"]
    assert len(layers) == 4, layers
    web = h.name("web")
    h.write(web, oci_definition(image.ref("v4"), "Environment=GREETING=from-the-definition"))
    h.apply()
    wait_for("healthy", lambda: service(h, web)["health"] == "healthy", 20)
    root = h.rootfs(web)
    assert not (root / "www/gone.txt").exists() and not (root / "www/old").exists()
    assert (root / "www/new.txt").read_text() == "new\n"
    assert sorted(os.listdir(root / "www/opq")) == ["upper"], os.listdir(root / "www/opq")
    assert not any(n.startswith(".wh.") for _, _, files in os.walk(root) for n in files)
    out = lambda f: h.sh(web, "cat %s" % f).stdout.strip()  # noqa: E731
    assert (out("/tmp/uid"), out("/tmp/gid"), out("/tmp/cwd")) == ("1000", "1000", "/www")
    env = dict(line.split("=", 1) for line in out("/tmp/env").splitlines() if "=" in line)
    assert env["GREETING"] == "from-the-definition" and env["ONLY_IMAGE"] == "1", env
    assert "localhost" in h.sh(web, "cat /etc/hosts").stdout


def test_an_oci_archive_and_an_exit_that_is_a_crash(hld, image, tmp_path):
    h = hld
    image.new("once", {}, base="v1", config=["--config.entrypoint", "/bin/sh", "--config.cmd", "-c",
                                             "--config.cmd", "echo started; sleep 2; exit 3"])
    archive = image.archive("once", tmp_path / "once.tar")
    shutil.rmtree(image.path)  # only the archive is left
    app = h.name("app")
    h.write(app, "[Service]\n\n[Container]\nTemplate=oci:%s:once\n\n[Restart]\nPolicy=on-failure\n" % archive)
    h.apply()
    # Its end is a crash under the restart policy, seen and restarted, and its output is
    # its log.
    wait_for("a restart after the exit",
             lambda: any(e["action"] == "start" and "exited" in (e.get("reason") or "") or e["action"] == "restart"
                         for e in h.history(app)[1:]) or
             len([e for e in h.history(app) if e["action"] == "start"]) >= 2, 30)
    wait_for("its output", lambda: h.hlctl("logs", app).out.count("started") >= 2, 30)
    assert not (h.lxcpath / app / "oci-image").exists()


def corrupt(image, tag, how, tmp_path):
    m = image.manifest(tag)
    layer = image.blob(m["layers"][-1]["digest"])
    if how == "digest":
        with open(layer, "r+b") as f:
            f.seek(100)
            f.write(b"\xff\xff\xff\xff")
    elif how == "missing":
        os.unlink(layer)


@pytest.mark.parametrize("bad,words", [
    ("digest", "does not match its digest"),
    ("missing", "lacks the blob"),
    ("absolute", "unsafe entry"),
    ("dotdot", "unsafe entry"),
    ("arch", "this node is amd64"),
    ("entrypoint", "does not exist in it"),
    ("tag", "has no tag nosuch"),
])
def test_bad_images_are_refused_and_leave_nothing(hld, image, tmp_path, bad, words):
    h = hld
    tag = "v1"
    if bad in ("digest", "missing"):
        image.new("bad", {"/www/more": b"more\n"}, base="v1")
        corrupt(image, "bad", bad, tmp_path)
        tag = "bad"
    elif bad == "absolute":
        image.raw_layer("bad", "v1", [("/etc/evil", b"x\n")])
        tag = "bad"
    elif bad == "dotdot":
        image.raw_layer("bad", "v1", [("www/../../evil", b"x\n")])
        tag = "bad"
    elif bad == "arch":
        image.new("bad", {}, base="v1", config=["--architecture", "arm64"])
        tag = "bad"
    elif bad == "entrypoint":
        image.new("bad", {}, base="v1", config=["--config.entrypoint", "/bin/nosuch"])
        tag = "bad"
    elif bad == "tag":
        tag = "nosuch"
    name = h.name("bad")
    h.write(name, oci_definition(image.ref(tag)))
    r = h.apply(check=False)
    assert r.rc != 0, r
    create = [e for e in h.history(name) if e["action"] == "create"][-1]
    assert create["result"] == "failed" and words in create["error"], create
    assert name not in h.containers()
    assert not os.path.exists("/etc/evil") and not os.path.exists(str(h.lxcpath / "evil"))
    assert json.dumps(create)  # the history row is whole
