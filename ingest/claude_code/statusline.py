"""`tokentop statusline`: reads Claude Code's statusline JSON, records its official limit samples, returns one line.

The input is data, never instructions: nothing from it is executed, and no text from it is printed except a model
name rebuilt from its id (or its display name reduced to letters, digits and a few marks).

This is the full path; `quick.py` answers most runs from a state file without importing this module. Both fill the
line with `quick.line_values`, from the payload and from the figures `store_figures` reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..usage.samples import Sample
from .quick import (  # noqa: F401 - the line's pieces, importable from here as before
    DEFAULT_FORMAT,
    FIELDS,
    MODEL_FIELDS,
    MODEL_NAMES,
    format_fields,
    format_line,
    line_values,
    model_label,
    model_values,
    needed_figures,
    parse_payload,
    usable_format,
)
from .wrapped import THEN_TIMEOUT_S, Wrapped, combine  # noqa: F401 - `statusline --then`

BUSY_TIMEOUT_MS = 250
"""The statusline runs every few hundred ms: it would rather skip one write than wait on a busy writer."""


@dataclass
class StatuslineInput:
    """What tokentop takes from the statusline payload: the samples, and two short identifiers."""

    samples: list[Sample] = field(default_factory=list)
    session_id: str | None = None
    model: str | None = None

    def sample_tuples(self) -> list[tuple[str, float, int | None]]:
        return [(s.window, s.used_pct, s.resets_at_ms) for s in self.samples]


def parse_input(text: str | bytes) -> StatuslineInput:
    """The statusline payload → samples (window, used %, reset), session id and model; garbage → empty."""
    samples, session, model = parse_payload(text)
    return StatuslineInput([Sample(key, pct, resets) for key, pct, resets in samples], session, model)  # type: ignore[arg-type]


def render(text: str | bytes, settings, db_path: Path, now: int, budget=None) -> str:
    """Record the payload's samples and return our line. Never raises for a bad payload or store.

    The store part runs against `budget` (BUSY_TIMEOUT_MS from the command's start unless given): when another
    process keeps the store locked, the line is the payload's own figures, with "–" for what only the store knows."""
    from .bounded import LATE, Budget, within

    budget = budget or Budget(BUSY_TIMEOUT_MS)
    parsed = parse_input(text)
    zone = settings.zone()
    fmt = usable_format(settings.statusline_format)  # a format that cannot be filled: the default one
    samples = parsed.sample_tuples()
    needed = needed_figures(samples, format_fields(fmt), now)

    def from_store() -> dict:
        return _from_store(parsed, settings, db_path, now, needed, budget.left_ms())

    figures = within(budget, from_store)  # any store error is LATE too: a statusline must print something
    figures = {} if figures is LATE else figures
    return format_line(fmt, line_values(samples, parsed.model, figures, zone, now))  # type: ignore[arg-type]


def _from_store(parsed: StatuslineInput, settings, db_path: Path, now: int, needed: set[str],
                busy_ms: int = BUSY_TIMEOUT_MS) -> dict:
    """Record the samples, then read the store's figures the line needs."""
    from ..store.store import Store
    from ..usage.samples import record_samples

    if not db_path.exists() and not parsed.samples:
        return {}  # nothing to record and nothing to read: do not create a database for this
    with Store(db_path, busy_timeout_ms=busy_ms, machine=settings.machine()) as store:
        if parsed.samples:
            try:
                record_samples(store, parsed.samples, now, parsed.session_id)
            except Exception:  # noqa: BLE001 - busy or read-only: the next run records it
                pass
        record_claude_cache(store, now)
        return store_figures(store, settings, now, needed)


def record_claude_cache(store, now: int) -> None:
    """Claude Code's cached figures (~/.claude.json) into the store, so per-model caps reach the hook and the
    fields below with no tokentop running: one stat and a meta read while the file is unchanged. (The fast path
    declines while the file's stamp differs from the one the store recorded, so this runs on every change.)"""
    from .cached_usage import CachedWatch
    try:
        CachedWatch(claim_first=True).check(store, now)
    except Exception:  # noqa: BLE001 - busy or read-only: the figures already stored still show
        pass


def model_cap_fields(store, settings, now: int, wanted: set[str], values: dict[str, str]) -> None:
    """Fill the per-model fields if the format asks for any, from the stored official samples (this statusline's
    own and those recorded from Claude Code's cache, the only source of Fable's). Highest first in `model_caps`."""
    if MODEL_NAMES & wanted:
        values.update(model_values(store_figures(store, settings, now, MODEL_FIELDS.values())))


def store_figures(store, settings, now: int, names: Iterable[str], statuses=None) -> dict:
    """What the line takes from the store, by name: "week" / "five_hour" and the per-model windows (the window's
    status, None if none), "week_eta_ms", "today_cost_usd" / "today_unpriced", "balance_left_usd" (None: no
    balance configured). `statuses`: compute_status's answer if the caller has one (where its week carries no
    forecast, the ETA is computed here). The state file carries the same dict (see `state.py`)."""
    from ..usage.limits import compute_status, today_spend

    names = set(names)
    figures: dict = {}
    windows = names & {"week", "five_hour", *MODEL_FIELDS.values()}
    eta = "week_eta_ms" in names
    if windows or eta:
        week = statuses.get("week") if statuses is not None else None
        if statuses is None or (eta and (week is None or week.forecast is None)):
            statuses = compute_status(store, settings, now, windows=windows | ({"week"} if eta else set()),
                                      detail={"week"} if eta else False)
        for name in windows:
            figures[name] = statuses.get(name)
        if eta:
            week = statuses.get("week")
            forecast = week.forecast if week is not None else None
            figures["week_eta_ms"] = forecast.eta_ms if forecast is not None else None
    if names & {"today_cost_usd", "today_unpriced"}:
        figures["today_cost_usd"], figures["today_unpriced"] = today_spend(store, settings.zone(), now)
    if "balance_left_usd" in names:
        from ..usage.balance import compute_balance
        balance = compute_balance(store, settings, now)
        figures["balance_left_usd"] = balance.left_usd if balance is not None else None
    return figures
