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
