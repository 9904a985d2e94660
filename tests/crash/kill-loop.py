#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The random-kill loop, for as long as one likes (not in CI): the six-service lab of
tests/system/test_crash.py is applied to an empty node again and again, and each time hld
is SIGKILLed at a random moment of the apply (after a random number of event rows, or a
random delay after the call), then started again and the apply repeated. After every
kill the node must hold exactly its definitions: every container running, none doubled,
none half-made, no history row lost, no action left running, and nothing left to do.

Run as root after building: tests/crash/kill-loop.py [KILLS] (default 200); HL_BUILD
names another build directory. Prints "N kills, M broken" last; exit 1 when M > 0.
"""

import os
import random
import signal
import subprocess
import sys
import tempfile
import shutil
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "system"))

from conftest import HLCTL, Hld, definition  # noqa: E402
from test_crash import LAB, check_node, wait_for_events  # noqa: E402


def main():
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(os.environ.get("SEED", time.time()))
    rng = random.Random(seed)
    base = tempfile.mkdtemp(prefix="hl-kill-loop-")
    h = Hld(base)
    h.start()
    names = {short: h.name(short) for short in LAB}
    for short, requires in LAB.items():
        h.write(names[short], definition(memory="32M", requires=[names[r] for r in requires]))
    broken = []
    env = dict(os.environ, HLD_SOCKET=str(h.socket))
    try:
        for round_no in range(1, kills + 1):
            for short in reversed(list(LAB)):
                if names[short] in h.services():
                    h.hlctl("destroy", names[short], "--yes", "--force")
            (baseline,), = h.db("SELECT coalesce(max(id), 0) FROM events")
            proc = subprocess.Popen([str(HLCTL), "apply", str(h.defs)], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            if rng.random() < 0.3:
                delay = rng.uniform(0, 1.5)
                how = "after %.0f ms" % (delay * 1000)
                time.sleep(delay)
            else:
                k = rng.randint(0, 26)
                how = "at event row %d" % k
                wait_for_events(h, baseline, k, proc)
            h.kill(signal.SIGKILL)
            proc.wait(timeout=60)
            rows_before = {r[0] for r in h.db("SELECT id FROM events")}
            h.start()
            h.apply()
            violations = check_node(h, list(names.values()), rows_before, "kill %d (%s)" % (round_no, how))
            if violations:
                broken.append(round_no)
                print("\n".join(violations), flush=True)
            if round_no % 20 == 0:
                print("%d kills, %d broken so far" % (round_no, len(broken)), flush=True)
    finally:
        h.stop()
        left = h.destroy_containers()
        if not left:
            shutil.rmtree(base, ignore_errors=True)
    print("seed %d" % seed)
    print("%d kills, %d broken" % (kills, len(broken)))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
