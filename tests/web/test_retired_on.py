"""A device's retirement date: an import column (退役日期) and the device edit page (police),
audited, with the lifecycle following it; the figures prorate the device by it."""
from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory import importer
from supervisor.inventory.models import Device

from .conftest import csrf_from

NOW = dt.datetime(2026, 4, 5, 2)          # 2026-04-05 10:00 local
BASE = {"community": "阳光小区", "district": "东城区", "community_type": "open", "kind": "camera",
        "serial": "CAM-A-1", "name": "a-camera-1", "role": "road", "ip": "127.0.10.11"}


def _csv(rows: list[dict], zh: bool = False) -> bytes:
    out = io.StringIO()
    keys = list(rows[0])
    w = csv.writer(out)
    w.writerow([importer.SPEC[k].zh if zh else k for k in keys])
    for r in rows:
        w.writerow([r[k] for k in keys])
    return out.getvalue().encode("utf-8")


def test_import_sets_and_clears_the_date(app, world):
    with clock.pinned(NOW):
        plan = importer.parse_upload("r.csv", _csv([{**BASE, "installed_on": "2026-01-05",
                                                      "retired_on": "2026年3月16日"}], zh=True))
        assert not plan.errors, plan.errors
        importer.apply_plan(plan, "test")
        db.session.expire_all()
        d = db.session.scalar(select(Device).where(Device.serial == "CAM-A-1"))
        assert (d.retired_on, d.lifecycle) == (dt.date(2026, 3, 16), "retired")
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "device", AuditEntry.entity_key == "CAM-A-1")).all()[-1]
        assert entry.after["retired_on"] == "2026-03-16" and entry.after["lifecycle"] == "retired"
        # The export carries it, so the file goes back and forth.
        rows = list(importer.export_rows())
        assert next(r for r in rows if r["serial"] == "CAM-A-1")["retired_on"] == dt.date(2026, 3, 16)
        # Cleared: back in service as installed (never accepted).
        plan = importer.parse_upload("r.csv", _csv([{**BASE, "installed_on": "2026-01-05",
                                                      "retired_on": ""}]))
        importer.apply_plan(plan, "test")
        db.session.expire_all()
        d = db.session.scalar(select(Device).where(Device.serial == "CAM-A-1"))
        assert (d.retired_on, d.lifecycle) == (None, "installed")


def test_import_refuses_a_future_date_or_one_before_installation(app, world):
    with clock.pinned(NOW):
        plan = importer.parse_upload("r.csv", _csv([
            {**BASE, "installed_on": "2026-01-05", "retired_on": "2026-04-06"},
            {**BASE, "serial": "CAM-A-2", "ip": "127.0.10.12", "installed_on": "2026-01-05",
             "retired_on": "2025-12-31"}]))
    msgs = [str(e) for e in plan.errors]
    assert any("row 2" in m and "retired_on" in m and "in the future" in m for m in msgs), msgs
    assert any("row 3" in m and "retired_on" in m and "before the installation" in m
               for m in msgs), msgs


def test_edit_page_sets_it_audited_and_the_figures_prorate(app, as_user, world):
    from reports import periods
    from reports.figures import figures
    from supervisor.health.models import StateInterval

    d = db.session.scalar(select(Device).where(Device.serial == "CAM-A-1"))
    d.accepted_on, d.lifecycle, d.installed_on = dt.date(2026, 1, 1), "accepted", dt.date(2025, 12, 1)
    db.session.add(StateInterval(device_id=d.id, state="ok", start_at=dt.datetime(2025, 12, 31, 16),
                                 end_at=None))
    db.session.commit()
    police = as_user("police")
    url = f"/devices/{d.id}/edit"
    with clock.pinned(NOW):
        page = police.get(url).get_data(as_text=True)
        assert 'name="retired_on"' in page and 'type="date"' in page
        token = csrf_from(page)
        form = {"csrf_token": token, "name": d.name, "role": "road", "ip": d.ip,
                "lifecycle": "accepted"}
        bad = police.post(url, data={**form, "retired_on": "2026-05-01"})
        assert bad.status_code == 400
        assert "cannot be in the future" in bad.get_data(as_text=True) or \
            "不能晚于" in bad.get_data(as_text=True)
        bad = police.post(url, data={**form, "lifecycle": "retired", "retired_on": ""})
        assert bad.status_code == 400
        ok = police.post(url, data={**form, "retired_on": "2026-03-16"})
        assert ok.status_code == 302, ok.get_data(as_text=True)[:300]
    db.session.expire_all()
    d = db.session.get(Device, d.id)
    assert (d.retired_on, d.lifecycle) == (dt.date(2026, 3, 16), "retired")
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "device", AuditEntry.action == "update")).all()[-1]
    assert entry.before["retired_on"] is None and entry.after["retired_on"] == "2026-03-16"
    assert (entry.before["lifecycle"], entry.after["lifecycle"]) == ("accepted", "retired")
    march = periods.month(2026, 3)
    (row,) = figures(db.session, march.lo, march.hi, NOW, by="device", device_ids=[d.id])
    assert row["in_service_s"] == 15 * 86400           # 03-01 .. 03-15 local
    # A contractor cannot edit.
    alpha = as_user("alpha")
    own = csrf_from(alpha.get("/account/password").get_data(as_text=True))
    assert alpha.post(url, data={"csrf_token": own, "retired_on": ""}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Device, d.id).retired_on == dt.date(2026, 3, 16)
