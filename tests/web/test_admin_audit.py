"""The audit log viewer: masked secrets in the diff and the CSV, filters, keyset pages."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry

from .conftest import DEVICE_PASSWORD, csrf_from

NEW_PASSWORD = "Audit-view-pw-5150"


def _change_device_password(client, device_id: int) -> None:
    edit = client.get(f"/devices/{device_id}/edit").get_data(as_text=True)
    response = client.post(f"/devices/{device_id}/edit", data={
        "csrf_token": csrf_from(edit), "name": "renamed-camera", "role": "road",
        "ip": "127.0.10.11", "onvif_port": "8001", "username": "admin",
        "password": NEW_PASSWORD, "snmp_community": "", "lifecycle": "installed"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]


def _csv(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_password_change_shows_changed_never_the_value(as_en, world):
    police = as_en("police")
    _change_device_password(police, world.alpha_devices[2])
    page = police.get("/admin/audit?entity=device&action=update").get_data(as_text=True)
    assert "*** (changed)" in page
    assert "renamed-camera" in page and "CAM-A-1" in page  # the readable part of the diff
    assert re.search(r'<tr class="changed"><th>name</th>', page)
    export = police.get("/admin/audit.csv?entity=device&action=update")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = _csv(export)
    assert len(rows) == 1 and rows[0]["key"] == "CAM-A-1"
    assert "password: *** → *** (changed)" in rows[0]["changes"]
    for body in (page, export.get_data(as_text=True)):
        assert NEW_PASSWORD not in body and DEVICE_PASSWORD not in body
    # every row in the table, whatever the filter, is masked too
    assert NEW_PASSWORD not in police.get("/admin/audit").get_data(as_text=True)


def _seed(rows: list[tuple[str, str, str, str, dt.datetime]]) -> None:
    for actor, action, entity, key, at in rows:
        db.session.add(AuditEntry(actor=actor, action=action, entity=entity, entity_key=key, at=at,
                                  before={"x": 1}, after={"x": 2}))
    db.session.commit()


def test_filters_by_actor_entity_action_key_and_local_dates(as_en, world):
    police = as_en("police")
    # 2026-03-01 17:30 UTC is 2026-03-02 01:30 in Asia/Shanghai: it belongs to the 2nd locally.
    _seed([("kim", "update", "device", "D-1", dt.datetime(2026, 3, 1, 17, 30)),
           ("kim", "create", "user", "u1", dt.datetime(2026, 3, 1, 15, 59)),
           ("lee", "update", "device", "D-2", dt.datetime(2026, 3, 3, 2, 0)),
           ("=cmd", "update", "device", "-D-3", dt.datetime(2026, 3, 5, 2, 0))])

    def keys(query: str) -> list[str]:
        return [r["key"] for r in _csv(police.get("/admin/audit.csv?" + query))]

    assert keys("actor=KIM") == ["D-1", "u1"]
    assert keys("actor=kim&entity=device") == ["D-1"]
    assert keys("action=create&entity=user&actor=kim") == ["u1"]
    assert keys("since=2026-03-02&until=2026-03-02") == ["D-1"]
    assert keys("since=2026-03-01&until=2026-03-01") == ["u1"]
    assert keys("since=2026-03-02&entity=device") == ["'-D-3", "D-2", "D-1"]  # newest first
    assert keys("key=D-2") == ["D-2"]
    page = police.get("/admin/audit?actor=lee").get_data(as_text=True)
    assert "D-2" in page and "D-1" not in page
    assert "2026-03-03 10:00:00" in page  # shown in local time (UTC+8)
    # a spreadsheet formula in a cell is defused
    row = _csv(police.get("/admin/audit.csv?key=-D-3"))[0]
    assert row["actor"] == "'=cmd" and row["at_utc"] == "2026-03-05 02:00:00"
    # the export itself is audited
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.entity == "audit_log", AuditEntry.action == "export")) >= 8


def test_keyset_pages_walk_every_row_once_both_ways(as_en, world):
    police = as_en("police")
    base = dt.datetime(2026, 4, 1)
    # 130 rows, several sharing a timestamp (the cursor must break ties by id)
    _seed([("pager", "update", "device", f"K-{i:03d}", base + dt.timedelta(minutes=i // 3))
           for i in range(130)])
    expected = [r["key"] for r in _csv(police.get("/admin/audit.csv?actor=pager"))]
    assert len(expected) == 130

    def page_keys(html: str) -> list[str]:
        return re.findall(r'>(K-\d{3})</a></td>', html)

    def link(html: str, rel: str) -> str | None:
        m = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
        return m.group(1).replace("&amp;", "&") if m else None

    seen, pages, url = [], [], "/admin/audit?actor=pager"
    while url:
        html = police.get(url).get_data(as_text=True)
        pages.append(html)
        seen += page_keys(html)
        url = link(html, "next")
    assert seen == expected and len(pages) == 3
    # back from the last page: the newer link gives exactly the middle page
    back = police.get(link(pages[2], "prev")).get_data(as_text=True)
    assert page_keys(back) == page_keys(pages[1])
    assert link(pages[0], "prev") is None


def test_malformed_parameters_are_ignored(as_en, world):
    police = as_en("police")
    for query in ("older=garbage", "newer=2026-13-01_x", "since=yesterday&until=%00", "older=_",
                  "actor=" + "x" * 500):
        assert police.get("/admin/audit?" + query).status_code == 200, query
        assert police.get("/admin/audit.csv?" + query).status_code == 200, query
