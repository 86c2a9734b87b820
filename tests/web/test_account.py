"""A user changes their own password; `flask users set-active` refuses logins."""
from __future__ import annotations

from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.people.accounts import check_password, find_user

from .conftest import PASSWORDS, csrf_from, login


def _post(client, **data):
    page = client.get("/account/password").get_data(as_text=True)
    return client.post("/account/password", data={"csrf_token": csrf_from(page), **data})


def test_change_own_password(app, as_user):
    client = as_user("alpha")
    wrong = _post(client, current="not-it-at-all", new="a-new-password-1", confirm="a-new-password-1")
    assert wrong.status_code == 400 and "密码错误" in wrong.get_data(as_text=True)
    differ = _post(client, current=PASSWORDS["alpha"], new="a-new-password-1", confirm="another-one-22")
    assert differ.status_code == 400
    short = _post(client, current=PASSWORDS["alpha"], new="short", confirm="short")
    assert short.status_code == 400
    db.session.expire_all()
    assert check_password(find_user("alpha"), PASSWORDS["alpha"])
    ok = _post(client, current=PASSWORDS["alpha"], new="a-new-password-1", confirm="a-new-password-1")
    assert ok.status_code == 302
    db.session.expire_all()
    assert check_password(find_user("alpha"), "a-new-password-1")
    assert login(app.test_client(), "alpha", "a-new-password-1").status_code == 302
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "set-password")).all()
    assert [(r.actor, r.entity_key) for r in rows] == [("alpha", "alpha")]
    assert "a-new-password-1" not in repr([(r.before, r.after) for r in rows])


def test_account_page_needs_login(app):
    assert app.test_client().get("/account/password").status_code == 302


def test_set_active_refuses_logins(app, runner, world):
    result = runner.invoke(args=["users", "set-active", "beta", "--inactive"])
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "beta").status_code == 401
    runner.invoke(args=["users", "set-active", "beta", "--active"])
    assert login(app.test_client(), "beta").status_code == 302
    actions = db.session.scalars(select(AuditEntry.after).where(
        AuditEntry.entity_key == "beta", AuditEntry.action == "update")).all()
    assert actions == [{"active": False}, {"active": True}]
