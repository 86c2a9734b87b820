"""The contractor's pages on a 390 px phone in Debian's Chromium: the queue and the ticket page
fit the screen (no sideways scrolling), acknowledging and attaching a photo work by touch."""
import datetime as dt
import io

import pytest
from PIL import Image

from supervisor.core.extensions import db
from supervisor.tickets import opening
from tests.tickets.ticket_helpers import offline
from tests.web.browser import chromium_tab, serve
from tests.web.conftest import PASSWORDS

pytestmark = pytest.mark.browser
PORTS = range(19950, 19960)  # the tickets area's loopback ports


def test_contractor_on_a_phone(web, world, tmp_path):
    web.config["TICKET_VERIFY_PROBE"] = "off"
    web.config["TICKET_ATTACHMENT_DIR"] = str(tmp_path / "att")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    offline(world.alpha_devices[0], now - dt.timedelta(hours=1))
    opening.scan(db.session, now)
    db.session.commit()
    photo = tmp_path / "site.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (40, 120, 200)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())
    with serve(web, PORTS) as base, chromium_tab(viewport={"width": 390, "height": 844},
                                                 is_mobile=True, has_touch=True) as page:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "alpha")
        page.fill("input[name=password]", PASSWORDS["alpha"])
        page.click("button[type=submit]")
        page.goto(f"{base}/tickets/")
        assert page.locator("#queue .card").count() == 1
        assert "剩余" in page.inner_text("#queue")                  # time left, in Chinese
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("#queue .card h3 a")
        page.wait_for_selector("form:has(input[value=acknowledged])")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("form:has(input[value=acknowledged]) button")
        page.wait_for_load_state()
        assert "已响应" in page.inner_text("main")
        page.set_input_files("input[name=photo]", str(photo))
        page.click("form:has(input[name=photo]) button")
        page.wait_for_load_state()
        thumb = page.locator(".photos img")
        assert thumb.count() == 1
        assert page.evaluate("document.querySelector('.photos img').naturalWidth") == 320
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
