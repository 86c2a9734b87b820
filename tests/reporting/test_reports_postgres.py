"""Figures, the ledger and the evidence lookup on PostgreSQL (production): the same
hand-computed answers as on SQLite."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports import ledger_store as ls
from reports import periods
from reports.evidence import lookup
from reports.figures import figures
from supervisor.core.extensions import db
from supervisor.health.models import EvidenceFrame
from supervisor.profiles.loader import load_profile
from tests.reporting.world import build

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_database, tmp_path):
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": pg_database,
                      "SECRET_KEY": "t", "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4=",
                      "EVIDENCE_DIR": str(tmp_path / "ev")})
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_figures_ledger_evidence_on_postgresql(app):
    w = build()
    m = periods.parse("2026-03")
    now = dt.datetime(2026, 4, 5)
    city = figures(db.session, m.lo, m.hi, now)[0]
    assert city["measured_s"] == 5_400_000 and city["unplanned_outage_s"] == 18_000
    p = load_profile("default", 2, check_in_use=False)
    closing = ls.close_month(db.session, w["contract"], 3, now, p, "police", lambda *a: [])
    db.session.commit()
    assert closing.payable == Decimal("20000.00")
    a = w["a"]
    a.latitude, a.longitude, a.heading_deg, a.fov_deg, a.range_m = 34.26, 108.94, 0, 90, 60
    db.session.add_all([
        EvidenceFrame(device_id=a.id, kind="latest", taken_at=dt.datetime(2026, 3, 5, 1), path="x"),
        EvidenceFrame(device_id=a.id, kind="latest", taken_at=dt.datetime(2026, 3, 5, 2, 20), path="y")])
    db.session.commit()
    found = lookup(db.session, 34.2602, 108.94, 5, dt.datetime(2026, 3, 5, 2),
                   dt.datetime(2026, 3, 5, 2, 30), now)
    assert [f.serial for f in found] == ["CAM-A"]
    assert found[0].frame_at == dt.datetime(2026, 3, 5, 2, 20) and found[0].online is True


def test_events_clock_days_and_ticket_figures_on_postgresql(app):
    import sqlalchemy as sa

    from reports.tickets import ticket_figures
    from supervisor.health.models import ProbeSample
    from supervisor.reporting.clockdays import roll_up
    from supervisor.reporting.events import record_event
    from supervisor.tickets import service

    w = build()
    now = dt.datetime(2026, 4, 5)
    p = load_profile("default", 2, check_in_use=False)
    ev, adj = record_event(db.session, w["contract"], p, rule="missed_inspection",
                           occurred_at=dt.datetime(2026, 3, 12, 2), reason="未巡检",
                           actor="police", now=now)
    db.session.commit()
    res = ls.compute_month(db.session, w["contract"], 3, now, p, lambda *a: [])
    (line,) = [ln for ln in res.lines if ln.rule == "missed_inspection"]
    assert line.events == [ev.id] and adj is None
    a = w["a"]
    db.session.add_all([ProbeSample(device_id=a.id, at=dt.datetime(2026, 2, 28, 16), tier="full",
                                    observed="ok", clock_offset_s=1.5),
                        ProbeSample(device_id=a.id, at=dt.datetime(2026, 2, 28, 23), tier="full",
                                    observed="ok", clock_offset_s=0.2)])
    db.session.commit()
    assert roll_up(db.session, now, 1.0, dt.date(2026, 2, 27)) == 1     # one local day
    db.session.execute(sa.delete(ProbeSample))
    db.session.commit()
    m = periods.parse("2026-03")
    city = figures(db.session, m.lo, m.hi, now)[0]
    assert (city["clock_checks"], city["clock_ok"]) == (2, 1)
    t0 = dt.datetime(2026, 3, 2, 1)
    t = service.open_ticket(db.session, a, "offline", t0)
    service.act(db.session, t, "acknowledged", t0 + dt.timedelta(hours=3))
    service.act(db.session, t, "repair_marked", t0 + dt.timedelta(hours=30))
    service.system_event(db.session, t, "verified", t0 + dt.timedelta(hours=30, minutes=30))
    db.session.commit()
    (row,) = ticket_figures(db.session, m.lo, m.hi, now, by="contract")
    assert (row["group"], row["response_missed_critical"], row["repair_missed_critical"]) == (
        "CT-1", 1, 1)
    assert row["mttr_h"] == 30.0
