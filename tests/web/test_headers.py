"""Security headers from one place: CSP without inline script, no framing, no sniffing,
referrer policy, no-store on everything carrying device data; cookie flags from the TLS
setting. The browser test checks that the pages still work under the policy (the timeline
chart draws, no violation is reported)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, StateInterval

from .browser import chromium_tab, serve
from .conftest import PASSWORDS, TEST_CONFIG, login

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(15400, 15450)  # this area's loopback ports


def test_every_answer_carries_the_headers(as_user, world):
    police = as_user("police")
    device = world.alpha_devices[1]
    for path in ("/devices/", f"/devices/{device}", "/devices/export.csv", "/devices/export.xlsx",
                 "/api/v1/devices", f"/api/v1/devices/{device}", f"/health/devices/{device}",
                 "/health/faults", "/admin/audit.csv", "/account/sessions", "/nothing-here"):
        response = police.get(path)
        h = response.headers
        csp = h.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], path
        assert "frame-ancestors 'none'" in csp, path
        assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff", path
        assert h["Referrer-Policy"] == "same-origin", path
        assert "no-store" in h["Cache-Control"], path
    assert "max-age" in police.get("/health/plotly.min.js").headers["Cache-Control"]


def test_no_template_has_an_inline_script():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{path}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: inline event handler"
        assert "javascript:" not in text, path


def _cookie_header(client) -> str:
    response = login(client, "police")
    return "; ".join(response.headers.getlist("Set-Cookie"))


def test_session_cookie_flags_follow_the_tls_setting(tmp_path, db_template):
    import shutil

    from app import create_app

    for tls in (False, True):
        target = tmp_path / f"tls-{tls}.db"
        shutil.copyfile(db_template, target)
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                          "TLS": tls, "IMPORT_UPLOAD_DIR": str(tmp_path / "up")})
        with app.app_context():
            client = app.test_client()
            cookie = _cookie_header(client)
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert ("Secure" in cookie) is tls
            page = client.get("/login")
            assert ("Strict-Transport-Security" in page.headers) is tls
            db.session.remove()
            db.engine.dispose()


@pytest.mark.browser
def test_pages_work_under_the_policy_in_chromium(app, world):
    device = world.alpha_devices[1]
    now = clock.now()
    db.session.add(DeviceStatus(device_id=device, state="offline", since=now - dt.timedelta(hours=3),
                                cause="unreachable", reasons=[{"check": "reach", "code": "unreachable"}]))
    db.session.add_all([
        StateInterval(device_id=device, state="ok", start_at=now - dt.timedelta(hours=6),
                      end_at=now - dt.timedelta(hours=3)),
        StateInterval(device_id=device, state="offline", cause="unreachable",
                      start_at=now - dt.timedelta(hours=3))])
    db.session.commit()
    with serve(app, PORTS) as base, chromium_tab() as page:
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text or "Refused" in m.text else None)
        page.goto(f"{base}/login")
        page.fill("#username", "police")
        page.fill("#password", PASSWORDS["police"])
        page.click("section.login button[type=submit]")
        page.wait_for_url(f"{base}/devices/")
        page.goto(f"{base}/health/devices/{device}")
        page.wait_for_selector("#timeline .main-svg")  # plotly drew the chart from timeline.js
        assert page.locator("#timeline .main-svg").count() >= 1
        page.goto(f"{base}/health/faults")
        page.goto(f"{base}/account/sessions")
        assert page.locator("#sessions tbody tr").count() == 1
        assert not violations, violations
