"""A total that misses unpriced requests says so wherever a cost is shown: `status` (text and JSON) and the
statusline's today figure read "≥ $X · N unpriced", from the same helper the reports and the TUI use."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from support.loglines import assistant, write_lines

from tokentop.ingest.claude_code.statusline import render
from tokentop.ingest.config import Settings
from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.text import dollars
from tokentop.tui.cli.main import main

OPUS_2K_OUT = 2_000 * 25e-6  # $0.05: 2,000 output tokens of Opus 4.6


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ingest(home, now: int, unpriced: int) -> None:
    lines = [assistant("m_priced", "r_priced", input_=0, output=2_000, model="claude-opus-4-6", ts=_iso(now - 2_000))]
    lines += [assistant(f"m_x{i}", f"r_x{i}", input_=0, output=1_000, model="claude-mystery-9", ts=_iso(now - 1_000))
              for i in range(unpriced)]
    write_lines(home / ".claude" / "projects" / "-home-u-app" / "s.jsonl", lines)
    ctx = make_context()
    with ctx.open_store() as store:
        Ingester(store, ctx.settings).ingest_all()


def test_dollars_is_the_one_spelling():
    assert dollars(12.4, 3) == "≥ $12.40 · 3 unpriced"
    assert dollars(12.4, 0) == "$12.40"


def test_status_json_and_text_say_the_cost_is_a_lower_bound(home, capsys):
    now = int(time.time() * 1000)
    _ingest(home, now, unpriced=3)
    assert main(["status", "--json", "--no-ingest"]) in (0, 10, 20)
    windows = json.loads(capsys.readouterr().out)["windows"]
    for name in ("week", "five_hour", "month"):
        w = windows[name]
        assert w["unpriced_requests"] == 3, name
        assert w["cost_is_lower_bound"] is True
        assert w["used_cost_usd"] == round(OPUS_2K_OUT, 6)  # the unpriced ones add nothing, not a guess
    main(["status", "--no-ingest"])
    text = capsys.readouterr().out
    assert text.count("≥ $0.05 · 3 unpriced est") >= 3  # week, 5-hour and month rows


def test_status_without_unpriced_requests_reads_as_before(home, capsys):
    now = int(time.time() * 1000)
    _ingest(home, now, unpriced=0)
    main(["status", "--json", "--no-ingest"])
    week = json.loads(capsys.readouterr().out)["windows"]["week"]
    assert week["unpriced_requests"] == 0 and week["cost_is_lower_bound"] is False
    main(["status", "--no-ingest"])
    assert "unpriced" not in capsys.readouterr().out


def test_statusline_today_says_how_many_are_unpriced(home):
    now = int(time.time() * 1000)
    _ingest(home, now, unpriced=2)
    ctx = make_context()
    line = render(b"{}", Settings(timezone="UTC"), ctx.db_path, now)
    assert line.endswith(" · ≥ $0.05 · 2 unpriced today est"), line


def test_the_html_and_markdown_summary_and_the_month_alert_say_so_too(home):
    from tokentop.ingest.usage.limits import compute_status
    from tokentop.ingest.usage.snapshot import build_snapshot, to_markdown
    from tokentop.ingest.usage.windows import threshold_message
    now = int(time.time() * 1000)
    _ingest(home, now, unpriced=3)
    ctx = make_context()
    zone = ctx.settings.zone()
    with ctx.open_store() as store:
        md = to_markdown(build_snapshot(store, ctx.settings, now, zone))
        month = compute_status(store, Settings(timezone="UTC", monthly_budget_usd=10.0), now)["month"]
    assert "≥ $0.05 · 3 unpriced" in md
    assert "(≥ $0.05 · 3 unpriced of $10.00 est)" in threshold_message(month, zone, now)
