"""The statusline's and the hook's fast path, and the line they print: standard library plus `clock` and `text`.

Claude Code runs `tokentop statusline` every few hundred ms and `tokentop hook` before every tool call. Importing the
store, the usage maths, the parsers and the pricing table took most of their 114–138 ms, so they answer from a small
state file instead (`<db>.line.json`, replaced atomically by whoever last read the store: the live service after
each commit, or the slow path of either command). The file holds numbers only — the figures the line shows (the
windows' and the per-model caps' statuses, today's spend and unpriced count, the balance and ETA if the format
shows them), the newest official sample of each window, whether the hook has anything to say — and what they
were computed from: the store's fingerprint (size, mtime and inode of the database and its WAL), the config
file's, the zone's, the stamp of Claude Code's `~/.claude.json` the store last recorded. Anything that does not
match, a state older than MAX_AGE_MS, a sample that must be recorded (the payload's, or a changed
`~/.claude.json`'s), or a field the state lacks: the fast path declines (returns None) and the command runs in
full, as before.

`line_values` is the one place the line's fields are filled, from the payload and the store's figures, on both
paths: a new field goes there, and its figures into `statusline.store_figures` (which the state file carries)."""

from __future__ import annotations

import json
import math
import os
import re

from ..text import UNKNOWN, clock_time, dollars, pct_text, reset_text

STATE_VERSION = 2
MAX_AGE_MS = 60_000
"""A state answers for at most this long after it was computed, even with the store unchanged: windows move with
time alone (a rolling week, an official figure going stale), and one slow run a minute refreshes it."""
DEFAULT_FORMAT = "week {week_pct} · resets {week_reset} · 5h {five_hour_pct} · {today_cost} today est"
FIELDS = ("week_pct", "week_reset", "five_hour_pct", "five_hour_reset", "today_cost", "week_eta", "model", "source",
          "opus_pct", "sonnet_pct", "fable_pct", "model_caps", "balance_left")
MODEL_FIELDS = {"opus_pct": "week_opus", "sonnet_pct": "week_sonnet", "fable_pct": "week_fable"}
"""The per-model weekly caps' fields; `model_caps` lists those known ("Fable 83% · Sonnet 12%"), or is empty."""
MODEL_NAMES = frozenset({*MODEL_FIELDS, "model_caps"})
FIGURE_ATTRS = ("name", "used_pct", "source", "window_source", "start_ms", "end_ms")
"""What of a window's status the line reads (text.pct_text / reset_text), and all the state file keeps of it."""

# Mirrors of usage.windows / usage.samples (importing those costs the dataclasses and typing machinery);
# tests/core/test_quick_path.py checks that they agree.
OFFICIAL_WINDOWS = {"seven_day": "week", "five_hour": "five_hour", "seven_day_opus": "week_opus",
                    "seven_day_sonnet": "week_sonnet", "seven_day_fable": "week_fable"}
_MINUTE_MS = 60_000
WINDOW_LENGTH_MS = {"five_hour": 5 * 3_600_000, "seven_day": 7 * 86_400_000, "seven_day_opus": 7 * 86_400_000,
                    "seven_day_sonnet": 7 * 86_400_000, "seven_day_fable": 7 * 86_400_000}
SEEN_REFRESH_MS = _MINUTE_MS

# "claude-opus-4-6" → Opus 4.6; one or two digits only, so a date ("claude-3-5-sonnet-20241022") is not a version.
_MODEL_ID = re.compile(r"(opus|sonnet|haiku)-(\d{1,2})(?:[-.](\d{1,2}))?(?!\d)")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


# -- the payload ------------------------------------------------------------------------------------

