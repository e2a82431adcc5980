"""Which session spent a response that several sessions' files carry (a resumed session's copy): the rule in
ingest/store/ownership.py, through the real parser, ingester and store, on crafted lines, on the public real
transcripts and as a property over any chain of resumes read in any order."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.loglines import assistant, user, write_lines

from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.discovery import LogFile
from tokentop.ingest.store.store import Store
from tokentop.ingest.usage import queries
from tokentop.ingest.usage.reports import build_report

# Each resumed session's id sorts before the one it resumed: a tie-break on the id alone would credit the copy.
A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "0bbbbbbb-0000-0000-0000-000000000002"
C = "00cccccc-0000-0000-0000-000000000003"
NOW_MS = 4_102_444_800_000
ROOTS = (".claude/projects", ".config/claude/projects")


def ts(minute: int) -> str:
    return f"2026-11-20T{10 + minute // 60:02d}:{minute % 60:02d}:00.000Z"


def rewrite(lines: list[str], session: str | None) -> list[str]:
    """The lines as a resumed session copies them: verbatim (None), or with `sessionId` rewritten (or removed: "")."""
    out = []
    for text in lines:
        entry = json.loads(text)
        if session == "":
            entry.pop("sessionId", None)
        elif session is not None:
            entry["sessionId"] = session
        out.append(json.dumps(entry))
    return out


def read(tmp: Path, files: list[tuple[str, str, list[str]]]) -> Store:
    """Write each (root, session, lines) file and ingest the files one by one, in the order given."""
    store = Store(tmp / "u.db")
    ingester = Ingester(store)
    for root, session, lines in files:
        base = tmp / root
        path = base / "-home-u-src-app" / f"{session}.jsonl"
        write_lines(path, lines)
        assert ingester.ingest_file(LogFile(str(path), "claude-code", session, None, str(base))).error is None
    return store


def per_session(store: Store) -> dict[str, tuple[int, int]]:
    """session → (requests, total tokens) as the sessions table shows it (sessions with no usage left out)."""
    return {r.session_id: (r.requests, r.tokens) for r in queries.sessions(store, NOW_MS) if r.requests}


def total(store: Store) -> tuple[int, int]:
    return store.db.execute("SELECT COUNT(*), COALESCE(SUM(total_tokens), 0) FROM requests").fetchone()


ORIGINAL = [user(ts=ts(0), session=A),
            assistant("msg_1", "req_1", output=2, cache_read=1000, ts=ts(1), session=A),
            assistant("msg_1", "req_1", output=400, cache_read=1000, ts=ts(1), session=A),
            assistant("msg_2", "req_2", output=50, cache_read=2000, ts=ts(2), session=A, tools=("Read",))]
OWN_B = [user(ts=ts(90), session=B), assistant("msg_3", "req_3", output=7, cache_read=100, ts=ts(91), session=B)]
A_SPENT = (2, 3 + 400 + 1000 + 3 + 50 + 2000)
B_SPENT = (1, 3 + 7 + 100)


@pytest.mark.parametrize("copy_session", [None, B, ""], ids=["old-id", "new-id", "no-id"])
@pytest.mark.parametrize("resumed_first", [False, True])
@pytest.mark.parametrize("root", ROOTS)
def test_a_resumed_sessions_copy_stays_with_the_session_that_spent_it(tmp_path, copy_session, resumed_first, root):
    resumed = (root, B, rewrite(ORIGINAL, copy_session) + OWN_B)
    files = [resumed, (ROOTS[0], A, ORIGINAL)]
    store = read(tmp_path, files if resumed_first else files[::-1])
    assert per_session(store) == {A: A_SPENT, B: B_SPENT}
    assert total(store) == (3, A_SPENT[1] + B_SPENT[1])
    # The drill-down, the sessions report and the tools of a session agree with the table.
    detail = queries.session_detail(store, B)
    assert [r.message_id for r in detail.requests] == ["msg_3"] and detail.tools == []
    assert [t.key for t in queries.session_detail(store, A).tools] == ["Read"]
    report = build_report(store, "sessions", UTC)
    assert {r.key: r.totals.requests for r in report.rows} == {A: 2, B: 1}
    # The resumed session began when it resumed, not when the history it copied did.
    resumed_at = datetime.fromisoformat(ts(90)).timestamp() * 1000
    assert next(r.first_ms for r in queries.sessions(store, NOW_MS) if r.session_id == B) >= resumed_at
    assert detail.first_ms >= resumed_at
    assert next(r.first_ms for r in queries.sessions(store, NOW_MS) if r.session_id == A) < resumed_at


def test_a_copy_that_wins_on_total_keeps_the_original_session(tmp_path):
    # The original's last response lost its final line (a crash); the resumed copy carries it, so the copy's numbers
    # count, and the response stays with the session that spent it, whichever file is read first.
    crashed = ORIGINAL[:-1] + [assistant("msg_2", "req_2", output=1, cache_read=2000, ts=ts(2), session=A)]
    for order in (0, 1):
        tmp = tmp_path / str(order)
        files = [(ROOTS[0], A, crashed), (ROOTS[1], B, rewrite(ORIGINAL, B) + OWN_B)]
        store = read(tmp, files if order else files[::-1])
        assert per_session(store) == {A: A_SPENT, B: B_SPENT}
        row = store.db.execute("SELECT session_id, output_tokens FROM requests WHERE message_id = 'msg_2'").fetchone()
        assert row == (A, 50)


def test_a_chain_of_resumes_credits_each_session_its_own(tmp_path):
    # C resumes B, which resumed A; C's copy rewrites every id to C's, B's kept A's.
    b_file = ORIGINAL + OWN_B
    own_c = [assistant("msg_4", "req_4", output=11, ts=ts(200), session=C)]
    files = [(ROOTS[1], C, rewrite(b_file, C) + own_c), (ROOTS[0], B, b_file), (ROOTS[0], A, ORIGINAL)]
    store = read(tmp_path, files)
    assert per_session(store) == {A: A_SPENT, B: B_SPENT, C: (1, 3 + 11)}


def test_a_later_line_of_the_resumed_session_settles_an_early_tie(tmp_path):
    # While the resumed file holds only the copy (ids rewritten), nothing tells the two apart, and the smaller id
    # (here the resumed one) is credited; its first own response is work of its own, which the original has none
    # of, and the owner is chosen again.
    resumed = "00000000-0000-0000-0000-000000000009"  # sorts before A
    store = read(tmp_path, [(ROOTS[0], resumed, rewrite(ORIGINAL, resumed)), (ROOTS[0], A, ORIGINAL)])
    assert per_session(store) == {resumed: A_SPENT}
    path = tmp_path / ROOTS[0] / "-home-u-src-app" / f"{resumed}.jsonl"
    log = LogFile(str(path), "claude-code", resumed, None, str(tmp_path / ROOTS[0]))
    write_lines(path, rewrite(OWN_B, resumed), mode="a")
    assert Ingester(store).ingest_file(log).error is None
    assert per_session(store) == {A: A_SPENT, resumed: B_SPENT}


def test_real_transcript_resumed_with_a_new_id_is_credited_to_the_original(tmp_path, real_logs):
    # The spotter transcript, and a session that resumed it: Claude Code copies the history (here with the new
    # session's id on every line) and goes on. The original keeps exactly its figures (tests/core/test_real_logs.py).
    spotter = "4d5611e5-241a-462a-8d15-5122611a9569"
    lines = (real_logs / "marot-spotter" / f"{spotter}.jsonl").read_text(encoding="utf-8-sig").splitlines()
    resumed = "00000000-dddd-0000-0000-000000000004"  # sorts before the spotter id
    own = [user(ts="2026-03-01T10:00:00.000Z", session=resumed),
           assistant("msg_new", "req_new", output=99, ts="2026-03-01T10:00:05.000Z", session=resumed)]
    for order in (0, 1):
        tmp = tmp_path / str(order)
        files = [(ROOTS[0], spotter, lines), (ROOTS[1], resumed, rewrite(lines, resumed) + own)]
        store = read(tmp, files if order else files[::-1])
        sessions = per_session(store)
        assert sessions[resumed] == (1, 3 + 99)
        assert sessions[spotter][0] == 139
        out, cache_read = store.db.execute("SELECT SUM(output_tokens), SUM(cache_read) FROM requests "
                                           "WHERE session_id = ?", (spotter,)).fetchone()
        assert (out, cache_read) == (28_755, 11_618_567)
        assert sum(t for _, t in sessions.values()) == total(store)[1]


# -- the property: any chain of resumes, any copy style, any root, any reading order ------------------------------

@st.composite
def resumed_sessions(draw):
    """Sessions one after another; each later one may resume an earlier one, copying its whole file with the ids
    kept, rewritten or left out: after the earlier one ended (as `--resume` does), or while it goes on (a fork:
    the original's next response comes before the copy's first, its last after the copy's last; a fork is never
    resumed itself, and a session is forked from at most once, before anything else resumed it). The original may
    have lost its last final line, which the copy then carries. Returns the files and, per session, what it spent
    (requests, tokens)."""
    n_sessions = draw(st.integers(1, 4))
    files: list[tuple[str, str, list[str]]] = []
    spent: dict[str, list[int]] = {}
    clock = msg = 0
    parents: set[int] = set()  # sessions something resumed
    forks: set[int] = set()

    def respond(sid: str, lines: list[str]) -> None:
        nonlocal clock, msg
        clock += draw(st.integers(1, 30))
        lines.append(user(ts=ts(clock), session=sid))
        clock += 1
        msg += 1
        out, read_tokens = draw(st.integers(2, 500)), draw(st.integers(0, 3000))
        for output in (1, out):  # a partial line, then the final one
            lines.append(assistant(f"msg_{msg}", f"req_{msg}", output=output, cache_read=read_tokens, ts=ts(clock),
                                   session=sid))
        acc = spent.setdefault(sid, [0, 0])
        acc[0] += 1
        acc[1] += 3 + out + read_tokens

    for i in range(n_sessions):
        # A random prefix: the order of the ids says nothing of which session came first.
        sid = f"{draw(st.integers(0, 0xFFFFFFFF)):08x}-0000-0000-0000-{i:012d}"
        lines: list[str] = []
        choices = [k for k in range(i) if k not in forks]
        if choices and draw(st.booleans()):
            j = draw(st.sampled_from(choices))
            parent_root, parent, parent_lines = files[j]
            style = draw(st.sampled_from([None, sid, ""]))  # verbatim, every sessionId rewritten, or left out
            lines = rewrite(parent_lines, style)
            if draw(st.booleans()) and parent_lines:
                # the original crashed before its last final line: the copy has one line more
                last = json.loads(parent_lines[-1])
                if last.get("type") == "assistant" and last["message"]["usage"]["output_tokens"] > 1:
                    cut = dict(last)
                    cut["message"] = dict(last["message"], usage=dict(last["message"]["usage"], output_tokens=1))
                    parent_lines = parent_lines[:-1] + [json.dumps(cut)]
            if j not in parents and draw(st.booleans()):  # a fork: the original goes on first
                forks.add(i)
                parent_lines = list(parent_lines)
                respond(parent, parent_lines)
            files[j] = (parent_root, parent, parent_lines)
            parents.add(j)
        for _ in range(draw(st.integers(1, 3))):
            respond(sid, lines)
        if i in forks:  # the original outlasts its fork
            respond(files[j][1], files[j][2])
        files.append((draw(st.sampled_from(ROOTS)), sid, lines))
    # Each file is read in two parts (as a live tail sees it grow), the parts of all files in any interleaving.
    events = draw(st.permutations([k for k in range(len(files)) for _ in (0, 1)]))
    cuts = [draw(st.integers(0, len(f[2]))) for f in files]
    seen: set[int] = set()
    steps = []
    for k in events:
        root, sid, lines = files[k]
        steps.append((root, sid, lines[:cuts[k]] if k not in seen else lines))
        seen.add(k)
    return steps, {s: tuple(v) for s, v in spent.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=resumed_sessions())
def test_sessions_add_up_to_the_total_and_each_has_what_it_spent(case):
    files, spent = case
    with tempfile.TemporaryDirectory() as tmp:
        store = read(Path(tmp), files)  # a file's second part rewrites it whole: the ingester reads what was added
        sessions = per_session(store)
        assert sum(n for n, _ in sessions.values()) == total(store)[0]
        assert sum(t for _, t in sessions.values()) == total(store)[1]
        assert sessions == spent
        store.close()


@pytest.mark.parametrize("rewritten", [False, True], ids=["old-id", "new-id"])
def test_real_logs_with_a_resumed_copy_under_the_other_root(real_logs_home, capsys, rewritten):
    # Every real transcript, plus a session that resumed the d-kimuson one in the second root, copying it (the old
    # sessionId kept, or rewritten to its own) before two responses of its own: through discovery and the CLI.
    from tokentop.tui.cli.main import main
    original = "fe5e1c67-53e7-4862-81ae-d0e013e3270b"
    lines = (real_logs_home / ".claude" / "projects" / "d-kimuson-claude-code-viewer" / f"{original}.jsonl") \
        .read_text(encoding="utf-8-sig").splitlines()
    resumed = "00000000-eeee-0000-0000-000000000005"
    lines = rewrite(lines, resumed if rewritten else None)
    own = [user(ts="2026-03-01T10:00:00.000Z", session=resumed),
           assistant("msg_r1", "req_r1", output=40, ts="2026-03-01T10:00:05.000Z", session=resumed),
           assistant("msg_r2", "req_r2", output=60, ts="2026-03-01T10:01:05.000Z", session=resumed)]
    write_lines(real_logs_home / ".config" / "claude" / "projects" / "d-kimuson-claude-code-viewer" /
                f"{resumed}.jsonl", lines + own)
    capsys.readouterr()
    assert main(["report", "sessions", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["key"]: r for r in report["rows"]}
    assert rows[resumed]["requests"] == 2 and rows[resumed]["output_tokens"] == 100
    assert report["totals"]["requests"] == 443 + 2  # the real logs' 443 (tests/core/test_real_logs.py), once
    assert report["totals"]["output_tokens"] == 104_939 + 100
    assert sum(r["requests"] for r in rows.values()) == report["totals"]["requests"]
    assert rows[original]["requests"] == 170


@pytest.mark.parametrize("copy_session", [B, ""], ids=["new-id", "no-id"])
def test_the_live_update_of_a_resumed_session_agrees_with_a_full_read(tmp_path, copy_session):
    # The TUI's live path re-reads only the sessions a commit touched (session_update); a resumed session must start
    # at its own first response there too, as in the full read, not at the copied history's time.
    from tokentop.ingest.usage.session_update import update_sessions

    store = read(tmp_path, [(ROOTS[0], A, ORIGINAL), (ROOTS[0], B, rewrite(ORIGINAL, copy_session) + OWN_B)])
    full = queries.sessions(store, NOW_MS)
    stale = [replace(r, first_ms=0) if r.session_id == B else r for r in full]  # B as an earlier read had it
    assert update_sessions(store, stale, {B}, NOW_MS) == full
    resumed_at = datetime.fromisoformat(ts(90)).timestamp() * 1000
    assert next(r.first_ms for r in full if r.session_id == B) >= resumed_at
