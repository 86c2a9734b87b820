"""audit.record: secrets masked (changed or not), JSON-safe values, written with the caller's commit."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from supervisor.core import audit
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.people.models import User


def test_mask_hides_every_secret_and_says_when_it_changed():
    before = {"password": "old-pw", "snmp_community": "c1", "ip": "127.0.0.1", "x_password": "p"}
    after = {"password": "new-pw", "snmp_community": "c1", "ip": "127.0.0.2", "x_password": None}
    b, a = audit.mask(before, after)
    assert b == {"password": "***", "snmp_community": "***", "ip": "127.0.0.1", "x_password": "***"}
    assert a == {"password": "*** (changed)", "snmp_community": "***", "ip": "127.0.0.2",
                 "x_password": None}
    assert "old-pw" not in repr((b, a)) and "new-pw" not in repr((b, a))


def test_record_is_json_safe_and_joins_the_callers_transaction(app):
    user = User(username="op1", password_hash="x", role="police")
    db.session.add(user)
    db.session.commit()
    audit.record(user, "update", "contract", "C-1",
                 {"start_month": dt.date(2026, 1, 1), "investment": Decimal("10.50")},
                 {"start_month": dt.date(2026, 2, 1), "password": "hunter2"}, note="why")
    db.session.rollback()  # the caller's change failed: no audit row either
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    audit.record(user, "update", "contract", "C-1",
                 {"start_month": dt.date(2026, 1, 1), "investment": Decimal("10.50")},
                 {"start_month": dt.date(2026, 2, 1), "password": "hunter2"})
    audit.record("cli:root", "import", "inventory", None)
    db.session.commit()
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert (rows[0].user_id, rows[0].actor) == (user.id, "op1")
    assert rows[0].before == {"start_month": "2026-01-01", "investment": "10.50"}
    assert rows[0].after == {"start_month": "2026-02-01", "password": "***"}
    assert (rows[1].user_id, rows[1].actor, rows[1].entity_key) == (None, "cli:root", None)
