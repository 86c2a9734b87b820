"""Any bad row rejects the whole file: one `row N, column C: message` line each, nothing written."""
from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Community, Device

from inventory_helpers import HEADERS, PASSWORD, good_rows, to_csv, to_xlsx, write, zh_headers


def _snapshot() -> tuple:
    devices = db.session.execute(select(Device.serial, Device.ip, Device.name, Device.upstream_id)
                                 .order_by(Device.serial)).all()
    return (tuple(devices), db.session.scalar(select(func.count()).select_from(Community)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


def _bad_rows() -> list[list[str]]:
    rows = good_rows()
    extra = []
    def row(**kw):
        r = dict(zip(HEADERS, good_rows()[2]))
        r.update(kw)
        return [r[h] for h in HEADERS]
    extra.append(row(serial="CAM-1000", kind="robot"))                       # row 7
    extra.append(row(serial="CAM-0001"))                                      # row 8 duplicate
    extra.append(row(serial="CAM-1001", ip="127.31.0.300"))                   # row 9
    extra.append(row(serial="CAM-1002", mac="00:11:22:33:44"))                # row 10
    extra.append(row(serial="CAM-1003", onvif_port="70000"))                  # row 11
    extra.append(row(serial="CAM-1004", installed_on="2026-02-30"))           # row 12
    extra.append(row(serial="CAM-1005", upstream="NVR-9999"))                 # row 13
    extra.append(row(serial="CAM-1006", upstream="CAM-1007"))                 # row 14 cycle
    extra.append(row(serial="CAM-1007", upstream="CAM-1006"))                 # row 15 cycle
    extra.append(row(serial="CAM-1008", role="lobby"))                        # row 16
    extra.append(row(serial="CAM-1009", community_type="gated"))              # row 17
    extra.append(row(serial="CAM-1010", role=""))                             # row 18
    extra.append(row(serial="", name=""))                                     # row 19
    return rows + extra


EXPECTED = [
    "row 7, column kind: unknown kind 'robot' (one of: camera, nvr, switch, speaker)",
    "row 8, column serial: duplicate serial 'CAM-0001' (also row 4)",
    "row 9, column ip: '127.31.0.300' is not an IP address",
    "row 10, column mac: '00:11:22:33:44' is not a MAC address (e.g. 00:11:22:aa:bb:cc)",
    "row 11, column onvif_port: '70000' is not a port number (1-65535)",
    "row 12, column installed_on: '2026-02-30' is not a date (YYYY-MM-DD)",
    "row 13, column upstream: unknown upstream device 'NVR-9999'",
    "row 14, column upstream: upstream cycle: CAM-1006 → CAM-1007 → CAM-1006",
    "row 15, column upstream: upstream cycle: CAM-1006 → CAM-1007 → CAM-1006",
    "row 16, column role: unknown role 'lobby' (one of: entrance, road, perimeter, "
    "high_altitude, fire_lane, interior)",
    "row 17, column community_type: unknown community_type 'gated' (one of: open, closed, "
    "single_building)",
    "row 18, column role: a camera needs a role (one of: entrance, road, perimeter, "
    "high_altitude, fire_lane, interior)",
    "row 19, column name: a value is required",
    "row 19, column serial: a value is required",
]


def test_bad_rows_rejected_whole_with_row_and_column(app, runner, contracts, tmp_path):
    # A first good import, so "untouched" means more than "still empty".
    good = write(tmp_path, "good.csv", to_csv(good_rows()[:3], HEADERS))
    assert runner.invoke(args=["inventory", "import", str(good)]).exit_code == 0
    before = _snapshot()
    db_file = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    digest = hashlib.sha256(open(db_file, "rb").read()).hexdigest()

    path = write(tmp_path, "bad.csv", to_csv(_bad_rows(), HEADERS))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("row ")]
    assert lines == EXPECTED
    assert PASSWORD not in result.output
    assert "nothing was imported" in result.output
    assert _snapshot() == before
    assert hashlib.sha256(open(db_file, "rb").read()).hexdigest() == digest


def test_xlsx_with_chinese_headers_names_the_chinese_column(app, runner, contracts, tmp_path):
    rows = good_rows()
    rows[1][10] = "not-an-ip"
    path = write(tmp_path, "bad.xlsx", to_xlsx(rows, zh_headers(HEADERS)))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 1
    assert "row 3, column IP地址: 'not-an-ip' is not an IP address" in result.output
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0


def test_missing_required_column(app, runner, contracts, tmp_path):
    headers = [h for h in HEADERS if h != "serial"]
    rows = [[v for h, v in zip(HEADERS, r) if h != "serial"] for r in good_rows()]
    path = write(tmp_path, "noserial.csv", to_csv(rows, headers))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 1
    assert "row 1, column serial (序列号): missing required column" in result.output
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0


def test_unknown_column_is_ignored_with_a_warning(app, runner, contracts, tmp_path):
    """Decision: extra columns (立杆编号, 维保电话...) are common in real sheets; they are
    ignored, and the warning names them so a misspelt known column is noticed."""
    path = write(tmp_path, "x.csv", to_csv(good_rows(), HEADERS[:-1] + ["colour"]))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: row 1, column colour: unknown column, ignored" in result.output
    dates = db.session.scalars(select(Device.installed_on)).all()
    assert len(dates) == 5 and set(dates) == {None}  # the column's values went nowhere


def test_unreadable_files(app, runner, contracts, tmp_path):
    for name, data, message in [
        ("x.xlsx", b"PK\x03\x04garbage", "not a readable .xlsx workbook"),
        ("x.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old .xls workbook"),
        ("x.csv", b"", "the file is empty"),
        ("x.csv", b"\x00\x01\x02binary", "binary data"),
        ("x.csv", b"a,b\n\x81\x30\xff\xff", "neither UTF-8 nor GB18030/GBK"),
        ("x.csv", b"a,b\n" + b"x" * 200_000 + b",y\n", "row 2: unreadable CSV"),
    ]:
        path = write(tmp_path, name, data)
        result = runner.invoke(args=["inventory", "import", str(path)])
        assert result.exit_code == 1 and message in result.output, (name, result.output)
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0


def test_unknown_contract_is_an_error_unless_asked_to_create(app, runner, tmp_path):
    from supervisor.inventory.models import Contract
    from supervisor.profiles.models import ProfileUse

    path = write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 1
    assert ("row 2, column contract: unknown contract 'C-2026-001' (create it first, or import "
            "with --create-contracts)") in result.output
    result = runner.invoke(args=["inventory", "import", str(path), "--create-contracts"])
    assert result.exit_code == 1 and "needs a contractor" in result.output
    result = runner.invoke(args=["inventory", "import", str(path), "--create-contracts",
                                 "--contractor", "Acme"])
    assert result.exit_code == 0, result.output
    assert "contracts: 2 created" in result.output
    contracts = db.session.scalars(select(Contract).order_by(Contract.code)).all()
    assert [(c.code, c.contractor.name, c.term_months) for c in contracts] == [
        ("C-2026-001", "Acme", 60), ("C-2026-002", "Acme", 60)]
    use = db.session.scalars(select(ProfileUse)).one()  # the profile version is now locked
    assert (use.name, use.version) == (contracts[0].profile_name, contracts[0].profile_version)


def test_apply_refuses_a_plan_with_errors(app, contracts):
    import pytest

    from supervisor.inventory import importer as inventory

    rows = good_rows()
    rows[0][4] = "robot"
    plan = inventory.parse_upload("x.csv", to_csv(rows, HEADERS))
    assert not plan.ok and plan.errors[0] == (2, "kind", plan.errors[0].message)
    with pytest.raises(inventory.ImportRejected):
        inventory.apply_plan(plan, "tester")
    assert db.session.scalar(select(func.count()).select_from(Device)) == 0


def test_a_workbook_that_inflates_too_far_is_refused(app, contracts, monkeypatch):
    from supervisor.inventory import importer as inventory, reading as inventory_read

    monkeypatch.setattr(inventory_read, "MAX_XLSX_UNPACKED", 10_000)  # a real bomb is 100s of MB
    plan = inventory.parse_upload("x.xlsx", to_xlsx(good_rows(), HEADERS))
    assert [str(e) for e in plan.errors] == [
        "row 1, column -: not a readable .xlsx workbook: workbook too large once unpacked"]
