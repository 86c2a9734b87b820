"""A login and an import done through the pages in a real headless Chromium (Debian's
/usr/bin/chromium driven by Playwright), against a real server thread on 127.0.0.1."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.models import Device

from .browser import chromium_tab, serve
from .conftest import PASSWORDS
from .test_import_page import GOOD

pytestmark = pytest.mark.browser

PORTS = range(15000, 15100)  # this area's loopback ports


@pytest.fixture
def live_server(app, world):
    with serve(app, PORTS) as base:
        yield base


@pytest.fixture
def page():
    with chromium_tab() as tab:
        yield tab


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("section.login button[type=submit]")


def test_login_then_import_through_the_pages(page, live_server, tmp_path):
    _login(page, live_server, "police", "wrong-password-1")
    assert page.locator("p.error[role=alert]").inner_text() == "用户名或密码错误。"

    _login(page, live_server, "police", PASSWORDS["police"])
    page.wait_for_url(f"{live_server}/devices/")
    assert page.locator("h1").inner_text() == "设备"
    assert page.locator("table.grid tbody tr").count() == 8

    inventory = tmp_path / "新设备.csv"
    inventory.write_bytes(("\ufeff" + GOOD).encode("utf-8"))  # UTF-8 with BOM, as Excel writes
    page.click("nav >> text=导入")
    page.set_input_files("#file", str(inventory))
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#confirm-import")
    assert "已检查 2 行" in page.locator("p.ok-note").inner_text()
    page.click("#confirm-import")
    page.wait_for_selector("[data-count=created]")
    assert page.locator("[data-count=created]").inner_text() == "2"

    db.session.expire_all()
    assert db.session.scalar(select(Device).where(Device.serial == "NEW-CAM-1")) is not None
    page.click("text=查看设备")
    page.fill("input[name=q]", "NEW-CAM")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/devices/?q=NEW-CAM*")  # the filtered list, not the page before it
    assert page.locator("table.grid tbody tr").count() == 1
    page.click("table.grid tbody tr a >> nth=0")
    assert "已设置" in page.locator("table.kv").first.inner_text()


def test_contractor_login_sees_only_own_devices_and_can_switch_language(page, live_server, world):
    _login(page, live_server, "beta", PASSWORDS["beta"])
    page.wait_for_url(f"{live_server}/devices/")
    cells = page.locator("table.grid tbody td.mono").all_inner_texts()
    assert "CAM-B-0" in cells and not any(c.startswith("CAM-A") for c in cells)
    page.click("a.lang")
    assert page.locator("h1").inner_text() == "Devices"
    page.goto(f"{live_server}/devices/{world.alpha_devices[1]}")
    assert page.locator("h1").inner_text() == "404"


def test_on_a_desktop_every_list_is_a_table_whose_headers_sit_over_their_columns(page, live_server):
    """Tables that turn into cards on a phone stay tables on a desktop: each header cell is
    as wide as its column (a stylesheet rule for the reports' stat cards once made every
    `table.cards` a flex box with its headers squeezed to the left)."""
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live_server, "police", PASSWORDS["police"])
    page.wait_for_url(f"{live_server}/devices/")
    for path in ("/devices/", "/health/faults", "/tickets/"):
        page.goto(f"{live_server}{path}")
        tables = page.locator("table.cards")
        for i in range(tables.count()):
            widths = tables.nth(i).evaluate("""t => {
                const th = [...t.querySelectorAll('thead th')].map(e => e.getBoundingClientRect().width);
                const row = t.querySelector('tbody tr');
                const td = row ? [...row.children].map(e => e.getBoundingClientRect().width) : [];
                return {display: getComputedStyle(t).display, th, td};
            }""")
            assert widths["display"] == "table", (path, widths)
            if len(widths["td"]) == len(widths["th"]):
                assert all(abs(a - b) < 2 for a, b in zip(widths["th"], widths["td"])), (path, widths)
