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
