"""SNMP version and v3 credentials through the inventory: import (v1, v3, refused rows),
secrets never in the database file, exports, the device pages, the edit form and the API."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from inventory_helpers import good_rows, to_csv, to_xlsx, zh_headers
from supervisor.core.extensions import db
from supervisor.inventory.importer import apply_plan, export_devices, parse_upload
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Device

BASE = ["community", "district", "community_type", "name", "kind", "role", "vendor", "model",
        "serial", "mac", "ip", "onvif_port", "snmp_port", "snmp_community", "username",
        "password", "upstream", "contract", "installed_on"]
SNMP_COLS = ["snmp_version", "snmp_user", "snmp_auth_protocol", "snmp_auth_key",
             "snmp_priv_protocol", "snmp_priv_key"]
HEADERS = BASE + SNMP_COLS
AUTH_KEY = "v3-auth-Kq81x-认证"
PRIV_KEY = "v3-priv-Zp02y-加密"
NEW_AUTH = "v3-auth-NEW-77aa"


def rows() -> list[list[str]]:
    """good_rows(): the switch speaks v3 (SHA-256/AES-256), the NVR v1, the rest default."""
    out = [r + [""] * len(SNMP_COLS) for r in good_rows()]
    out[0][-6:] = ["v3", "monitor", "sha-256", AUTH_KEY, "AES256", PRIV_KEY]
    out[1][-6:] = ["1", "", "", "", "", ""]
    return out


def _import(data: bytes, name: str = "inv.csv"):
    plan = parse_upload(name, data)
    if plan.ok:
        apply_plan(plan, "test")
    return plan


def _device(serial: str) -> Device:
    db.session.expire_all()
    return db.session.scalar(select(Device).where(Device.serial == serial))


@pytest.mark.parametrize("fmt", ["csv-en", "xlsx-zh"])
def test_import_v3_and_v1_rows(app, contracts, fmt):
    if fmt == "csv-en":
        plan = _import(to_csv(rows(), HEADERS))
    else:
        plan = _import(to_xlsx(rows(), zh_headers(HEADERS)), "inv.xlsx")
    assert plan.ok, plan.error_lines()
    assert plan.counts.created == 5
    sw, nvr, cam = _device("SW-0001"), _device("NVR-0001"), _device("CAM-0001")
    assert (sw.snmp_version, sw.snmp_user, sw.snmp_auth_protocol, sw.snmp_priv_protocol) == \
        ("3", "monitor", "SHA256", "AES256")
    assert (sw.snmp_auth_key, sw.snmp_priv_key) == (AUTH_KEY, PRIV_KEY)
    assert nvr.snmp_version == "1" and nvr.snmp_user is None and nvr.snmp_auth_key is None
    assert cam.snmp_version == "2c"
    # The preview never shows a key in plain text.
    assert all(AUTH_KEY not in json.dumps(r.values, ensure_ascii=False, default=str) for r in plan.rows)
    # The audit log says the keys were set, never what they are.
    audit = json.dumps([e.after for e in db.session.scalars(select(AuditEntry))],
                       ensure_ascii=False)
    assert AUTH_KEY not in audit and PRIV_KEY not in audit and '"snmp_auth_key": "***' in audit


def test_import_without_snmp_columns_still_defaults_to_2c(app, contracts):
    from inventory_helpers import HEADERS as OLD

    plan = _import(to_csv(good_rows(), OLD))
    assert plan.ok, plan.error_lines()
    assert {d.snmp_version for d in db.session.scalars(select(Device))} == {"2c"}


def test_bad_snmp_rows_rejected_with_row_and_column(app, contracts):
    bad = rows()
    bad[0][-6:] = ["3", "", "SHA", "short", "AES", ""]        # row 2: no user, short key, no priv
    bad[2][-6:] = ["4", "", "", "", "", ""]                   # row 4: no such version
    bad[3][-6:] = ["3", "ops", "SHA1024", AUTH_KEY, "3DES", PRIV_KEY]  # row 5: protocols
    plan = _import(to_csv(bad, HEADERS))
    lines = plan.error_lines()
    assert not plan.ok
    assert "row 2, column snmp_user: SNMP version 3 needs a user" in lines
    assert "row 2, column snmp_auth_key: an SNMPv3 key needs at least 8 characters" in lines
    assert any(line.startswith("row 2, column snmp_priv_key: SNMP version 3 needs") for line in lines)
    assert any(line.startswith("row 4, column snmp_version: '4' is not an SNMP version")
               for line in lines)
    assert any(line.startswith("row 5, column snmp_auth_protocol: unknown protocol 'SHA1024'")
               for line in lines)
    assert any(line.startswith("row 5, column snmp_priv_protocol: unknown protocol '3DES'")
               for line in lines)
    assert len(lines) == 6, lines  # the short key is not reported twice
    assert db.session.scalars(select(Device)).all() == []  # the whole file refused
    # Chinese headers: the column is named as the file wrote it.
    plan = _import(to_csv(bad, zh_headers(HEADERS)))
    assert "row 2, column SNMPv3用户名: SNMP version 3 needs a user" in plan.error_lines()


def test_blank_keys_keep_stored_ones_and_db_file_never_holds_them(app, contracts):
    assert _import(to_csv(rows(), HEADERS)).ok
    # Re-import with the keys blank: the stored ones stay, nothing changes.
    again = rows()
    again[0][-3] = again[0][-1] = ""
    plan = _import(to_csv(again, HEADERS))
    assert plan.ok, plan.error_lines()
    assert (plan.counts.updated, plan.counts.unchanged) == (0, 5)
    assert _device("SW-0001").snmp_priv_key == PRIV_KEY
    # A new auth key replaces the old one; the priv key is kept.
    again[0][-3] = NEW_AUTH
    plan = _import(to_csv(again, HEADERS))
    assert plan.counts.updated == 1 and plan.rows[0].changes == ["snmp_auth_key"]
    sw = _device("SW-0001")
    assert (sw.snmp_auth_key, sw.snmp_priv_key) == (NEW_AUTH, PRIV_KEY)
    # Switching an existing device to v3 with no keys stored and none given is refused.
    to_v3 = rows()
    to_v3[1][-6:] = ["3", "ops", "", "", "", ""]
    lines = _import(to_csv(to_v3, HEADERS)).error_lines()
    assert "row 3, column snmp_auth_key: SNMP version 3 needs snmp_auth_key (at least 8 characters)" in lines
    db.session.remove()
    db.engine.dispose()
    raw = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).read_bytes()
    assert b"monitor" in raw  # the user is plain text: the file was read
    for secret in (AUTH_KEY, PRIV_KEY, NEW_AUTH):
        assert secret.encode() not in raw and secret.encode("utf-16-le") not in raw


def test_exports_carry_version_user_protocols_never_keys(app, contracts):
    assert _import(to_csv(rows(), HEADERS)).ok
    text = export_devices("csv").decode("utf-8-sig")
    exported = {r["serial"]: r for r in csv.DictReader(io.StringIO(text))}
    assert "snmp_auth_key" not in exported["SW-0001"] and "snmp_priv_key" not in exported["SW-0001"]
    assert {k: exported["SW-0001"][k] for k in ("snmp_version", "snmp_user", "snmp_auth_protocol",
                                                 "snmp_priv_protocol")} == \
        {"snmp_version": "3", "snmp_user": "monitor", "snmp_auth_protocol": "SHA256",
         "snmp_priv_protocol": "AES256"}
    assert exported["NVR-0001"]["snmp_version"] == "1"
    xlsx = export_devices("xlsx", lang="zh")
    import zipfile

    import openpyxl
    sheet = list(openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
                 .iter_rows(values_only=True))
    cells = "\n".join(str(c) for r in sheet for c in r)
    assert "SNMPv3用户名" in sheet[0] and "monitor" in cells
    z = zipfile.ZipFile(io.BytesIO(xlsx))
    blob = b"".join(z.read(n) for n in z.namelist()).decode("utf-8", "replace")
    for data in (text, cells, blob):  # (the XML escapes Chinese: the ASCII part is checked)
        assert AUTH_KEY not in data and PRIV_KEY not in data
        assert AUTH_KEY[:12] not in data and PRIV_KEY[:12] not in data
    # An export imports back unchanged: blank keys keep the stored ones, v3 stays valid.
    plan = _import(text.encode("utf-8-sig"), "export.csv")
    assert plan.ok, plan.error_lines()
    assert plan.counts.unchanged == 5


def _login_police(app):
    from flask import g

    from supervisor.people.accounts import create_user

    # The app fixture keeps one app context (one `g`) for the whole test, which would cache
    # Flask-WTF's CSRF token across requests; give each request its own, as in production.
    @app.teardown_request
    def _clear_g(exc):
        for key in list(vars(g)):
            g.pop(key, None)

    create_user("police", "police-pass-123", "police")
    db.session.commit()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _csrf(page)
    r = client.post("/login", data={"username": "police", "password": "police-pass-123",
                                    "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    client.get("/lang/en")
    return client


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, "no csrf token"
    return m.group(1)


def test_pages_edit_and_api(app, contracts):
    assert _import(to_csv(rows(), HEADERS)).ok
    client = _login_police(app)
    sw = _device("SW-0001")
    detail = client.get(f"/devices/{sw.id}").get_data(as_text=True)
    assert "monitor" in detail and "SHA256" in detail and "key set" in detail
    edit = client.get(f"/devices/{sw.id}/edit").get_data(as_text=True)
    api = client.get(f"/api/v1/devices/{sw.id}")
    assert api.status_code == 200
    body = api.get_json()
    assert body["snmp_version"] == "3" and body["snmp_user"] == "monitor"
    assert body["has_snmp_auth_key"] is True and body["has_snmp_priv_key"] is True
    for page in (detail, edit, api.get_data(as_text=True)):
        assert AUTH_KEY not in page and PRIV_KEY not in page
    edit = client.get(f"/devices/{sw.id}/edit").get_data(as_text=True)
    form = {"csrf_token": _csrf(edit), "name": sw.name, "ip": sw.ip, "snmp_port": "161",
            "lifecycle": sw.lifecycle, "snmp_version": "3", "snmp_user": "monitor2",
            "snmp_auth_protocol": "SHA512", "snmp_auth_key": "", "snmp_priv_protocol": "AES",
            "snmp_priv_key": ""}
    r = client.post(f"/devices/{sw.id}/edit", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    sw = _device("SW-0001")
    assert (sw.snmp_user, sw.snmp_auth_protocol, sw.snmp_priv_protocol) == ("monitor2", "SHA512", "AES")
    assert (sw.snmp_auth_key, sw.snmp_priv_key) == (AUTH_KEY, PRIV_KEY)  # blank keeps
    # A short key is refused; v3 on a device with no keys stored needs both.
    nvr = _device("NVR-0001")
    edit = client.get(f"/devices/{nvr.id}/edit").get_data(as_text=True)
    form.update(csrf_token=_csrf(edit), name=nvr.name, ip=nvr.ip, snmp_auth_key="short")
    r = client.post(f"/devices/{nvr.id}/edit", data=form)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "An SNMPv3 key needs at least 8 characters" in page and "SNMP version 3 needs this key." in page
    assert _device("NVR-0001").snmp_version == "1"
    form.update(snmp_auth_key=NEW_AUTH, snmp_priv_key="v3-priv-NVR-9911")
    r = client.post(f"/devices/{nvr.id}/edit", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    nvr = _device("NVR-0001")
    assert (nvr.snmp_version, nvr.snmp_auth_key, nvr.snmp_priv_key) == ("3", NEW_AUTH, "v3-priv-NVR-9911")
    last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last.after["snmp_auth_key"] == "*** (changed)" and NEW_AUTH not in json.dumps(last.after)
    # The default locale: the SNMP fields are labelled in Chinese.
    client.get("/lang/zh_CN")
    zh = client.get(f"/devices/{nvr.id}/edit").get_data(as_text=True)
    assert "SNMP版本" in zh and "SNMPv3认证协议" in zh and "新SNMPv3加密密码" in zh
