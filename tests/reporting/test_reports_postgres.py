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
