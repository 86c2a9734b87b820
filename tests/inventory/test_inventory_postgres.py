"""The same import on PostgreSQL (production): bulk insert/update paths and the rejection."""
from __future__ import annotations


import pytest
import sqlalchemy as sa

from inventory_helpers import HEADERS, PASSWORD, good_rows, to_csv

KEY = "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="


@pytest.fixture
def pg_app(pg_database):
    from flask_migrate import upgrade

    from app import create_app
    from supervisor.core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_database, "SECRET_KEY": "x",
                      "DEVICE_SECRET_KEY": KEY})
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_import_reimport_and_reject_on_postgresql(pg_app):
    from sqlalchemy import func, select

    from supervisor.inventory import importer as inventory
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Device

    plan = inventory.parse_upload("inv.csv", to_csv(good_rows(), HEADERS),
                                  create_contracts=True, contractor="Acme")
    assert plan.ok, plan.error_lines()
    counts = inventory.apply_plan(plan, "tester")
    assert (counts.created, counts.contracts_created, counts.communities_created) == (5, 2, 2)
    rows = good_rows()
    rows[2][10] = "127.31.0.33"
    rows[2][16] = "SW-0001"
    plan = inventory.parse_upload("inv.csv", to_csv(rows, HEADERS))
    counts = inventory.apply_plan(plan, "tester")
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 4)
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-0001"))
    assert cam.ip == "127.31.0.33" and cam.upstream.serial == "SW-0001"
    assert cam.password == PASSWORD
    raw = db.session.execute(sa.text("SELECT password FROM devices WHERE serial = 'CAM-0001'"))
    assert PASSWORD not in raw.scalar()
    rows[0][4] = "robot"
    plan = inventory.parse_upload("inv.csv", to_csv(rows, HEADERS))
    assert [str(e) for e in plan.errors] == [
        "row 2, column kind: unknown kind 'robot' (one of: camera, nvr, switch, speaker)"]
    assert db.session.scalar(select(func.count()).select_from(Device)) == 5
