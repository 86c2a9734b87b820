"""Report pages in the two-contractor world of tests/web: who sees what, the numbers on the
page equal the CLI's, every table exports (CSV and XLSX) without secrets, waivers are police
only and audited."""
from __future__ import annotations

import datetime as dt
import io
import re
import json

import pytest
from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.health.models import StateInterval
from supervisor.inventory.models import Community, Contract, Device
from tests.web.conftest import DEVICE_PASSWORD, SNMP_COMMUNITY, login
from tests.web.conftest import (  # noqa: F401  (the two-contractor world and its fixtures)
    app, cheap_argon2, db_template, fresh_g_per_request, world,
)

NOW = dt.datetime(2026, 4, 5, 2)
T = dt.datetime


@pytest.fixture
def history(app, world):
    """Every device accepted 2026-01-01, ok since 01-01 local; alpha's camera 0 offline 10 h on
    03-03 (a channel over 8 h); beta's camera 1 in maintenance 2 h."""
    for d in db.session.scalars(select(Device)):
        d.accepted_on = dt.date(2026, 1, 1)
        d.lifecycle = "accepted"
        db.session.add(StateInterval(device_id=d.id, state="ok", start_at=T(2025, 12, 31, 16),
                                     end_at=None if d.serial not in ("CAM-A-0", "CAM-B-1") else T(2026, 3, 3)))
    a0 = db.session.scalar(select(Device).where(Device.serial == "CAM-A-0"))
    b1 = db.session.scalar(select(Device).where(Device.serial == "CAM-B-1"))
    db.session.add_all([
        StateInterval(device_id=a0.id, state="offline", cause="unreachable", start_at=T(2026, 3, 3),
                      end_at=T(2026, 3, 3, 10)),
        StateInterval(device_id=a0.id, state="ok", start_at=T(2026, 3, 3, 10), end_at=None),
        StateInterval(device_id=b1.id, state="maintenance", cause="maintenance",
                      start_at=T(2026, 3, 3), end_at=T(2026, 3, 3, 2)),
        StateInterval(device_id=b1.id, state="ok", start_at=T(2026, 3, 3, 2), end_at=None),
    ])
    for c in db.session.scalars(select(Contract)):
        c.investment = 600000
        c.profile_version = 2
    db.session.commit()
    with clock.pinned(NOW):
        yield


