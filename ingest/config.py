"""User settings: the typed `Settings`, loading and validating config.toml, and writing a commented default file."""

from __future__ import annotations

import functools
import json
import math
import os
import re
import string
import tomllib
import typing
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from . import locations
from .clock import known_zone, moment_ms
from .config_lines import dotted as _dotted
from .config_lines import find_line as _find_line
from .pricing import PriceTable, PricingError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK_RESET = re.compile(r"^\s*([a-z]+)\s+(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*$", re.IGNORECASE)
# Where the system zone is recorded; module attributes so tests can point them elsewhere.
_LOCALTIME = "/etc/localtime"
_TIMEZONE_FILE = "/etc/timezone"


@dataclass
class Settings:
    """Everything a user can set in config.toml. Unset keys keep these defaults."""

    db_path: str = ""
    """SQLite database file. Empty: $TOKENTOP_DB, else ~/.claude-usage/usage.db. $TOKENTOP_DB wins over this."""
    timezone: str = ""
    """IANA zone (e.g. "Europe/Berlin") for reports and day boundaries. Empty: the system zone."""
    retention_days: int = 90
    """Per-request rows older than this many days are rolled up into 15-minute rollups, which are kept forever."""
    claude_roots: list[str] = field(default_factory=list)
    """Extra Claude Code projects dirs, besides ~/.claude/projects, ~/.config/claude/projects and $CLAUDE_CONFIG_DIR."""
    openclaw_roots: list[str] = field(default_factory=list)
    """Extra OpenClaw dirs, read besides ~/.openclaw (and its older names) and $OPENCLAW_DIR."""
    poll_interval: float = 10.0
    """Seconds between safety polls of known files (file events do the real work; this catches missed ones)."""
    week_reset: str = ""
    """When your weekly limit resets, e.g. "tue 09:00 Europe/Berlin"; used only when no official reset time is known."""
    weekly_cap_tokens: int = 0
    """Your own weekly cap in tokens (0 = unset)."""
    weekly_cap_usd: float = 0.0
    """Your own weekly cap in estimated USD (0 = unset)."""
    five_hour_cap_tokens: int = 0
    """Your own 5-hour-window cap in tokens (0 = unset)."""
    five_hour_cap_usd: float = 0.0
    """Your own 5-hour-window cap in estimated USD (0 = unset)."""
    monthly_budget_usd: float = 0.0
    """Monthly budget in estimated USD (0 = unset)."""
    api_balance_usd: float = 0.0
    """A prepaid API balance in USD on balance_as_of (0 = unset): the month row shows what is left of it, an estimate
    falling with the list-price cost of API-billed use since then (OpenClaw's own, or any source not in cap_sources)."""
    balance_as_of: str = ""
    """When api_balance_usd was read: "2026-12-01" (local midnight) or "2026-12-01 14:30"; needed with a balance."""
    cap_sources: list[str] = field(default_factory=lambda: ["claude-code"])
    """Sources the weekly and 5-hour subscription gauges count ("claude-code", "openclaw"). OpenClaw's own usage is
    API-billed (an API key, not the subscription), so by default only Claude Code counts; the month budget and the
    spend figures always count every source."""
    alert_thresholds: list[int] = field(default_factory=lambda: [60, 80, 95, 100])
    """Percent-of-cap levels that raise an alert, each 1..1000 (kept sorted)."""
    notify_send: bool = False
    """Send desktop notifications (notify-send) when a threshold is crossed."""
    bell: bool = False
    """Ring the terminal bell when a threshold is crossed."""
    block_at: int = 0
    """Percent of cap at which the hook denies tool calls and prompts, 0..1000 (0 = never block)."""
    statusline_format: str = "week {week_pct} · resets {week_reset} · 5h {five_hour_pct} · {today_cost} today est"
    """Template for the statusline command (Python format fields)."""
    prices: dict = field(default_factory=dict)
    """Price overrides, USD per million tokens: [prices."<model prefix>"] tables shaped like the shipped prices.toml.
    A partial table changes only the keys it names; a new prefix must give input, output, cache_write_5m,
    cache_write_1h and cache_read."""
    keys: dict[str, str] = field(default_factory=dict)
    """Key remapping for the TUI: binding id = "key[,key…]", e.g. quit = "q,ctrl+c"."""
    sync_dir: str = ""
    """A folder another tool copies between your machines (Syncthing, Dropbox, a share): each tokentop publishes
    its usage there and merges the others'. Empty: $TOKENTOP_SYNC_DIR, else no syncing. $TOKENTOP_SYNC_DIR wins."""
    machine_name: str = ""
    """This machine's name in the sync folder and in reports. Empty: $TOKENTOP_MACHINE, else the host name."""

    def db_file(self) -> Path:
        """The database: $TOKENTOP_DB, else db_path, else the default (env wins so one run can point elsewhere)."""
        if self.db_path and not os.environ.get("TOKENTOP_DB", "").strip():
            return Path(self.db_path).expanduser()
        return locations.default_db_path()

    def sync_folder(self) -> Path | None:
        """The sync folder: $TOKENTOP_SYNC_DIR, else sync_dir, else None (no syncing)."""
        value = os.environ.get("TOKENTOP_SYNC_DIR", "").strip() or self.sync_dir.strip()
        return Path(value).expanduser() if value else None

    def machine(self) -> str:
        """This machine's name: $TOKENTOP_MACHINE, else machine_name, else the host name (cleaned to a safe name)."""
        from .machine_names import clean_machine_name, local_host_name
        value = os.environ.get("TOKENTOP_MACHINE", "").strip() or self.machine_name.strip()
        return clean_machine_name(value) if value else local_host_name()

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone) if self.timezone else system_zone()


