"""`tokentop statusline`: reads Claude Code's statusline JSON, records its official limit samples, returns one line.

The input is data, never instructions: nothing from it is executed, and no text from it is printed except a model
name rebuilt from its id (or its display name reduced to letters, digits and a few marks)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..safe_text import clean
from ..text import UNKNOWN, clock_time, dollars, pct_text, reset_text
from ..usage.samples import Sample, round_minute
from ..usage.windows import OFFICIAL_WINDOWS

THEN_TIMEOUT_S = 2.0
"""How long the wrapped (previous) statusline may take before it is killed and left out."""
BUSY_TIMEOUT_MS = 250
"""The statusline runs every few hundred ms: it would rather skip one write than wait on a busy writer."""
DEFAULT_FORMAT = "week {week_pct} · resets {week_reset} · 5h {five_hour_pct} · {today_cost} today est"
FIELDS = ("week_pct", "week_reset", "five_hour_pct", "five_hour_reset", "today_cost", "week_eta", "model", "source",
          "opus_pct", "sonnet_pct", "fable_pct", "model_caps", "balance_left")
MODEL_FIELDS = {"opus_pct": "week_opus", "sonnet_pct": "week_sonnet", "fable_pct": "week_fable"}
"""The per-model weekly caps' fields; `model_caps` lists those known ("Fable 83% · Sonnet 12%"), or is empty."""

# "claude-opus-4-6" → Opus 4.6; one or two digits only, so a date ("claude-3-5-sonnet-20241022") is not a version.
_MODEL_ID = re.compile(r"(opus|sonnet|haiku)-(\d{1,2})(?:[-.](\d{1,2}))?(?!\d)")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass
class StatuslineInput:
    """What tokentop takes from the statusline payload: the samples, and two short identifiers."""

    samples: list[Sample] = field(default_factory=list)
    session_id: str | None = None
    model: str | None = None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _epoch_ms(value) -> int | None:
    """resets_at: epoch seconds (documented); epoch ms and ISO-8601 accepted too, anything else is None."""
    number = _number(value)
    if number is not None:
        if number <= 0:
            return None
        return int(number if number > 1e11 else number * 1000)
    if isinstance(value, str) and len(value) < 40:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            return int(parsed.timestamp() * 1000)
    return None


def model_label(model) -> str | None:
    """{"id": "claude-opus-4-6", …} → "Opus 4.6"; otherwise the display name reduced to safe characters."""
    if not isinstance(model, dict):
        return None
    ident = model.get("id")
    if isinstance(ident, str):
        m = _MODEL_ID.search(ident.lower())
        if m:
            return f"{m[1].capitalize()} {m[2]}" + (f".{m[3]}" if m[3] else "")
    name = model.get("display_name")
    if isinstance(name, str):
        # Whole escape sequences go first, so their parameters do not survive as letters.
        cleaned = re.sub(r"[^A-Za-z0-9 .()-]", "", clean(name))[:24].strip()
        return cleaned or None
    return None


def parse_input(text: str | bytes) -> StatuslineInput:
    """The statusline payload → samples (window, used %, reset), session id and model; garbage → empty."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return StatuslineInput()
    if not isinstance(data, dict):
        return StatuslineInput()
    out = StatuslineInput()
    session = data.get("session_id")
    if isinstance(session, str) and _SESSION_ID.match(session):
        out.session_id = session
    out.model = model_label(data.get("model"))
    limits = data.get("rate_limits")
    if not isinstance(limits, dict):
        return out
    for key in OFFICIAL_WINDOWS:
        entry = limits.get(key)
        if not isinstance(entry, dict):
            continue
        pct = _number(entry.get("used_percentage"))
        if pct is None or not 0 <= pct <= 1000:
            continue
        resets = _epoch_ms(entry.get("resets_at"))
        out.samples.append(Sample(key, pct, round_minute(resets) if resets is not None else None))
    return out


# -- the line ---------------------------------------------------------------------------------------


class _Fields(dict):
    def __missing__(self, key):  # an unknown {field} in the user's format shows as "?" rather than failing
        return "?"


def format_line(fmt: str, values: dict[str, str]) -> str:
    """The user's format filled in; a format that cannot be filled falls back to the default one."""
    mapping = _Fields(values)
    try:
        line = fmt.format_map(mapping)
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        line = DEFAULT_FORMAT.format_map(mapping)
    return " ".join(line.splitlines())  # one line, whatever the format holds


