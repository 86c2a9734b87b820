"""Local time at the edges: people type and read Asia/Shanghai, the database keeps naive UTC.

The zone is the `LOCAL_TIMEZONE` setting (default Asia/Shanghai), set once by `configure`. Everything inside the
platform stays UTC (DESIGN.md); only forms and pages convert, through these functions.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


_zone_name = DEFAULT_ZONE


def configure(name: str | None) -> None:
    """Sets the reporting time zone (create_app does, from the settings)."""
    global _zone_name
    _zone_name = name or DEFAULT_ZONE


def zone_name() -> str:
    return _zone_name


# China has kept UTC+8 without daylight saving since 1991: the fallback when a machine has
# no time zone database (a slim container without tzdata).
_SHANGHAI_FIXED = dt.timezone(dt.timedelta(hours=8), DEFAULT_ZONE)


def zone() -> dt.tzinfo:
    for name in (zone_name(), DEFAULT_ZONE):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return _SHANGHAI_FIXED


def to_local(utc_naive: dt.datetime | None) -> dt.datetime | None:
    """A stored naive-UTC time as an aware local time (None stays None)."""
    if utc_naive is None:
        return None
    return utc_naive.replace(tzinfo=dt.timezone.utc).astimezone(zone())


def local_to_utc(local_naive: dt.datetime) -> dt.datetime:
    """A wall-clock local time as naive UTC, the form the database stores."""
    aware = local_naive.replace(tzinfo=zone())
    return aware.astimezone(dt.timezone.utc).replace(tzinfo=None)


def parse_local(text: str | None) -> dt.datetime | None:
    """`2026-03-01T08:30` (what <input type=datetime-local> sends) or with a space; None if
    blank or malformed (the caller turns that into a field error)."""
    value = (text or "").strip()
    if not value:
        return None
    for fmt in INPUT_FORMATS:
        try:
            return dt.datetime.strptime(value[:19], fmt)
        except ValueError:
            continue
    return None


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local calendar day as a naive-UTC half-open range [start, end)."""
    start = dt.datetime.combine(day, dt.time())
    return local_to_utc(start), local_to_utc(start + dt.timedelta(days=1))


def fmt_local(utc_naive: dt.datetime | None, seconds: bool = False) -> str:
    """Stored UTC shown as local wall-clock text, '—' for None."""
    local = to_local(utc_naive)
    if local is None:
        return "—"
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def input_value(utc_naive: dt.datetime | None) -> str:
    """Stored UTC as the value of a datetime-local input (local wall clock)."""
    local = to_local(utc_naive)
    return local.strftime("%Y-%m-%dT%H:%M") if local is not None else ""
