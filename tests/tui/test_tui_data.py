"""The fixed history behind the TUI tests and snapshots says what those tests assume."""

from __future__ import annotations

from support.history import LIVE, build_store


def test_fixture_is_read_whole(home):
    ctx = build_store(home)
    with ctx.open_store(readonly=True) as store:
        counts = store.counts()
        assert counts["sessions"] == 15
        # 37 + 3 sub-agent + 5 + 12 + 8 + 40 + 10 days × 6
        assert counts["requests"] == 37 + 3 + 5 + 12 + 8 + 40 + 60
        assert store.db.execute("SELECT title FROM sessions WHERE session_id = ?", (LIVE,)).fetchone()[0] == \
            "Build the live TUI"
