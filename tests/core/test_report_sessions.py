"""`tokentop report sessions` as text: date, last activity and model columns, as ccusage's session report has."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from support.history import build_store

from tokentop.ingest.usage.report_text import to_table
from tokentop.ingest.usage.reports import build_report


def test_sessions_table_has_date_last_activity_and_models(home):
    ctx = build_store(home)
    with ctx.open_store(readonly=True) as store:
        report = build_report(store, "sessions", ZoneInfo("UTC"))
    lines = to_table(report, width=160).splitlines()
    head = lines[0].split()
    assert head[:5] == ["Session", "Date", "Last", "activity", "Models"]
    live = next(line for line in lines if "Build the live TUI" in line)
    # Started and last active on the Thursday; an Opus session with a Haiku sub-agent, dates dropped from ids.
    assert "2026-11-26  2026-11-26 15:28  haiku-4-5, opus-4-6" in live
    assert live.rstrip().endswith("$3.43    40")
    # At 80 columns the date goes before the models do, and nothing runs past the edge.
    narrow = to_table(report, width=80).splitlines()
    assert "Models" in narrow[0] and "Date" not in narrow[0]
    assert all(len(line) <= 80 for line in narrow[:-1])
    assert "haiku-4-5, opus-4-6" in next(line for line in narrow if "tokent" in line)
    # In Berlin the last activity reads an hour later.
    with ctx.open_store(readonly=True) as store:
        berlin = to_table(build_report(store, "sessions", ZoneInfo("Europe/Berlin")), width=160)
    assert "2026-11-26 16:28" in berlin
