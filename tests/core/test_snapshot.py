"""`tokentop report --html` / `--md`: the overview's figures as one page or Markdown, every log string escaped."""

from __future__ import annotations

import re

import pytest
from support.history import NOW_MS, build_store
from support.hostile import write_evil_session

from tokentop.ingest.usage.snapshot import build_snapshot, to_html, to_markdown


@pytest.fixture
def snap(home):
    write_evil_session(home)
    ctx = build_store(home)
    with ctx.open_store(readonly=True) as store:
        return build_snapshot(store, ctx.settings, NOW_MS, ctx.settings.zone())


def test_the_snapshot_shows_what_the_overview_shows(snap):
    week, five, month = snap.gauges
    # The fixture's week: $4.01806 of the $6 cap (see tests/tui/test_tui.py), plus the hostile session's $0.20.
    assert (week.name, week.value) == ("Week", "~70%")
    assert week.detail == "$4.22 of $6.00 est · estimate (your cap) · resets 2026-12-01 09:00"
    assert five.value.startswith("~") and five.pct > 80
    assert month.name == "Month" and month.detail.endswith("of $200.00 budget · estimate")
    assert len(snap.days) == 14 and snap.days[-1][0] == "2026-11-26"
    assert [s[1] for s in snap.sessions[:2]] == ["Refactor the store", "Build the live TUI"]


def test_html_is_one_self_contained_page_with_every_log_string_escaped(snap):
    page = to_html(snap)
    assert "<script" not in page and "<img" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;|pipe" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from elsewhere
    assert 'id="gauge-week"' in page and ">~70%<" in page


def test_markdown_escapes_log_strings_and_keeps_one_row_per_session(snap):
    md = to_markdown(snap)
    row = next(line for line in md.splitlines() if "alert(1)" in line)
    # The log's `ESC [31m` is gone whole since ingest (ingest/safe_text.py), not left behind as "[31m".
    assert r"\<script\>alert(1)\</script\> \| \*bold\* \[x\](javascript:1) \# heading red" in row
    assert row.count(" | ") == 5  # the title's own | cannot open a new column
    assert "| Week | ≈70% |" in md


def test_report_html_and_md_from_the_command_line(home, tmp_path, capsys):
    from tokentop.tui.cli.main import main
    build_store(home)
    out = tmp_path / "usage.html"
    assert main(["report", "--html", str(out), "--no-ingest"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["report", "--md", "--no-ingest"]) == 0
    assert capsys.readouterr().out.startswith("# tokentop · ")
    assert main(["report", "--html", str(tmp_path / "missing" / "x.html"), "--no-ingest"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_the_snapshot_adds_the_prepaid_balance(home):
    from support.history import CONFIG
    # Claude Code on an API key: every fixture request since Nov 20 draws on the $30.
    ctx = build_store(home, config=CONFIG + 'cap_sources = ["openclaw"]\napi_balance_usd = 30\n'
                                            'balance_as_of = 2026-11-20\n')
    with ctx.open_store(readonly=True) as store:
        snap = build_snapshot(store, ctx.settings, NOW_MS, ctx.settings.zone())
        from tokentop.ingest.usage.balance import compute_balance
        b = compute_balance(store, ctx.settings, NOW_MS)
    assert [g.name for g in snap.gauges] == ["Week", "5-hour", "Month", "Balance"]
    balance = snap.gauges[-1]
    assert 0 < b.spent_usd < 30 and balance.value == f"≈${30 - b.spent_usd:,.2f}"
    assert balance.detail.startswith(f"{b.used_pct:.0f}% of $30.00 used since 2026-11-20 · runs out ~")
    assert balance.detail.endswith(" · estimate")
    assert 'id="gauge-balance"' in to_html(snap) and "| Balance | ≈$" in to_markdown(snap)
