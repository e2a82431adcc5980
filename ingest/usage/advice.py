"""The next step a user can take when the week has no % at all (no official figure, no calibration, no cap of
their own): one line for the overview and a few for `tokentop status`, each within 80 columns."""

from __future__ import annotations

from collections.abc import Mapping

WIDTH = 78
"""The overview line fits an 80-column terminal with the widget's one-column padding on each side."""


def needs_step(statuses: Mapping[str, object]) -> bool:
    """True when neither the week nor the 5-hour gauge can show a %: nothing official, nothing calibrated, no cap
    configured (a 5-hour cap alone already gives that gauge a %, so the screen would contradict "No % yet")."""
    week = statuses.get("week")
    return week is not None and all(getattr(statuses.get(name), "used_pct", None) is None
                                    for name in ("week", "five_hour"))


def next_step(statuses: Mapping[str, object], hooks_installed: bool = False) -> str | None:
    """The overview's one line (≤ WIDTH), or None when the week already has a %."""
    if not needs_step(statuses):
        return None
    if hooks_installed:
        return "Hooks installed: Claude's % shows after its next reply, or set weekly_cap_usd"
    return "No % yet: tokentop install-hooks for Claude's live %, or set weekly_cap_usd"


def next_step_lines(statuses: Mapping[str, object], hooks_installed: bool = False) -> list[str]:
    """`tokentop status`'s version: the same advice in whole words, each line ≤ 80 columns; [] when not needed."""
    if not needs_step(statuses):
        return []
    if hooks_installed:
        return ["next step: hooks are installed: Claude's own 5-hour and weekly % show after",
                "           Claude Code's next reply; or set weekly_cap_usd in your config",
                "           (`tokentop config --init`)."]
    return ["next step: `tokentop install-hooks` gives Claude's own live 5-hour and weekly %,",
            "           or set weekly_cap_usd in your config (`tokentop config --init`)."]
