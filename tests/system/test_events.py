# SPDX-License-Identifier: LGPL-2.1-or-later
"""hlctl events -f streams what happens as it happens; hlctl why explains a service."""

import json
import os
import subprocess
import threading
import time

from conftest import HLCTL, definition


def test_events_follow_streams_actions(hld):
    env = dict(os.environ, HLD_SOCKET=str(hld.socket))
    follow = subprocess.Popen([str(HLCTL), "--json", "events", "-f"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, text=True)
    try:
        time.sleep(0.3)
        name = hld.name("ev")
        hld.write(name, definition())
        hld.apply()
        seen = []

        def reader():
            for line in follow.stdout:
                seen.append(json.loads(line))

        threading.Thread(target=reader, daemon=True).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                e["service"] == name and e["action"] == "start" and e["result"] == "ok" for e in list(seen)):
            time.sleep(0.1)
        actions = [(e["service"], e["action"], e["result"]) for e in list(seen)]
        # Each action is streamed when it starts and again when it ends.
        assert (name, "create", "running") in actions and (name, "create", "ok") in actions, actions
        assert (name, "start", "ok") in actions, actions
        assert actions.index((name, "create", "ok")) < actions.index((name, "start", "ok"))
    finally:
        follow.terminate()
        follow.wait(timeout=10)
    # The stream ended with the client; hld still answers.
    assert hld.hlctl("status", json=True).data["services"]


def test_why_explains_a_waiting_service(hld):
    db, app = hld.name("db"), hld.name("app")
    hld.write(db, definition())
    hld.write(app, definition(requires=[db]))
    hld.apply()
    hld.hlctl("stop", app)
    hld.hlctl("stop", db)
    why = hld.hlctl("why", app, json=True).data
    text = "\n".join(why["explanation"])
    assert "STOPPED" in text and "held by hlctl stop" in text, text
    assert "Requires %s, which is STOPPED" % db in text, text
    assert why["service"]["name"] == app
    out = hld.hlctl("why", app).out
    assert "Requires %s" % db in out
    # A service that is as defined has nothing to do.
    hld.hlctl("start", app)
    text = "\n".join(hld.hlctl("why", app, json=True).data["explanation"])
    assert "Nothing to do" in text, text
