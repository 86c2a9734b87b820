"""Sessions the server can end: a cookie copied before logout, a password change or reset,
or a deactivation no longer logs anyone in; idle and absolute lifetimes from settings;
the account page lists one's open sessions and ends them."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.people.accounts import find_user
from supervisor.people.models import UserSession

from .conftest import PASSWORDS, csrf_from, login


def _copy(app, client):
    """A second browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def _logged_in(client) -> bool:
    return client.get("/devices/").status_code == 200


def _csrf(client, path: str) -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def test_cookie_copied_before_logout_no_longer_works(app, world):
    client = app.test_client()
    assert login(client, "alpha").status_code == 302
    thief = _copy(app, client)
    assert _logged_in(thief)
    client.post("/logout", data={"csrf_token": _csrf(client, "/devices/")})
    assert not _logged_in(client)
    assert not _logged_in(thief)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == find_user("alpha").id))
    assert row.end_reason == "logout"


def test_password_change_ends_the_other_sessions_only(app, world):
    mine, other = app.test_client(), app.test_client()
    login(mine, "alpha")
    login(other, "alpha")
    thief = _copy(app, mine)
    new = "alpha-new-pass-456"
    response = mine.post("/account/password", data={
        "csrf_token": _csrf(mine, "/account/password"), "current": PASSWORDS["alpha"],
        "new": new, "confirm": new})
    assert response.status_code == 302
    assert _logged_in(mine)          # the session that changed it stays
    assert not _logged_in(other)     # every other one ends
    assert _logged_in(thief)         # (a copy of the very same session is that session)
    assert login(app.test_client(), "alpha", new).status_code == 302


def test_reset_and_deactivation_end_every_session(app, world):
    alpha, police = app.test_client(), app.test_client()
    login(alpha, "alpha")
    login(police, "police")
    user_id = find_user("alpha").id
    police.post(f"/admin/users/{user_id}/reset-password",
                data={"csrf_token": _csrf(police, "/admin/users")})
    assert not _logged_in(alpha)
    beta = app.test_client()
    login(beta, "beta")
    thief = _copy(app, beta)
    police.post(f"/admin/users/{find_user('beta').id}/active",
                data={"csrf_token": _csrf(police, "/admin/users"), "active": "0"})
    police.post(f"/admin/users/{find_user('beta').id}/active",
                data={"csrf_token": _csrf(police, "/admin/users"), "active": "1"})
    assert not _logged_in(beta) and not _logged_in(thief)  # reactivating does not revive them
    reasons = {r.end_reason for r in db.session.scalars(select(UserSession))}
    assert {"password-changed", "deactivated"} <= reasons


def test_idle_and_absolute_lifetimes_come_from_settings(app, world):
    app.extensions["settings"] = app.extensions["settings"].model_copy(
        update={"SESSION_IDLE_S": 600.0, "SESSION_ABSOLUTE_S": 3600.0})
    start = dt.datetime(2026, 5, 1, 8, 0)
    client = app.test_client()
    with clock.pinned(start):
        login(client, "alpha")
    for minutes in (9, 18, 27, 36, 45, 54):  # used every 9 minutes: never idle
        with clock.pinned(start + dt.timedelta(minutes=minutes)):
            assert _logged_in(client), minutes
    with clock.pinned(start + dt.timedelta(minutes=61)):  # but an hour is the most
        assert not _logged_in(client)
    idle = app.test_client()
    with clock.pinned(start):
        login(idle, "beta")
    with clock.pinned(start + dt.timedelta(minutes=11)):  # ten idle minutes end it
        assert not _logged_in(idle)
    reasons = sorted(r.end_reason for r in db.session.scalars(select(UserSession)))
    assert reasons == ["expired", "idle"]


def test_account_page_lists_and_ends_sessions(app, world):
    phone, desk = app.test_client(), app.test_client()
    login(phone, "alpha")
    login(desk, "alpha")
    login(app.test_client(), "beta")
    page = desk.get("/account/sessions").get_data(as_text=True)
    ids = re.findall(r'data-session="(\d+)"', page)
    assert len(ids) == 2  # alpha's two, not beta's
    assert "this session" in page or "当前会话" in page
    mine = db.session.scalars(select(UserSession).where(UserSession.user_id == find_user("alpha").id)
                              .order_by(UserSession.id)).all()
    phone_id = mine[0].id
    response = desk.post(f"/account/sessions/{phone_id}/end", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert not _logged_in(phone) and _logged_in(desk)
    # Someone else's session: 404, and ids past 64 bits too.
    beta_row = db.session.scalar(select(UserSession).where(UserSession.user_id == find_user("beta").id))
    token = csrf_from(desk.get("/account/sessions").get_data(as_text=True))
    assert desk.post(f"/account/sessions/{beta_row.id}/end", data={"csrf_token": token}).status_code == 404
    assert desk.post(f"/account/sessions/{2**70}/end", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(UserSession, beta_row.id).ended_at is None
