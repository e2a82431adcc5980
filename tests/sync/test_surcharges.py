"""The surcharges travel (sync format v2, and v3 for the rollups' US-only inference): fast mode, web searches and
US-only inference priced on a peer's rows as on its own, kept rows and rolled-up ones; version-1 and version-2 files
are still read (priced without what they lack); a peer with another price table has its rows priced here, US-only
rollups with their surcharge."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
from support.loglines import assistant
from support.machines import Machine

from tokentop.ingest.sync import format as fmt

OPUS = "claude-opus-4-6"  # $5 in, $25 out per million; fast x6; US-only inference x1.1
SEARCH = 0.01  # $10 per 1000 web searches


def line(msg: str, ts: str, *, output: int, input_: int = 100, speed: str | None = None, searches: int = 0,
         geo: str | None = None) -> str:
    entry = json.loads(assistant(msg, "req_" + msg, output=output, input_=input_, model=OPUS, ts=ts, speed=speed,
                                 session="eeee0000-0000-4000-8000-00000000000e"))
    usage = entry["message"]["usage"]
    if searches:
        usage["server_tool_use"] = {"web_search_requests": searches, "web_fetch_requests": 0}
    if geo:
        usage["inference_geo"] = geo
    return json.dumps(entry)


def cost(input_: int, output: int, fast: bool = False, us: bool = False, searches: int = 0, out_rate=25) -> float:
    usd = (input_ * 5 + output * out_rate) / 1e6
    return usd * (6 if fast else 1) * (1.1 if us else 1) + searches * SEARCH


@pytest.fixture
def pair(tmp_path):
    folder = tmp_path / "Sync"
    folder.mkdir()
    # The laptop keeps 30 days of rows: its January responses are rollups by the time it publishes.
    laptop = Machine(tmp_path / "homes", "laptop", folder, config="retention_days = 30\n")
    desktop = Machine(tmp_path / "homes", "desktop", folder)
    path = laptop.projects / "-home-u-app" / "eeee0000-0000-4000-8000-00000000000e.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        line("msg_old1", "2026-01-10T10:00:00.000Z", output=1000, speed="fast", searches=3, geo="us"),
        line("msg_old2", "2026-01-10T10:05:00.000Z", output=2000, geo="us"),
        # The same slot, model and speed as msg_old2, not US-only: a rollup row of its own (keyed by inference_geo).
        line("msg_old3", "2026-01-10T10:06:00.000Z", output=300, geo="global"),
        line("msg_new1", _recent(), output=4000, speed="fast", geo="us"),
        line("msg_new2", _recent(), output=500, searches=7),
    ]
    path.write_text("\n".join(lines) + "\n")
    desktop.session("ffff0000-0000-4000-8000-00000000000f", [{"msg": "msg_d1", "output": 10, "ts": _recent()}])
    return folder, laptop, desktop


def _recent() -> str:
    from datetime import UTC, datetime, timedelta
    return (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


LAPTOP = (cost(100, 1000, fast=True, us=True, searches=3) + cost(100, 2000, us=True) + cost(100, 300)
          + cost(100, 4000, fast=True, us=True) + cost(100, 500, searches=7))


def report(m: Machine) -> dict:
    return m.json("report", "daily", "--no-ingest")


def machines(m: Machine) -> dict:
    return {r["key"]: r["cost_usd"] for r in m.json("report", "machines", "--no-ingest")["rows"]}


def test_union_totals_are_exact_with_every_surcharge(pair):
    folder, laptop, desktop = pair
    laptop.sync()
    own = report(laptop)["totals"]
    assert own["requests"] == 5 and own["cost_usd"] == pytest.approx(LAPTOP, rel=1e-12)
    import sqlite3
    with sqlite3.connect(laptop.db) as db:  # two responses are rollups now: the surcharges must ride on them too
        assert db.execute("SELECT SUM(requests), SUM(web_search_requests) FROM rollups").fetchone() == (3, 3)
        laptop_rollups = rollup_rows(db)
    assert [r[-1] for r in laptop_rollups] == ["", "us", "us"]
    desktop.sync()
    laptop.sync()
    for m in (laptop, desktop):
        t = report(m)["totals"]
        assert t["requests"] == 6
        # (the desktop's one response: Sonnet 4.5, $3 in and $15 out per million)
        assert t["cost_usd"] == pytest.approx(LAPTOP + (3 * 3 + 10 * 15) / 1e6, rel=1e-12), m.name
        split = machines(m)
        assert split["laptop"] == pytest.approx(LAPTOP, rel=1e-12)
        assert sum(split.values()) == pytest.approx(t["cost_usd"], rel=1e-12)
    raw = gzip.decompress(next((folder / "laptop").glob("usage-2026-01*")).read_bytes()).splitlines()
    header = orjson.loads(raw[0])
    assert header["version"] == 3 and header["prices"]
    rollups = [orjson.loads(x) for x in raw[1:-1] if x.startswith(b'["u"')]
    assert sorted((r[-2], r[-1]) for r in rollups) == [(0, ""), (0, "us"), (3, "us")]  # web searches, US-only
    with sqlite3.connect(desktop.db) as db:  # received as three rows, not two summed into one
        assert rollup_rows(db) == laptop_rollups


def rollup_rows(db) -> list:
    return db.execute("SELECT slot, model, speed, requests, output_tokens, inference_geo FROM rollups "
                      "ORDER BY 1, 2, 3, 6").fetchall()


def test_an_unchanged_month_is_left_alone_when_its_file_is_merged_again(pair):
    folder, laptop, desktop = pair
    laptop.sync()
    desktop.sync()
    import sqlite3
    with sqlite3.connect(desktop.db) as db:
        db.execute("CREATE TABLE spy (slot)")
        db.execute("CREATE TRIGGER spy AFTER DELETE ON rollups BEGIN INSERT INTO spy VALUES (OLD.slot); END")
    path = next((folder / "laptop").glob("usage-2026-01*"))
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), mtime=1))  # new bytes, the same rows
    assert "merged 1 file" in desktop.sync()
    with sqlite3.connect(desktop.db) as db:
        assert db.execute("SELECT COUNT(*) FROM spy").fetchone()[0] == 0


def as_version_1(data: bytes) -> bytes:
    """A file as tokentop's sync format v1 wrote it: no prices, rows without the surcharge fields."""
    rows = [orjson.loads(x) for x in gzip.decompress(data).splitlines()]
    header = {k: v for k, v in rows[0].items() if k != "prices"} | {"version": 1}
    cut = {"r": 18, "u": 16, "x": 16}  # (their lengths with the tag: the tag and 17, 15, 15 values)
    body = [r[:cut[r[0]]] if r[0] in cut else r for r in rows[1:-1]]
    return gzip.compress(b"\n".join(orjson.dumps(r) for r in [header, *body, rows[-1]]) + b"\n")