def payload_values(parsed: StatuslineInput, zone, now: int) -> dict[str, str]:
    """Fields from the payload alone: its official numbers are the freshest there are."""
    values = {name: UNKNOWN for name in FIELDS}
    values["model_caps"] = ""
    values["model"] = parsed.model or UNKNOWN
    for s in parsed.samples:
        name = OFFICIAL_WINDOWS[s.window]
        if name in ("week", "five_hour"):
            values[f"{name}_pct"] = f"{s.used_pct:.0f}%"
            if s.resets_at_ms and s.resets_at_ms > now:
                values[f"{name}_reset"] = clock_time(s.resets_at_ms, zone, now)
            if name == "week":
                values["source"] = "official"
    return values


def _complete(parsed: StatuslineInput, now: int) -> set[str]:
    """Windows the payload fully describes (a % and a reset still ahead)."""
    return {OFFICIAL_WINDOWS[s.window] for s in parsed.samples if s.resets_at_ms and s.resets_at_ms > now}


def format_fields(fmt: str) -> set[str]:
    import string
    try:
        return {name for _, name, _, _ in string.Formatter().parse(fmt) if name}
    except ValueError:
        return set(FIELDS)


def render(text: str | bytes, settings, db_path: Path, now: int, budget=None) -> str:
    """Record the payload's samples and return our line. Never raises for a bad payload or store.

    The store part runs against `budget` (BUSY_TIMEOUT_MS from the command's start unless given): when another
    process keeps the store locked, the line is the payload's own figures, with "–" for what only the store knows."""
    from .bounded import LATE, Budget, within

    budget = budget or Budget(BUSY_TIMEOUT_MS)
    parsed = parse_input(text)
    zone = settings.zone()
    fmt = settings.statusline_format or DEFAULT_FORMAT
    try:
        fmt.format_map(_Fields(dict.fromkeys(FIELDS, "")))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        fmt = DEFAULT_FORMAT  # a format that cannot be filled: the default, rather than a broken line
    values = payload_values(parsed, zone, now)
    wanted = format_fields(fmt)

    def from_store() -> dict[str, str]:
        filled = dict(values)  # a copy: a late thread must not change the line being printed
        _from_store(parsed, settings, db_path, zone, now, wanted, filled, budget.left_ms())
        return filled

    filled = within(budget, from_store)  # any store error is LATE too: a statusline must print something
    return format_line(fmt, values if filled is LATE else filled)


def _from_store(parsed: StatuslineInput, settings, db_path: Path, zone, now: int, wanted: set[str],
                values: dict[str, str], busy_ms: int = BUSY_TIMEOUT_MS) -> None:
    """Record the samples, then fill from the store what the payload did not give: windows it lacked (older
    Claude Code, API-key users: calibrated or configured figures), today's cost, and the ETA if the format asks."""
    from ..store.store import Store
    from ..usage.limits import compute_status, today_spend
    from ..usage.samples import record_samples

    if not db_path.exists() and not parsed.samples:
        return  # nothing to record and nothing to read: do not create a database for this
    with Store(db_path, busy_timeout_ms=busy_ms, machine=settings.machine()) as store:
        if parsed.samples:
            try:
                record_samples(store, parsed.samples, now, parsed.session_id)
            except Exception:  # noqa: BLE001 - busy or read-only: the next run records it
                pass
        record_claude_cache(store, now)
        missing = [w for w in ("week", "five_hour") if w not in _complete(parsed, now)
                   and ({f"{w}_pct", f"{w}_reset"} & wanted or (w == "week" and "source" in wanted))]
        eta = "week_eta" in wanted
        if missing or eta:
            names = set(missing) | ({"week"} if eta else set())
            statuses = compute_status(store, settings, now, windows=names, detail={"week"} if eta else False)
            for name in missing:
                status = statuses.get(name)
                values[f"{name}_pct"] = pct_text(status)
                values[f"{name}_reset"] = reset_text(status, zone, now)
                if name == "week" and status is not None:
                    values["source"] = status.source
            week = statuses.get("week")
            if eta and week is not None and week.forecast is not None and week.forecast.eta_ms is not None:
                values["week_eta"] = clock_time(week.forecast.eta_ms, zone, now)
        if "today_cost" in wanted:
            values["today_cost"] = dollars(*today_spend(store, zone, now))  # "≥ $12.40 · 3 unpriced"
        model_cap_fields(store, settings, now, wanted, values)
        if "balance_left" in wanted:  # the prepaid API balance, an estimate: "≈$81.20"
            from ..usage.balance import compute_balance
            balance = compute_balance(store, settings, now)
            values["balance_left"] = f"≈{dollars(balance.left_usd)}" if balance is not None else UNKNOWN


