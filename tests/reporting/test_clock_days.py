"""Clock accuracy once the raw samples are pruned: clock checks rolled up per LOCAL day
(clock_day_rollups), at a local month boundary. Local time is UTC+8.

CAM-A (accepted 2026-01-10) readings, UTC → local day:
  02-28 15:59:59 (02-28 23:59:59, February)  +0.4 s  ok
  02-28 16:00:00 (03-01 00:00, March)         +1.5 s  beyond 1 s
  02-28 23:00    (03-01 07:00, March)         +0.2 s  ok
  03-31 15:59    (03-31 23:59, March)         −0.9 s  ok
  03-31 16:00    (04-01 00:00, April)         +0.1 s  ok
CAM-C (retired_on 2026-03-16: service ends 03-15 16:00 UTC):
  03-15 15:59    (03-15 23:59) 0.0 s ok, counted;  03-15 16:00 (03-16 00:00) 0.0 s, not counted
March at 1 s: 4 checks, 3 within → 75 %; February: 1 of 1.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from reports import periods
from reports.figures import Targets, figures
from supervisor.core.extensions import db
from supervisor.health.models import ProbeSample
from supervisor.inventory.models import Device
from supervisor.reporting.clockdays import roll_up
from supervisor.reporting.models import ClockDayRollup
from tests.reporting.world import T, build

NOW = dt.datetime(2026, 4, 5)
MARCH, FEB = periods.month(2026, 3), periods.month(2026, 2)


@pytest.fixture
def readings(app):
    build()
    dev = {d.serial: d.id for d in db.session.scalars(select(Device))}
    for serial, at, off in (("CAM-A", T(2026, 2, 28, 15, 59, 59), 0.4),
                            ("CAM-A", T(2026, 2, 28, 16), 1.5),
                            ("CAM-A", T(2026, 2, 28, 23), 0.2),
                            ("CAM-A", T(2026, 3, 31, 15, 59), -0.9),
                            ("CAM-A", T(2026, 3, 31, 16), 0.1),
                            ("CAM-C", T(2026, 3, 15, 15, 59), 0.0),
                            ("CAM-C", T(2026, 3, 15, 16), 0.0)):
        db.session.add(ProbeSample(device_id=dev[serial], at=at, tier="full", observed="ok",
                                   clock_offset_s=off))
    db.session.commit()
    return dev


def _clock(period, tol=1.0, by="city"):
    rows = figures(db.session, period.lo, period.hi, NOW, by=by, targets=Targets(None, None, tol))
    return {r["group"]: (r["clock_checks"], r["clock_ok"]) for r in rows}


def test_rolled_per_local_day_and_read_after_pruning(readings):
    before = (_clock(MARCH), _clock(FEB), _clock(MARCH, by="device"))
    assert before[0] == {"city": (4, 3)} and before[1] == {"city": (1, 1)}
    assert roll_up(db.session, NOW, 1.0, dt.date(2026, 2, 27)) == 6
    db.session.commit()
    got = {(r.device_id, r.day): (r.checks, r.ok) for r in db.session.scalars(select(ClockDayRollup))}
    a, c = readings["CAM-A"], readings["CAM-C"]
    assert got == {(a, dt.date(2026, 2, 28)): (1, 1), (a, dt.date(2026, 3, 1)): (2, 1),
                   (a, dt.date(2026, 3, 31)): (1, 1), (a, dt.date(2026, 4, 1)): (1, 1),
                   (c, dt.date(2026, 3, 15)): (1, 1), (c, dt.date(2026, 3, 16)): (1, 1)}
    # Raw retention passes: every sample is pruned; the figures read the same.
    db.session.execute(delete(ProbeSample))
    db.session.commit()
    assert (_clock(MARCH), _clock(FEB), _clock(MARCH, by="device")) == before
    # A later run with nothing left to read keeps the rows.
    assert roll_up(db.session, NOW, 1.0, dt.date(2026, 2, 27)) == 0
    assert _clock(MARCH) == {"city": (4, 3)}


def test_a_changed_tolerance_rejudges_what_raw_samples_remain(readings):
    roll_up(db.session, NOW, 1.0, dt.date(2026, 2, 27))
    db.session.commit()
    assert _clock(MARCH, tol=2.0) == {"city": (4, 4)}      # raw kept: judged at 2 s
    db.session.execute(delete(ProbeSample))
    db.session.commit()
    assert _clock(MARCH, tol=2.0) == {"city": (4, 3)}      # pruned: as judged when rolled


def test_only_ended_days_are_rolled_and_the_rest_read_raw(readings):
    # As of 03-31 12:00 local: days up to 03-30 rolled; 03-31's reading still raw.
    now = T(2026, 3, 31, 4)
    roll_up(db.session, now, 1.0, dt.date(2026, 2, 27))
    db.session.commit()
    assert max(r.day for r in db.session.scalars(select(ClockDayRollup))) == dt.date(2026, 3, 16)
    rows = figures(db.session, MARCH.lo, MARCH.hi, T(2026, 3, 31, 16), by="city",
                   targets=Targets(None, None, 1.0))
    assert (rows[0]["clock_checks"], rows[0]["clock_ok"]) == (4, 3)


def test_cli_and_job(readings, runner):
    from supervisor.sweeps.scheduler import _REGISTERED

    assert _REGISTERED["report:clock_rollup"].target == "supervisor.reporting.clockdays:run_clock_job"
    out = runner.invoke(args=["report", "clock-rollup", "--now", "2026-04-05T08:00"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("6 device-day row(s)")
    db.session.execute(delete(ProbeSample))
    db.session.commit()
    res = runner.invoke(args=["report", "figures", "--period", "2026-03", "--format", "json",
                              "--now", "2026-04-05T08:00"])
    import json
    city = json.loads(res.output)["rows"][0]
    assert (city["clock_checks"], city["clock_ok"]) == (4, 3)
