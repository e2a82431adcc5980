"""SIGKILL at random (seeded) moments of a cold ingest and of live follow: after restarts, the store is exactly
what one uninterrupted run makes — every response, token, rollup, file offset and skipped-line count."""

from __future__ import annotations

import importlib.util
import random
import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from faultkit import dump, expected_totals, integrity, run_cli, start_cli, totals, write_config

from tokentop.ingest.store.recovery import diagnose

pytestmark = pytest.mark.faults

ROUNDS, KILLS_PER_ROUND = 5, 5  # 25 kills per scenario, each round starting from an empty store

# Small reads and commits inside the real CLI, so kills land between commits *inside* one file too.
SMALL_COMMITS = """
import tokentop.ingest.live.ingester as _ingester
_init = _ingester.Ingester.__init__
def _small_commits(self, store, settings=None, **kw):
    kw.update(chunk_bytes=64 << 10, commit_bytes=64 << 10)
    _init(self, store, settings, **kw)
_ingester.Ingester.__init__ = _small_commits
"""


@dataclass
class Kill:
    delay: float
    killed: bool
    progress: tuple


def _progress(db: Path) -> tuple:
    """(store opened, files tracked, bytes committed) right after a kill."""
    if not db.exists():
        return (False, 0, 0)
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return (True, *con.execute("SELECT COUNT(*), COALESCE(SUM(offset), 0) FROM files").fetchone())
        finally:
            con.close()
    except sqlite3.Error:  # killed before the schema was committed
        return (False, 0, 0)


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def _kill_after(proc: subprocess.Popen, delay: float) -> bool:
    try:
        proc.wait(timeout=delay)
        return False  # it finished first: an uninterrupted restart, also a valid point
    except subprocess.TimeoutExpired:
        workers = _children(proc.pid)  # parse workers of a large backfill, if it started them
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # Orphaned workers must end by themselves (their task pipe closes), not linger reading logs.
        deadline = time.monotonic() + 20
        while workers and time.monotonic() < deadline:
            workers = {w for w in workers if Path(f"/proc/{w}").exists() and
                       "Z" not in Path(f"/proc/{w}/stat").read_text().split(")")[-1].split()[:1]}
            time.sleep(0.05)
        assert not workers, f"worker processes {workers} outlived their killed parent"
        return True


def _work_window(home, args, db, prelude="") -> float:
    """Seconds until a run starts real work: a warm run on the finished store does everything but the work, so
    kills drawn between this and a cold run's time land while the ingest is working."""
    started = time.monotonic()
    warm = run_cli(args, home=home, db=db, prelude=prelude)
    assert warm.returncode == 0, warm.stderr.decode()
    return time.monotonic() - started


def _kill_rounds(tmp_path, home, args, reference, seed, prelude="", window=(0.0, 1.0)):
    rng = random.Random(seed)
    kills: list[Kill] = []
    for round_no in range(ROUNDS):
        db = tmp_path / f"round{round_no}" / "usage.db"
        for _ in range(KILLS_PER_ROUND):
            delay = rng.uniform(*window)
            proc = start_cli(args, home=home, db=db, prelude=prelude)
            killed = _kill_after(proc, delay)
            if not killed:
                assert proc.returncode == 0, proc.stderr.read().decode()
            kills.append(Kill(delay, killed, _progress(db)))
            assert diagnose(db) is None  # a killed store is never mistaken for a damaged one
        final = run_cli(args, home=home, db=db, prelude=prelude)
        assert final.returncode == 0, final.stderr.decode()
        assert integrity(db) == "ok"
        assert dump(db) == reference, f"round {round_no} differs from the uninterrupted run"
        assert not list(db.parent.glob("*.damaged-*"))  # and nothing was moved aside on a restart
    return kills


@pytest.mark.timeout(240)
def test_sigkill_during_cold_ingest_loses_and_doubles_nothing(corpus, tmp_path):
    home, expected = corpus
    ref_db = tmp_path / "reference.db"
    started = time.monotonic()
    ref = run_cli(["ingest", "--quiet"], home=home, db=ref_db)
    elapsed = time.monotonic() - started
    assert ref.returncode == 0, ref.stderr.decode()
    assert totals(ref_db) == expected_totals(expected)  # the uninterrupted run is itself right
    reference = dump(ref_db)
    n_files = len(reference["files"])
    assert n_files == expected["files"]

    ready = _work_window(home, ["ingest", "--quiet"], ref_db)
    kills = _kill_rounds(tmp_path, home, ["ingest", "--quiet"], reference, seed=1127,
                         window=(0.8 * ready, max(elapsed, ready + 0.05)))

    # The kills really landed inside the work: after the store was opened, before every file was in it.
    # (A cold ingest commits every 64 MB, so a kill inside this corpus finds an empty but created store.)
    mid_work = [k for k in kills if k.killed and k.progress[0] and k.progress[1] < n_files]
    assert len(mid_work) >= 3, kills


