# SPDX-License-Identifier: LGPL-2.1-or-later
"""After=: the order of starts and stops without a requirement (as systemd's After=, and as
Proxmox's startup order), with real containers and hld's parallel jobs."""

from conftest import definition


def first_event(events, service, action):
    ids = [e["id"] for e in events if e["service"] == service and e["action"] == action]
    assert ids, (service, action, events)
    return min(ids)


def last_event(events, service, action):
    return max(e["id"] for e in events if e["service"] == service and e["action"] == action)


def test_after_orders_starts_and_stops_without_requiring(hld):
    h = hld
    a, b, c = h.name("a"), h.name("b"), h.name("c")
    h.write(a, definition())
    h.write(b, definition(extra_service="After=%s" % a))
    h.write(c, definition(extra_service="After=%s %s" % (b, h.name("undefined"))))
    h.apply()
    events = h.history()
    # Up to four jobs run at once: each waited for what it comes after to be made and
    # started before its own create began.
    assert last_event(events, a, "start") < first_event(events, b, "create"), events
    assert last_event(events, b, "start") < first_event(events, c, "create"), events
    assert all(h.state(n) == "RUNNING" for n in (a, b, c))

    # Stops go the other way round.
    before = max(e["id"] for e in events)
    for n, extra in ((a, ""), (b, "After=%s" % a), (c, "After=%s" % b)):
        h.write(n, definition(state="stopped", extra_service=extra))
    h.apply()
    events = [e for e in h.history() if e["id"] > before]
    assert last_event(events, c, "stop") < first_event(events, b, "stop") < first_event(events, a, "stop"), events

    # Not a requirement: what it comes after failing to start does not hold it back, and
    # starting it does not start the other.
    h.write(a, definition(extra_container="Mount=/nonexistent-%s:/data" % h.tag))
    h.write(b, definition(extra_service="After=%s" % a))
    r = h.apply(check=False)
    assert r.rc == 1, r
    assert h.state(a) == "STOPPED" and h.state(b) == "RUNNING"
    assert h.state(c) == "STOPPED"
    h.hlctl("start", c)
    assert h.state(c) == "RUNNING" and h.state(a) == "STOPPED"
