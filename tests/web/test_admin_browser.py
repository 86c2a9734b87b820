"""The admin pages in a real headless Chromium: a maintenance window typed into the
browser's own datetime-local inputs, and a user created with the password shown once."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.health.models import MaintenanceWindow
from supervisor.people.models import User
from supervisor.web import admin

from .browser import chromium_tab, serve
from .conftest import PASSWORDS

pytestmark = pytest.mark.browser

PORTS = range(19300, 19400)  # the admin area's loopback ports
NOW = dt.datetime(2026, 3, 1, 0, 7)  # 08:07 in Asia/Shanghai
SHOTS = os.environ.get("ADMIN_SCREENSHOTS")  # a folder: save what the pages looked like


@pytest.fixture
def live_server(app, world, monkeypatch):
    monkeypatch.setattr(admin, "_now", lambda: NOW)
    with serve(app, PORTS) as base:
        yield base


@pytest.fixture
def page():
    with chromium_tab(viewport={"width": 1400, "height": 1000}) as tab:
        yield tab


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_maintenance_window_through_the_browser(live_server, page):
    _login(page, live_server, "police", PASSWORDS["police"])
    page.goto(f"{live_server}/admin/maintenance?device=CAM-B-2")
    assert page.input_value("input[name=device]") == "CAM-B-2"
    page.fill("input[name=start]", "2026-03-01T09:30")
    page.fill("input[name=end]", "2026-03-01T11:00")
    page.fill("textarea[name=reason]", "更换镜头")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    _shot(page, "maintenance")
    upcoming = page.inner_text("#windows-upcoming")
    assert "CAM-B-2" in upcoming and "2026-03-01 09:30" in upcoming and "更换镜头" in upcoming
    db.session.expire_all()
    window = db.session.scalar(select(MaintenanceWindow))
    assert (window.start_at, window.end_at) == (dt.datetime(2026, 3, 1, 1, 30), dt.datetime(2026, 3, 1, 3, 0))


def test_create_user_through_the_browser_and_log_in_with_it(live_server, page):
    _login(page, live_server, "police", PASSWORDS["police"])
    page.goto(f"{live_server}/admin/users/new")
    page.fill("input[name=username]", "duty-officer")
    page.select_option("select[name=role]", "police")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    password = page.inner_text("#password").strip()
    _shot(page, "password_once")
    assert len(password) >= 16
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.username == "duty-officer")).role == "police"
    page.click("header form button")  # log out
    page.wait_for_load_state()
    _login(page, live_server, "duty-officer", password)
    page.goto(f"{live_server}/admin/audit")
    _shot(page, "audit")
    assert "duty-officer" in page.inner_text("table.grid")
    page.goto(f"{live_server}/admin/users")
    _shot(page, "users")
