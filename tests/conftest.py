"""Shared fixtures: a fresh app on a temporary SQLite database built by the migrations."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import create_app
from supervisor.core.extensions import db as _db
from supervisor.profiles import loader as profiles


@pytest.fixture
def app(tmp_path: Path):
    from flask_migrate import upgrade

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.db'}",
        "SECRET_KEY": "test-secret",
        "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4=",
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": True,
    })
    with app.app_context():
        upgrade()
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


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("FSP_TEST_PG_URL")
    if not url:
        pytest.skip("FSP_TEST_PG_URL not set (make test starts PostgreSQL)")
    return url


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
    url = os.environ.get("FSP_TEST_REDIS_URL")
    if not url:
        pytest.skip("FSP_TEST_REDIS_URL not set (make test starts Redis)")
    return url
