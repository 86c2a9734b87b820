"""A device's clock offset as an interval, from whole-second readings.

ONVIF's GetSystemDateAndTime gives whole seconds (truncated: a device showing ``s`` is
somewhere in [s, s+1)), and the device read its clock at some instant between our
request leaving and its answer arriving. One reading ``s`` taken between platform times
``t_send`` and ``t_recv`` therefore bounds the offset (device − platform) to

    [s − t_recv,  s + 1 − t_send]

a width of one second plus the round trip. Readings taken at different phases of the
device's second narrow it: the intersection of their intervals. ``next_read_at`` picks
the platform time at which the device's next second tick splits the current interval
in two, so each further reading halves it (bisection on the tick).

A limit is breached only when the whole interval lies beyond it (``beyond``); when
the interval straddles the limit the reading is ambiguous and worth refining.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

RESOLUTION_S = 1.0          # ONVIF's date-time has whole seconds


@dataclass(frozen=True)
class OffsetBounds:
    lo: float               # device − platform, seconds
    hi: float

    @property
    def center(self) -> float:
        return (self.lo + self.hi) / 2.0

    @property
    def uncertainty(self) -> float:
        """Half the interval's width: the estimate is ``center`` ± this."""
        return (self.hi - self.lo) / 2.0


def bounds_from_read(device_seconds: float, t_send: float, t_recv: float,
                     resolution: float = RESOLUTION_S) -> OffsetBounds:
    """The offset interval of one reading (``device_seconds`` as POSIX seconds, the
    platform's ``t_send``/``t_recv`` on the wall clock)."""
    return OffsetBounds(device_seconds - t_recv, device_seconds + resolution - t_send)


STORED_DECIMALS = 3         # an offset and its uncertainty are kept to the millisecond


def stored_figures(bounds: OffsetBounds) -> tuple[float, float]:
    """(offset, uncertainty) as a reading stores them: rounded to the millisecond."""
    return round(bounds.center, STORED_DECIMALS), round(bounds.uncertainty, STORED_DECIMALS)


def as_stored(bounds: OffsetBounds) -> OffsetBounds:
    """The interval as the stored reading gives it back: what the rules judge, so what
    refining must settle. An interval whose edge lies within a millisecond of the limit
    can be beyond it exactly and not once rounded."""
    c, u = stored_figures(bounds)
    return OffsetBounds(c - u, c + u)


def intersect(a: OffsetBounds, b: OffsetBounds) -> OffsetBounds:
    """Both readings hold: the overlap. Disjoint readings (the device clock was set
    between them) keep the newer one."""
    lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
    return OffsetBounds(lo, hi) if lo <= hi else b


def beyond(bounds: OffsetBounds, tolerance: float) -> Optional[bool]:
    """True: beyond ``tolerance`` whatever the true offset in the interval; False:
    within it; None: the interval straddles the limit (ambiguous)."""
    if bounds.lo > tolerance or bounds.hi < -tolerance:
        return True
    if bounds.lo >= -tolerance and bounds.hi <= tolerance:
        return False
    return None


def drift_beyond(offset: float, uncertainty: float, tolerance: float) -> bool:
    """The rule for a stored reading: drift only when |offset| exceeds the tolerance
    by more than the reading's uncertainty."""
    return abs(offset) - max(0.0, uncertainty) > tolerance


def next_read_at(bounds: OffsetBounds, now: float, rtt: float,
                 resolution: float = RESOLUTION_S) -> float:
    """Platform time (wall clock) to send the next request so the device reads its
    clock when its second ticks at the interval's middle: the answer then tells which
    half holds the offset. The soonest such time after ``now``."""
    mid = bounds.center
    # The device reads at about send + rtt/2; we want read + mid to be a whole second.
    k = math.ceil((now + rtt / 2.0 + mid) / resolution)
    return k * resolution - mid - rtt / 2.0