def test_a_version_1_file_is_read_and_priced_without_what_it_lacks(pair):
    folder, laptop, desktop = pair
    laptop.sync()
    for path in (folder / "laptop").glob("usage-*"):
        path.write_bytes(as_version_1(path.read_bytes()))
    desktop.sync()
    assert "skipped laptop/" not in desktop.run("doctor")[1]
    split = machines(desktop)
    # Fast mode was in v1; web searches and US-only inference were not.
    assert split["laptop"] == pytest.approx(cost(100, 1000, fast=True) + cost(100, 2000) + cost(100, 300)
                                            + cost(100, 4000, fast=True) + cost(100, 500), rel=1e-12)
    assert report(desktop)["totals"]["requests"] == 6


def as_version_2(data: bytes) -> bytes:
    """A file as tokentop's sync format v2 wrote it: rollups without their inference_geo."""
    rows = [orjson.loads(x) for x in gzip.decompress(data).splitlines()]
    body = [r[:-1] if r[0] in ("u", "x") else r for r in rows[1:-1]]
    return gzip.compress(b"\n".join(orjson.dumps(r) for r in [rows[0] | {"version": 2}, *body, rows[-1]]) + b"\n")


def test_a_version_2_file_is_read_with_its_rollups_not_us_only(pair):
    folder, laptop, desktop = pair
    laptop.sync()
    desktop.config.write_text('retention_days = 100000\n[prices."claude-opus-4-6"]\ninput = 5.0\noutput = 50.0\n'
                              'cache_write_5m = 6.25\ncache_write_1h = 10.0\ncache_read = 0.5\nfast_multiplier = 6.0\n'
                              'us_inference_multiplier = 1.1\n')
    for path in (folder / "laptop").glob("usage-*"):
        path.write_bytes(as_version_2(path.read_bytes()))
    desktop.sync()
    assert "skipped laptop/" not in desktop.run("doctor")[1]
    rows = cost(100, 4000, fast=True, us=True, out_rate=50) + cost(100, 500, searches=7, out_rate=50)
    # v2 rollups say nothing of US-only inference: priced here without it (their two rows of a slot fold into one).
    rolled = cost(100, 1000, fast=True, searches=3, out_rate=50) + cost(200, 2000 + 300, out_rate=50)
    assert machines(desktop)["laptop"] == pytest.approx(rows + rolled, rel=1e-12)


def test_a_peer_with_another_price_table_is_priced_here(pair):
    folder, laptop, desktop = pair
    laptop.sync()
    desktop.config.write_text('retention_days = 100000\n[prices."claude-opus-4-6"]\ninput = 5.0\noutput = 50.0\n'
                              'cache_write_5m = 6.25\ncache_write_1h = 10.0\ncache_read = 0.5\nfast_multiplier = 6.0\n'
                              'us_inference_multiplier = 1.1\n')
    desktop.sync()
    rows = cost(100, 4000, fast=True, us=True, out_rate=50) + cost(100, 500, searches=7, out_rate=50)
    # Rolled-up rows keep whether they were US-only inference (format v3): priced here with their x1.1.
    rolled = (cost(100, 1000, fast=True, us=True, searches=3, out_rate=50) + cost(100, 2000, us=True, out_rate=50)
              + cost(100, 300, out_rate=50))
    assert machines(desktop)["laptop"] == pytest.approx(rows + rolled, rel=1e-12)


def test_a_file_from_a_newer_format_is_skipped_with_a_doctor_line(pair):
    folder, laptop, desktop = pair
    laptop.sync()
    path = next((folder / "laptop").glob("usage-2026-01*"))
    rows = [orjson.loads(x) for x in gzip.decompress(path.read_bytes()).splitlines()]
    rows[0]["version"] = fmt.VERSION + 1
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(r) for r in rows) + b"\n"))
    desktop.sync()
    assert f"usage-2026-01.tokentop.gz: written by a newer tokentop (format v{fmt.VERSION + 1}" in \
        desktop.run("doctor")[1]
    recent = cost(100, 4000, fast=True, us=True) + cost(100, 500, searches=7)
    assert machines(desktop)["laptop"] == pytest.approx(recent, rel=1e-12)
