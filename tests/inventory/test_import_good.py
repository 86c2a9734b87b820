"""Good files in every encoding, header language and format import fully and correctly."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Community, Contract, Device

from inventory_helpers import HEADERS, PASSWORD, SNMP, good_rows, to_csv, to_xlsx, write, zh_headers


def _assert_imported() -> None:
    devices = {d.serial: d for d in db.session.scalars(select(Device))}
    assert set(devices) == {"SW-0001", "NVR-0001", "CAM-0001", "CAM-0002", "SPK-0001"}
    cam = devices["CAM-0001"]
    assert cam.community.name == "阳光花园" and cam.community.district == "新华区"
    assert cam.community.type == "open"
    assert cam.kind == "camera" and cam.role == "entrance" and cam.name == "南门入口"
    assert cam.mac == "00:11:22:33:44:03" and cam.ip == "127.31.0.3" and cam.onvif_port == 80
    assert cam.password == PASSWORD and cam.username == "admin"
    assert cam.upstream.serial == "NVR-0001" and cam.upstream.upstream.serial == "SW-0001"
    assert cam.contract.code == "C-2026-001" and cam.installed_on == dt.date(2026, 1, 6)
    assert cam.lifecycle == "installed"
    assert devices["SW-0001"].snmp_community == SNMP and devices["SW-0001"].snmp_port == 161
    assert devices["NVR-0001"].mac == "00:11:22:33:44:02"
    spk = devices["SPK-0001"]
    assert spk.contract is None and spk.installed_on is None and spk.lifecycle == "planned"
    c1 = db.session.scalar(select(Contract).where(Contract.code == "C-2026-001"))
    assert [c.name for c in c1.communities] == ["阳光花园"]
    assert db.session.scalar(select(func.count()).select_from(Community)) == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_csv_each_encoding_and_header_language(app, runner, contracts, tmp_path, encoding, lang):
    headers = HEADERS if lang == "en" else zh_headers(HEADERS)
    path = write(tmp_path, "inv.csv", to_csv(good_rows(), headers, encoding))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 5, updated 0, unchanged 0" in result.output
    _assert_imported()


def test_xlsx_with_typed_cells_and_chinese_values(app, runner, contracts, tmp_path):
    """Excel gives numbers, dates and Chinese choice labels; all are understood."""
    rows = []
    for r in good_rows():
        r = list(r)
        r[11] = int(r[11]) if r[11] else None            # onvif_port as a number
        r[12] = float(r[12]) if r[12] else None          # snmp_port as 161.0
        r[18] = dt.datetime.fromisoformat(r[18]) if r[18] else None  # a date cell
        r[4] = {"camera": "摄像机", "nvr": "硬盘录像机", "switch": "交换机",
                "speaker": "音柱"}[r[4]]
        r[2] = {"open": "开放式", "closed": "封闭式"}[r[2]]
        rows.append(r)
    path = write(tmp_path, "inv.xlsx", to_xlsx(rows, zh_headers(HEADERS)))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 5" in result.output
    _assert_imported()


def test_bilingual_headers_and_tab_separated(app, runner, contracts, tmp_path):
    headers = [f"{k} / {z}" for k, z in zip(HEADERS, zh_headers(HEADERS))]
    data = to_csv(good_rows(), headers).replace(b",", b"\t")
    path = write(tmp_path, "inv.txt", data)
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    _assert_imported()


def test_dry_run_writes_nothing(app, runner, contracts, tmp_path):
    path = write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS))
    result = runner.invoke(args=["inventory", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would be created 5" in result.output
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_every_change_is_audited_with_secrets_masked(app, runner, contracts, tmp_path):
    path = write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS))
    assert runner.invoke(args=["inventory", "import", str(path)]).exit_code == 0
    entries = db.session.scalars(select(AuditEntry)).all()
    by_key = {(e.entity, e.entity_key): e for e in entries}
    cam = by_key[("device", "CAM-0001")]
    assert cam.action == "create" and cam.actor.startswith("cli:")
    assert cam.after["password"] == "***" and cam.after["ip"] == "127.31.0.3"
    assert ("community", "阳光花园") in by_key and ("inventory", "inv.csv") in by_key
    assert PASSWORD not in repr([(e.before, e.after) for e in entries])
    # A changed password is logged as changed, never shown.
    rows = good_rows()
    rows[2][15] = "another-Secret-1"
    write(tmp_path, "inv.csv", to_csv(rows, HEADERS))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert "updated 1" in result.output, result.output
    upd = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "update", AuditEntry.entity_key == "CAM-0001")).one()
    assert upd.after == {"password": "*** (changed)"} and upd.before == {"password": "***"}


def test_progress_callback_reports_each_stage(app, contracts):
    from supervisor.inventory import importer as inventory

    seen = []
    plan = inventory.parse_upload("inv.csv", to_csv(good_rows(), HEADERS),
                                  progress=lambda *a: seen.append(a))
    assert plan.ok, plan.error_lines()
    inventory.apply_plan(plan, "tester", progress=lambda *a: seen.append(a))
    stages = {s for s, _, _ in seen}
    assert {"read", "validate", "write"} <= stages
    assert ("write", 5, 5) in seen


def test_utf16_tab_separated_as_excel_unicode_text(app, contracts):
    """Excel's "Unicode Text" save: UTF-16 with a BOM, tab-separated."""
    from supervisor.inventory import importer as inventory

    data = to_csv(good_rows(), zh_headers(HEADERS)).decode().replace(",", "\t").encode("utf-16")
    plan = inventory.parse_upload("inv.txt", data)
    assert plan.ok, plan.error_lines()
    assert (plan.encoding, plan.header_language, plan.counts.created) == ("utf-16", "zh", 5)
    preview = {r.values["serial"]: r for r in plan.rows}["CAM-0001"]
    assert preview.values["password"] == "***" and PASSWORD not in repr(preview)
    assert preview.action == "create"


def test_title_row_above_the_header_is_skipped(app, contracts):
    from supervisor.inventory import importer as inventory

    headers = zh_headers(HEADERS)
    rows = [["新华区前端设备清单"] + [""] * (len(HEADERS) - 1), headers] + good_rows()
    plan = inventory.parse_upload("inv.xlsx", to_xlsx(rows[1:], rows[0]))
    assert plan.ok, plan.error_lines()
    assert plan.counts.created == 5 and plan.rows[0].row == 3  # spreadsheet numbering kept


@pytest.mark.parametrize("name", ["template.xlsx", "template.csv"])
def test_the_template_imports_after_filling_in(app, runner, contracts, tmp_path, name):
    path = tmp_path / name
    assert runner.invoke(args=["inventory", "template", str(path)]).exit_code == 0
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output
    dev = db.session.scalar(select(Device))
    assert (dev.serial, dev.kind, dev.community.name) == ("EXAMPLE-0001", "camera", "阳光花园")
