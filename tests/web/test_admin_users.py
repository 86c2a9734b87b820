"""User management from the admin pages: create (password shown once), form errors beside
their fields, CSRF, deactivate/reactivate (open sessions end), reset password, last login."""
from __future__ import annotations

import re

from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Contractor
from supervisor.people.models import User

from .conftest import PASSWORDS, csrf_from, login


def _new_user_form(client) -> str:
    return csrf_from(client.get("/admin/users/new").get_data(as_text=True))


def _shown_password(html: str) -> str:
    match = re.search(r'id="password">([^<]+)</span>', html)
    assert match, html[:2000]
    return match.group(1)


def _field_error(html: str, name: str) -> str:
    """The error text inside the .field block that holds input/select `name`."""
    block = re.search(rf'<div class="field has-error">\s*<label for="{name}".*?</div>', html, re.S)
    assert block, f"no error beside {name}"
    return " ".join(re.findall(r'<span class="error">([^<]+)</span>', block.group(0)))


def test_create_contractor_user_password_shown_once_and_works(app, as_en, world):
    police = as_en("police")
    alpha = db.session.scalar(select(Contractor).where(Contractor.name == "Alpha Security Ltd"))
    response = police.post("/admin/users/new", data={
        "csrf_token": _new_user_form(police), "username": "alpha-field-2",
        "display_name": "张工", "role": "contractor", "contractor": str(alpha.id)})
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    password = _shown_password(response.get_data(as_text=True))
    assert len(password) >= 16
    user = db.session.scalar(select(User).where(User.username == "alpha-field-2"))
    assert user.role == "contractor" and user.contractor_id == alpha.id and user.active
    # the password is nowhere else: not in the list page, the audit rows, the hash column
    listing = police.get("/admin/users").get_data(as_text=True)
    assert "alpha-field-2" in listing and password not in listing
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_key == "alpha-field-2")).all()
    assert [r.action for r in rows] == ["create"] and rows[0].actor == "police"
    assert password not in str(rows[0].after) and password not in user.password_hash
    # and it logs in, seeing only its contractor's devices
    fresh = app.test_client()
    assert login(fresh, "alpha-field-2", password).status_code == 302
    assert fresh.get(f"/devices/{world.beta_devices[0]}").status_code == 404
    assert fresh.get(f"/devices/{world.alpha_devices[0]}").status_code == 200


def test_form_errors_sit_beside_their_fields(as_en, world):
    police = as_en("police")
    beta = db.session.scalar(select(Contractor).where(Contractor.name == "Beta Networks Ltd"))
    cases = [
        ({"username": "new-c", "role": "contractor", "contractor": ""}, "contractor", "choose one"),
        ({"username": "new-p", "role": "police", "contractor": str(beta.id)}, "contractor",
         "Only contractor users"),
        ({"username": "Alpha", "role": "official", "contractor": ""}, "username", "taken"),
        ({"username": "bad name!", "role": "official", "contractor": ""}, "username", "only"),
        ({"username": "new-x", "role": "contractor", "contractor": "99999"}, "contractor",
         "Not a known contractor"),
    ]
    before = db.session.query(User).count()
    for data, field, text in cases:
        response = police.post("/admin/users/new", data={"csrf_token": _new_user_form(police), **data})
        assert response.status_code == 400, data
        assert text in _field_error(response.get_data(as_text=True), field), data
    assert db.session.query(User).count() == before


def test_changes_need_the_csrf_token(as_en, world):
    police = as_en("police")
    alpha = db.session.scalar(select(User).where(User.username == "alpha"))
    assert police.post("/admin/users/new", data={"username": "nocsrf", "role": "official"}).status_code == 400
    assert police.post(f"/admin/users/{alpha.id}/active", data={"active": "0"}).status_code == 400
    assert police.post(f"/admin/users/{alpha.id}/reset-password").status_code == 400
    db.session.expire_all()
    assert db.session.get(User, alpha.id).active
    assert db.session.scalar(select(User).where(User.username == "nocsrf")) is None


def _action_token(client) -> str:
    return csrf_from(client.get("/admin/users").get_data(as_text=True))


def test_deactivate_ends_open_session_and_reactivate_restores(app, as_user, as_en, world):
    police = as_en("police")
    alpha_client = as_user("alpha")
    alpha = db.session.scalar(select(User).where(User.username == "alpha"))
    assert alpha_client.get("/devices/").status_code == 200
    response = police.post(f"/admin/users/{alpha.id}/active",
                           data={"csrf_token": _action_token(police), "active": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, alpha.id).active
    # the session alpha already had is over at its next request
    next_page = alpha_client.get("/devices/")
    assert next_page.status_code == 302 and "/login" in next_page.headers["Location"]
    assert login(app.test_client(), "alpha").status_code == 401
    police.post(f"/admin/users/{alpha.id}/active",
                data={"csrf_token": _action_token(police), "active": "1"})
    assert login(app.test_client(), "alpha").status_code == 302
    actions = db.session.execute(select(AuditEntry.before, AuditEntry.after).where(
        AuditEntry.entity_key == "alpha", AuditEntry.action == "update")
        .order_by(AuditEntry.id)).all()
    assert [(b["active"], a["active"]) for b, a in actions] == [(True, False), (False, True)]


def test_police_cannot_deactivate_themselves(as_en, world):
    police = as_en("police")
    me = db.session.scalar(select(User).where(User.username == "police"))
    response = police.post(f"/admin/users/{me.id}/active",
                           data={"csrf_token": _action_token(police), "active": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, me.id).active
    assert police.get("/admin/users").status_code == 200


def test_reset_password_shown_once_old_one_stops_working(app, as_en, world):
    police = as_en("police")
    beta = db.session.scalar(select(User).where(User.username == "beta"))
    response = police.post(f"/admin/users/{beta.id}/reset-password",
                           data={"csrf_token": _action_token(police)})
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    password = _shown_password(response.get_data(as_text=True))
    assert login(app.test_client(), "beta").status_code == 401          # the old one
    assert login(app.test_client(), "beta", password).status_code == 302
    row = db.session.scalar(select(AuditEntry).where(
        AuditEntry.entity_key == "beta", AuditEntry.action == "set-password"))
    assert row.actor == "police" and password not in str(row.before) + str(row.after)


def test_list_shows_last_login_from_the_audit_log(as_user, as_en, world):
    police = as_en("police")
    as_user("alpha")
    html = police.get("/admin/users").get_data(as_text=True)

    def row(name: str) -> str:
        uid = db.session.scalar(select(User.id).where(User.username == name))
        return re.search(rf'<tr id="user-{uid}">.*?</tr>', html, re.S).group(0)

    assert "never" in row("beta")
    assert re.search(r'<td class="mono">20\d\d-\d\d-\d\d \d\d:\d\d</td>\s*<td>', row("alpha"))
    assert "Alpha Security Ltd" in row("alpha")
    assert PASSWORDS["alpha"] not in html
