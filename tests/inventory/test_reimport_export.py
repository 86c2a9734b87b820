"""Re-import counts, exports without secrets (and scoped), secrets encrypted at rest."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from supervisor.inventory import importer as inventory
from supervisor.core.extensions import db
from supervisor.inventory.models import Device

from inventory_helpers import HEADERS, PASSWORD, SNMP, good_rows, to_csv, write


def _import(runner, path, *extra):
    result = runner.invoke(args=["inventory", "import", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_reimport_matches_by_serial_and_counts(app, runner, contracts, tmp_path):
    path = write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS))
    _import(runner, path)
    assert "created 0, updated 0, unchanged 5" in _import(runner, path)
    rows = good_rows()
    rows[3][10] = "127.31.0.44"          # CAM-0002 moves
    rows[2][16] = "SW-0001"             # CAM-0001 now hangs off the switch
    rows.append(["幸福里", "桥西区", "closed", "新道路", "camera", "road", "", "", "CAM-0003",
                 "", "127.31.0.6", "", "", "", "", "", "CAM-0002", "C-2026-002", ""])
    write(tmp_path, "inv.csv", to_csv(rows, HEADERS))
    assert "created 1, updated 2, unchanged 3" in _import(runner, path)
    cams = {d.serial: d for d in db.session.scalars(select(Device))}
    assert cams["CAM-0002"].ip == "127.31.0.44"
    assert cams["CAM-0001"].upstream.serial == "SW-0001"
    assert cams["CAM-0003"].upstream.serial == "CAM-0002"
    assert cams["CAM-0001"].password == PASSWORD  # untouched by the update


def test_blank_secret_keeps_the_stored_one_and_absent_column_is_untouched(
        app, runner, contracts, tmp_path):
    path = write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS))
    _import(runner, path)
    keep = [h for h in HEADERS if h not in ("vendor", "model")]
    rows = [[v for h, v in zip(HEADERS, r) if h in keep] for r in good_rows()]
    for r in rows:
        r[keep.index("password")] = ""
    write(tmp_path, "inv2.csv", to_csv(rows, keep))
    assert "unchanged 5" in _import(runner, tmp_path / "inv2.csv")
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-0001"))
    assert cam.password == PASSWORD and cam.vendor == "Hikvision"


def test_upstream_may_name_a_stored_device_and_cycles_through_the_db_are_caught(
        app, runner, contracts, tmp_path):
    _import(runner, write(tmp_path, "a.csv", to_csv(good_rows(), HEADERS)))
    # SW-0001 hung below CAM-0001 closes SW -> CAM-0001 -> NVR -> SW through stored rows.
    rows = [good_rows()[0]]
    rows[0][16] = "CAM-0001"
    result = runner.invoke(args=["inventory", "import",
                                 str(write(tmp_path, "b.csv", to_csv(rows, HEADERS)))])
    assert result.exit_code == 1
    assert "row 2, column upstream: upstream cycle: SW-0001 → CAM-0001 → NVR-0001 → SW-0001" \
        in result.output
    rows[0][16] = "CAM-0002"  # a stored device outside the file: fine
    assert "updated 1" in _import(runner, write(tmp_path, "b.csv", to_csv(rows, HEADERS)))


def test_apply_rechecks_the_database(app, runner, contracts, tmp_path):
    """A preview that went stale (upstream deleted meanwhile) is refused, nothing written."""
    _import(runner, write(tmp_path, "a.csv", to_csv(good_rows()[:1], HEADERS)))
    plan = inventory.parse_upload("b.csv", to_csv(good_rows()[1:2], HEADERS))
    assert plan.ok and plan.counts.created == 1
    db.session.execute(db.delete(Device).where(Device.serial == "SW-0001"))
    db.session.commit()
    try:
        inventory.apply_plan(plan, "tester")
        raise AssertionError("stale plan applied")
    except inventory.ImportRejected as exc:
        assert "unknown upstream device 'SW-0001'" in str(exc)
    assert db.session.scalars(select(Device)).all() == []


def test_exports_never_contain_secrets_and_round_trip(app, runner, contracts, tmp_path):
    _import(runner, write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS)))
    for fmt, lang in [("csv", "en"), ("csv", "zh"), ("xlsx", "en"), ("xlsx", "zh")]:
        out = tmp_path / f"out-{lang}.{fmt}"
        result = runner.invoke(args=["inventory", "export", str(out), "--lang", lang])
        assert result.exit_code == 0, result.output
        data = out.read_bytes()
        if fmt == "csv":
            text = data.decode("utf-8-sig")
            raw = data
        else:  # every cell's text, plus every byte of every part of the workbook
            import openpyxl
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            text = "\n".join(str(c) for r in wb.worksheets[0].iter_rows(values_only=True)
                             for c in r)
            z = zipfile.ZipFile(io.BytesIO(data))
            raw = b"".join(z.read(n) for n in z.namelist())
        assert "南门入口" in text  # the export has content...
        for secret in (PASSWORD, SNMP):  # ...but no secrets, nor their columns
            assert secret not in text and secret[:11].encode() not in raw
        assert "password" not in text and "密码" not in text and "snmp_community" not in text
        # Re-importing an export changes nothing (secrets kept since the cells are absent).
        assert "created 0, updated 0, unchanged 5" in _import(runner, out)
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-0001"))
    assert cam.password == PASSWORD


def test_formula_like_text_is_neutralised_in_exports(app, runner, contracts, tmp_path):
    rows = good_rows()
    rows[2][3] = "=HYPERLINK(\"http://127.0.0.1/\",\"x\")"
    _import(runner, write(tmp_path, "inv.csv", to_csv(rows, HEADERS)))
    csv_text = inventory.export_devices("csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    xlsx = zipfile.ZipFile(io.BytesIO(inventory.export_devices("xlsx")))
    sheet = xlsx.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet  # stored as text, never a formula
    assert "unchanged 5" in _import(runner, write(tmp_path, "back.csv", csv_text.encode()))


def test_export_is_limited_to_the_query_given(app, runner, contracts, tmp_path):
    """A contractor's export: the pages pass their scoped select(Device)."""
    from supervisor.inventory.models import Contract

    rows = good_rows()
    rows[3][16] = "SW-0001"  # Beta's camera hangs off Acme's switch
    _import(runner, write(tmp_path, "inv.csv", to_csv(rows, HEADERS)))
    acme, beta = contracts
    scoped = select(Device).join(Contract, Device.contract_id == Contract.id).where(
        Contract.contractor_id == beta.id).order_by(Device.serial)
    text = inventory.export_devices("csv", query=scoped).decode("utf-8-sig")
    assert "CAM-0002" in text
    for other in ("CAM-0001", "NVR-0001", "SW-0001", "SPK-0001"):
        assert other not in text  # the upstream outside the scope is left blank too
    assert "SW-0001" in inventory.export_devices("csv").decode("utf-8-sig")


