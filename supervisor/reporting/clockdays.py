"""Clock checks per LOCAL day of the reporting time zone (`clock_day_rollups`), so the
clock-accuracy figure outlives the raw probe samples (kept `retention.raw_days`, 14 days by
default).

`roll_up(session, now, tolerance_s, first=None)` (re)computes every ended local day from
`first` (default: the oldest raw sample still kept) up to yesterday, from the raw samples,
at the city profile's clock tolerance; a day whose samples are gone keeps its row. Run by the
scheduler's `report:clock_rollup` job every hour (the housekeeping that prunes samples runs
hourly too, and a day stays in raw retention for two weeks, so a day is rolled long before its
samples go) and by `flask report clock-rollup`. Idempotent; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports.figures import clock_days_from_samples
from supervisor.core import localtime
from supervisor.health.models import ProbeSample
from supervisor.reporting.models import ClockDayRollup


def roll_up(session: Session, now: dt.datetime, tolerance_s: float,
            first: Optional[dt.date] = None) -> int:
    """Roll up the ended local days from `first`; returns the number of rows written."""
    ps = ProbeSample.__table__
    today = localtime.to_local(now).date()
    if first is None:
        oldest = session.scalar(sa.select(sa.func.min(ps.c.at)).where(
            ps.c.clock_offset_s.is_not(None)))
        if oldest is None:
            return 0
        first = localtime.to_local(oldest).date()
    written = 0
    day = first
    while day < today:
        written += _roll_day(session, day, tolerance_s, now)
        day += dt.timedelta(days=1)
    return written


def _roll_day(session: Session, day: dt.date, tolerance_s: float, now: dt.datetime) -> int:
    lo, hi = localtime.local_day_bounds(day)
    ps = ProbeSample.__table__
    rows = session.execute(sa.select(ps.c.device_id, ps.c.at, ps.c.clock_offset_s).where(
        ps.c.at >= lo, ps.c.at < hi, ps.c.clock_offset_s.is_not(None))).all()
    if not rows:
        return 0  # nothing kept for that day: an existing row stays as it was rolled
    samples = pd.DataFrame([tuple(r) for r in rows], columns=["device_id", "at", "clock_offset_s"])
    days = clock_days_from_samples(samples, tolerance_s)
    worst = samples.assign(a=samples["clock_offset_s"].abs()).groupby("device_id")["a"].max()
    existing = {r.device_id: r for r in session.scalars(sa.select(ClockDayRollup).where(
        ClockDayRollup.day == day, ClockDayRollup.device_id.in_(days["device_id"].tolist())))}
    for dev, checks, ok in zip(days["device_id"].tolist(), days["checks"].tolist(),
                               days["ok"].tolist()):
        row = existing.get(dev) or ClockDayRollup(device_id=int(dev), day=day)
        row.tolerance_s = float(tolerance_s)
        row.checks, row.ok = int(checks), int(ok)
        row.worst_abs_offset_s = float(worst[dev])
        row.rolled_at = now
        session.add(row)
    session.flush()
    return len(days)


def run_clock_job(app: Any) -> int:
    """The scheduler's job: roll up the days since yesterday's (a first run: every day
    with raw samples still kept)."""
    from supervisor.core import clock
    from supervisor.core.extensions import db
    from supervisor.reporting.context import city_profile, targets_of

    with app.app_context():
        now = clock.now()
        last = db.session.scalar(sa.select(sa.func.max(ClockDayRollup.day)))
        first = None if last is None else min(last, localtime.to_local(now).date()
                                              - dt.timedelta(days=1))
        tol = targets_of(city_profile(app.extensions["settings"].SCHEDULER_PROFILE)).clock_tolerance_s
        n = roll_up(db.session, now, tol, first)
        db.session.commit()
        return n
