"""Acceptance through the pages in a real headless Chromium: police press the button on the
community page, watch the run page until it is done, and open the certificate link."""
from __future__ import annotations

import pytest

from .browser import chromium_tab, serve
from .conftest import PASSWORDS

pytestmark = pytest.mark.browser

PORTS = range(15150, 15200)  # this area's loopback ports


def test_police_runs_acceptance_from_the_community_page(app, world):
    with serve(app, PORTS) as base, chromium_tab() as page:
        page.goto(f"{base}/login")
        page.fill("#username", "police")
        page.fill("#password", PASSWORDS["police"])
        page.click("section.login button[type=submit]")
        page.goto(f"{base}/communities/{world.alpha_community}")
        page.click("#acceptance form[action$='/run'] button[type=submit]")
        page.wait_for_url("**/acceptance/runs/*")
        # the page refreshes itself while the run goes; wait for the verdict to appear
        page.wait_for_function(
            "document.querySelector('#status') && document.querySelector('#status').textContent.trim() === '已完成'",
            timeout=60_000)
        assert page.text_content("#verdict").strip() == "不合格"
        assert "验收证书" in page.content()
        pdf = page.request.get(page.url + "/certificate.pdf")
        assert pdf.ok and pdf.body().startswith(b"%PDF")
