"""The live ingest service with a real watchdog observer: every file event, one writer among processes, crash safety."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.livelog import Ledger, LiveSession, db_totals, make_corpus, wait_for
from support.loglines import openclaw_assistant, openclaw_model_change, openclaw_session, write_lines

from tokentop.ingest.context import make_context
from tokentop.ingest.live.service import FOLLOWER, WRITER, Change, WatchService

SESSION_A = "aaaaaaaa-1111-4111-8111-111111111111"
SESSION_B = "bbbbbbbb-2222-4222-8222-222222222222"


@pytest.fixture
def projects(home: Path) -> Path:
    path = home / ".claude" / "projects"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def start(home):
    """start(**kw) → a running WatchService on the default store under the temporary HOME, caught up."""
    services = []

    def start(**kwargs) -> WatchService:
        service = WatchService.from_context(make_context(), **kwargs).start()
        services.append(service)
        assert service.wait_ready(10)
        return service

    yield start
    for service in services:
        service.stop()


def totals() -> tuple[int, int, int]:
    return db_totals(make_context().db_path)


def query(sql: str, *args, db: Path | None = None) -> list[tuple]:
    con = sqlite3.connect(f"file:{db or make_context().db_path}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def collect(service: WatchService) -> list[Change]:
    changes: list[Change] = []
    service.subscribe(changes.append)
    return changes


# -- file events --------------------------------------------------------------------------------------------


def test_append_reaches_the_store_and_notifies(projects, start):
    session = LiveSession(projects / "-home-u-app" / f"{SESSION_A}.jsonl")
    session.respond()
    session.respond()
    service = start()  # default 10 s safety poll: only file events can explain what follows
    assert service.role == WRITER and service.stats.mode == "events"
    assert totals() == session.ledger.as_tuple()
    changes = collect(service)

    response = session.respond(output=1234, cache_read=56_789)
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the appended response")
    assert totals()[0] == 3
    change = wait_for(lambda: changes and changes[-1])
    assert change.sessions == {SESSION_A} and change.new_requests == 1 and change.files == 1
    assert query("SELECT output_tokens, cache_read FROM requests WHERE dedup_key = ?", response.dedup_key) == \
        [(1234, 56_789)]
    assert service.last_change is change and service.stats.responses_added == 1


def test_partial_line_counts_only_when_its_newline_arrives(projects, start):
    session = LiveSession(projects / "-home-u-app" / f"{SESSION_A}.jsonl")
    session.respond()
    service = start()
    lines, response = session.response_lines(output=777, blocks=3)
    batches = service.stats.batches
    session.append(lines[:2] + [lines[2][:150]])  # two streamed lines, then half of the final one
    # The streamed lines carry a partial output count (1-9); the half line's tokens must not be counted at all. As
    # the last line of the file it is malformed while it is there (doctor's counts are the lines present)...
    wait_for(lambda: totals()[0] == 2, message="the streamed lines")
    wait_for(lambda: service.stats.batches > batches)
    partial = query("SELECT output_tokens FROM requests WHERE dedup_key = ?", response.dedup_key)[0][0]
    assert 1 <= partial <= 9
    assert service.stats.skipped == {"malformed-json": 1}

    session.append(lines[2][150:])
    session.ledger.add(response)
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the completed line")
    assert query("SELECT COUNT(*), MAX(output_tokens) FROM requests WHERE dedup_key = ?", response.dedup_key) == \
        [(1, 777)]
    # ... and taken back once it is finished: counted nowhere.
    assert service.stats.responses_updated == 1 and service.stats.skipped == {}
    assert query("SELECT COALESCE(SUM(count), 0) FROM skipped") == [(0,)]


def test_new_file_in_a_known_project(projects, start):
    (projects / "-home-u-app").mkdir()
    start()
    session = LiveSession(projects / "-home-u-app" / f"{SESSION_B}.jsonl")
    session.respond()
    session.respond()
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the new file")


def test_new_project_and_subagents_directories(projects, start):
    start()
    main = LiveSession(projects / "-home-u-new-project" / f"{SESSION_A}.jsonl")
    main.respond()  # creates the project directory and the file at once
    wait_for(lambda: totals() == main.ledger.as_tuple(), message="the new project")
    agent = LiveSession(projects / "-home-u-new-project" / SESSION_A / "subagents" / "agent-a77.jsonl", agent_id="a77")
    agent.respond()
    agent.respond()
    expected = Ledger()
    expected += main.ledger
    expected += agent.ledger
    wait_for(lambda: totals() == expected.as_tuple(), message="the sub-agent file")
    assert query("SELECT DISTINCT session_id, agent_id FROM requests WHERE is_sidechain = 1") == [(SESSION_A, "a77")]


def test_root_created_after_start(home, start):
    service = start()
    assert service.stats.roots_watched == 0
    session = LiveSession(home / ".claude" / "projects" / "-home-u-app" / f"{SESSION_A}.jsonl")
    session.respond()  # mkdir -p ~/.claude/projects/-home-u-app, then the file
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the late root")
    assert service.stats.roots_watched == 1
    session.respond()
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="an append under the late root")


def test_truncated_and_rewritten_file(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    first_lines, first = session.response_lines(output=100)
    session.append([session.user_line()] + first_lines)
    session.ledger.add(first)
    session.respond(output=200, pad=5000)
    session.respond(output=300, pad=5000)
    start()
    assert totals() == (3, 600, session.ledger.cache_read)
    # Rewritten shorter: the first response again (same ids) and one new one. History stays, nothing doubles.
    lines, new = session.response_lines(output=4000)
    session.path.write_bytes(b"".join(first_lines + lines))
    session.ledger.add(new)
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the rewritten file")
    assert totals()[:2] == (4, 4600)


def test_replaced_file(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond(output=10)
    session.respond(output=20)
    start()
    old_inode = session.path.stat().st_ino
    # An atomic rewrite: the old content plus one more response, written aside and renamed over the old path.
    lines, response = session.response_lines(output=30)
    aside = session.path.with_suffix(".tmp")
    aside.write_bytes(session.path.read_bytes() + b"".join(lines))
    os.replace(aside, session.path)
    session.ledger.add(response)
    assert session.path.stat().st_ino != old_inode
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the replaced file")
    assert totals()[:2] == (3, 60)


def test_openclaw_archive_rename_is_not_counted_twice(home, start):
    sessions = home / ".openclaw" / "agents" / "main" / "sessions"
    path = sessions / "5e55e55e-0000-4000-8000-000000000001.jsonl"
    write_lines(path, [openclaw_session("5e55e55e-0000-4000-8000-000000000001"),
                       openclaw_model_change("claude-sonnet-4-5"),
                       openclaw_assistant("e1", output=111, cache_read=1000, ts_ms=int(time.time() * 1000)),
                       openclaw_assistant("e2", output=222, cache_read=2000, ts_ms=int(time.time() * 1000))])
    start()
    assert totals() == (2, 333, 3000)
    archived = path.with_name(path.name + ".deleted.2026-11-27T10-00-00.000Z")
    path.rename(archived)
    wait_for(lambda: query("SELECT path, gone FROM files") == [(str(archived), 0)], message="the rename")
    assert totals() == (2, 333, 3000)


def test_deleted_file_keeps_its_rows(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    session.respond()
    start()
    session.path.unlink()
    wait_for(lambda: query("SELECT gone FROM files") == [(1,)], message="the file marked gone")
    assert totals() == session.ledger.as_tuple()


def test_root_deleted_and_created_again(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    service = start()
    shutil.rmtree(projects)
    wait_for(lambda: query("SELECT gone FROM files") == [(1,)], message="files under the deleted root marked gone")
    wait_for(lambda: service.stats.roots_watched == 0, message="the root dropped")
    again = LiveSession(projects / "-p2" / f"{SESSION_B}.jsonl")
    again.respond()
    expected = Ledger()
    expected += session.ledger
    expected += again.ledger
    wait_for(lambda: totals() == expected.as_tuple(), message="a file under the re-created root")


def test_poll_only_mode_sees_appends_and_new_directories(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    service = start(poll_only=True)
    assert service.stats.mode == "polling" and service.poll_interval == 1.0
    session.respond()
    other = LiveSession(projects / "-q" / SESSION_A / "subagents" / "agent-b1.jsonl", agent_id="b1")
    other.respond()
    expected = Ledger()
    expected += session.ledger
    expected += other.ledger
    wait_for(lambda: totals() == expected.as_tuple(), timeout=8, message="polled changes")


def test_follower_is_notified_and_takes_over(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    writer = start()
    follower = start(takeover_interval=0.2, follow_interval=0.1)
    assert (writer.role, follower.role) == (WRITER, FOLLOWER)
    assert follower.writer_pid == os.getpid()
    changes = collect(follower)
    session.respond()
    wait_for(lambda: any(c.new_requests == 1 and c.sessions == {SESSION_A} for c in changes),
             message="the follower's change notice")
    assert totals() == session.ledger.as_tuple()

    writer.stop()
    wait_for(lambda: follower.role == WRITER, message="the takeover")
    session.respond()
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="ingest by the new writer")


def test_a_failing_commit_is_retried_without_losing_lines(projects, start):
    from tokentop.ingest.live.ingester import Ingester

    armed = threading.Event()

    class Flaky(Ingester):
        def ingest_file(self, log):
            outcome = super().ingest_file(log)
            if armed.is_set() and outcome.new_requests:  # rows written, the batch not yet committed
                armed.clear()
                raise sqlite3.OperationalError("database is locked")
            return outcome

    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    service = start(ingester_factory=lambda store, settings: Flaky(store, settings))
    armed.set()
    session.respond()
    session.respond()
    wait_for(lambda: service.stats.errors == 1, message="the failed batch")
    wait_for(lambda: totals() == session.ledger.as_tuple(), timeout=5, message="the retry")
    assert "database is locked" in service.stats.last_error


def test_a_store_that_cannot_open_ends_the_service_and_frees_the_role(home):
    from tokentop.ingest.store.errors import StoreError

    ctx = make_context()

    def broken(readonly=False):
        raise StoreError("cannot open")

    service = WatchService(ctx.settings, broken, ctx.writer_lock()).start()
    wait_for(lambda: not service.running, message="the ingest thread ending")
    assert isinstance(service.failure, StoreError)
    other = ctx.writer_lock()
    assert other.acquire()
    other.release()
    service.stop()


# -- the database file deleted or replaced while running -----------------------------------------------------


def stored(db: Path) -> tuple[list[tuple], list[tuple]]:
    """Every response's final numbers and every file's position: what a cold ingest must reproduce exactly."""
    return (query("SELECT dedup_key, output_tokens, cache_read FROM requests ORDER BY 1", db=db),
            query("SELECT path, size, offset, gone FROM files ORDER BY 1", db=db))


def cold(tmp_path: Path) -> tuple[list[tuple], list[tuple]]:
    from tokentop.ingest.live.ingester import Ingester
    ctx = make_context(str(tmp_path / "cold" / "usage.db"))
    with ctx.open_store() as store:
        Ingester(store, ctx.settings).ingest_all()
    return stored(ctx.db_path)


def test_database_deleted_while_running_is_refilled_from_the_logs(projects, start, tmp_path):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond(output=100)
    other = LiveSession(projects / "-q" / f"{SESSION_B}.jsonl")
    other.respond(output=400)
    service = start()  # default 10 s safety poll: the append below is what wakes it
    db = make_context().db_path
    session.respond(output=200)  # committed to the old file only, then gone with it
    wait_for(lambda: totals()[:2] == (3, 700), message="the append before the delete")
    changes = collect(service)

    for suffix in ("", "-wal", "-shm"):  # `rm ~/.claude-usage/usage.db*`
        os.remove(f"{db}{suffix}")
    session.respond(output=3000)
    expected = Ledger()
    expected += session.ledger
    expected += other.ledger
    wait_for(lambda: totals() == expected.as_tuple(), message="older and newer lines in the new database")
    assert totals()[:2] == (4, 3700)
    assert stored(db) == cold(tmp_path)
    stats = service.stats
    assert stats.reopens == 1 and stats.last_error.startswith(f"the database {db} was deleted while running")
    assert stats.responses_added == 1  # the append before; the refill re-read the rest, which is not news
    assert any(c.sessions == {SESSION_A, SESSION_B} for c in changes)  # subscribers told to re-read everything
    assert service.running and service.failure is None


def test_database_folder_deleted_the_writer_locks_the_new_lock_file(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond(output=100)
    service = start()
    db = make_context().db_path
    shutil.rmtree(db.parent)  # `rm -rf ~/.claude-usage`: the lock file goes too
    session.respond(output=200)
    wait_for(lambda: db.exists() and totals()[:2] == (2, 300), message="the refilled store")
    from tokentop.ingest.live.writer_lock import WriterLock
    other = WriterLock(db)
    assert not other.acquire()  # the writer holds the *new* lock file: no second writer can start
    assert service.role == WRITER


def test_writer_steps_down_when_another_process_took_the_new_lock(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond(output=100)
    service = start()
    db = make_context().db_path
    shutil.rmtree(db.parent)
    from tokentop.ingest.live.writer_lock import WriterLock
    usurper = WriterLock(db)
    assert usurper.acquire()  # another tokentop started in the gap and locked a fresh lock file
    try:
        session.respond(output=200)  # wakes the writer, which finds its lock gone and the new one taken
        wait_for(lambda: service.role == FOLLOWER, message="the old writer to step down")
        assert service.running
        assert "another tokentop took the writer role" in (service.stats.last_error or "")
    finally:
        usurper.release()
    wait_for(lambda: service.role == WRITER, message="taking the role back once it is free")


def test_deleted_database_is_noticed_by_the_safety_poll_without_its_old_wal(projects, start, tmp_path):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond(output=100)
    service = start(poll_interval=0.2)
    db = make_context().db_path
    session.respond(output=200)
    wait_for(lambda: totals()[:2] == (2, 300), message="the append before the delete")
    assert Path(f"{db}-wal").stat().st_size > 0
    os.remove(db)  # only the main file: the old -wal and -shm stay, and must not be replayed into the new one
    # No log changes: only the poll can notice.
    wait_for(lambda: service.stats.reopens == 1, timeout=5, message="the poll noticing")
    assert totals() == session.ledger.as_tuple() and stored(db) == cold(tmp_path)
    assert query("PRAGMA integrity_check", db=db) == [("ok",)]
    session.respond(output=4000)
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="an append into the new database")
    assert totals()[:2] == (3, 4300)


def test_database_replaced_by_an_older_copy_is_caught_up(projects, start, tmp_path):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond(output=100)
    service = start()
    db = make_context().db_path
    copy = tmp_path / "yesterday.db"
    src, dst = sqlite3.connect(db), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    session.respond(output=200)
    session.respond(output=300)
    wait_for(lambda: totals()[:2] == (3, 600), message="appends after the copy")
    os.replace(copy, db)  # a person restores yesterday's copy while tokentop runs
    session.respond(output=4000)
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the copy caught up")
    assert totals()[:2] == (4, 4600)  # the copy's row is not counted twice
    assert stored(db) == cold(tmp_path)
    assert service.stats.reopens == 1 and "was replaced while running" in service.stats.last_error


def test_garbage_over_the_database_is_moved_aside_and_ingest_carries_on(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    session.respond()
    service = start()
    db = make_context().db_path
    garbage = b"this is not a database\n" * 300
    (db.parent / "junk").write_bytes(garbage)
    os.replace(db.parent / "junk", db)
    session.respond()
    wait_for(lambda: service.stats.reopens == 1, message="the damaged replacement noticed")
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the rebuilt database")
    # Only the garbage is kept aside, byte for byte: our own old -wal/-shm were not mistaken for its.
    aside = sorted(db.parent.glob("usage.db.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    assert str(aside[0]) in service.stats.last_error and "not a usable database" in service.stats.last_error
    session.respond()
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="ingest going on")
    assert service.running and service.failure is None


def test_follower_reads_the_new_database_after_a_delete(projects, start):
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")
    session.respond()
    writer = start()
    follower = start(follow_interval=0.05, takeover_interval=60)
    assert follower.role == FOLLOWER
    changes = collect(follower)
    db = make_context().db_path
    for suffix in ("", "-wal", "-shm"):
        os.remove(f"{db}{suffix}")
    session.respond()
    wait_for(lambda: totals() == session.ledger.as_tuple(), message="the writer's new database")
    wait_for(lambda: follower.stats.reopens == 1, message="the follower on the new file")
    seen = len(changes)
    session.respond()
    wait_for(lambda: any(c.new_requests == 1 and c.sessions == {SESSION_A} for c in changes[seen:]),
             message="the follower's notice of a commit to the new file")
    # Whether the follower looks before or after the writer has made the new file decides which it reports (on a
    # busy machine the writer is often first): either is true, and both lead to the same reopen.
    notice = follower.stats.last_error
    assert ("was deleted while running" in notice or "was replaced while running" in notice) and \
        writer.stats.reopens == 1


# -- several processes --------------------------------------------------------------------------------------

# The real `tokentop` CLI, with commits every 64 KB instead of 64 MB so a kill lands between commits of a file.
_RUNNER = ("import sys; from tokentop.ingest.live import service as watcher; "
           "from tokentop.ingest.live.ingester import Ingester; "
           "watcher.make_ingester = lambda store, settings: Ingester(store, settings, chunk_bytes=1 << 16, "
           "commit_bytes=1 << 16); from tokentop.tui.cli.main import main; sys.exit(main(sys.argv[1:]))")


def follow_process(db: Path, quiet: bool = True) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _RUNNER, "--db", str(db), "ingest", "--follow"] +
                            (["--quiet"] if quiet else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lock_holder(db: Path) -> int | None:
    """The pid in the writer lock file, if a live process holds the lock."""
    import fcntl
    lock = Path(str(db) + ".lock")
    if not lock.exists():
        return None
    with open(lock) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return int(lock.read_text() or 0) or None
        fcntl.flock(f, fcntl.LOCK_UN)
        return None


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(10)


@pytest.mark.slow
def test_two_processes_one_writer_and_a_takeover(home, projects):
    db = home / "store.db"
    corpus = make_corpus(projects, files=8, responses=10)
    session = LiveSession(projects / "-p" / f"{SESSION_A}.jsonl")

    def expected() -> tuple[int, int, int]:
        both = Ledger()
        both += corpus
        both += session.ledger
        return both.as_tuple()

    first = follow_process(db)
    wait_for(lambda: db_totals(db) == expected(), timeout=15, message="the first process's catch-up")
    second = follow_process(db, quiet=False)
    try:
        assert second.stdout.readline().startswith(f"Another tokentop (pid {first.pid}) is the writer for {db}")
        assert lock_holder(db) == first.pid
        for _ in range(5):
            session.respond()
        wait_for(lambda: db_totals(db) == expected(), message="appends, counted once")
        assert lock_holder(db) == first.pid and second.poll() is None

        first.send_signal(signal.SIGKILL)
        first.wait(5)
        wait_for(lambda: lock_holder(db) == second.pid, timeout=10, message="the follower taking over")
        session.respond()
        session.respond()
        wait_for(lambda: db_totals(db) == expected(), message="ingest after the takeover")
        assert query("SELECT COUNT(*), SUM(output_tokens) FROM requests WHERE session_id = ?", SESSION_A, db=db) == \
            [(7, session.ledger.output)]
        assert stop(second) == 0  # SIGTERM is a clean exit
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow
def test_sigkill_at_any_moment_then_restart_gives_the_cold_totals(home, projects):
    db, cold = home / "live.db", home / "cold.db"
    ledger = make_corpus(projects, files=30, responses=40, pad=4000)  # ~8 MB
    appender = LiveSession(projects / "-home-u-live" / f"{SESSION_B}.jsonl", seed=99)
    rng = random.Random(5)
    interrupted = 0
    for fraction in (0.1, 0.35, 0.6, 0.85):
        process = follow_process(db)
        try:
            target = int(ledger.requests * fraction)
            wait_for(lambda target=target: db_totals(db)[0] >= target, timeout=20, interval=0.005,
                     message=f"{fraction:.0%} ingested")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(5)
        interrupted += db_totals(db)[0] < ledger.requests
        # Between runs the logs keep growing, sometimes with a line left half written.
        for _ in range(rng.randint(1, 4)):
            appender.respond()
    assert interrupted >= 2, "the kills should land in the middle of the catch-up"
    lines, response = appender.response_lines()
    appender.append(lines[0][:100])

    # Killed once more in the middle of a live burst, after the catch-up.
    process = follow_process(db)
    try:
        wait_for(lambda: db_totals(db)[0] >= ledger.requests, timeout=20, message="the catch-up")
        burst = threading.Thread(target=lambda: [appender.respond(pad=100) for _ in range(200)])
        appender.append(lines[0][100:] + b"".join(lines[1:]))
        appender.ledger.add(response)
        burst.start()
        count = db_totals(db)[0]
        wait_for(lambda: db_totals(db)[0] > count + 20, timeout=10, message="live ingest under way")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        burst.join()
    ledger += appender.ledger

    process = follow_process(db)
    try:
        wait_for(lambda: db_totals(db) == ledger.as_tuple(), timeout=20, message="the final totals")
        wait_for(lambda: lock_holder(db) == process.pid, message="the writer role")  # its signal handlers are set
    finally:
        assert stop(process) == 0
    subprocess.run([sys.executable, "-m", "tokentop.tui.cli", "--db", str(cold), "ingest", "--quiet"], check=True,
                   capture_output=True)
    assert db_totals(cold) == ledger.as_tuple()
    assert db_totals(db) == db_totals(cold)
    assert query("SELECT COUNT(*) FROM requests GROUP BY dedup_key HAVING COUNT(*) > 1", db=db) == []


def test_status_line_reads_like_a_log():
    from tokentop.ingest.live.service import WatchStats
    from tokentop.tui.cli.follow import status_line

    class Service:
        writer_pid = 4242

    stats = WatchStats(role=WRITER, files_watched=1234, last_line=time.time() - 12)
    line = status_line(Service(), stats, 56)
    assert line[:2].isdigit() and line[2] == ":"
    assert line[5:] == "  writer  1,234 files watched  +56 responses in the last minute  last line 12s ago"
    follower = status_line(Service(), WatchStats(role=FOLLOWER), 0)
    assert follower[5:] == "  follower  writer is pid 4242  +0 responses in the last minute  no new lines yet"


# -- alerts: the writer's post-commit step ------------------------------------------------------------------


def test_the_writer_fires_alerts_after_the_catch_up(home, start):
    from support.history import write_history

    from tokentop.ingest.clock import now_ms
    write_history(home, now_ms())  # the 5-hour window ends at ~88% of its $4 cap: 60% and 80% are crossed
    service = start()
    levels = query("SELECT level FROM alerts WHERE window = 'five_hour' ORDER BY level")
    assert levels == [(60,), (80,)]
    fired = service.last_change.alerts_fired
    assert [(a.window, a.level) for a in fired if a.window == "five_hour"] == [("five_hour", 80)]


def test_the_writer_fires_alerts_after_a_live_batch(home, start):
    from support.history import CONFIG, write_history

    from tokentop.ingest.clock import now_ms
    config = home / ".config" / "tokentop" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(CONFIG)
    (home / ".claude" / "projects").mkdir(parents=True)
    service = start(poll_interval=0.2)
    changes = collect(service)
    assert query("SELECT COUNT(*) FROM alerts") == [(0,)]
    write_history(home, now_ms())
    wait_for(lambda: any(a.window == "five_hour" and a.level == 80 for c in changes for a in c.alerts_fired),
             message="the 80% alert fired by a batch")
    assert query("SELECT level FROM alerts WHERE window = 'five_hour' ORDER BY level") == [(60,), (80,)]
