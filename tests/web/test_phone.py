"""A contractor's engineer on a phone (390 px wide, Debian's chromium): the faults, device
and timeline pages have no horizontal scroll, and their tables read as cards."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from supervisor.core.choices import IMAGE_FAULTS
from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, StateInterval

from .browser import chromium_tab, serve
from .conftest import PASSWORDS

pytestmark = pytest.mark.browser

PORTS = range(15450, 15500)  # this file's loopback ports
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}

LONG_FINDINGS = ([{"check": "frame", "code": "image_fault", "fault": f, "value": 12.345678,
                   "limit": 50.0, "severity": "major"} for f in IMAGE_FAULTS[:4]]
                 + [{"check": "onvif", "code": "onvif_failed", "kind": "fault",
                     "message": "SOAP-ENV:Fault ter:NotAuthorized " + "x" * 300}])


@pytest.fixture
def phone_world(app, world):
    from supervisor.core import clock

    now = clock.now()
    rows = []
    for i, dev in enumerate(world.alpha_devices):
        rows.append({"device_id": dev, "state": "offline" if i % 2 else "degraded",
                     "cause": "upstream" if i % 2 else "image_fault",
                     "since": now - dt.timedelta(hours=3), "reasons": LONG_FINDINGS,
                     "flapping": False, "faults": list(IMAGE_FAULTS[:4]), "candidate_count": 0})
    db.session.execute(insert(DeviceStatus), rows)
    db.session.execute(insert(StateInterval), [
        {"device_id": world.alpha_devices[1], "state": state, "cause": cause,
         "reasons": LONG_FINDINGS, "flapping": False,
         "start_at": now - dt.timedelta(hours=6 - 2 * k),
         "end_at": None if k == 2 else now - dt.timedelta(hours=4 - 2 * k)}
        for k, (state, cause) in enumerate((("ok", None), ("offline", "unreachable"),
                                            ("degraded", "image_fault")))])
    db.session.commit()
    return world


@pytest.fixture
def phone(app, phone_world):
    with serve(app, PORTS) as base, chromium_tab(**PHONE) as tab:
        tab.goto(f"{base}/login")
        tab.fill("#username", "alpha")
        tab.fill("#password", PASSWORDS["alpha"])
        tab.click("section.login button[type=submit]")
        tab.wait_for_url(f"{base}/devices/")
        yield tab, base


def _overflow(tab) -> int:
    """How many CSS pixels the page is wider than the screen (0: no horizontal scroll)."""
    return tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_contractor_pages_fit_a_phone(phone, phone_world):
    tab, base = phone
    cam = phone_world.alpha_devices[1]
    for path in ("/health/faults", f"/devices/{cam}", f"/health/devices/{cam}?span=day",
                 "/devices/"):
        tab.goto(base + path)
        tab.wait_for_load_state("load")
        assert tab.evaluate("window.innerWidth") == 390
        assert _overflow(tab) <= 0, path
    # the faults table is cards: no header row shown, each cell labelled by its column
    tab.goto(base + "/health/faults")
    assert not tab.locator("#faults thead").is_visible()
    first = tab.locator("#faults tbody tr").first
    box = first.bounding_box()
    assert box is not None and box["width"] <= 390
    label = tab.evaluate(
        "getComputedStyle(document.querySelector('#faults tbody td:nth-child(2)'), '::before')"
        ".content")
    assert label.strip('"') in ("类型", "Kind")
    # a cell is never squeezed to a character per line: the cause cell is one line high
    cause = tab.locator("#faults tbody tr >> nth=0 >> td >> nth=5")
    assert cause.bounding_box()["height"] < 40


def test_desktop_keeps_the_table(app, phone_world):
    with serve(app, PORTS) as base, chromium_tab(viewport={"width": 1400, "height": 900}) as tab:
        tab.goto(f"{base}/login")
        tab.fill("#username", "alpha")
        tab.fill("#password", PASSWORDS["alpha"])
        tab.click("section.login button[type=submit]")
        tab.wait_for_url(f"{base}/devices/")
        tab.goto(f"{base}/health/faults")
        assert tab.locator("#faults thead").is_visible()
