"""The schema comes from the migrations: upgrade from empty, downgrade back, no drift."""
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from supervisor.extensions import db


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


def test_same_migrations_on_postgresql(pg_url, tmp_path):
    """Production runs PostgreSQL: the same migrations go up and down on a real server."""
    import uuid

    from app import create_app

    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"fsp_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x",
                          "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="})
        with app.app_context():
            upgrade()
            tables = set(sa.inspect(db.engine).get_table_names())
            assert {"devices", "users", "audit_log"} <= tables
            from alembic.autogenerate import compare_metadata
            from alembic.migration import MigrationContext
            with db.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
            downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