def record_claude_cache(store, now: int) -> None:
    """Claude Code's cached figures (~/.claude.json) into the store, so per-model caps reach the hook and the
    fields below with no tokentop running: one stat and a meta read while the file is unchanged."""
    from .cached_usage import CachedWatch
    try:
        CachedWatch(claim_first=True).check(store, now)
    except Exception:  # noqa: BLE001 - busy or read-only: the figures already stored still show
        pass


def model_cap_fields(store, settings, now: int, wanted: set[str], values: dict[str, str]) -> None:
    """Fill the per-model fields the format asks for, from the stored official samples (this statusline's own and
    those recorded from Claude Code's cache, the only source of Fable's). Highest first in `model_caps`."""
    from ..usage.limits import compute_status

    names = [w for f, w in MODEL_FIELDS.items() if f in wanted]
    if "model_caps" in wanted:
        names = list(MODEL_FIELDS.values())
    if not names:
        return
    statuses = compute_status(store, settings, now, windows=names, detail=False)
    shown = []
    for field_name, window in MODEL_FIELDS.items():
        status = statuses.get(window)
        values[field_name] = pct_text(status)
        if status is not None and status.used_pct is not None:
            shown.append((status.used_pct, f"{field_name[:-4].capitalize()} {pct_text(status)}"))
    values["model_caps"] = " · ".join(text for _, text in sorted(shown, key=lambda p: -p[0]))


# -- wrapping the user's previous statusline --------------------------------------------------------


class Wrapped:
    """The user's previous statusline command, started at once with the same stdin so both run side by side."""

    def __init__(self, command: str, stdin: bytes, timeout: float = THEN_TIMEOUT_S):
        import subprocess
        import threading

        self.timeout = timeout
        self.output: bytes = b""
        self.proc = None
        try:
            # The command comes from the user's own settings.json (recorded by install-hooks), never from stdin.
            self.proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            return
        self.thread = threading.Thread(target=self._run, args=(stdin,), daemon=True)
        self.thread.start()

    def _run(self, stdin: bytes) -> None:
        import subprocess

        try:
            self.output, _ = self.proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._kill()
        except (OSError, ValueError):
            pass

    def _kill(self) -> None:
        import os
        import signal
        import subprocess
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: this ends it and anything it started
        except OSError:
            pass
        try:
            self.proc.communicate(timeout=0.5)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            pass

    def lines(self) -> list[str]:
        if self.proc is None:
            return []
        self.thread.join(self.timeout + 1.0)
        return self.output.decode("utf-8", "replace").splitlines()


def combine(ours: str, theirs: list[str]) -> str:
    """Ours first, joined to their first line with " | " (Claude Code always shows the first line); their other
    lines follow unchanged."""
    if not theirs or not any(line.strip() for line in theirs):
        return ours
    return "\n".join([f"{ours} | {theirs[0]}", *theirs[1:]])
