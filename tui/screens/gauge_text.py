"""The words under the overview's gauges: amount against cap, balance, unpriced note, official age, what it counts."""

from __future__ import annotations

from ...ingest.text import official_text
from ...widgets import fmt


def used_of_cap(status) -> str:
    """'$12.40 of $40 est' against your own cap (or tokens, by its unit). Under Claude's % (official or calibrated)
    the amount is compared only with the cap that % implies ('of ≈$48'), never with a configured cap that disagrees
    ("18%" over "$8.80 of $5.00"). Without any cap: just the amount (the next-step line says how to get one)."""
    if status.source in ("official", "calibrated"):
        cal = status.calibration
        if cal is not None and cal.k > 0 and cal.proxy == "cost":
            return f"{fmt.money(status.used_cost)} of ≈{fmt.money(100 / cal.k)} est"
        if cal is not None and cal.k > 0:
            return f"{fmt.tokens(status.used_tokens)} of ≈{fmt.tokens(100 / cal.k)} tok"
        return f"{fmt.money(status.used_cost)} est"
    if status.cap_tokens and not status.cap_usd:
        return f"{fmt.tokens(status.used_tokens)} of {fmt.tokens(status.cap_tokens)} tok"
    if status.cap_usd:
        return f"{spent_text(status)} of {fmt.money(status.cap_usd)} est" + unpriced_note(status, " · ")
    return f"{spent_text(status)} est" + unpriced_note(status, " · ")


def balance_parts(b, tz) -> list[str]:
    """The prepaid balance on the month row: '≈$81.20 left of $100 est', then when it runs out (an estimate)."""
    if b is None:
        return []
    if b.left_usd <= 0:
        return [f"balance used up (of {fmt.money(b.start_usd)} est)"]
    out = b.runs_out_ms
    return [f"≈{fmt.money(b.left_usd)} left of {fmt.money(b.start_usd)} est",
            f"out {fmt.local(out, tz).strftime('%b %d')}" if out is not None else ""]


def spent_text(status) -> str:
    """'$12.40', or '≥ $12.40' when unpriced requests are not in it (how many: `unpriced_note`)."""
    return fmt.money(status.used_cost, bool(getattr(status, "unpriced_requests", 0)))


def unpriced_note(status, lead: str = "") -> str:
    n = getattr(status, "unpriced_requests", 0)
    return f"{lead}{n:,} unpriced" if n else ""


def official_age(status, now_ms: int) -> str:
    """The official figure's age under its gauge ("official 41% · 1h old"); nothing for a live one the header names."""
    text = official_text(status, now_ms)
    return "" if text == "official" else text


SOURCE_NAMES = {"claude-code": "Claude Code", "openclaw": "OpenClaw"}


def counts_text(counts) -> str:
    """'counts Claude Code only' / 'counts Claude Code + OpenClaw': what a gauge adds up."""
    names = [SOURCE_NAMES.get(c, c) for c in counts]
    return "counts " + (" + ".join(names) if len(names) > 1 else f"{names[0]} only")
