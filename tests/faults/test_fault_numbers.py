"""Issue #16, defect 1: a token count no API response can carry (beyond SQLite's int64, negative, fractional, absurd)
must reject its own line only. Before the fix one such line crashed `ingest` with a traceback, no file after it in
path order was read, and `report`/`status` failed on every run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from faultkit import run_cli
from support.loglines import assistant, write_lines

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

# (raw JSON text of output_tokens or input_tokens, the reason doctor must show)
IMPOSSIBLE = [
    ("output_tokens", "10000000000000000000", "count-too-large"),  # 10^19: beyond int64
    ("output_tokens", "18446744073709551616", "count-too-large"),  # 2^64
    ("input_tokens", "1e300", "count-too-large"),
    ("cache_read_input_tokens", "4611686018427387904", "count-too-large"),  # 2^62: two of them overflow a sum
    ("output_tokens", "-5", "negative-count"),
    ("input_tokens", "12.5", "fractional-count"),
    ("output_tokens", "true", "count-not-a-number"),
]


def _session(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"


def _with_raw(line: str, key: str, raw: str) -> str:
    """Put RAW JSON text (which json.dumps could not write, e.g. 10^19 unchanged) as usage[key] of an assistant line."""
    marker = 987654321
    entry = json.loads(line)
    entry["message"]["usage"][key] = marker
    return json.dumps(entry, separators=(",", ":")).replace(str(marker), raw)


def test_impossible_counts_reject_their_line_and_nothing_else(home: Path, tmp_path: Path):
    root = home / ".claude" / "projects" / "-home-u-app"
    # The bad lines sit in the first file in path order, between good ones; a later file must still be read.
    first = _session(1)
    bad = [_with_raw(assistant(f"msg_bad_{i}", f"req_bad_{i}", session=first), key, raw)
           for i, (key, raw, _) in enumerate(IMPOSSIBLE)]
    write_lines(root / f"{first}.jsonl", [assistant("msg_a", "req_a", output=7, session=first), *bad,
                                          assistant("msg_b", "req_b", output=11, session=first)])
    later = _session(2)
    write_lines(root / f"{later}.jsonl", [assistant("msg_c", "req_c", output=13, session=later)])
    db = tmp_path / "usage.db"

    proc = run_cli(["ingest", "--quiet"], home=home, db=db)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in err, err

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        stored = dict(con.execute("SELECT message_id, output_tokens FROM requests"))
        totals = con.execute("SELECT SUM(input_tokens), SUM(output_tokens), SUM(cache_read) FROM requests").fetchone()
    finally:
        con.close()
    assert stored == {"msg_a": 7, "msg_b": 11, "msg_c": 13}
    assert totals == (9, 31, 0)

    for args in (["report", "--json"], ["status"]):
        out = run_cli(args, home=home, db=db)
        assert b"Traceback" not in out.stderr, out.stderr.decode()
        assert out.returncode in (0, 10, 20), (args, out.stderr.decode())

    doctor = run_cli(["doctor", "--json"], home=home, db=db)
    assert doctor.returncode == 0, doctor.stderr.decode()
    skipped = json.loads(doctor.stdout)["database"]["skipped_lines"]
    expected: dict[str, int] = {}
    for _, _, reason in IMPOSSIBLE:
        expected[reason] = expected.get(reason, 0) + 1
    assert skipped == expected

    # A second run (what `--follow` does on every change) neither retries nor double counts the bad lines.
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    doctor = run_cli(["doctor", "--json"], home=home, db=db)
    assert json.loads(doctor.stdout)["database"]["skipped_lines"] == expected
