# SPDX-License-Identifier: LGPL-2.1-or-later
"""An sshd of the test's own on 127.0.0.1, with keys made for it (Debian's openssh-server),
and an ssh that reaches only it: for hlctl -H ssh://. Its sessions get PATH (with the build's
hlctl first) and HLD_SOCKET by SetEnv; everything lives in one directory, removed at the end.
Used by tests/system/test_remote.py and tests/bench/remote.sh."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

SSHD = "/usr/sbin/sshd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshLab:
    def __init__(self, hlctl_dir, hld_socket):
        self.dir = tempfile.mkdtemp(prefix="hl-ssh-")
        os.chmod(self.dir, 0o700)
        self.port = free_port()
        self.proc = None
        d = self.dir
        for key in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "%s/%s" % (d, key)], check=True)
        shutil.copy("%s/client.pub" % d, "%s/authorized_keys" % d)
        with open("%s/sshd_config" % d, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey %s/host" % d,
                "AuthorizedKeysFile %s/authorized_keys" % d, "PermitRootLogin prohibit-password",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
                "PidFile %s/sshd.pid" % d, "LogLevel ERROR",
                "SetEnv PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin HLD_SOCKET=%s" % (hlctl_dir, hld_socket), ""]))
        with open("%s/ssh_config" % d, "w") as f:
            f.write("\n".join([
                "Host 127.0.0.1", "  IdentityFile %s/client" % d, "  IdentitiesOnly yes",
                "  UserKnownHostsFile %s/known_hosts" % d, "  StrictHostKeyChecking no", "  BatchMode yes",
                "  LogLevel ERROR", ""]))
        # The ssh hlctl runs (from PATH): this one, reading only the lab's config.
        os.mkdir("%s/bin" % d)
        with open("%s/bin/ssh" % d, "w") as f:
            f.write("#!/bin/sh\nexec /usr/bin/ssh -F %s/ssh_config \"$@\"\n" % d)
        os.chmod("%s/bin/ssh" % d, 0o755)
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory

    @property
    def url(self):
        return "ssh://root@127.0.0.1:%d" % self.port

    def env(self, base=None):
        env = dict(base or os.environ)
        env["PATH"] = "%s/bin:%s" % (self.dir, env.get("PATH", "/usr/bin:/bin"))
        return env

    def start(self):
        self.log = open("%s/sshd.log" % self.dir, "wb")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", "%s/sshd_config" % self.dir], stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("sshd did not listen: %s" % open("%s/sshd.log" % self.dir).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
