"""One device rule (inventory/rules.py) for the import and the edit page: the same value
gets the same answer and is stored the same way through both."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory import importer
from supervisor.inventory.models import Device
from supervisor.inventory.rules import check_update

from .conftest import csrf_from

SERIAL = "CAM-A-1"
BASE = {"name": "a-camera-1", "role": "road", "ip": "127.0.10.11", "onvif_port": "8001",
        "username": "admin", "snmp_version": "2c"}
# (field, value as typed, stored value if accepted or None when refused)
CASES = [
    ("ip", "192.168.001.010", "192.168.1.10"),
    ("ip", "１９２．１６８．１．２０", "192.168.1.20"),
    ("ip", " 10.0.0.7 ", "10.0.0.7"),
    ("ip", "300.1.1.1", None),
    ("ip", "10.0.0.1:8000", None),
    ("onvif_port", "８０", 80),
    ("onvif_port", "70000", None),
    ("onvif_port", "80.0", 80),
    ("name", "north gate\x07", None),
    ("name", "gate\x1b[31m", None),
    ("name", "x" * 201, None),
    ("name", "东门 1号", "东门 1号"),
    ("role", "出入口", "entrance"),
    ("role", "", None),              # a camera needs a role
    ("role", "toaster", None),
    ("snmp_version", "v3", None),     # v3 without user and keys
    ("snmp_version", "SNMPv1", "1"),
]


def _through_import(field: str, value: str) -> tuple[bool, object]:
    row = {"community": "阳光小区", "district": "东城区", "community_type": "open",
           "kind": "camera", "serial": SERIAL, **BASE, field: value}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    plan = importer.parse_upload("one.csv", out.getvalue().encode("utf-8"))
    if plan.errors:
        return False, None
    importer.apply_plan(plan, None)
    db.session.expire_all()
    return True, getattr(db.session.scalar(select(Device).where(Device.serial == SERIAL)), field)


def _through_edit(client, device_id: int, field: str, value: str) -> tuple[bool, object]:
    page = client.get(f"/devices/{device_id}/edit").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), **BASE, "lifecycle": "installed", field: value}
    response = client.post(f"/devices/{device_id}/edit", data=data)
    assert response.status_code in (302, 400), response.status_code
    db.session.expire_all()
    return response.status_code == 302, getattr(db.session.get(Device, device_id), field)


@pytest.mark.parametrize("field,value,stored", CASES)
def test_same_answer_from_the_import_and_the_edit_page(app, as_user, world, field, value, stored):
    device_id = db.session.scalar(select(Device.id).where(Device.serial == SERIAL))
    police = as_user("police")
    edited_ok, edited = _through_edit(police, device_id, field, value)
    # Back to the base values, then the same value through the import.
    _through_edit(police, device_id, "name", BASE["name"])
    imported_ok, imported = _through_import(field, value)
    assert edited_ok == imported_ok == (stored is not None), (edited_ok, imported_ok)
    if stored is not None:
        assert edited == imported == stored
    else:
        assert getattr(db.session.get(Device, device_id), field) != value


def test_problems_are_keyed_by_field_with_a_code():
    checked = check_update({"name": "", "ip": "300.1.1.1", "onvif_port": "x", "role": "",
                            "snmp_version": "3", "lifecycle": "gone"},
                           kind="camera", stored={})
    got = {(p.field, p.code) for p in checked.problems}
    assert got == {("name", "required"), ("ip", "ip"), ("onvif_port", "port"),
                   ("role", "role_required"), ("snmp_user", "v3_user"),
                   ("snmp_auth_key", "v3_key"), ("snmp_priv_key", "v3_key"),
                   ("lifecycle", "choice")}
    # Stored keys count for v3; blank secrets keep what is stored.
    checked = check_update({"snmp_version": "3", "snmp_user": "u", "snmp_auth_key": ""},
                           kind="switch", stored={"snmp_auth_key": "x" * 8, "snmp_priv_key": "y" * 8})
    assert checked.ok and "snmp_auth_key" not in checked.values
