"""Fixtures for inventory tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def contracts(app):
    """Two contracts of two contractors, created the way an operator would."""
    import datetime as dt

    from supervisor.core.extensions import db
    from supervisor.inventory.models import Contract, Contractor

    a, b = Contractor(name="Acme 安防"), Contractor(name="Beta Tech")
    db.session.add_all([a, b])
    db.session.flush()
    db.session.add_all([
        Contract(code="C-2026-001", contractor_id=a.id, start_month=dt.date(2026, 1, 1)),
        Contract(code="C-2026-002", contractor_id=b.id, start_month=dt.date(2026, 1, 1)),
    ])
    db.session.commit()
    return a, b

