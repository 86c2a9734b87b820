"""The report pages in Debian's headless Chromium: the dashboard's plotly charts draw (trend
and the plain-coordinates map) with no network, and the numbers in the table are the CLI's."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.models import Community
from tests.reporting.test_pages import history  # noqa: F401  (the world with March history)
from tests.web.browser import chromium_tab, serve
from tests.web.conftest import (  # noqa: F401
    PASSWORDS, app, cheap_argon2, db_template, fresh_g_per_request, world,
)

pytestmark = pytest.mark.browser
PORTS = range(15600, 15650)  # this area's loopback ports


def test_dashboard_charts_draw_in_chromium(app, history, tmp_path):
    for i, c in enumerate(db.session.scalars(select(Community))):
        c.latitude, c.longitude = 34.25 + i / 100, 108.94 + i / 100
    db.session.commit()
    with serve(app, PORTS) as base, chromium_tab() as page:
        page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(base)
                   else route.continue_())  # no network beyond our server
        page.goto(f"{base}/login")
        page.fill("#username", "official")
        page.fill("#password", PASSWORDS["official"])
        page.click("section.login button[type=submit]")
        page.goto(f"{base}/reports/?month=2026-03")
        page.wait_for_selector("#trend .main-svg")
        page.wait_for_selector("#map .main-svg")
        assert page.locator("#trend .scatterlayer .trace").count() >= 2
        assert page.locator("#map .scatterlayer .point").count() == 2
        assert "在线率" in page.inner_text("main")
        assert "在线率 / 完好率" in page.inner_text("#trend")
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def test_evidence_map_draws_in_chromium(app, history, world, tmp_path):
    from supervisor.inventory.models import Device

    for serial, lat in (("CAM-A-0", 34.26), ("CAM-A-1", 34.2605)):
        d = db.session.scalar(select(Device).where(Device.serial == serial))
        d.latitude, d.longitude, d.heading_deg, d.fov_deg, d.range_m = lat, 108.94, 45, 90, 50
    db.session.commit()
    with serve(app, PORTS) as base, chromium_tab() as page:
        page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(base)
                   else route.continue_())
        page.goto(f"{base}/login")
        page.fill("#username", "police")
        page.fill("#password", PASSWORDS["police"])
        page.click("section.login button[type=submit]")
        page.goto(f"{base}/reports/evidence?community={world.alpha_community}"
                  "&start=2026-03-03T09:00&end=2026-03-03T10:00")
        page.wait_for_selector("#evidence-map .main-svg")
        # two camera markers (one red: offline in the window, one green) and two view fans
        assert page.locator("#evidence-map .scatterlayer .point").count() == 2
        assert page.locator("#evidence-map .scatterlayer .js-fill").count() == 2
        page.screenshot(path=str(tmp_path / "evidence.png"), full_page=True)
