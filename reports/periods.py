"""Reporting periods: cut at local-time boundaries of the reporting time zone.

A period is a run of local calendar days [first, after) — a day, a month, a quarter, a year
or a contract's life — and its naive-UTC half-open range [lo, hi), the form stored times
take. Asia/Shanghai has no daylight saving, but the conversion goes through the zone so a
city in another zone gets its own midnights.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from supervisor.core.localtime import local_to_utc


@dataclass(frozen=True)
class Period:
    label: str          # "2026-03", "2026-Q1", "2026", "2026-03-05", "CT-1 2026-01..2030-12"
    kind: str           # day | month | quarter | year | range
    first: dt.date      # first local day in the period
    after: dt.date      # first local day after it

    @property
    def lo(self) -> dt.datetime:
        """Naive UTC start (local midnight of `first`)."""
        return local_to_utc(dt.datetime.combine(self.first, dt.time()))

    @property
    def hi(self) -> dt.datetime:
        """Naive UTC end, exclusive (local midnight of `after`)."""
        return local_to_utc(dt.datetime.combine(self.after, dt.time()))

    @property
    def seconds(self) -> int:
        return int((self.hi - self.lo).total_seconds())

    def months(self) -> list["Period"]:
        """The calendar months this period touches, each clipped to the period."""
        out, cur = [], self.first.replace(day=1)
        while cur < self.after:
            m = month(cur.year, cur.month)
            out.append(Period(m.label, "month", max(m.first, self.first), min(m.after, self.after)))
            cur = m.after
        return out


def add_months(day: dt.date, n: int) -> dt.date:
    idx = day.year * 12 + day.month - 1 + n
    return dt.date(idx // 12, idx % 12 + 1, 1)


def month(year: int, mon: int) -> Period:
    first = dt.date(year, mon, 1)
    return Period(f"{year:04d}-{mon:02d}", "month", first, add_months(first, 1))


def day(d: dt.date) -> Period:
    return Period(d.isoformat(), "day", d, d + dt.timedelta(days=1))


def span(label: str, first: dt.date, after: dt.date) -> Period:
    return Period(label, "range", first, after)


MIN_YEAR, MAX_YEAR = 1970, 2999  # keeps every boundary computable (no date overflow)

_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-?Q([1-4])$", re.I), "quarter"),
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$"), "range"),
)


def parse(text: str) -> Period:
    """`2026-03-05`, `2026-03`, `2026-Q1`, `2026` or `2026-01-01..2026-04-01` (end exclusive).
    Raises ValueError with the accepted forms."""
    value = (text or "").strip()
    years = [int(y) for y in re.findall(r"\d{4}", value)[:2]]
    if any(not (MIN_YEAR <= y <= MAX_YEAR) for y in years):
        raise ValueError(f"period {text!r}: years {MIN_YEAR}–{MAX_YEAR} only")
    for pattern, kind in _PATTERNS:
        m = pattern.match(value)
        if not m:
            continue
        try:
            if kind == "day":
                return day(dt.date(int(m[1]), int(m[2]), int(m[3])))
            if kind == "month":
                return month(int(m[1]), int(m[2]))
            if kind == "quarter":
                first = dt.date(int(m[1]), 3 * (int(m[2]) - 1) + 1, 1)
                return Period(f"{m[1]}-Q{m[2]}", "quarter", first, add_months(first, 3))
            if kind == "year":
                return Period(m[1], "year", dt.date(int(m[1]), 1, 1), dt.date(int(m[1]) + 1, 1, 1))
            first, after = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if after <= first:
                break
            return span(value, first, after)
        except ValueError:
            break
    raise ValueError(f"period {text!r}: use YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY or "
                     "YYYY-MM-DD..YYYY-MM-DD (end exclusive)")


def contract_life(contract: object) -> Period:
    """A contract's whole term: its first month to the month after its last."""
    first = getattr(contract, "start_month")
    after = add_months(first, int(getattr(contract, "term_months") or 60))
    return Period(f"{getattr(contract, 'code')} {first:%Y-%m}..{add_months(after, -1):%Y-%m}",
                  "contract", first, after)