def test_read_only_export_columns_are_accepted_and_ignored(app, runner, contracts, tmp_path):
    headers = HEADERS + ["accepted_on", "lifecycle", "state"]
    rows = [r + ["", "accepted", "ok"] for r in good_rows()]
    out = _import(runner, write(tmp_path, "inv.csv", to_csv(rows, headers)))
    assert "created 5" in out
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-0001"))
    assert cam.lifecycle == "installed" and cam.accepted_on is None


def test_password_never_in_the_database_file(app, runner, contracts, tmp_path):
    _import(runner, write(tmp_path, "inv.csv", to_csv(good_rows(), HEADERS)))
    db.session.remove()
    db.engine.dispose()  # flush SQLite's WAL/journal into the file
    base = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    blob = b""
    for suffix in ("", "-wal", "-journal", "-shm"):
        try:
            blob += open(base + suffix, "rb").read()
        except FileNotFoundError:
            pass
    assert "南门入口".encode() in blob  # the file holds the inventory...
    for secret in (PASSWORD, SNMP):
        for enc in ("utf-8", "utf-16-le"):
            assert secret.encode(enc) not in blob  # ...but never the secrets in the clear
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-0001"))
    assert cam.password == PASSWORD  # and they still decrypt with the key


def test_an_address_used_twice_is_a_warning_not_an_error(app, runner, contracts, tmp_path):
    _import(runner, write(tmp_path, "a.csv", to_csv(good_rows()[:2], HEADERS)))
    rows = good_rows()[2:]
    rows[1][10] = rows[0][10]       # CAM-0002 on CAM-0001's address, same port below
    rows[1][11] = rows[0][11]
    rows[2][10] = "127.31.0.1"      # the speaker on the stored switch's address
    result = runner.invoke(args=["inventory", "import",
                                 str(write(tmp_path, "b.csv", to_csv(rows, HEADERS)))])
    assert result.exit_code == 0, result.output
    assert "warning: row 3, column ip: 127.31.0.3 is also on row 2" in result.output
    assert ("warning: row 4, column ip: 127.31.0.1 is also the address of stored device SW-0001"
            in result.output)
    assert "created 3" in result.output


def test_a_concurrent_writer_makes_the_import_fail_cleanly(app, contracts, monkeypatch):
    """Someone adds the same serial between our check and our write: rejected, nothing written."""
    from supervisor.inventory.models import Community

    plan = inventory.parse_upload("a.csv", to_csv(good_rows()[:1], HEADERS))
    assert plan.ok
    real_load = inventory._load_context

    def load_then_race():
        ctx = real_load()  # our view of the database...
        c = Community(name="别处", district="d", type="open")  # ...then another writer commits
        db.session.add(c)
        db.session.flush()
        db.session.add(Device(serial="SW-0001", name="x", kind="switch", ip="127.31.9.9",
                              community_id=c.id))
        db.session.flush()
        return ctx

    monkeypatch.setattr(inventory, "_load_context", load_then_race)
    try:
        inventory.apply_plan(plan, "tester")
        raise AssertionError("collision not reported")
    except inventory.ImportRejected as exc:
        assert "the database changed during the import" in str(exc)
    assert db.session.scalars(select(Device)).all() == []