class ConfigError(Exception):
    """A config file that cannot be used; str() reads `<file> line <n>: <problem>`."""

    def __init__(self, path: Path | str, message: str, key: str | None = None, line: int | None = None) -> None:
        self.path = Path(path)
        self.message = message
        self.key = key
        self.line = line
        super().__init__(f"{path}{f' line {line}' if line else ''}: {message}")


class _Invalid(Exception):
    """A validation problem, plus the sub-key path below the setting it concerns (to find its line)."""

    def __init__(self, problem: str, subpath: tuple[str, ...] = ()) -> None:
        super().__init__(problem)
        self.subpath = subpath


# --- validation --------------------------------------------------------------------------------------------


def _show(value: object) -> str:
    """A value as the user wrote it in TOML, for error messages."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _zone_ok(name: str) -> bool:
    return known_zone(name) is not None


def parse_week_reset(s: str) -> tuple[int, int, int, str | None]:
    """Parse "<weekday> HH:MM [Zone]", e.g. "tue 09:00 Europe/Berlin", into (weekday 0=Mon, hour, minute, zone|None)."""
    m = _WEEK_RESET.match(s)
    if not m:
        raise ValueError(f'expected "<weekday> HH:MM [Zone]", e.g. "tue 09:00 Europe/Berlin", got {_show(s)}')
    day, hour, minute, zone = m[1].lower(), int(m[2]), int(m[3]), m[4]
    weekday = next((i for i, name in enumerate(WEEKDAYS) if len(day) >= 3 and name.startswith(day)), None)
    if weekday is None:
        raise ValueError(f"unknown weekday {_show(m[1])} (use mon, tue, wed, thu, fri, sat or sun)")
    if hour > 23 or minute > 59:
        raise ValueError(f"{m[2]}:{m[3]} is not a time of day (00:00..23:59)")
    if zone is not None and not _zone_ok(zone):
        raise ValueError(f"unknown time zone {_show(zone)} (use an IANA name such as Europe/Berlin)")
    return weekday, hour, minute, zone


def _check_type(value: object, hint: object) -> object:
    """Check `value` against a field's type; return it converted (int -> float where a float is wanted)."""
    origin, args = typing.get_origin(hint) or hint, typing.get_args(hint)
    if origin is bool:
        if not isinstance(value, bool):
            raise _Invalid(f"must be true or false, got {_show(value)}")
    elif origin is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Invalid(f"must be a whole number, got {_show(value)}")
    elif origin is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise _Invalid(f"must be a number, got {_show(value)}")
        return float(value)
    elif origin is str:
        if not isinstance(value, str):
            raise _Invalid(f"must be a string in quotes, got {_show(value)}")
    elif origin is list:
        if not isinstance(value, list):
            raise _Invalid(f"must be a list, e.g. [..., ...], got {_show(value)}")
        try:
            return [_check_type(item, args[0]) for item in value]
        except _Invalid as exc:
            raise _Invalid(f"items {exc}") from None
    elif origin is dict:
        if not isinstance(value, dict):
            raise _Invalid(f"must be a table, got {_show(value)}")
        if args:
            for key, item in value.items():
                try:
                    _check_type(item, args[1])
                except _Invalid as exc:
                    raise _Invalid(str(exc), (key,)) from None
    return value