@pytest.mark.timeout(240)
@pytest.mark.parametrize("which", ["one-file", "many-files"])
def test_sigkill_between_small_commits(single_file_corpus, corpus, tmp_path, which):
    home, expected = single_file_corpus if which == "one-file" else corpus
    config = write_config(tmp_path / "cfg", "retention_days = 100000\n")  # keep every row, do not roll up
    args = ["--config", str(config), "ingest", "--quiet"]
    ref_db = tmp_path / "reference.db"
    started = time.monotonic()
    ref = run_cli(args, home=home, db=ref_db, prelude=SMALL_COMMITS)
    elapsed = time.monotonic() - started
    assert ref.returncode == 0, ref.stderr.decode()
    assert totals(ref_db) == expected_totals(expected)
    reference = dump(ref_db)
    assert len(reference["requests"]) == expected["claude_code"]["requests"] + expected["openclaw"]["requests"]
    size = sum(r[5] for r in reference["files"])

    ready = _work_window(home, args, ref_db, prelude=SMALL_COMMITS)
    kills = _kill_rounds(tmp_path, home, args, reference, seed=2711, prelude=SMALL_COMMITS,
                         window=(0.8 * ready, max(elapsed, ready + 0.05)))

    inside = [k for k in kills if k.killed and 0 < k.progress[2] < size]  # part of the bytes committed
    assert len(inside) >= 3, kills


# -- live follow ------------------------------------------------------------------------------------

FOLLOW_MISSING = importlib.util.find_spec("tokentop.tui.cli.follow") is None


def _follow_lines(seed: int) -> dict[str, list[bytes]]:
    """Three sessions written the way Claude Code writes them: streaming groups whose output count grows,
    user lines with large tool output between them, one sub-agent file."""
    from support.loglines import assistant, user
    rng = random.Random(seed)
    files: dict[str, list[bytes]] = {}
    for s in range(3):
        session = f"0000000{s}-1111-2222-3333-444444444444"
        lines = []
        for i in range(120):
            msg, req = f"msg_{s}_{i}", f"req_{s}_{i}"
            ts = f"2026-11-27T{10 + s:02d}:{i // 60:02d}:{i % 60:02d}.000Z"
            lines.append(user("x" * rng.randint(200, 6000), ts=ts, session=session).encode())
            final = rng.randint(20, 900)
            for partial in (1, rng.randint(2, 9), final):  # the last line of a group carries the real count
                lines.append(assistant(msg, req, output=partial, input_=5, cache_read=1000 + i, cache_5m=i,
                                       ts=ts, session=session).encode())
        files[f"-home-u-p{s}/{session}.jsonl"] = lines
    sub = [assistant(f"msg_sub_{i}", f"req_sub_{i}", output=7 + i, sidechain=True, agent="a1",
                     ts=f"2026-11-27T09:00:{i:02d}.000Z").encode() for i in range(40)]
    files["-home-u-p0/00000000-1111-2222-3333-444444444444/subagents/agent-a1.jsonl"] = sub
    return files


def _writer(projects: Path, files: dict[str, list[bytes]], stop: threading.Event, seed: int) -> None:
    """Append every file's lines in small writes cut at arbitrary bytes, interleaved across files."""
    rng = random.Random(seed)
    pending = {name: b"".join(line + b"\n" for line in lines) for name, lines in files.items()}
    handles = {}
    for name in pending:
        path = projects / name
        path.parent.mkdir(parents=True, exist_ok=True)
        handles[name] = open(path, "ab", buffering=0)
    try:
        while pending and not stop.is_set():
            name = rng.choice(sorted(pending))
            data = pending[name]
            cut = min(len(data), rng.randint(1, 6000))
            handles[name].write(data[:cut])
            if cut == len(data):
                del pending[name]
            else:
                pending[name] = data[cut:]
            time.sleep(0.015)  # ~8 s of writing: the kills below all happen while it appends
    finally:
        for h in handles.values():
            h.close()


@pytest.mark.timeout(240)
@pytest.mark.skipif(FOLLOW_MISSING, reason="`tokentop ingest --follow` (tui/cli/follow.py) is not built yet")
def test_sigkill_during_follow_while_a_writer_appends(tmp_path):
    home = tmp_path / "home"
    projects = home / ".claude" / "projects"
    projects.mkdir(parents=True)
    db = tmp_path / "usage.db"
    files = _follow_lines(seed=5)
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(projects, files, stop, 6), daemon=True)
    rng = random.Random(77)
    kills = 0
    writer.start()
    try:
        while kills < ROUNDS * KILLS_PER_ROUND:
            proc = start_cli(["ingest", "--follow", "--quiet"], home=home, db=db)
            if not _kill_after(proc, rng.uniform(0.05, 0.8)):
                pytest.fail(f"the follower exited by itself: {proc.returncode} {proc.stderr.read().decode()}")
            kills += 1
    except BaseException:
        stop.set()
        raise
    finally:
        writer.join(timeout=120)  # the writer finishes its lines; the reference is a cold ingest of the result
    assert not writer.is_alive()
    ref_db = tmp_path / "reference.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=ref_db).returncode == 0
    want = totals(ref_db)
    assert want["requests"] == 3 * 120 + 40

    follower = start_cli(["ingest", "--follow", "--quiet"], home=home, db=db)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if totals(db) == want:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.1)
        assert totals(db) == want
    finally:
        follower.send_signal(signal.SIGKILL)
        follower.wait(timeout=30)
    assert integrity(db) == "ok"
    got, ref = dump(db), dump(ref_db)
    for table in ("requests", "rollups", "sessions", "tool_calls", "skipped"):
        assert got[table] == ref[table], table
    assert [(r[0], r[5]) for r in got["files"]] == [(r[0], r[5]) for r in ref["files"]]  # every offset at the end
