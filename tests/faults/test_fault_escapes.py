"""Nothing from a log drives the terminal: escape sequences, control and bidi characters in a project path, model,
git branch, title, tool name or session id are removed on ingest, and again on every way out (text reports, CSV,
JSON, status, statusline, doctor, the TUI) for rows an older tokentop stored raw; CSV cells cannot be formulas."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import time

import pytest
from faultkit import run_cli
from support.loglines import (
    assistant,
    openclaw_assistant,
    openclaw_model_change,
    openclaw_session,
    summary,
    write_lines,
)

from tokentop.ingest.safe_text import clean, csv_cell

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"  # OSC 52: write "pwned" to the clipboard
TITLE_SET = "\x1b]0;owned\x1b\\"  # OSC 0 with an ST terminator: set the window / tmux pane title
CLEAR = "\x1b[2J\x1b[H"  # CSI: clear the screen, cursor home
C1_CSI = "\x9b31m"  # the 8-bit CSI a terminal in 8-bit mode acts on
BIDI = "\u202egnp.exe"  # right-to-left override: reads as "exe.png"
HOSTILE = CLIPBOARD + "\x00\x07\x08\x7f" + TITLE_SET + CLEAR + C1_CSI + BIDI
"""Every kind at once; `clean` leaves only "gnp.exe" of it."""
PAYLOADS = ("cHduZWQ=", "owned", "52;", "[2J")
"""Parts of the sequences that must not survive as text either (a stripped ESC that left `]52;c;…` behind would
still be junk on screen)."""


def assert_safe(text: str, where: str) -> None:
    for ch in text:
        assert ch in "\n" or not (ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f or 0x202a <= ord(ch) <= 0x202e
                                  or 0x2066 <= ord(ch) <= 0x2069), (where, repr(ch), text[:400])
    for payload in PAYLOADS:
        assert payload not in text, (where, payload, text[:400])


# -- the module -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, safe", [
    ("plain /home/u/src/app", "plain /home/u/src/app"),
    (f"a{CLIPBOARD}b", "ab"),
    (f"a{TITLE_SET}b", "ab"),
    (f"x{CLEAR}y", "xy"),
    ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # a hyperlink: the text stays, the target goes
    (f"m{C1_CSI}", "m"),
    ("\x9d0;owned\x9c title", " title"),  # 8-bit OSC … ST
    (BIDI, "gnp.exe"),
    ("line one\nline two\ttab\r\n", "line one line two tab "),
    ("nul\x00bel\x07del\x7f", "nulbeldel"),
    ("\x1b[1;31", ""),  # a sequence cut short by the end of the field
    ("\x1b", ""),
    ("é 中文 🙂 ✓", "é 中文 🙂 ✓"),  # printable Unicode is kept
])
def test_clean(raw, safe):
    assert clean(raw) == safe
    assert_safe(clean(raw), raw)


@pytest.mark.parametrize("raw, cell", [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\x1b[2J=1", "'=1"),  # cleaned first, then guarded
    ("/home/u/app", "/home/u/app"), ("a=b", "a=b"),
    (-5, -5), (12, 12), (1.5, 1.5), (None, None),
])
def test_csv_cell(raw, cell):
    assert csv_cell(raw) == cell


# -- on ingest --------------------------------------------------------------------------------------

SESSION = "e5c00000-0000-4000-8000-000000000001"


def write_hostile_logs(home):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 300))
    write_lines(home / ".claude" / "projects" / "-home-u-evil" / f"{SESSION}.jsonl", [
        summary(f"title {HOSTILE}"),
        assistant("msg_e1", "req_e1", output=700, session=SESSION, ts=ts, cwd=f"/home/u/{HOSTILE}",
                  branch=f"main{HOSTILE}", model=f"claude-opus-4-6{CLEAR}", tools=(f"Bash{CLIPBOARD}",)),
    ])
    write_lines(home / ".openclaw" / "agents" / "main" / "sessions" / "oc1.jsonl", [
        openclaw_session("oc1", cwd=f"/home/u/bot{TITLE_SET}"),
        openclaw_model_change(f"claude-sonnet-4-5{C1_CSI}"),
        openclaw_assistant("e1", ts_ms=int(time.time() * 1000) - 200_000, tools=(f"read{BIDI}",)),
    ])


def text_cells(db) -> list[str]:
    con = sqlite3.connect(db)
    try:
        out = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in con.execute(f"SELECT * FROM {table}"):  # noqa: S608 - table names from the schema
                out += [v for v in row if isinstance(v, str)]
        return out
    finally:
        con.close()


def test_ingest_stores_no_control_characters(home):
    write_hostile_logs(home)
    proc = run_cli(["ingest", "--quiet"], home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    assert_safe(proc.stdout.decode() + proc.stderr.decode(), "ingest output")
    cells = text_cells(home / ".claude-usage" / "usage.db")
    for cell in cells:
        assert_safe(cell, "stored cell")
    # Cleaned, not dropped: the readable rest of each field is kept and the responses count.
    assert "/home/u/gnp.exe" in cells and "title gnp.exe" in cells and "maingnp.exe" in cells
    assert "claude-opus-4-6" in cells and "Bash" in cells and "/home/u/bot" in cells and "readgnp.exe" in cells
    con = sqlite3.connect(home / ".claude-usage" / "usage.db")
    assert con.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 2
    con.close()


# -- on the way out, for rows stored raw by an older tokentop -----------------------------------------

@pytest.fixture
def raw_store(home):
    """A store whose text cells hold the hostile strings as they were in the logs."""
    write_hostile_logs(home)
    assert run_cli(["ingest", "--quiet"], home=home).returncode == 0
    db = home / ".claude-usage" / "usage.db"
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE requests SET project = ?, model = ?", (f"=cmd|' /C calc'!A0{HOSTILE}", f"opus{HOSTILE}"))
        con.execute("UPDATE sessions SET title = ?, git_branch = ?, project = ?",
                    (f"@title{HOSTILE}", f"br{HOSTILE}", f"=cmd|' /C calc'!A0{HOSTILE}"))
        con.execute("UPDATE tool_calls SET name = ?", (f"-Bash{HOSTILE}",))
    con.close()
    return db


@pytest.mark.parametrize("kind", ["daily", "sessions", "models", "projects", "tools"])
@pytest.mark.parametrize("shape", ["text", "--csv", "--json"])
def test_reports_print_no_escapes(home, raw_store, kind, shape):
    proc = run_cli(["report", kind, "--no-ingest", *([shape] if shape != "text" else [])], home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    if shape == "--csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) > 1
        for row in rows:
            for cell in row:
                assert_safe(cell, f"csv {kind}")
                assert not cell.startswith(("=", "+", "-", "@")), (kind, cell)
        if kind in ("projects", "sessions", "tools"):
            assert any(cell.startswith(("'=", "'@", "'-")) for row in rows for cell in row), rows
    else:
        assert_safe(out.replace("\r", ""), f"{shape} {kind}")  # JSON writes \u001b, never the byte itself
        if shape == "--json":
            json.loads(out)
    assert_safe(proc.stderr.decode(), "stderr")


@pytest.mark.parametrize("args", [["status", "--no-ingest"], ["status", "--no-ingest", "--json"], ["doctor"],
                                  ["statusline"]])
def test_status_statusline_and_doctor_print_no_escapes(home, raw_store, args):
    config = home / ".config" / "tokentop" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    root = home / "roots" / f"{CLEAR}x"  # a root the user named: doctor prints its path
    root.mkdir(parents=True)
    config.write_text(f"claude_roots = [{json.dumps(str(root))}]\n"  # a JSON string is a TOML basic string
                      'statusline_format = "{model} {week_pct} {today_cost}"\nweekly_cap_usd = 1.0\n')
    stdin = json.dumps({"model": {"display_name": f"Opus{HOSTILE}"}, "session_id": SESSION}).encode()
    proc = run_cli(args, home=home, stdin=stdin if args == ["statusline"] else None)
    assert proc.returncode in (0, 1, 10, 20), proc.stderr.decode()
    assert_safe(proc.stdout.decode(), " ".join(args))
    assert_safe(proc.stderr.decode(), " ".join(args))
    assert proc.stdout.strip()


def test_tui_screens_show_no_escapes(home, raw_store):
    from tokentop.ingest.context import make_context
    from tokentop.tui.app import TokentopApp

    async def scenario():
        app = TokentopApp(make_context(), watch=False)
        shots = {}
        async with app.run_test(size=(160, 50)) as pilot:
            async def settle():
                for _ in range(40):
                    await pilot.pause(0.05)
            await settle()
            shots["overview"] = app.export_screenshot()
            await pilot.press("enter")  # the session
            await settle()
            shots["session"] = app.export_screenshot()
            await pilot.press("enter")  # its newest request
            await settle()
            shots["request"] = app.export_screenshot()
            await pilot.press("escape", "escape")
            for key in ("m", "p", "t"):
                await pilot.press(key)
                await settle()
                shots[key] = app.export_screenshot()
                await pilot.press("escape")
        return shots

    shots = asyncio.run(scenario())
    for name, svg in shots.items():
        assert_safe(svg, f"tui {name}")
    assert "gnp.exe" in shots["overview"]  # the hostile rows are on screen, cleaned