def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def round_minute(ms: int) -> int:
    # resets_at is a fixed instant; rounding absorbs any seconds of jitter between builds so one window keeps one key.
    return (ms + _MINUTE_MS // 2) // _MINUTE_MS * _MINUTE_MS


def _epoch_ms(value) -> int | None:
    """resets_at: epoch seconds (documented); epoch ms and ISO-8601 accepted too, anything else is None."""
    number = _number(value)
    if number is not None:
        if number <= 0:
            return None
        return int(number if number > 1e11 else number * 1000)
    if isinstance(value, str) and len(value) < 40:
        from datetime import datetime
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
        from ..safe_text import clean
        # Whole escape sequences go first, so their parameters do not survive as letters.
        cleaned = re.sub(r"[^A-Za-z0-9 .()-]", "", clean(name))[:24].strip()
        return cleaned or None
    return None


def parse_payload(text: str | bytes) -> tuple[list[tuple[str, float, int | None]], str | None, str | None]:
    """The statusline payload → ([(official key, used %, reset ms rounded to the minute)], session id, model);
    garbage → nothing."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return [], None, None
    if not isinstance(data, dict):
        return [], None, None
    session = data.get("session_id")
    session = session if isinstance(session, str) and _SESSION_ID.match(session) else None
    model = model_label(data.get("model"))
    limits = data.get("rate_limits")
    samples: list[tuple[str, float, int | None]] = []
    if isinstance(limits, dict):
        for key in OFFICIAL_WINDOWS:
            entry = limits.get(key)
            if not isinstance(entry, dict):
                continue
            pct = _number(entry.get("used_percentage"))
            if pct is None or not 0 <= pct <= 1000:
                continue
            resets = _epoch_ms(entry.get("resets_at"))
            samples.append((key, pct, round_minute(resets) if resets is not None else None))
    return samples, session, model


# -- the line ---------------------------------------------------------------------------------------

class _Fields(dict):
    def __missing__(self, key):  # an unknown {field} in the user's format shows as "?" rather than failing
        return "?"


def usable_format(fmt: str | None) -> str:
    """The user's format if it can be filled, else the default one."""
    fmt = fmt or DEFAULT_FORMAT
    try:
        fmt.format_map(_Fields(dict.fromkeys(FIELDS, "")))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return DEFAULT_FORMAT
    return fmt


def format_line(fmt: str, values: dict[str, str]) -> str:
    """The user's format filled in; a format that cannot be filled falls back to the default one."""
    mapping = _Fields(values)
    try:
        line = fmt.format_map(mapping)
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        line = DEFAULT_FORMAT.format_map(mapping)
    return " ".join(line.splitlines())  # one line, whatever the format holds


def format_fields(fmt: str) -> set[str]:
    import string
    try:
        return {name for _, name, _, _ in string.Formatter().parse(fmt) if name}
    except ValueError:
        return set(FIELDS)


def complete_windows(samples, now: int) -> set[str]:
    """Windows the payload fully describes (a % and a reset still ahead)."""
    return {OFFICIAL_WINDOWS[key] for key, _, resets in samples if resets and resets > now}


def needed_figures(samples, wanted: set[str], now: int) -> set[str]:
    """Which of the store's figures the line needs: windows the payload lacks (and the format shows), the
    per-model caps (all three for any of their fields), today's cost and unpriced count, the week's ETA, the
    prepaid balance."""
    complete = complete_windows(samples, now)
    names = {w for w in ("week", "five_hour") if w not in complete
             and ({f"{w}_pct", f"{w}_reset"} & wanted or (w == "week" and "source" in wanted))}
    if "week_eta" in wanted:
        names.add("week_eta_ms")
    if "today_cost" in wanted:
        names |= {"today_cost_usd", "today_unpriced"}
    if MODEL_NAMES & wanted:
        names |= set(MODEL_FIELDS.values())
    if "balance_left" in wanted:
        names.add("balance_left_usd")
    return names


def model_values(figures: dict) -> dict[str, str]:
    """The per-model fields from their windows' statuses in `figures`; `model_caps` highest first."""
    values, shown = {}, []
    for field_name, window in MODEL_FIELDS.items():
        status = figures.get(window)
        values[field_name] = pct_text(status)
        if status is not None and status.used_pct is not None:
            shown.append((status.used_pct, f"{field_name[:-4].capitalize()} {pct_text(status)}"))
    values["model_caps"] = " · ".join(text for _, text in sorted(shown, key=lambda p: -p[0]))
    return values


def line_values(samples, model: str | None, figures: dict, zone, now: int) -> dict[str, str]:
    """Every field of the line: the payload's official numbers first (the freshest there are), then what
    `figures` holds from the store — a window's status (anything with FIGURE_ATTRS; None: not known) for each
    window the payload does not fully describe, the per-model windows, "today_cost_usd" / "today_unpriced",
    "week_eta_ms", "balance_left_usd". A figure absent from `figures` reads "–" (`model_caps`: empty)."""
    values = {name: UNKNOWN for name in FIELDS}
    values["model_caps"] = ""
    values["model"] = model or UNKNOWN
    for key, pct, resets in samples:
        name = OFFICIAL_WINDOWS[key]
        if name in ("week", "five_hour"):
            values[f"{name}_pct"] = f"{pct:.0f}%"
            if resets and resets > now:
                values[f"{name}_reset"] = clock_time(resets, zone, now)
            if name == "week":
                values["source"] = "official"
    complete = complete_windows(samples, now)
    for name in ("week", "five_hour"):
        if name in complete or name not in figures:
            continue
        status = figures[name]
        values[f"{name}_pct"] = pct_text(status)
        values[f"{name}_reset"] = reset_text(status, zone, now)
        if name == "week" and status is not None:
            values["source"] = status.source
    if figures.get("week_eta_ms") is not None:
        values["week_eta"] = clock_time(figures["week_eta_ms"], zone, now)
    if figures.get("today_cost_usd") is not None:  # "≥ $12.40 · 3 unpriced" with unpriced requests in it
        values["today_cost"] = dollars(figures["today_cost_usd"], figures.get("today_unpriced") or 0)
    if any(window in figures for window in MODEL_FIELDS.values()):
        values.update(model_values(figures))
    if "balance_left_usd" in figures:  # the prepaid API balance, an estimate: "≈$81.20"
        left = figures["balance_left_usd"]
        values["balance_left"] = f"≈{dollars(left)}" if left is not None else UNKNOWN
    return values


# -- the state file ---------------------------------------------------------------------------------

def state_path(db_path) -> str:
    return os.fspath(db_path) + ".line.json"


def store_fingerprint(db_path) -> list:
    """Changes with every commit to the store: the database's and the WAL's inode, size and mtime. Only stat(),
    never open(): closing any descriptor of a file drops every POSIX lock the process holds on it, and the writer
    computes this beside its own SQLite connection. (Two commits within one tick of the file system's clock, the
    second after a WAL reset left the size unchanged, would look alike; the state's age bounds that.)"""
    db = os.fspath(db_path)
    try:
        st = os.stat(db)
    except OSError:
        return ["absent"]
    out: list = [st.st_ino, st.st_size, st.st_mtime_ns]
    try:
        wal = os.stat(db + "-wal")
    except OSError:
        return out
    if wal.st_size:
        out += [wal.st_ino, wal.st_size, wal.st_mtime_ns]
    return out


def file_fingerprint(path) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [os.fspath(path), None]
    return [os.fspath(path), st.st_size, st.st_mtime_ns]


def zone_inputs() -> list:
    """What the system zone is read from (config.system_zone): a zone recorded under other inputs is not used."""
    out: list = [os.environ.get("TZ", "")]
    try:
        out.append(os.readlink("/etc/localtime"))
    except OSError:
        out.append(None)
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            out.append(f.read(200))
    except (OSError, ValueError):
        out.append(None)
    return out


def claude_json_stamp() -> str | None:
    """The (mtime, size) stamp `cached_usage.CachedWatch` compares with the one the store recorded, for the file
    `cached_usage.claude_json_path` names (mirrored here); None when there is no file to read."""
    path = os.path.join(os.path.expanduser("~"), ".claude.json")
    for entry in os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[:1]:
        candidate = os.path.join(os.path.expanduser(entry.strip()), ".claude.json")
        if entry.strip() and os.path.exists(candidate):
            path = candidate
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_mtime_ns}:{st.st_size}"


