"""The schema comes from the migrations: upgrade from empty, downgrade back, no drift."""
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from supervisor.core.extensions import db


def test_upgrade_downgrade_roundtrip(app):
    inspector = sa.inspect(db.engine)
    assert {"devices", "communities", "contracts", "users", "audit_log"} <= set(inspector.get_table_names())
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert "devices" in sa.inspect(db.engine).get_table_names()


def test_models_match_migrations(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_same_migrations_on_postgresql(pg_database):
    """Production runs PostgreSQL: the same migrations go up and down on a real server."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_database, "SECRET_KEY": "x",
                      "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="})
    with app.app_context():
        upgrade()
        assert {"devices", "users", "audit_log"} <= set(sa.inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def _calibration_history_holds(engine) -> None:
    """0012: a calibration's history is kept, but only one row per device is in force."""
    import datetime as dt

    import pytest

    t = dt.datetime(2026, 3, 1)
    row = {"learned_at": t, "first_frame_at": t, "last_frame_at": t, "frames_day": 12,
           "frames_night": 0, "clean_days": 7, "data": '{"version": 1}'}
    ins = sa.text("INSERT INTO quality_calibrations (device_id, learned_at, first_frame_at, "
                  "last_frame_at, frames_day, frames_night, clean_days, data, superseded_at) VALUES "
                  "(:d, :learned_at, :first_frame_at, :last_frame_at, :frames_day, :frames_night, "
                  ":clean_days, :data, :sup)")
    from supervisor.inventory.models import Community, Device

    com = Community(name="c", district="d", type="open")
    db.session.add(com)
    db.session.flush()
    device = Device(serial="CAM-M", name="cam", kind="camera", ip="127.0.0.9", community_id=com.id)
    db.session.add(device)
    db.session.flush()
    dev = device.id
    db.session.commit()
    db.session.remove()   # no open transaction may hold a lock the downgrade needs
    with engine.begin() as conn:
        conn.execute(ins, {**row, "d": dev, "sup": t})          # superseded: history
        conn.execute(ins, {**row, "d": dev, "sup": None})       # in force
        conn.execute(sa.text("INSERT INTO quality_calibration_frames (device_id, at, night, measures) "
                             "VALUES (:d, :t, false, '{}')"), {"d": dev, "t": t})
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(ins, {**row, "d": dev, "sup": None})   # a second row in force
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:                            # the same frame twice
            conn.execute(sa.text("INSERT INTO quality_calibration_frames (device_id, at, night, "
                                 "measures) VALUES (:d, :t, true, '{}')"), {"d": dev, "t": t})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM quality_calibrations")).scalar() == 2


def test_calibration_tables(app):
    _calibration_history_holds(db.engine)
    downgrade(revision="0011")
    assert not {"quality_calibrations", "quality_calibration_frames"} & set(
        sa.inspect(db.engine).get_table_names())
    upgrade()
    assert {"quality_calibrations", "quality_calibration_frames"} <= set(
        sa.inspect(db.engine).get_table_names())


def test_calibration_tables_on_postgresql(pg_database):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_database, "SECRET_KEY": "x",
                      "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="})
    with app.app_context():
        upgrade()
        _calibration_history_holds(db.engine)
        downgrade(revision="0011")
        assert "quality_calibrations" not in sa.inspect(db.engine).get_table_names()
        downgrade(revision="base")
        db.engine.dispose()
