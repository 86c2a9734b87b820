"""The working calendar: which instants count toward an SLA clock.

Two parts, versioned apart:

* a *schedule* (from the SLA policy, i.e. the profile's ``calendar.schedules``): weekly
  working hours in local time, and whether public holidays and make-up working days apply.
  ``24x7`` counts every second; ``working_hours`` counts e.g. Mon–Fri 08:30–17:30;
* a *calendar version* (rows of ``work_calendars``): the day table — public holidays that
  fall on weekdays (``off``) and make-up working days (调休) that fall on weekends
  (``work``) — taken from the ``holidays`` library's China calendar when the version was
  made, plus the police's own additions and overrides. A version is immutable once made:
  a new list from the State Council, or a correction, makes a new version with a later
  ``effective_from``. A ticket cycle records the version it was computed with, so its clock
  can always be recomputed the same way, whatever the library or later versions say.

A make-up working day has the hours of the schedule's ordinary working day (Monday's).
The time zone is the reporting zone (setting ``LOCAL_TIMEZONE``, Asia/Shanghai).
Everything here is pure: no database, no clock; times in and out are naive UTC.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Optional
from zoneinfo import ZoneInfo

WORK, OFF = "work", "off"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = dt.timedelta(days=1)

Interval = tuple[dt.datetime, dt.datetime]


def _minutes(text: str) -> int:
    hh, mm = text.strip().split(":")
    value = int(hh) * 60 + int(mm)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"time {text!r} outside 00:00-24:00")
    return value


def parse_span(text: str) -> tuple[int, int]:
    """``"08:30-17:30"`` → (510, 1050) minutes after local midnight."""
    start, _, end = text.partition("-")
    a, b = _minutes(start), _minutes(end)
    if b <= a:
        raise ValueError(f"span {text!r} must end after it starts")
    return a, b


@dataclass(frozen=True)
class Schedule:
    """Weekly hours (minutes after local midnight per weekday 0=Mon) and the holiday rule."""

    name: str
    weekly: tuple[tuple[tuple[int, int], ...], ...]  # 7 entries
    observes_holidays: bool = True

    @classmethod
    def always(cls, name: str = "24x7") -> "Schedule":
        return cls(name=name, weekly=tuple(((0, 1440),) for _ in range(7)), observes_holidays=False)

    @classmethod
    def from_mapping(cls, name: str, weekly: Mapping[str, Iterable[str]] | str,
                     observes_holidays: bool = True) -> "Schedule":
        """``weekly`` is ``"24x7"`` or {mon: ["08:30-12:00", "13:30-17:30"], …}."""
        if weekly == "24x7":
            return cls.always(name)
        if not isinstance(weekly, Mapping):
            raise ValueError("weekly must be '24x7' or a mapping of weekday to spans")
        unknown = sorted(set(weekly) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}")
        days = []
        for name_ in WEEKDAYS:
            spans = sorted(parse_span(s) for s in weekly.get(name_, ()) or ())
            for (a1, b1), (a2, _) in zip(spans, spans[1:]):
                if a2 < b1:
                    raise ValueError(f"{name_}: spans overlap")
            days.append(tuple(spans))
        return cls(name=name, weekly=tuple(days), observes_holidays=observes_holidays)

    @property
    def is_24x7(self) -> bool:
        return not self.observes_holidays and all(d == ((0, 1440),) for d in self.weekly)

    @property
    def workday(self) -> tuple[tuple[int, int], ...]:
        """Hours of an ordinary working day, used for make-up working days."""
        return next((d for d in self.weekly if d), ())


@dataclass(frozen=True)
class WorkCalendar:
    """One immutable calendar version: day overrides in a time zone."""

    version: int
    tz: str = "Asia/Shanghai"
    days: Mapping[dt.date, str] = field(default_factory=dict)   # date → work | off

    def kind_of(self, day: dt.date) -> Optional[str]:
        return self.days.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        kind = self.days.get(day)
        if kind is not None:
            return kind == WORK
        return day.weekday() < 5

    def spans_on(self, schedule: Schedule, day: dt.date) -> tuple[tuple[int, int], ...]:
        if not schedule.observes_holidays:
            return schedule.weekly[day.weekday()]
        kind = self.days.get(day)
        if kind == OFF:
            return ()
        if kind == WORK and not schedule.weekly[day.weekday()]:
            return schedule.workday
        return schedule.weekly[day.weekday()]

    def working_intervals(self, schedule: Schedule, lo: dt.datetime, hi: dt.datetime
                          ) -> Iterator[Interval]:
        """Working time of `schedule` inside [lo, hi), as naive-UTC intervals in order."""
        if hi <= lo:
            return
        if schedule.is_24x7:
            yield (lo, hi)
            return
        zone = ZoneInfo(self.tz)
        utc = dt.timezone.utc
        day = lo.replace(tzinfo=utc).astimezone(zone).date() - DAY
        last = hi.replace(tzinfo=utc).astimezone(zone).date() + DAY
        while day <= last:
            midnight = dt.datetime.combine(day, dt.time())
            for a, b in self.spans_on(schedule, day):
                s = (midnight + dt.timedelta(minutes=a)).replace(tzinfo=zone).astimezone(utc).replace(tzinfo=None)
                e = (midnight + dt.timedelta(minutes=b)).replace(tzinfo=zone).astimezone(utc).replace(tzinfo=None)
                s, e = max(s, lo), min(e, hi)
                if s < e:
                    yield (s, e)
            day += DAY

    def working_seconds(self, schedule: Schedule, lo: dt.datetime, hi: dt.datetime) -> float:
        return sum((e - s).total_seconds() for s, e in self.working_intervals(schedule, lo, hi))

    def days_as_json(self) -> dict[str, str]:
        return {d.isoformat(): k for d, k in sorted(self.days.items())}

    @classmethod
    def from_json(cls, version: int, tz: str, days: Mapping[str, str]) -> "WorkCalendar":
        return cls(version=version, tz=tz,
                   days={dt.date.fromisoformat(k): v for k, v in (days or {}).items()})


def library_days(years: Iterable[int]) -> dict[dt.date, str]:
    """The China day table from the `holidays` library: weekday holidays are `off`, weekend
    make-up working days are `work`; ordinary days are left out."""
    import holidays  # a data dependency, read only when a calendar version is made

    years = sorted(set(years))
    cn = holidays.China(years=years)
    out: dict[dt.date, str] = {}
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            working = cn.is_working_day(day)
            if day.weekday() < 5 and not working:
                out[day] = OFF
            elif day.weekday() >= 5 and working:
                out[day] = WORK
            day += DAY
    return out


def merge_days(base: Mapping[dt.date, str], overrides: Mapping[dt.date, Optional[str]]
               ) -> dict[dt.date, str]:
    """A new day table: `overrides` win; an override of None removes the day (ordinary again)."""
    out = dict(base)
    for day, kind in overrides.items():
        if kind is None:
            out.pop(day, None)
        elif kind in (WORK, OFF):
            out[day] = kind
        else:
            raise ValueError(f"day kind must be {WORK!r} or {OFF!r}, not {kind!r}")
    return out
