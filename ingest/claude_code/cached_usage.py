"""Claude Code's cached official usage: `~/.claude.json` → `cachedUsageUtilization` (five-hour, weekly and per-model
weekly %, their resets, when it was fetched), read with no set-up and no network.

That file also holds account ids and OAuth metadata. It is parsed whole (JSON has no way to read one key), but only
`cachedUsageUtilization` is looked at, and only numbers, reset times and a model name rebuilt from safe characters
leave this module: nothing else from the file is kept, stored or printed."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .. import locations

KEY = "cachedUsageUtilization"
MAX_BYTES = 64 * 1024 * 1024
"""Bigger than any ~/.claude.json seen (project history makes them a few MB); past this the file is not read, so a
damaged or hostile file cannot make tokentop allocate without bound."""
MAX_LIMITS = 32
"""At most this many entries of `limits[]` are looked at."""

_UTILIZATION_WINDOWS = {"five_hour": "five_hour", "seven_day": "week", "seven_day_opus": "week_opus",
                        "seven_day_sonnet": "week_sonnet"}
"""`utilization` keys → tokentop's window names (as the statusline's rate_limits keys map)."""
_KIND_WINDOWS = {"session": "five_hour", "weekly_all": "week"}
_MODEL_NAME = re.compile(r"[^A-Za-z0-9 .-]")


@dataclass(frozen=True)
class CachedLimit:
    """One official figure from the cache."""

    window: str
    """tokentop's window name: "five_hour", "week", or "week_<model>" ("week_sonnet", "week_opus", "week_fable")."""
    used_pct: float
    """0–100 as Claude Code reports it (a value past 100 is kept: the cap was overrun)."""
    resets_at_ms: int | None
    model: str | None = None
    """The scoped model's display name ("Sonnet"), for per-model weekly caps only."""

    @property
    def official_key(self) -> str:
        """The statusline's naming for this window (seven_day_sonnet …), as official samples are stored."""
        if self.window == "five_hour":
            return "five_hour"
        return "seven_day" + self.window[len("week"):]

    def is_open(self, now_ms: int) -> bool:
        """A figure counts only while its window is still open: after the reset it describes a finished week."""
        return self.resets_at_ms is not None and self.resets_at_ms > now_ms


@dataclass(frozen=True)
class CachedUsage:
    fetched_ms: int | None
    """`fetchedAtMs`: when Claude Code last asked for these figures (they can be days old)."""
    limits: tuple[CachedLimit, ...]

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.fetched_ms is None else max(0, now_ms - self.fetched_ms)

    def open_limits(self, now_ms: int) -> list[CachedLimit]:
        return [limit for limit in self.limits if limit.is_open(now_ms)]

    def get(self, window: str) -> CachedLimit | None:
        return next((limit for limit in self.limits if limit.window == window), None)


@dataclass(frozen=True)
class CachedRead:
    """What reading the cache found: figures, or None and a one-line hint saying why not."""

    path: Path
    usage: CachedUsage | None
    hint: str | None = None


def claude_json_path() -> Path:
    """`$CLAUDE_CONFIG_DIR/.claude.json` (its first entry) when that file exists, else `~/.claude.json`."""
    for entry in os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[:1]:
        candidate = Path(os.path.expanduser(entry.strip())) / ".claude.json"
        if entry.strip() and candidate.exists():
            return candidate
    return locations.home() / ".claude.json"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pct(value) -> float | None:
    number = _number(value)
    if number is None or number < 0 or number > 1000:
        return None
    return round(number, 2)


def _reset_ms(value) -> int | None:
    """ISO-8601 as documented; epoch seconds or ms accepted too; anything else is None."""
    number = _number(value)
    if number is not None:
        return int(number if number > 1e11 else number * 1000) if number > 0 else None
    if isinstance(value, str) and len(value) < 40:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            return int(parsed.timestamp() * 1000)
    return None


def model_name(scope) -> str | None:
    """`scope.model.display_name` reduced to letters, digits, spaces, dots and dashes (at most 24)."""
    model = scope.get("model") if isinstance(scope, dict) else None
    name = model.get("display_name") if isinstance(model, dict) else None
    if not isinstance(name, str):
        return None
    cleaned = " ".join(_MODEL_NAME.sub("", name)[:24].split())
    return cleaned or None


def model_window(name: str) -> str:
    """"Sonnet" → "week_sonnet"; "Opus 4" → "week_opus_4"."""
    return "week_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def parse_cached(value) -> CachedUsage | None:
    """The `cachedUsageUtilization` object → figures; None when it holds none."""
    if not isinstance(value, dict):
        return None
    fetched = _number(value.get("fetchedAtMs"))
    found: dict[str, CachedLimit] = {}
    utilization = value.get("utilization")
    if isinstance(utilization, dict):
        for key, window in _UTILIZATION_WINDOWS.items():
            entry = utilization.get(key)
            if isinstance(entry, dict) and (pct := _pct(entry.get("utilization"))) is not None:
                found[window] = CachedLimit(window, pct, _reset_ms(entry.get("resets_at")))
        limits = utilization.get("limits", value.get("limits"))
    else:
        limits = value.get("limits")
    for entry in (limits if isinstance(limits, list) else [])[:MAX_LIMITS]:
        if not isinstance(entry, dict) or (pct := _pct(entry.get("percent"))) is None:
            continue
        kind = entry.get("kind")
        model = model_name(entry.get("scope")) if kind == "weekly_scoped" else None
        window = _KIND_WINDOWS.get(kind) if isinstance(kind, str) else None
        if model is not None:
            window = model_window(model)
        if window is None:
            continue
        limit = CachedLimit(window, pct, _reset_ms(entry.get("resets_at")), model)
        # `utilization` and `limits[]` carry the all-model windows twice; a per-model entry names its model.
        if window not in found or model is not None:
            found[window] = limit
    if not found:
        return None
    order = {"five_hour": 0, "week": 1}
    ordered = sorted(found.values(), key=lambda lim: (order.get(lim.window, 2), lim.window))
    return CachedUsage(int(fetched) if fetched is not None and fetched > 0 else None, tuple(ordered))


