"""Time in tokentop: Unix milliseconds, the span constants, and local days and wall times in a zone."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
"""24 hours: a span, not a local day (those are 23 or 25 hours across a DST change; use `day_start_ms`)."""
WEEK_MS = 7 * DAY_MS

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "MINUTE_MS",
    "WEEK_MS",
    "day_start_ms",
    "known_zone",
    "local_day",
    "local_ms",
    "local_time",
    "next_midnight_ms",
    "now_ms",
    "to_ms",
    "utc_offset_ms",
]


def now_ms() -> int:
    """The wall clock, in Unix ms."""
    return int(time.time() * 1000)


def to_ms(dt: datetime) -> int:
    """An aware datetime as Unix ms (truncated, as every stored timestamp is)."""
    return int(dt.timestamp() * 1000)


def local_time(ms: int, zone: tzinfo) -> datetime:
    """The wall time of an instant in `zone`."""
    return datetime.fromtimestamp(ms / 1000, zone)


def local_day(ms: int, zone: tzinfo) -> date:
    """The local calendar day an instant falls on in `zone`."""
    return local_time(ms, zone).date()


def local_ms(day: date, hour: int, minute: int, zone: tzinfo) -> int:
    """The instant (Unix ms) of a wall time in `zone`. A time skipped by a DST change maps with the offset before
    the change (fold=0), i.e. an hour later on the wall clock; a repeated one maps to its first occurrence."""
    return to_ms(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone))


def day_start_ms(day: date, zone: tzinfo) -> int:
    """Local midnight starting `day` in `zone`."""
    return local_ms(day, 0, 0, zone)


def next_midnight_ms(ms: int, zone: tzinfo) -> int:
    """The local midnight that ends the day `ms` falls on."""
    return day_start_ms(local_day(ms, zone) + timedelta(days=1), zone)


def utc_offset_ms(ms: int, zone: tzinfo) -> int:
    """The zone's offset from UTC at that instant."""
    offset = local_time(ms, zone).utcoffset()
    return int(offset.total_seconds() * 1000) if offset is not None else 0


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None when this machine does not know it. Config resolves every zone through
    this once, at load, so an unknown zone is a config error there and nowhere else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def moment_ms(text: str, zone: tzinfo) -> int:
    """"2026-12-01" (local midnight), "2026-12-01 14:30" (local) or an ISO time with an offset → Unix ms, in `zone`
    unless the text names its own offset. ValueError for anything else."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'expected a date or time such as "2026-12-01" or "2026-12-01 14:30", got "{text}"') from None
    return to_ms(moment if moment.tzinfo else moment.replace(tzinfo=zone))
