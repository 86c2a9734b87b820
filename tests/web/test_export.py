"""The device pages' export goes through the inventory's one exporter: read-only status columns,
filters, scope, formula guarding, Chinese headers, and a file that imports back unchanged."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory import importer as inventory
from supervisor.inventory.models import Device


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Chinese Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_carries_status_columns_and_filters(app, as_user, world):
    cam = db.session.get(Device, world.alpha_devices[1])
    cam.accepted_on, cam.lifecycle = dt.date(2026, 2, 3), "accepted"
    db.session.add(DeviceStatus(device_id=cam.id, state="degraded"))
    db.session.commit()
    police = as_user("police")
    rows = {r["serial"]: r for r in _csv(police.get("/devices/export.csv").data)}
    assert len(rows) == 8
    assert list(next(iter(rows.values())))[-3:] == ["accepted_on", "lifecycle", "state"]
    assert (rows["CAM-A-0"]["accepted_on"], rows["CAM-A-0"]["lifecycle"],
            rows["CAM-A-0"]["state"]) == ("2026-02-03", "accepted", "degraded")
    assert rows["CAM-A-1"]["state"] == "unknown" and rows["CAM-A-1"]["accepted_on"] == ""
    # A filter limits the rows; an upstream merely outside the filter is still named.
    cams = _csv(police.get("/devices/export.csv?kind=camera&state=degraded").data)
    assert [(r["serial"], r["upstream"]) for r in cams] == [("CAM-A-0", "SW-A-1")]
    sheet = openpyxl.load_workbook(io.BytesIO(police.get("/devices/export.xlsx?kind=switch").data),
                                   read_only=True).active
    got = list(sheet.iter_rows(values_only=True))
    assert got[0][-3:] == ("accepted_on", "lifecycle", "state")
    assert sorted(r[got[0].index("serial")] for r in got[1:]) == ["SW-A-1", "SW-B-1"]


def test_export_guards_formulas_and_speaks_chinese(app, as_user, world):
    cam = db.session.get(Device, world.alpha_devices[2])
    cam.name = '=HYPERLINK("http://127.0.0.1/","x")'
    cam.model = "\t=1+1"
    db.session.commit()
    alpha = as_user("alpha")
    text = alpha.get("/devices/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'\t=1+1" in text
    body = alpha.get("/devices/export.xlsx").data
    sheet_xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml  # text cells, never formulas
    plan = inventory.parse_upload("a.csv", text.encode("utf-8-sig"))
    assert plan.ok and (plan.counts.updated, plan.counts.unchanged) == (0, 4)  # guard removed
    plan = inventory.parse_upload("a.xlsx", body)  # unguarded text cells; the import trims the tab
    assert plan.ok and [(r.values["serial"], r.changes) for r in plan.rows if r.changes] == [
        ("CAM-A-1", ["model"])] and plan.rows[0].values["name"] is not None
    assert [r.values["name"] for r in plan.rows if r.values["serial"] == "CAM-A-1"] == [
        '=HYPERLINK("http://127.0.0.1/","x")']
    zh = _csv(alpha.get("/devices/export.csv?lang=zh").data)
    assert {"序列号", "小区", "验收日期", "生命周期", "状态"} <= set(zh[0])
    assert {r["序列号"] for r in zh} == {"SW-A-1", "CAM-A-0", "CAM-A-1", "CAM-A-2"}


def test_web_export_imports_back_unchanged(app, as_user, world):
    police = as_user("police")
    for fmt in ("csv", "xlsx"):
        data = police.get(f"/devices/export.{fmt}").data
        plan = inventory.parse_upload(f"devices.{fmt}", data)
        assert plan.ok, plan.error_lines()
        assert not [w for w in plan.warnings if "unknown column" in w.message]
        assert (plan.counts.created, plan.counts.updated, plan.counts.unchanged) == (0, 0, 8)
