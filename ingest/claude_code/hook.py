"""`tokentop hook`: the Claude Code UserPromptSubmit / PreToolUse hook. Reads the event and the store (never a
transcript), warns once per window and level when a threshold is crossed, and blocks at `block_at`.

It fails open: the caller turns any error into exit 0 with no output, so a broken store never stops Claude Code."""

from __future__ import annotations

import json
from pathlib import Path

from ..text import pct_text, reset_text
from ..usage.limits import compute_status
from ..usage.samples import FRESH_MS, fresh_official
from ..usage.windows import MODEL_WINDOWS, WindowName, WindowStatus, cap_label, dedup_end, threshold_message

COOLDOWN_MS = 10 * 60_000
"""At most one warning per this many minutes, whatever the window: a prompt that crosses two levels at once (or two
windows) gets one message now and the next one later, not a wall of them."""
BUSY_TIMEOUT_MS = 300
"""The hook runs before every tool call; it would rather stay silent once than hold Claude Code up."""
PRE_TOOL_USE = "PreToolUse"
USER_PROMPT_SUBMIT = "UserPromptSubmit"


def event_name(text: str | bytes) -> str | None:
    """The hook_event_name of the payload; nothing else in it (prompts, tool inputs) is looked at."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    name = data.get("hook_event_name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _percent_windows(statuses: dict[str, WindowStatus]) -> list[WindowStatus]:
    """Windows with a known %, fullest first."""
    return sorted((s for s in statuses.values() if s.used_pct is not None), key=lambda s: -s.used_pct)


def _blocking(statuses: dict[str, WindowStatus]) -> list[WindowStatus]:
    """The windows that may block, fullest first: a per-model cap warns but never blocks (the other models are
    still there to use)."""
    return [s for s in _percent_windows(statuses) if s.name not in MODEL_WINDOWS]


def block_response(event: str | None, status: WindowStatus, block_at: int, zone, now: int) -> dict | None:
    reset = reset_text(status, zone, now)
    reason = (f"{cap_label(status)} at {pct_text(status)} (block_at = {block_at}%), resets {reset}: tokentop "
              f"is stopping further {'tool calls' if event == PRE_TOOL_USE else 'prompts'} until then. "
              "Set block_at = 0 in tokentop's config.toml to allow them.")
    if event == PRE_TOOL_USE:
        return {"hookSpecificOutput": {"hookEventName": PRE_TOOL_USE, "permissionDecision": "deny",
                                       "permissionDecisionReason": reason},
                "systemMessage": f"{reason} (tokentop)"}
    if event == USER_PROMPT_SUBMIT:
        return {"decision": "block", "reason": reason}
    return None  # other events cannot be blocked: fall through to a warning


def warning_message(status: WindowStatus, zone, now: int) -> str:
    """"Claude weekly limit at 82% — resets Tue 09:00 (tokentop)"."""
    return f"{threshold_message(status, zone, now)} (tokentop)"


def pending_warning(store, statuses: dict[str, WindowStatus], thresholds: list[int], zone, now: int):
    """The most severe (window, levels crossed, key) not yet shown to Claude Code, unless a warning was shown in
    the last COOLDOWN_MS."""
    last = store.db.execute("SELECT MAX(last_ms) FROM hook_warnings").fetchone()[0]
    if last is not None and now - last < COOLDOWN_MS:
        return None
    best = None
    for status in _percent_windows(statuses):
        crossed = [level for level in thresholds if status.used_pct >= level]
        if not crossed:
            continue
        key = dedup_end(status, zone, now)
        shown = store.db.execute("SELECT 1 FROM hook_warnings WHERE window = ? AND level = ? AND window_end_ms = ?",
                                 (status.name, crossed[-1], key)).fetchone()
        if shown is None and (best is None or crossed[-1] > best[1][-1]):
            best = (status, crossed, key)
    return best


def forecast_warning(store, now: int, budget=None) -> dict | None:
    """A forecast alert ("week: on pace to hit the cap Thu 14:00 ±3 h") that `status`, the TUI or the live service
    recorded and Claude Code has not been told yet; once per window, within the same cooldown as the thresholds."""
    from ..usage.alerts import FORECAST_LEVEL
    last = store.db.execute("SELECT MAX(last_ms) FROM hook_warnings").fetchone()[0]
    if last is not None and now - last < COOLDOWN_MS:
        return None
    row = _forecast_pending(store, now)
    if row is None or (budget is not None and budget.expired()):
        return None
    with store.transaction():
        store.db.execute("INSERT INTO hook_warnings(window, level, window_end_ms, last_ms) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT DO UPDATE SET last_ms = excluded.last_ms", (row[0], FORECAST_LEVEL, row[1], now))
    return {"systemMessage": f"{str(row[2])[:200]} (tokentop)"}


def _forecast_pending(store, now: int):
    """The newest forecast alert of a window still open that the hook has not told Claude Code: (window, end,
    message), or None."""
    from ..usage.alerts import FORECAST_LEVEL
    return store.db.execute(
        "SELECT window, window_end_ms, message FROM alerts a WHERE level = ? AND window_end_ms > ? AND NOT EXISTS ("
        "SELECT 1 FROM hook_warnings h WHERE h.window = a.window AND h.level = a.level"
        " AND h.window_end_ms = a.window_end_ms) ORDER BY fired_ms DESC LIMIT 1", (FORECAST_LEVEL, now)).fetchone()


def hook_statuses(store, settings, now: int, computed=None) -> dict[str, WindowStatus]:
    """The windows the hook judges: fresh official figures as they are (no usage scan), the others computed
    (`computed`: compute_status's answer for them, if the caller has one)."""
    windows: list[WindowName] = ["week", "five_hour", *MODEL_WINDOWS]
    if settings.monthly_budget_usd:
        windows.append("month")
    statuses = fresh_official(store, now, windows)
    rest = [name for name in windows if name not in statuses]
    if rest:
        if computed is None:
            computed = compute_status(store, settings, now, windows=rest, detail=False)
        statuses.update({name: computed[name] for name in rest if name in computed})
    return statuses


def quiet_until(store, settings, now: int, computed=None) -> int | None:
    """Until when `respond` certainly answers nothing, for any event (the state file's promise to the fast path);
    None when it would block or warn now. The moment is bounded by the cooldown's end and by each fresh official
    figure going stale; the state's own age bounds the rest."""
    statuses = hook_statuses(store, settings, now, computed)
    over = _blocking(statuses)
    if settings.block_at and over and over[0].used_pct >= settings.block_at:
        return None
    until = 2**62
    for status in statuses.values():
        if status.window_source == "official" and status.used_tokens == 0 and status.official_at_ms is not None:
            until = min(until, status.official_at_ms + FRESH_MS)  # a fresh figure; after this it is computed
    last = store.db.execute("SELECT MAX(last_ms) FROM hook_warnings").fetchone()[0]
    if last is not None and now - last < COOLDOWN_MS:
        return min(until, last + COOLDOWN_MS)
    if pending_warning(store, statuses, sorted(set(settings.alert_thresholds)), settings.zone(), now) is not None:
        return None
    if _forecast_pending(store, now):
        return None
    return until


def respond(store, settings, event: str | None, now: int, budget=None) -> dict | None:
    """The hook's JSON answer for this event, or None for no output. Past `budget`, a warning is neither shown nor
    marked as shown, so the next call still gives it."""
    zone = settings.zone()
    statuses = hook_statuses(store, settings, now)
    over = _blocking(statuses)
    if settings.block_at and over and over[0].used_pct >= settings.block_at:
        answer = block_response(event, over[0], settings.block_at, zone, now)
        if answer is not None:
            return answer
    found = pending_warning(store, statuses, sorted(set(settings.alert_thresholds)), zone, now)
    if found is None:
        return forecast_warning(store, now, budget)
    status, crossed, key = found
    if budget is not None:
        if budget.expired():
            return None
        store.db.execute(f"PRAGMA busy_timeout = {budget.left_ms()}")
    with store.transaction():
        # Every level up to the one shown counts as told: after "82%" nobody needs "60%".
        store.db.executemany(
            "INSERT INTO hook_warnings(window, level, window_end_ms, last_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET last_ms = excluded.last_ms",
            [(status.name, level, key, now) for level in crossed])
    return {"systemMessage": warning_message(status, zone, now)}


def run(stdin: bytes, settings, db_path: Path, now: int, budget=None) -> dict | None:
    """Everything `tokentop hook` does between reading stdin and printing; exceptions are the caller's to swallow.

    The store part runs against `budget` (BUSY_TIMEOUT_MS from the command's start unless given): a store that
    another process keeps locked means no answer this once, never a wait."""
    from .bounded import LATE, Budget, within

    budget = budget or Budget(BUSY_TIMEOUT_MS)
    event = event_name(stdin)
    if not db_path.exists():
        return None  # no history yet: nothing to warn about, and a hook should not create a database
    answer = within(budget, lambda: _answer(settings, db_path, event, now, budget))
    return None if answer is LATE else answer


def _answer(settings, db_path: Path, event: str | None, now: int, budget) -> dict | None:
    from ..store.store import Store

    with Store(db_path, busy_timeout_ms=budget.left_ms(), machine=settings.machine()) as store:
        return respond(store, settings, event, now, budget)
