"""The per-model weekly caps (Opus, Sonnet, Fable) as gauges of their own: one row under the main gauges, shown
only while an official figure (the statusline's, or Claude Code's cache) carries one. One line each at 80x24; on a
tall screen a second line says when it resets and how old the official figure is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from ...ingest.text import official_text, pct_text, reset_text
from ...ingest.usage.windows import MODEL_WINDOWS
from ...widgets.gauge import Gauge

MODEL_NAMES = {"week_opus": "Week Opus", "week_sonnet": "Week Sonnet", "week_fable": "Week Fable"}
"""How a per-model week's gauge is labelled, as `status` names the window."""


def compose_model_gauges() -> ComposeResult:
    with Horizontal(id="model-gauges"):
        for name in MODEL_WINDOWS:
            yield Gauge(MODEL_NAMES[name], id=f"{name}-gauge", classes="gauge model-gauge")


def model_gauge_detail(status, zone, now_ms: int) -> list[str]:
    """'official 3% · 1h old · resets Tue 09:00': what the second line of a per-model gauge says (a live official
    figure needs no word: the % above it is that figure)."""
    official = official_text(status, now_ms)
    reset = reset_text(status, zone, now_ms)
    return ["" if official == "official" else official, "" if reset == "–" else f"resets {reset}"]


def show_model_gauges(screen, windows: dict, zone, now_ms: int) -> None:
    """Fill the row from the overview's window statuses; the row hides when no per-model week has a %."""
    any_shown = False
    for name in MODEL_WINDOWS:
        status = windows.get(name)
        gauge = screen.query_one(f"#{name}-gauge", Gauge)
        gauge.display = status is not None and status.used_pct is not None
        if status is not None and status.used_pct is not None:
            any_shown = True
            gauge.show(status.used_pct, pct_text(status), model_gauge_detail(status, zone, now_ms))
    screen.query_one("#model-gauges").display = any_shown
