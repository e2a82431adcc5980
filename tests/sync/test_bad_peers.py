"""Bad peer files are skipped with a line in doctor; they never crash, block or poison the totals. Plus clock skew
and a machine that comes back after a month."""

from __future__ import annotations

import gzip
import os
import stat
import time

import orjson
import pytest
from support.machines import Machine

from tokentop.ingest.sync import format as fmt

DAY = "2026-11-2{}T1{}:00:00.000Z"


@pytest.fixture
def pair(tmp_path):
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop, desktop = (Machine(tmp_path / "homes", n, folder) for n in ("laptop", "desktop"))
    laptop.session("aaaa0000-0000-4000-8000-000000000001", [
        {"msg": "msg_l1", "output": 100, "ts": DAY.format(1, 0)},
        {"msg": "msg_l2", "output": 20, "ts": DAY.format(2, 0)}])
    desktop.session("bbbb0000-0000-4000-8000-000000000002", [{"msg": "msg_d1", "output": 3, "ts": DAY.format(3, 0)}])
    laptop.sync()
    desktop.sync()
    return folder, laptop, desktop


def out_tokens(m: Machine) -> int:
    return m.json("report", "daily", "--no-ingest")["totals"]["output_tokens"]


def doctor(m: Machine) -> str:
    return m.run("doctor")[1]


def peer_file(folder, machine="laptop", period="2026-11"):
    return folder / machine / fmt.usage_file_name(period)


def test_files_are_private_and_hold_no_message_text(pair):
    folder, laptop, _ = pair
    path = peer_file(folder)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "laptop").stat().st_mode) == 0o700
    raw = gzip.decompress(path.read_bytes())
    assert b"hello" not in raw and b"secret" not in raw  # the builder's message text and tool input
    assert b"msg_l1" in raw and not list((folder / "laptop").glob(".*"))  # no temp file left behind