def _at_least(low: int):
    def check(value):
        if value < low:
            raise _Invalid(f"must be at least {low}, got {_show(value)}")

    return check


def _in_range(low: int, high: int):
    def check(value):
        for v in value if isinstance(value, list) else [value]:
            if not low <= v <= high:
                raise _Invalid(f"must be between {low} and {high}, got {_show(v)}")

    return check


def _check_timezone(value: str) -> None:
    if value and not _zone_ok(value):
        raise _Invalid(f"is not a known time zone: {_show(value)} (use an IANA name such as Europe/Berlin)")


def _parses(parse):
    """A check that a non-empty string parses (`parse` raises ValueError with the problem)."""
    def check(value: str) -> None:
        if value:
            try:
                parse(value)
            except ValueError as exc:
                raise _Invalid(str(exc)) from None
    return check


def _check_format(value: str) -> None:
    try:
        list(string.Formatter().parse(value))
    except ValueError as exc:
        raise _Invalid(f"is not a valid format string ({exc}): {_show(value)}") from None


def _check_prices(value: dict) -> None:
    try:
        PriceTable.load(overrides=value)
    except PricingError as exc:
        subpath = (exc.prefix, *(exc.key.split(".") if exc.key else ())) if exc.prefix else ()
        raise _Invalid(exc.problem, subpath) from None


def _check_sources(value: list) -> None:
    from .records import SOURCES
    bad = [v for v in value if v not in SOURCES]
    if bad or not value:
        raise _Invalid(f"must list some of {', '.join(SOURCES)}, got {_show(value)}")


def _check_machine_name(value: str) -> None:
    from .machine_names import clean_machine_name
    if value.strip() and clean_machine_name(value) != value.strip():
        raise _Invalid(f"{_show(value)} is not a usable machine name: use letters, digits, '.', '_' or '-' "
                       f"(at most 64), e.g. {_show(clean_machine_name(value))}")


def _positive(value: float) -> None:
    if value <= 0:
        raise _Invalid(f"must be more than 0, got {_show(value)}")


_RANGES = {
    "timezone": _check_timezone,
    "retention_days": _at_least(1),
    "poll_interval": _positive,
    "week_reset": _parses(parse_week_reset),
    "weekly_cap_tokens": _at_least(0),
    "weekly_cap_usd": _at_least(0),
    "five_hour_cap_tokens": _at_least(0),
    "five_hour_cap_usd": _at_least(0),
    "monthly_budget_usd": _at_least(0),
    "api_balance_usd": _at_least(0),
    "balance_as_of": _parses(lambda v: moment_ms(v, ZoneInfo("UTC"))),
    "alert_thresholds": _in_range(1, 1000),
    "cap_sources": _check_sources,
    "block_at": _in_range(0, 1000),
    "statusline_format": _check_format,
    "prices": _check_prices,
    "machine_name": lambda value: _check_machine_name(value),
}


# --- loading -----------------------------------------------------------------------------------------------


@functools.cache
def _hints() -> dict[str, object]:
    return typing.get_type_hints(Settings)


