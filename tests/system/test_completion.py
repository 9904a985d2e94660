# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shell completion, as meson writes it from hlctl's own tables (build/cli/completion): an
interactive bash in a pseudo-terminal completes verbs, options, service names and snapshot
names, the names asked of a real hld; the same function called directly for the cases
around it; and zsh reads its script."""

import os
import pty
import select
import subprocess
import time

from conftest import BUILD, HLCTL, definition

BASH_SCRIPT = BUILD.resolve() / "cli" / "completion" / "hlctl"
ZSH_SCRIPT = BUILD.resolve() / "cli" / "completion" / "_hlctl"


def complete(h, line):
    """What _hlctl offers for the last word of line (a trailing space: a new word)."""
    words = line.split(" ")
    script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _hlctl; printf "%%s\\n" "${COMPREPLY[@]}"'
              % (BASH_SCRIPT, " ".join("'%s'" % w for w in words), len(words) - 1))
    env = dict(os.environ, HLD_SOCKET=str(h.socket), PATH="%s:%s" % (HLCTL.resolve().parent, os.environ["PATH"]))
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, env=env,
                         check=True).stdout
    return sorted(w for w in out.split("\n") if w)


class Session:
    """bash -i in a pseudo-terminal, with hlctl's completion loaded."""

    def __init__(self, h):
        env = dict(os.environ, HLD_SOCKET=str(h.socket), PATH="%s:%s" % (HLCTL.resolve().parent, os.environ["PATH"]),
                   TERM="dumb", PS1="$ ", INPUTRC="/dev/null")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], env)
        self.send("source %s; bind 'set show-all-if-ambiguous on'\n" % BASH_SCRIPT)
        self.read_until("$ ")

    def send(self, text):
        os.write(self.fd, text.encode())

    def read_until(self, what, timeout=10):
        seen, deadline = b"", time.monotonic() + timeout
        while what.encode() not in seen and time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.1)[0]:
                seen += os.read(self.fd, 65536)
        assert what.encode() in seen, (what, seen)
        return seen.decode(errors="replace")

    def close(self):
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def test_bash_completes_verbs_options_and_names(hld):
    h = hld
    web = h.name("web")
    h.write(web, definition())
    h.apply()
    h.hlctl("snapshot", web, "before-upgrade")

    s = Session(h)
    try:
        # A verb, an option of that verb, a service name and a snapshot name, each by TAB.
        s.send("hlctl sho\t")
        s.read_until("hlctl show ")
        s.send("\x15hlctl stop --ti\t")
        s.read_until("--timeout ")
        s.send("\x15hlctl show %s\t" % web[:3])
        s.read_until("hlctl show %s " % web)
        s.send("\x15hlctl rollback %s be\t" % web)
        s.read_until("before-upgrade ")
        # Ambiguous: the candidates are listed.
        s.send("\x15hlctl st\t")
        listing = s.read_until("stop")
        assert "start" in listing and "status" in listing, listing
    finally:
        s.close()

    assert complete(h, "hlctl ") == sorted(
        ["adopt", "apply", "backup", "backups", "console", "destroy", "enter", "events", "exec", "health", "help", "history", "import", "list",
         "logs", "plan", "pull", "push", "reconcile", "restart", "restore", "rollback", "show", "snapshot", "snapshots", "start", "status",
         "stop", "top", "update", "version", "why"])
    assert "__names" not in complete(h, "hlctl __")
    assert complete(h, "hlctl destroy --") == ["--force", "--json", "--socket", "--timeout", "--yes"]
    assert complete(h, "hlctl backup %s --mode " % web) == ["snapshot", "stop"]
    assert complete(h, "hlctl history --service ") == [web]
    assert complete(h, "hlctl health %s " % web) == [web]  # health takes several names
    assert complete(h, "hlctl show %s " % web) == []  # show takes one
    assert complete(h, "hlctl import ") == ["pct"]
    # --opt=value: bash splits at the '=', and the value is still the option's.
    assert complete(h, "hlctl backup %s --mode = " % web) == ["snapshot", "stop"]
    assert complete(h, "hlctl backup %s --mode =" % web) == ["=snapshot", "=stop"]
    assert complete(h, "hlctl --socket = %s show " % h.socket) == [web]
    # A file name with a blank is one candidate.
    (h.dir / "my web.conf").write_text("")
    assert complete(h, "hlctl apply %s/my" % h.dir) == ["%s/my web.conf" % h.dir]
    # With hld gone, names are simply not offered: no error lands in the terminal.
    h.stop()
    assert complete(h, "hlctl show ") == []


def test_zsh_completes_in_a_terminal(hld):
    """zsh (its own completion system, compinit) in a pseudo-terminal: a verb, a service
    name from hld, and --mode's values."""
    import re
    h = hld
    web = h.name("web")
    h.write(web, definition(state="stopped"))
    h.apply()
    r = subprocess.run(["zsh", "-n", str(ZSH_SCRIPT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, TERM="vt100", HLD_SOCKET=str(h.socket),
               PATH="%s:%s" % (HLCTL.resolve().parent, os.environ["PATH"]))
    pid, fd = pty.fork()
    if pid == 0:
        os.execve("/usr/bin/zsh", ["zsh", "-f", "-i"], env)

    def typed(text, want):
        os.write(fd, text.encode())
        seen, deadline = "", time.monotonic() + 10
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                seen += os.read(fd, 65536).decode(errors="replace")
                # What the line shows, the terminal's redrawing taken out.
                plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00\x08]", "", seen)
                if want in plain:
                    return
        raise AssertionError((want, seen))
    try:
        typed("fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D; PS1='%%%% '\n" % ZSH_SCRIPT.parent, "% ")
        typed("hlctl sho\t", "hlctl show")
        typed("\x15hlctl start %s\t" % web[:3], "hlctl start %s" % web)
        typed("\x15hlctl backup %s --mode \t" % web, "--mode s")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
