"""Shared fixtures: a fresh app on a copy of the migrated SQLite database, the test servers."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from db_helpers import TEST_CONFIG, copy_database, database_template

from app import create_app
from supervisor.core.extensions import db as _db
from supervisor.profiles import loader as profiles


@pytest.fixture
def app(tmp_path: Path, tmp_path_factory):
    """A fresh app on its own copy of the migrated (empty) database."""
    url = copy_database(database_template(tmp_path_factory, "migrated"), tmp_path)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                      "EVIDENCE_DIR": str(tmp_path / "evidence")})
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()
    profiles.configure(None, None)  # the next test's app configures its own database


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _service_url(variable: str, what: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} not set (make test starts {what})")
    return url


@pytest.fixture
def pg_url() -> str:
    return _service_url("FSP_TEST_PG_URL", "PostgreSQL")


@pytest.fixture
def pg_database(pg_url: str):
    """The URL of a fresh, empty PostgreSQL database on the test server; dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"fsp_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    return _service_url("FSP_TEST_REDIS_URL", "Redis")
