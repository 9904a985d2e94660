# SPDX-License-Identifier: LGPL-2.1-or-later
"""A full disk during a write loses nothing already committed: hld's state directory on a
small tmpfs, filled by applies until SQLite gets ENOSPC."""

import subprocess

import pytest

from conftest import definition


@pytest.fixture
def small_state(hld):
    hld.stop()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "hl-test-full", str(hld.state_dir)],
                   check=True)
    try:
        hld.start()
        yield hld
    finally:
        hld.stop()
        subprocess.run(["umount", str(hld.state_dir)], check=False)


def test_disk_full_loses_nothing(small_state):
    h = small_state
    name = h.name("big")
    committed = 0
    refused = None
    for i in range(60):
        # 40 KB per revision (lines stay under the 16 KiB limit): the tmpfs fills quickly.
        bulk = "\n".join("Environment=K%d=%d%s" % (k, i, "x" * 10000) for k in range(4))
        h.write(name, definition(state="stopped", extra_container=bulk))
        r = h.hlctl("apply", h.defs, json=True, check=False)
        if r.rc != 0:
            refused = r
            break
        committed += 1
    assert refused is not None, "the 512k tmpfs never filled"
    assert committed >= 2
    # One clear line, and hld is still there and answering.
    assert len(refused.err.strip().splitlines()) == 1, refused
    assert "space" in refused.err.lower(), refused
    assert h.pid is not None
    assert h.services()[name]["revision"] == committed
    # Space again (the tmpfs grows): hld goes on, nothing committed was lost.
    subprocess.run(["mount", "-o", "remount,size=16m", str(h.state_dir)], check=True)
    h.write(name, definition(state="stopped", description="after"))
    h.apply()
    revisions = h.hlctl("show", name, json=True).data["revisions"]
    assert [r["revision"] for r in revisions] == list(range(1, committed + 2))
    h.stop()
    out = subprocess.run(["sqlite3", str(h.db_path), "PRAGMA integrity_check"], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out
    h.start()