def read_cached(path: Path | None = None) -> CachedRead:
    """Read the cache; never raises. A missing, unreadable, huge or damaged file gives no figures and a hint."""
    path = path or claude_json_path()
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return CachedRead(path, None, f"{path} is {size // (1024 * 1024)} MB, over the {MAX_BYTES >> 20} MB "
                                          "tokentop reads; its cached official figures were skipped")
        raw = path.read_bytes()
    except FileNotFoundError:
        return CachedRead(path, None, f"no {path}: Claude Code has not cached official figures on this machine")
    except OSError as exc:
        return CachedRead(path, None, f"cannot read {path} ({exc.strerror or type(exc).__name__})")
    try:
        import orjson
        data = orjson.loads(raw)
    except ValueError:
        return CachedRead(path, None, f"{path} is not valid JSON (Claude Code may be writing it); "
                                      "its cached figures were skipped")
    del raw
    cached = data.get(KEY) if isinstance(data, dict) else None
    del data  # the rest of the file (account data) goes no further than this function
    usage = parse_cached(cached)
    if usage is None:
        return CachedRead(path, None, f"{path} holds no cached usage figures yet (Claude Code writes them "
                                      "when it checks your limits)")
    return CachedRead(path, usage)


# -- into the store ---------------------------------------------------------------------------------


def official_samples(usage: CachedUsage, now_ms: int) -> list:
    """The figures that may count as official samples: windows tokentop knows, still open, with a fetch time.

    A figure without `fetchedAtMs` has no age, so it could not be weighed against a statusline sample: skipped."""
    from ..usage.samples import Sample
    from ..usage.windows import OFFICIAL_WINDOWS

    if usage.fetched_ms is None:
        return []
    out = []
    for lim in usage.open_limits(now_ms):
        key = lim.official_key
        if key not in OFFICIAL_WINDOWS and lim.model:  # "Opus 4.1" counts as Opus's weekly cap
            key = "seven_day_" + model_window(lim.model.split()[0])[len("week_"):]
        if key in OFFICIAL_WINDOWS:
            out.append(Sample(key, lim.used_pct, lim.resets_at_ms, min(usage.fetched_ms, now_ms)))  # type: ignore[arg-type]
    return out


def record_cached(store, now_ms: int, usage: CachedUsage | None) -> int:
    """Store the cache's open figures as official samples taken when Claude Code fetched them; how many were new.

    Only the percentages and reset times are stored (as the statusline's are). A statusline sample newer than the
    fetch stays the newest of its window, so the fresher figure wins either way; re-recording the same fetch adds
    nothing (a sample equal to the newest stored one only refreshes its seen time, never backwards)."""
    from ..usage.samples import record_samples

    if usage is None or usage.fetched_ms is None:
        return 0
    samples = official_samples(usage, now_ms)
    return record_samples(store, samples, min(usage.fetched_ms, now_ms)) if samples else 0


STAMP_KEY = "claude_json_stamp"
"""The store's meta key for the file's last recorded (mtime, size): a process that starts often (the statusline)
reads the file again only when it changed, not once per run."""


class CachedWatch:
    """Follows `~/.claude.json`: one stat per check, a read only when its mtime or size changed since the last
    recorded read (kept in memory and in the store's meta table).

    Claude Code rewrites that file for many reasons (project state, startups) and refreshes the cached figures
    rarely, so a changed stat is read, and samples are written only when a figure is new."""

    def __init__(self, path: Path | None = None, *, claim_first: bool = False) -> None:
        self._path = path
        self._seen: str | None = None
        self._claim_first = claim_first
        """Mark the stamp as read before reading: a short-lived process cut off mid-read (the statusline past its
        budget) then costs one read per change of the file, not one per run."""

    def check(self, store, now_ms: int) -> int:
        """New samples recorded by this check (0 when the file is unchanged, missing or holds nothing new)."""
        path = self._path or claude_json_path()
        try:
            st = path.stat()
        except OSError:
            return 0
        stamp = f"{st.st_mtime_ns}:{st.st_size}"
        if self._seen is None:
            self._seen = store.meta(STAMP_KEY)
        if stamp == self._seen:
            return 0
        if self._claim_first:
            store.set_meta(STAMP_KEY, stamp)
        read = read_cached(path)
        new = record_cached(store, now_ms, read.usage)
        store.set_meta(STAMP_KEY, stamp)  # after the write: else a failed one is tried again at the next check
        self._seen = stamp
        return new