def load_state(db_path, config_path, now: int) -> dict | None:
    """The state file if it describes this store, this config and this zone as they are now; else None."""
    try:
        with open(state_path(db_path), "rb") as f:
            state = json.loads(f.read(1 << 20))
        if (not isinstance(state, dict) or state.get("v") != STATE_VERSION
                or state.get("db") != os.fspath(db_path)
                or not state["computed_ms"] <= now < state["valid_until_ms"]
                or state.get("config") != file_fingerprint(config_path)
                or state.get("store") != store_fingerprint(db_path)
                or (state.get("zone_inputs") is not None and state["zone_inputs"] != zone_inputs())):
            return None
        return state
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _zone(name: str):
    from zoneinfo import ZoneInfo
    return ZoneInfo(name)


class _Figure:
    """A window's figures read back from the state, with the attributes text.pct_text / reset_text read."""

    def __init__(self, data: dict):
        for attr in FIGURE_ATTRS:
            setattr(self, attr, data[attr])


def figures_from_state(data: dict) -> dict:
    return {key: (_Figure(value) if isinstance(value, dict) else value) for key, value in data.items()}


def needs_recording(samples, latest: dict, now: int) -> bool:
    """Whether `usage.samples.record_samples` would write anything for these samples, given the newest stored
    sample of each window as [used %, reset ms, seen ms]."""
    for key, pct, resets in samples:
        last = latest.get(key)
        if resets is None:
            if last is None or last[1] <= now:
                continue
            resets = last[1]
        length = WINDOW_LENGTH_MS.get(key)
        if length is not None and not now - _MINUTE_MS <= resets <= now + length + _MINUTE_MS:
            continue
        if last is not None and last[0] == pct and last[1] == resets:
            if now - last[2] >= SEEN_REFRESH_MS:
                return True
            continue
        return True
    return False


def statusline(stdin: bytes, db_path, config_path, now: int) -> str | None:
    """The line from the state file, or None when only the full command can answer."""
    state = load_state(db_path, config_path, now)
    if state is None or not isinstance(state.get("line"), dict):
        return None
    samples, _session, model = parse_payload(stdin)
    if needs_recording(samples, state.get("samples") or {}, now):
        return None
    stamp = claude_json_stamp()
    if stamp is not None and stamp != state.get("claude_json"):
        return None  # Claude Code's cached figures changed since the store read them: the full path records them
    fmt = usable_format(state.get("format"))
    figures = state["line"]
    needed = needed_figures(samples, format_fields(fmt), now)
    if not needed <= figures.keys() or ("week_eta_ms" in needed and not state.get("eta")):
        return None
    chosen = {name: figures[name] for name in needed}
    zone = _zone(state["zone"])
    return format_line(fmt, line_values(samples, model, figures_from_state(chosen), zone, now))


def hook_is_quiet(db_path, config_path, now: int) -> bool:
    """True when the hook certainly has nothing to say (no history, or the state says no window is to be blocked
    or warned about until a moment still ahead); False when only the full command can tell."""
    if not os.path.exists(db_path):
        return True  # no history yet: the full command says nothing either, and creates nothing
    state = load_state(db_path, config_path, now)
    hook = state.get("hook") if state is not None else None
    return isinstance(hook, dict) and now < hook.get("quiet_until_ms", 0)
