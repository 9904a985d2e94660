# SPDX-License-Identifier: LGPL-2.1-or-later
"""OCI images built here, without a registry or the network: Debian's umoci makes an image
layout from the host's static busybox, each change a layer of its own (a removed file a
whiteout), and a config of the test's choosing; a layer umoci would never write (an opaque
whiteout, a name that leaves the root) is made by hand; skopeo turns a layout into an
oci-archive, as Proxmox takes them. Used by tests/system/test_oci.py and tests/bench/oci.sh."""

import io
import json
import os
import shutil
import subprocess
import tarfile

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "httpd", "cat", "echo", "ls", "sleep", "id", "env", "kill", "pwd", "tr", "ps")


def have_tools():
    return shutil.which("umoci") is not None and shutil.which("skopeo") is not None


def run(*cmd):
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(str(c) for c in cmd), proc.stderr.decode()))


def link(target):
    """A file of Image.new that is a symlink to target."""
    return ("->", target)


class Image:
    """An image layout at path, its tags made one change at a time."""

    def __init__(self, path):
        self.path = str(path)
        self.work = os.path.dirname(self.path)
        run("umoci", "init", "--layout", self.path)

    def ref(self, tag):
        return "%s:%s" % (self.path, tag)

    def new(self, tag, files, config=(), base=None, remove=()):
        """Tag tag: base's layers (or none), then one layer that adds files {path: bytes,
        (bytes, mode), None for a directory, or link(target)} and removes the paths in
        remove (umoci writes whiteouts for them); then config (umoci config's flags)."""
        bundle = os.path.join(self.work, "bundle-" + tag)
        shutil.rmtree(bundle, ignore_errors=True)
        if base:
            run("umoci", "unpack", "--image", self.ref(base), bundle)
        else:
            run("umoci", "new", "--image", self.ref(tag))
            run("umoci", "unpack", "--image", self.ref(tag), bundle)
        root = os.path.join(bundle, "rootfs")
        for path, content in files.items():
            full = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if content is None:
                os.makedirs(full, exist_ok=True)
                if path.rstrip("/") == "/tmp":
                    os.chmod(full, 0o1777)
            elif isinstance(content, tuple) and content[0] == "->":
                if os.path.lexists(full):
                    os.unlink(full)
                os.symlink(content[1], full)
            else:
                data, mode = content if isinstance(content, tuple) else (content, 0o644)
                with open(full, "wb") as f:
                    f.write(data)
                os.chmod(full, mode)
        for path in remove:
            full = os.path.join(root, path.lstrip("/"))
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
        run("umoci", "repack", "--image", self.ref(tag), bundle)
        if config:
            run("umoci", "config", "--image", self.ref(tag), *config)
        shutil.rmtree(bundle, ignore_errors=True)

    def raw_layer(self, tag, base, entries):
        """Tag tag: base's layers and one made by hand of entries [(name, bytes, or None for
        a directory)]."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name, data in entries:
                info = tarfile.TarInfo(name)
                if data is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    t.addfile(info)
                else:
                    info.size, info.mode = len(data), 0o644
                    t.addfile(info, io.BytesIO(data))
        layer = os.path.join(self.work, "raw-%s.tar" % tag)
        with open(layer, "wb") as f:
            f.write(buf.getvalue())
        run("umoci", "raw", "add-layer", "--image", self.ref(base), "--tag", tag, layer)

    def manifest(self, tag):
        return json.load(open(self.blob(self.manifest_digest(tag))))

    def manifest_digest(self, tag):
        index = json.load(open(os.path.join(self.path, "index.json")))
        return next(m["digest"] for m in index["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)

    def blob(self, digest):
        return os.path.join(self.path, "blobs", "sha256", digest.split(":", 1)[1])

    def archive(self, tag, path):
        run("skopeo", "copy", "--quiet", "oci:%s:%s" % (self.path, tag), "oci-archive:%s:%s" % (path, tag))
        return str(path)


def busybox_files(extra=None):
    """A root file system of the host's static busybox, its applets and /www."""
    with open(BUSYBOX, "rb") as f:
        files = {"/bin/busybox": (f.read(), 0o755)}
    for applet in APPLETS:
        files["/bin/%s" % applet] = link("busybox")
    files["/www/index.html"] = b"hello from an OCI image\n"
    files["/tmp/"] = None
    files.update(extra or {})
    return files


HTTPD = ["--config.entrypoint", "/bin/httpd", "--config.cmd", "-f", "--config.cmd", "-p", "--config.cmd", "8080",
         "--config.cmd", "-h", "--config.cmd", "/www"]