def _get(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r


def test_dashboard_numbers_equal_cli(client, runner, history):
    login(client, "official")
    html = _get(client, "/reports/?month=2026-03").get_data(as_text=True)
    out = runner.invoke(args=["report", "figures", "--period", "2026-03", "--format", "json",
                              "--now", "2026-04-05T10:00"])
    city = json.loads(out.output)["rows"][0]
    # 8 devices × 31 days, less 2 h maintenance; 10 h offline.
    assert city["measured_s"] == 8 * 31 * 86400 - 7200
    assert city["unplanned_outage_s"] == 36000
    assert f'{city["online_rate"] * 100:.4f}%' in html
    assert "plotly.min.js" in html  # served by the platform: no network
    # Coverage over the month, time-weighted (the default profile's slots by community type).
    district = runner.invoke(args=["report", "figures", "--period", "2026-03", "--by", "city",
                                   "--format", "json", "--now", "2026-04-05T10:00"])
    cov = json.loads(district.output)["rows"][0]["coverage"]
    assert f'id="month-coverage">{cov * 100:.4f}%<' in html


def test_contractor_sees_only_its_own(client, history, world):
    login(client, "alpha")
    rows = _get(client, "/reports/figures.csv?period=2026-03&by=device").get_data(as_text=True)
    assert "CAM-A-0" in rows and "CAM-B" not in rows and "SW-B" not in rows
    assert client.get(f"/reports/contract/{world.beta_contract}").status_code == 404
    assert client.get(f"/reports/community/{world.beta_community}").status_code == 404
    _get(client, f"/reports/contract/{world.alpha_contract}")
    card = _get(client, "/reports/scorecard?month=2026-03&format=csv").get_data(as_text=True)
    assert "CT-ALPHA" in card and "CT-BETA" not in card
    assert client.get("/reports/archive").status_code == 403
    other = client.application.test_client()
    login(other, "beta")
    rows = _get(other, "/reports/figures.csv?period=2026-03&by=device").get_data(as_text=True)
    assert "CAM-B-1" in rows and "CAM-A" not in rows


def test_exports_have_no_secrets(client, history, world):
    from openpyxl import load_workbook

    login(client, "police")
    urls = ["/reports/figures.csv?period=2026-03&by=device",
            "/reports/figures.xlsx?period=2026-03&by=device",
            f"/reports/contract/{world.alpha_contract}?format=csv",
            f"/reports/contract/{world.alpha_contract}?format=xlsx",
            f"/reports/community/{world.alpha_community}?month=2026-03&format=xlsx",
            "/reports/scorecard?month=2026-03&format=xlsx"]
    for url in urls:
        body = _get(client, url).data
        if url.endswith("xlsx") or "xlsx" in url:
            wb = load_workbook(io.BytesIO(body))
            text = "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
        else:
            text = body.decode("utf-8-sig")
        assert DEVICE_PASSWORD not in text and SNMP_COMMUNITY not in text, url
        assert len(text.splitlines()) >= 2, url


def test_contract_ledger_page_and_waiver(client, history, world):
    login(client, "police")
    html = _get(client, f"/reports/contract/{world.alpha_contract}?m=3").get_data(as_text=True)
    # 600,000.00 / 60 = 10,000.00; CAM-A-0 10 h > 8 h: 99 points → 1.00
    assert "10,000.00" in html and "CAM-A-0" in html
    from tests.web.conftest import csrf_from
    token = csrf_from(html)
    r = client.post(f"/reports/contract/{world.alpha_contract}/waive",
                    data={"csrf_token": token, "index": 3,
                          "line_key": "channel_fault_over_hours:CAM-A-0", "reason": "市政施工断电"})
    assert r.status_code == 302
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "waive")).one()
    assert "CAM-A-0" in entry.entity_key if hasattr(entry, "entity_key") else True
    html = _get(client, f"/reports/contract/{world.alpha_contract}?m=3").get_data(as_text=True)
    assert "市政施工断电" in html
    # Close March (ended), then the page shows the snapshot hash.
    r = client.post(f"/reports/contract/{world.alpha_contract}/close",
                    data={"csrf_token": token, "index": 3})
    assert r.status_code == 302
    html = _get(client, f"/reports/contract/{world.alpha_contract}?m=3").get_data(as_text=True)
    from supervisor.reporting.models import LedgerClosing
    closing = db.session.scalars(select(LedgerClosing)).one()
    assert closing.content_sha256 in html
    # A contractor cannot waive.
    client = client.application.test_client()
    login(client, "alpha")
    page = _get(client, f"/reports/contract/{world.alpha_contract}?m=3").get_data(as_text=True)
    r = client.post(f"/reports/contract/{world.alpha_contract}/waive",
                    data={"csrf_token": csrf_from(page), "index": 3, "line_key": "x", "reason": "y"})
    assert r.status_code == 403


def test_pages_render_in_chinese(client, history, world):
    login(client, "official")
    html = _get(client, "/reports/?month=2026-03").get_data(as_text=True)
    assert "在线率" in html and "城市总览" in html
    _get(client, f"/reports/community/{world.alpha_community}?month=2026-03")
    _get(client, "/reports/archive")


def test_evidence_page_police_only_and_form_errors(client, history, world):
    login(client, "police")
    html = _get(client, "/reports/evidence?lat=91&lon=108&radius=20&start=2026-03-05T09:50"
                        "&end=2026-03-05T09:00").get_data(as_text=True)
    assert "纬度和经度" in html or "Latitude and longitude" in html
    assert 'id="evidence"' not in html
    a0 = db.session.scalar(select(Device).where(Device.serial == "CAM-A-0"))
    a0.latitude, a0.longitude, a0.heading_deg, a0.fov_deg, a0.range_m = 34.26, 108.94, 0, 90, 60
    db.session.commit()
    html = _get(client, "/reports/evidence?lat=34.2602&lon=108.94&radius=5"
                        "&start=2026-03-03T09:00&end=2026-03-03T10:00").get_data(as_text=True)
    assert "CAM-A-0" in html and 'id="evidence"' in html
    other = client.application.test_client()
    login(other, "alpha")
    assert other.get("/reports/evidence").status_code == 403


