"""Login, logout, role rules, CSRF and the login rate limit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry

from .conftest import PASSWORDS, csrf_from, login


def test_login_success_is_audited_and_lands_on_devices(app, world):
    client = app.test_client()
    response = login(client, "police")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert client.get("/").headers["Location"].endswith("/devices/")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login")).one()
    assert entry.actor == "police" and entry.entity_key == "police"


def test_wrong_password_is_refused_and_audited(app, world):
    client = app.test_client()
    response = login(client, "police", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/devices/").status_code == 302  # still anonymous
    failed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login-failed")).all()
    assert [e.entity_key for e in failed] == ["police"]
    assert "not-the-password" not in str([(e.before, e.after, e.note) for e in failed])


def test_unknown_user_is_refused(app, world):
    assert login(app.test_client(), "nobody", "whatever-123").status_code == 401


def test_inactive_user_cannot_log_in(app, world):
    from supervisor.people.accounts import find_user
    find_user("alpha").active = False
    db.session.commit()
    assert login(app.test_client(), "alpha").status_code == 401


def test_anonymous_is_sent_to_login_and_api_answers_401(app, world):
    client = app.test_client()
    response = client.get("/devices/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/devices").status_code == 401


@pytest.mark.parametrize("url", ["/devices/", "/communities/", "/api/v1/devices", "/import/",
                                 "/devices/export.csv", "/api/v1/communities"])
def test_official_sees_reports_only(as_user, url):
    client = as_user("official")
    assert client.get(url).status_code == 403
    assert client.get("/reports/").status_code == 200
    assert client.get("/").headers["Location"].endswith("/reports/")


def test_official_cannot_open_a_device_detail(as_user, world):
    assert as_user("official").get(f"/devices/{world.alpha_devices[0]}").status_code == 403


def test_contractor_cannot_import_or_edit(as_user, world):
    client = as_user("alpha")
    assert client.get("/import/").status_code == 403
    assert client.get(f"/devices/{world.alpha_devices[1]}/edit").status_code == 403
    assert client.get(f"/devices/{world.alpha_devices[1]}").status_code == 200


def test_login_without_csrf_token_is_rejected(app, world):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "police", "password": PASSWORDS["police"]})
    assert response.status_code == 400
    assert client.get("/devices/").status_code == 302  # not logged in


def test_edit_form_without_csrf_token_is_rejected(as_user, world):
    client = as_user("police")
    device_id = world.alpha_devices[1]
    response = client.post(f"/devices/{device_id}/edit", data={"name": "hijacked", "ip": "127.0.0.9",
                                                               "lifecycle": "installed"})
    assert response.status_code == 400
    from supervisor.inventory.models import Device
    assert db.session.get(Device, device_id).name != "hijacked"


def test_logout_needs_post_with_csrf(as_user):
    client = as_user("police")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    token = csrf_from(client.get("/devices/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/devices/").status_code == 302  # logged out
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "logout")).one()


def test_login_is_rate_limited(app, world):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    client = app.test_client()
    codes = [login(client, "police", f"wrong-{i}-password").status_code for i in range(3)]
    assert codes == [401, 401, 401]
    blocked = login(client, "police")  # even the right password is refused now
    assert blocked.status_code == 429
    assert client.get("/devices/").status_code == 302
    assert client.get("/login").status_code == 200  # GET is not limited


def test_session_is_renewed_at_login(app, world):
    client = app.test_client()
    client.get("/lang/en")
    login(client, "police")
    with client.session_transaction() as session:
        assert session.get("lang") == "en"  # the language choice survives the fresh session
        assert session.get("_user_id")


def test_passwords_are_argon2id_with_default_parameters_in_production(app):
    from argon2 import PasswordHasher

    from supervisor.people import accounts as auth
    from supervisor.people.models import User

    real = PasswordHasher()
    stored = real.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    user = User(username="x", password_hash=stored, role="police")
    assert auth._hasher.verify(stored, "correct horse battery")
    # A hash made with other parameters still verifies, and is upgraded to the current ones.
    assert auth.check_password(user, "correct horse battery")
    assert not auth.check_password(user, "wrong horse battery")
    assert not auth.check_password(None, "anything")


def test_users_are_stored_hashed(app, world):
    from supervisor.people.accounts import find_user

    user = find_user("police")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORDS["police"] not in user.password_hash


def test_pages_are_not_frameable(app):
    response = app.test_client().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
