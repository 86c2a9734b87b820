"""A device's UTC offset from the TZ string of GetSystemDateAndTime.

Some firmwares answer GetSystemDateAndTime with LocalDateTime only (no UTCDateTime); the
clock offset then has to come from local time and the zone. ONVIF specifies the POSIX 1003.1
form (``CST-8``, ``CST-8:00:00``, ``EST5EDT,M3.2.0,M11.1.0``: the offset is *west* of UTC,
so ``CST-8`` is UTC+8); newer firmwares send an IANA name (``Asia/Shanghai``).

For a POSIX zone with a daylight-saving part the device's own DaylightSavings flag
("currently on", per ONVIF) chooses the offset; the transition rules are not evaluated.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Optional

_POSIX = re.compile(
    r"^\s*(?P<std><[^>]{1,16}>|[A-Za-z]{3,16})"
    r"(?P<off>[+-]?\d{1,2}(?::\d{1,2}(?::\d{1,2})?)?)"
    r"(?:(?P<dst><[^>]{1,16}>|[A-Za-z]{3,16})"
    r"(?P<dstoff>[+-]?\d{1,2}(?::\d{1,2}(?::\d{1,2})?)?)?(?:,.*)?)?\s*$")


def _hms(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    if parts[0] > 24 or parts[1] > 59 or parts[2] > 59:
        raise ValueError(text)
    return sign * timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


def posix_offset(tz: str, dst_on: bool = False) -> Optional[timedelta]:
    """Offset east of UTC for a POSIX TZ string, or None when it is not one."""
    m = _POSIX.match(tz or "")
    if not m:
        return None
    try:
        std = -_hms(m.group("off"))
        if dst_on and m.group("dst"):
            return -_hms(m.group("dstoff")) if m.group("dstoff") else std + timedelta(hours=1)
    except ValueError:
        return None
    return std


def iana_offset(tz: str, local: datetime) -> Optional[timedelta]:
    """Offset east of UTC of an IANA zone at this local wall time, or None."""
    try:
        from zoneinfo import ZoneInfo
        zone = ZoneInfo((tz or "").strip())
    except (ValueError, KeyError, OSError, ImportError):
        # ZoneInfoNotFoundError is a KeyError; a malformed key is a ValueError.
        return None
    return local.replace(tzinfo=None).replace(tzinfo=zone).utcoffset()


def utc_offset(tz: Optional[str], local: datetime, dst_on: bool = False) -> Optional[timedelta]:
    """The device's offset east of UTC from its TZ string; None when it cannot be read."""
    if not tz or len(tz) > 100:
        return None
    tz = tz.strip()
    if "/" in tz:
        return iana_offset(tz, local)
    found = posix_offset(tz, dst_on)
    return found if found is not None else iana_offset(tz, local)