def test_evidence_page_by_community_with_a_map(client, history, world):
    """The community form lists every camera of the community over the window (CAM-A-0 was
    offline 03-03 08:00–18:00 local); the map carries the cameras with a position and the
    field of view of those with one."""
    a0 = db.session.scalar(select(Device).where(Device.serial == "CAM-A-0"))
    a0.latitude, a0.longitude, a0.heading_deg, a0.fov_deg, a0.range_m = 34.26, 108.94, 0, 90, 60
    db.session.commit()
    login(client, "police")
    client.get("/lang/en")
    html = _get(client, f"/reports/evidence?community={world.alpha_community}"
                        "&start=2026-03-03T09:00&end=2026-03-03T10:00").get_data(as_text=True)
    table = html.split('id="evidence"')[1].split("</table>")[0]
    assert all(s in table for s in ("CAM-A-0", "CAM-A-1", "CAM-A-2"))
    assert "CAM-B" not in table and "SW-A-1" not in table          # cameras of that community
    row = next(r for r in table.split("<tr>") if "CAM-A-0" in r)
    assert '<span class="unmet">no</span>' in row                  # offline in the window
    fig = json.loads(re.search(r'id="evidence-map" class="chart" data-figure="([^"]*)"', html)
                     .group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
    texts = [t for tr in fig["data"] for t in (tr.get("text") or [])]
    assert texts == ["CAM-A-0"]                                    # the only one with a position
    outline = next(tr for tr in fig["data"] if tr.get("fill") == "toself")
    assert min(outline["y"]) == 34.26 and max(outline["y"]) > 34.26  # heading north, 60 m
    assert any(tr.get("name") == "not working in the window" for tr in fig["data"])
    bad = _get(client, "/reports/evidence?community=999999&start=2026-03-03T09:00"
                       "&end=2026-03-03T10:00").get_data(as_text=True)
    assert "Choose a community from the list." in bad and 'id="evidence"' not in bad


def test_archive_build_from_the_page_shows_progress(client, history):
    import time
    login(client, "police")
    page = _get(client, "/reports/archive").get_data(as_text=True)
    from tests.web.conftest import csrf_from
    r = client.post("/reports/archive/build", data={"csrf_token": csrf_from(page),
                                                    "month": "2026-03"})
    assert r.status_code == 302
    from supervisor.reporting.models import ReportArchive
    item_id = db.session.scalar(select(ReportArchive.id))
    deadline = time.monotonic() + 120
    status = {}
    while time.monotonic() < deadline:
        status = client.get(f"/reports/archive/{item_id}.json").get_json()
        if status["status"] != "building":
            break
        time.sleep(0.5)
    assert status["status"] == "done", status
    pdf = client.get(f"/reports/archive/{item_id}/download")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    import hashlib
    assert hashlib.sha256(pdf.data).hexdigest() == status["sha256"]


def test_dashboard_counts_open_tickets_by_age(client, history, world):
    from supervisor.models import Ticket, WorkCalendarVersion

    cal = WorkCalendarVersion(effective_from=T(2026, 1, 1), source="test", days={})
    db.session.add(cal)
    db.session.flush()
    a0, a1, b1 = (db.session.scalar(select(Device).where(Device.serial == s))
                  for s in ("CAM-A-0", "CAM-A-1", "CAM-B-1"))
    for dev, opened, sev, state in ((a0, NOW - dt.timedelta(hours=2), "critical", "open"),
                                    (a1, NOW - dt.timedelta(days=5), "major", "on_hold"),
                                    (b1, NOW - dt.timedelta(hours=30), "minor", "acknowledged")):
        db.session.add(Ticket(device_id=dev.id, contract_id=dev.contract_id, family="reach",
                              source="health", title="t", severity=sev, policy="default@2",
                              calendar_id=cal.id, state=state, opened_at=opened))
    db.session.commit()
    login(client, "police")
    html = _get(client, "/reports/?month=2026-03").get_data(as_text=True)
    table = html.split('id="tickets-by-age"')[1].split("</table>")[0]
    rows = [re.findall(r'<td class="num">(\d+)</td>', r) for r in table.split("<tr>")[2:]]
    assert rows == [["1", "1", "0", "0"], ["0", "0", "0", "0"], ["1", "0", "0", "1"],
                    ["1", "0", "1", "0"]]
    other = client.application.test_client()
    login(other, "alpha")  # beta's ticket is not alpha's
    html = _get(other, "/reports/?month=2026-03").get_data(as_text=True)
    table = html.split('id="tickets-by-age"')[1].split("</table>")[0]
    assert [re.findall(r'<td class="num">(\d+)</td>', r)[0] for r in table.split("<tr>")[2:]] == [
        "1", "0", "0", "1"]
