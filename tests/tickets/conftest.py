"""Ticket tests reuse the two-contractor world of tests/web (copied per test)."""
import pytest

from tests.web.conftest import app, cheap_argon2, db_template, login  # noqa: F401
from tests.web.conftest import world as web_world  # noqa: F401


@pytest.fixture
def world(web_world):
    """The two-contractor world, its contracts on default@2 (the profile with the tickets,
    calendar and notifications sections)."""
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Contract
    for c in db.session.scalars(db.select(Contract)):
        c.profile_version = 2
    db.session.commit()
    return web_world


@pytest.fixture
def web(app):
    """Each request gets its own `g` (two clients are two users), as in tests/web."""
    from flask import g

    @app.teardown_request
    def _clear_g(exc):
        for key in list(vars(g)):
            g.pop(key, None)
    return app
