"""Device secrets are write-only: never in pages, API answers, exports, the audit log or logs."""
from __future__ import annotations

import logging

from sqlalchemy import select, text

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Device

from .conftest import DEVICE_PASSWORD, SNMP_COMMUNITY, csrf_from

NEW_PASSWORD = "Brand-new-pw-4242"


def _all_responses(client, world) -> list[str]:
    urls = ["/devices/?size=200", "/communities/", f"/communities/{world.alpha_community}",
            "/api/v1/devices?size=200", "/api/v1/communities", "/devices/export.csv"]
    for device_id in world.alpha_devices + world.beta_devices:
        urls += [f"/devices/{device_id}", f"/api/v1/devices/{device_id}", f"/devices/{device_id}/edit"]
    bodies = [client.get(url).get_data(as_text=True) for url in urls]
    xlsx = client.get("/devices/export.xlsx").data
    import io
    import zipfile
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:  # the sheet XML, uncompressed
        bodies += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return bodies


def test_secrets_never_leave_the_server(app, as_user, world, caplog):
    caplog.set_level(logging.DEBUG)
    police = as_user("police")
    device_id = world.alpha_devices[1]
    # Change the password through the edit form (write-only field).
    edit = police.get(f"/devices/{device_id}/edit").get_data(as_text=True)
    assert 'name="password" type="password" value=""' in edit or 'type="password" value=""' in edit
    response = police.post(f"/devices/{device_id}/edit", data={
        "csrf_token": csrf_from(edit), "name": "a-camera-0", "role": "entrance", "ip": "127.0.10.10",
        "onvif_port": "8000", "username": "admin", "password": NEW_PASSWORD, "snmp_community": "",
        "lifecycle": "installed"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    device = db.session.get(Device, device_id)
    assert device.password == NEW_PASSWORD  # stored (encrypted) and readable by the platform
    stored = db.session.execute(text("select password from devices where id = :i"), {"i": device_id}).scalar()
    assert NEW_PASSWORD not in stored

    detail = police.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "已设置" in detail  # "set" is shown instead of the value
    api = police.get(f"/api/v1/devices/{device_id}").get_json()
    assert api["has_password"] is True and "password" not in api and "snmp_community" not in api

    bodies = _all_responses(police, world) + _all_responses(as_user("alpha"), world)
    for secret in (DEVICE_PASSWORD, SNMP_COMMUNITY, NEW_PASSWORD):
        assert not any(secret in body for body in bodies), secret
        assert secret not in caplog.text, secret
    audit_rows = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "device")).all()
    dumped = repr([(a.before, a.after, a.note) for a in audit_rows])
    assert "*** (changed)" in dumped
    for secret in (DEVICE_PASSWORD, NEW_PASSWORD):
        assert secret not in dumped


def test_blank_secret_keeps_the_stored_one(as_user, world):
    police = as_user("police")
    device_id = world.alpha_devices[2]
    edit = police.get(f"/devices/{device_id}/edit").get_data(as_text=True)
    response = police.post(f"/devices/{device_id}/edit", data={
        "csrf_token": csrf_from(edit), "name": "renamed", "role": "road", "ip": "127.0.10.11",
        "password": "", "snmp_community": "", "lifecycle": "accepted"})
    assert response.status_code == 302
    db.session.expire_all()
    device = db.session.get(Device, device_id)
    assert device.name == "renamed" and device.password == DEVICE_PASSWORD


def test_edit_errors_are_shown_beside_their_field(as_user, world):
    police = as_user("police")
    device_id = world.alpha_devices[2]
    edit = police.get(f"/devices/{device_id}/edit").get_data(as_text=True)
    response = police.post(f"/devices/{device_id}/edit", data={
        "csrf_token": csrf_from(edit), "name": "", "ip": "999.1.1.1", "onvif_port": "70000",
        "lifecycle": "installed"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    # Each message sits inside its field's block.
    import re
    blocks = dict(re.findall(r'<div class="field has-error">\s*<label for="(\w+)".*?<span class="error">(.*?)</span>', html, re.S))
    assert set(blocks) == {"name", "ip", "onvif_port"}
    assert "IP" in blocks["ip"]
    db.session.expire_all()
    assert db.session.get(Device, device_id).ip == "127.0.10.11"
