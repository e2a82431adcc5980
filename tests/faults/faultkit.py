"""Helpers for the fault-injection suite: run the real CLI in a subprocess, build corpora, compare stores exactly."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GEN_CORPUS = REPO / "tests" / "bench" / "gen_corpus.py"
CLI = [sys.executable, "-m", "tokentop.tui.cli"]

# Every stored fact that a report can show, in a canonical order, without row ids (which depend on history).
_DUMP_SQL = {
    "requests": "SELECT dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain, "
                "model, ts, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, total_tokens, "
                "speed, ROUND(cost_usd, 9), priced FROM requests ORDER BY dedup_key",
    "rollups": "SELECT slot, source, session_id, project, model, speed, long_context, input_tokens, output_tokens, "
               "cache_write_5m, cache_write_1h, cache_read, requests, ROUND(cost_usd, 9), priced FROM rollups "
               "ORDER BY 1, 2, 3, 4, 5, 6, 7",
    "pruned": "SELECT dedup_key, message_id, is_sidechain FROM pruned ORDER BY 1",
    "sessions": "SELECT session_id, source, project, title, title_rank, git_branch, first_ts, last_ts FROM sessions "
                "ORDER BY 1",
    "tool_calls": "SELECT tool_use_id, message_id, name FROM tool_calls ORDER BY 1",
    "files": "SELECT path, source, session_id, agent_id, size, offset, lines, gone FROM files ORDER BY path",
    "skipped": "SELECT f.path, s.reason, s.count FROM skipped s JOIN files f ON f.id = s.file_id ORDER BY 1, 2",
    # The per-slot sums reports read, kept by triggers: they must come out the same too (empty rows aside, and
    # costs rounded, since floats summed in another order differ in the last bits). To 10 decimals: a slot's true
    # cost has at most ~9 (integer counts times per-token rates), so two orders of summing never round apart there,
    # as they did at 6 decimals (0.6503225000000001 vs 0.6503224999999999).
    "slot_usage": "SELECT slot, source, model, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
                  "cache_read, ROUND(cost_usd, 10), requests, unpriced FROM slot_usage WHERE requests != 0 "
                  "ORDER BY 1, 2, 3",
}

TOTALS_SQL = """
    SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
           COALESCE(SUM(cache_write_5m), 0), COALESCE(SUM(cache_write_1h), 0), COALESCE(SUM(cache_read), 0)
      FROM ({usage})
"""


def run_cli(args, *, home: Path | None = None, db: Path | None = None, prelude: str = "", timeout: float = 60,
            preexec_fn=None, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `tokentop ARGS` as its own process (optionally after PRELUDE, Python that patches a fault in)."""
    env = dict(os.environ if env is None else env)
    if home is not None:
        env["HOME"] = str(home)
    cmd = _command(args, db, prelude)
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=env, preexec_fn=preexec_fn,
                          cwd=str(home) if home is not None else None)


def _command(args, db: Path | None, prelude: str) -> list[str]:
    """The argv for `tokentop ARGS`, run after PRELUDE (Python that patches a fault in) when one is given."""
    argv = (["--db", str(db)] if db is not None else []) + list(args)
    if not prelude:
        return [*CLI, *argv]
    code = prelude + "\nimport sys\nfrom tokentop.tui.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    return [sys.executable, "-c", code, *argv]


def start_cli(args, *, home: Path, db: Path | None = None, prelude: str = "", **kw) -> subprocess.Popen:
    """Start `tokentop ARGS` without waiting (to kill it, or to hold it running)."""
    env = dict(os.environ, HOME=str(home))
    cmd = _command(args, db, prelude)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(home), **kw)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The command failed the way a person can act on: non-zero, one `tokentop: …` line, no traceback."""
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode not in (0, None), (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("tokentop: "), err
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])
    return lines[0]


def connect_ro(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def dump(db: Path) -> dict[str, list]:
    """Everything a report can show, canonically ordered: two stores are equal iff their dumps are."""
    con = connect_ro(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {name: con.execute(sql).fetchall() for name, sql in _DUMP_SQL.items() if name in tables}
    finally:
        con.close()


def totals(db: Path) -> dict[str, int]:
    """Sums over kept rows and rollups alike: (requests, input, output, cache write 5m, 1h, cache read)."""
    from tokentop.ingest.store.schema import USAGE_SQL
    con = connect_ro(db)
    try:
        row = con.execute(TOTALS_SQL.format(usage=USAGE_SQL)).fetchone()
    finally:
        con.close()
    return dict(zip(("requests", "input_tokens", "output_tokens", "cache_creation_5m_tokens",
                     "cache_creation_1h_tokens", "cache_read_tokens"), row))


def expected_totals(expected: dict) -> dict[str, int]:
    """The generator's own totals (tests/bench/gen_corpus.py expected.json), Claude Code + OpenClaw."""
    keys = ("requests", "input_tokens", "output_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
            "cache_read_tokens")
    return {k: expected["claude_code"][k] + expected["openclaw"][k] for k in keys}


def integrity(db: Path) -> str:
    con = sqlite3.connect(str(db))
    try:
        return "\n".join(r[0] for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def generate_corpus(out: Path, size: str, seed: int, single_file: bool = False) -> tuple[Path, dict]:
    """A deterministic corpus of real-shaped logs under OUT/home, and the generator's expected totals."""
    spec = importlib.util.spec_from_file_location("gen_corpus", GEN_CORPUS)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    expected = gen.generate(out, gen.parse_size(size), seed, single_file)
    return out / "home", expected


def drop_file_permission_override():
    """A preexec_fn: as root, give up the capabilities that bypass file permissions (DAC override and
    read-search), so a mode-0000 directory or a mode-0500 folder means to this process what it means to a user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone after exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permission_preexec():
    """What to pass as preexec_fn so that file permissions bind: nothing for a normal user; for root, drop the
    override capabilities (or skip the test when even that is not allowed here)."""
    if os.geteuid() != 0:
        return None
    probe_dir = tempfile.mkdtemp(prefix="tokentop-perm-")
    os.chmod(probe_dir, 0)
    try:
        probe = subprocess.run([sys.executable, "-c", f"import os; os.listdir({probe_dir!r})"],
                               preexec_fn=drop_file_permission_override, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"running as root and cannot drop the permission-override capabilities here: {exc}")
    finally:
        os.chmod(probe_dir, 0o700)
        os.rmdir(probe_dir)
    if b"PermissionError" not in probe.stderr:
        pytest.skip("running as root and file permissions still do not apply after dropping capabilities")
    return drop_file_permission_override


def write_config(home: Path, text: str) -> Path:
    path = home / ".config" / "tokentop" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def report_totals(home: Path, db: Path) -> dict:
    proc = run_cli(["report", "monthly", "--json", "--no-ingest"], home=home, db=db)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)["totals"]