def test_each_kind_of_bad_file_is_skipped_and_named_in_doctor(pair):
    folder, laptop, desktop = pair
    assert out_tokens(desktop) == 123
    good = peer_file(folder).read_bytes()
    rows = [orjson.loads(x) for x in gzip.decompress(good).splitlines()]
    bad = folder / "intruder"
    bad.mkdir()
    (bad / fmt.usage_file_name("2026-10")).write_bytes(good[: len(good) // 2])          # truncated
    (bad / fmt.usage_file_name("2026-09")).write_bytes(gzip.compress(b"PK\x03\x04 some zip"))  # not ours
    newer = dict(rows[0], version=fmt.VERSION + 1, machine="intruder")
    (bad / fmt.usage_file_name("2026-08")).write_bytes(
        gzip.compress(b"\n".join(orjson.dumps(r) for r in [newer, *rows[1:]]) + b"\n"))
    huge = [dict(rows[0], machine="intruder", period="2026-11")]
    for r in rows[1:-1]:
        if r[0] == "r":
            r = [*r[:11], 10**15, *r[12:]]  # output_tokens no response can carry
        huge.append(r)
    huge.append(rows[-1])
    (bad / fmt.usage_file_name("2026-11")).write_bytes(gzip.compress(b"\n".join(orjson.dumps(r) for r in huge)))
    hostile = folder / "evil\x1b[2J name"
    hostile.mkdir()
    (hostile / fmt.usage_file_name("2026-11")).write_bytes(good)
    (bad / "notes.tokentop.gz").write_bytes(good)
    os.symlink(peer_file(folder), bad / fmt.usage_file_name("2026-07"))

    out = desktop.sync()
    assert "skipped" in out
    assert out_tokens(desktop) == 123  # nothing from any bad file, nothing lost
    text = doctor(desktop)
    assert "intruder/usage-2026-10.tokentop.gz: truncated" in text
    assert "intruder/usage-2026-09.tokentop.gz: not a tokentop sync file" in text
    assert f"intruder/usage-2026-08.tokentop.gz: written by a newer tokentop (format v{fmt.VERSION + 1}" in text
    assert "intruder/usage-2026-11.tokentop.gz: 2 rows refused (2 token count no response can carry)" in text
    assert "intruder/notes.tokentop.gz: not a file name tokentop writes" in text
    assert "intruder/usage-2026-07.tokentop.gz: not a regular file" in text
    assert "a machine folder with an unusable name" in text and "\x1b" not in text
    assert "  skipped " not in desktop.sync()  # said once; the same bad files are not read again


def test_a_truncated_copy_of_a_good_file_keeps_what_was_merged(pair):
    folder, laptop, desktop = pair
    path = peer_file(folder)
    data = path.read_bytes()
    path.write_bytes(data[:-9])  # the sync tool is half-way through copying a new version
    desktop.sync()
    assert out_tokens(desktop) == 123
    assert "laptop/usage-2026-11.tokentop.gz: truncated" in doctor(desktop)
    path.write_bytes(data)  # the copy completes
    desktop.sync()
    assert out_tokens(desktop) == 123
    text = doctor(desktop)
    assert "usage-2026-11.tokentop.gz: truncated" not in text and "merged from laptop: 2 files, 3 rows" in text


def test_a_peer_clock_ahead_still_counts_and_cannot_win_the_gauge(pair):
    """The desktop's clock runs 3 hours ahead: its responses count in full; its official sample of a window the
    laptop has seen at a higher % is older, whatever its timestamp says."""
    folder, laptop, desktop = pair
    from tokentop.ingest.store.store import Store
    from tokentop.ingest.usage.samples import Sample, load_samples, record_samples
    now = int(time.time() * 1000)
    resets = now + 4 * 3_600_000
    with Store(laptop.db, machine="laptop") as s:
        record_samples(s, [Sample("five_hour", 62.0, resets)], now - 60_000)
    with Store(desktop.db, machine="desktop") as s:
        record_samples(s, [Sample("five_hour", 40.0, resets)], now + 3 * 3_600_000)  # skewed clock
    desktop.session("bbbb0000-0000-4000-8000-000000000002",
                    [{"msg": "msg_d2", "output": 11, "ts": "2026-11-24T13:00:00.000Z"}])
    desktop.sync()
    laptop.sync()
    assert out_tokens(laptop) == 134
    with Store(laptop.db, machine="laptop") as s:
        samples = load_samples(s, now - 1)["five_hour"]
    newest = max(samples, key=lambda x: x.taken_ms)
    assert newest.used_pct == 62.0
    assert all(x.taken_ms <= int(time.time() * 1000) for x in samples)  # nothing placed in this machine's future
    assert [x.used_pct for x in sorted(samples, key=lambda x: x.taken_ms)] == [40.0, 62.0]


def test_a_machine_back_after_a_month_adds_its_new_month_and_keeps_the_old(tmp_path, pair):
    folder, laptop, desktop = pair
    """The desktop was switched off for weeks; back, it brings a new month and an old one it never published."""
    laptop.session("aaaa0000-0000-4000-8000-000000000004", [
        {"msg": "msg_l4", "output": 50, "ts": "2026-12-01T08:00:00.000Z"}])
    laptop.sync()
    desktop.session("bbbb0000-0000-4000-8000-000000000003", [
        {"msg": "msg_d3", "output": 1000, "ts": "2026-10-05T10:00:00.000Z"},
        {"msg": "msg_d4", "output": 7, "ts": "2026-12-01T10:00:00.000Z"},
        {"msg": "msg_d5", "output": 9999, "ts": "2026-12-01T11:00:00.000Z"}])
    desktop.sync()
    # A clock set half a year ahead: this tokentop clamps such a time on ingest, but a peer's store written by an
    # older one (or edited) may still publish it, so the row is put in the desktop's store as that peer would have.
    import sqlite3
    from datetime import datetime
    ahead = int(datetime.fromisoformat("2027-06-01T10:00:00+00:00").timestamp() * 1000)
    with sqlite3.connect(desktop.db) as db:
        db.execute("UPDATE requests SET ts = ? WHERE message_id = 'msg_d5'", (ahead,))
    desktop.sync()
    laptop.sync()
    for m in (laptop, desktop):
        rows = {r["key"]: r["output_tokens"] for r in m.json("report", "monthly", "--no-ingest")["rows"]}
        expected = {"2026-10": 1000, "2026-11": 123, "2026-12": 57}
        if m is desktop:
            expected["2027-06"] = 9999  # its own logs say so; peers refuse a row dated that far ahead
        assert rows == expected
    assert "desktop/usage-2027-06.tokentop.gz: 1 row refused (1 dated more than a week ahead" in doctor(laptop)


def test_a_rebuilt_store_takes_back_its_own_published_history(pair):
    """The laptop's store is lost and Claude Code has since deleted one of its transcripts: its own files in the
    sync folder give that history back, and the transcript still on disk is not counted twice."""
    folder, laptop, desktop = pair
    old = laptop.session("aaaa0000-0000-4000-8000-000000000009", [
        {"msg": "msg_l9", "output": 500, "ts": "2026-11-25T10:00:00.000Z"}])
    laptop.sync()
    old.unlink()
    for p in laptop.db.parent.glob("usage.db*"):
        p.unlink()
    laptop.sync()
    t = laptop.json("report", "daily", "--no-ingest")["totals"]
    assert (t["output_tokens"], t["requests"]) == (623, 4)
    assert {r["key"]: r["output_tokens"] for r in laptop.json("report", "machines", "--no-ingest")["rows"]} == \
        {"laptop": 620, "desktop": 3}
    desktop.sync()
    assert out_tokens(desktop) == 623