def parse_settings(text: str, path: Path | str = "config.toml") -> Settings:
    """Validate config text into Settings; every error names the file, the key and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        line = int(m[1]) if m else len(text.splitlines()) or None
        if m:
            msg = f"{msg[: m.start()]} (column {m[2]})"
        raise ConfigError(path, f"invalid TOML: {msg}", line=line) from None

    hints = _hints()
    values = {}
    for key, value in data.items():
        if key == "balance_as_of" and isinstance(value, (date, datetime)):
            value = str(value)  # a bare TOML date or time reads as written
        if key not in hints:
            import difflib  # only for a misspelt key: kept off the statusline's and hook's start-up path
            close = difflib.get_close_matches(key, list(hints), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise ConfigError(path, f"unknown setting {_show(key)}{hint}", key, _find_line(text, (key,)))
        try:
            value = _check_type(value, hints[key])
            if key in _RANGES:
                _RANGES[key](value)
        except _Invalid as exc:
            sub = (key, *exc.subpath)
            raise ConfigError(path, f"{_dotted(sub)} {exc}", _dotted(sub), _find_line(text, sub)) from None
        if key == "alert_thresholds":
            value = sorted(set(value))
        values[key] = value
    if values.get("api_balance_usd") and not values.get("balance_as_of"):
        raise ConfigError(path, "api_balance_usd needs balance_as_of: the day (or time) the balance was read, e.g. "
                          '"2026-12-01"', "api_balance_usd", _find_line(text, ("api_balance_usd",)))
    return Settings(**values)


def load_settings(path: Path | None = None) -> Settings:
    """Settings from `path` (default: locations.config_path()); a missing file means all defaults."""
    path = Path(path) if path is not None else locations.config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}") from None
    return parse_settings(text, path)


def system_zone() -> ZoneInfo:
    """The machine's zone: $TZ, else the /etc/localtime symlink, else /etc/timezone, else UTC."""
    candidates = [os.environ.get("TZ", "").strip().lstrip(":")]
    try:
        candidates.append(os.readlink(_LOCALTIME))
    except OSError:
        pass
    try:
        candidates.append(Path(_TIMEZONE_FILE).read_text().strip())
    except OSError:
        pass
    for name in candidates:
        # TZ and the symlink may be full paths: keep what follows ".../zoneinfo/".
        name = name.rpartition("zoneinfo/")[2]
        if name and _zone_ok(name):
            return ZoneInfo(name)
    return ZoneInfo("UTC")


# --- the default file --------------------------------------------------------------------------------------


@functools.cache
def field_docs() -> dict[str, str]:
    """Each Settings field's attribute docstring, read from this module's source."""
    try:
        import ast  # the docstrings are read only to write the default file or show help: a lazy import
        import inspect
        import textwrap
        tree = ast.parse(textwrap.dedent(inspect.getsource(Settings)))
    except (OSError, TypeError):  # no source shipped (e.g. a .pyc-only install)
        return {}
    body = tree.body[0].body
    docs = {}
    for node, after in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def default_config_text() -> str:
    """A config.toml listing every setting with its docstring and default, all commented out."""
    import textwrap
    out = [
        "# tokentop configuration. Every setting is listed with its default, commented out:",
        "# remove the leading '#' to change one. Costs are estimates from list prices.",
        "",
    ]
    defaults = Settings()
    # Tables go last: in TOML, plain keys after a [table] header would belong to that table.
    for f in sorted(fields(Settings), key=lambda f: isinstance(getattr(defaults, f.name), dict)):
        out += textwrap.wrap(field_docs().get(f.name, ""), 100, initial_indent="# ", subsequent_indent="# ")
        value = getattr(defaults, f.name)
        out.append(f"#[{f.name}]" if isinstance(value, dict) else f"#{f.name} = {_toml_value(value)}")
        out.append("")
    return "\n".join(out)


def write_default_config(path: Path | None = None, force: bool = False) -> Path:
    """Write default_config_text() to `path` (default: locations.config_path()); never overwrite unless `force`."""
    path = Path(path) if path is not None else locations.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # "x" makes the existence check and the create one atomic step.
    with open(path, "w" if force else "x", encoding="utf-8") as fh:
        fh.write(default_config_text())
    return path
