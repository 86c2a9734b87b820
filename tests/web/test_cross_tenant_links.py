"""A camera of contractor Alpha hangs on contractor Beta's switch, and the switch is down.

Alpha learns that its camera's upstream device, outside its contract, is down; it never
sees that device's serial, name, state or id in any page, API answer or export. Police
see everything. The import warns when a link crosses contracts."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, StateEvent, StateInterval
from supervisor.health.rules import Observation, attribute_upstream
from supervisor.inventory.models import Device
from tests.web.conftest import csrf_from, login

NOW = dt.datetime(2026, 3, 2, 8, 0, 0)
BETA_SWITCH = "SW-B-1"


@pytest.fixture
def linked(app, world):
    """CAM-A-0 (Alpha) → SW-B-1 (Beta); the switch offline, the camera offline because of it,
    the reason made by the real attribution rule."""
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-A-0"))
    switch = db.session.scalar(select(Device).where(Device.serial == BETA_SWITCH))
    cam.upstream_id = switch.id
    since = NOW - dt.timedelta(hours=2)
    obs = {cam.id: Observation(at=since, state="offline", cause="unreachable",
                               reasons=({"check": "reach", "code": "unreachable"},)),
           switch.id: Observation(at=since, state="offline", cause="unreachable",
                                  reasons=({"check": "reach", "code": "unreachable"},))}
    judged = attribute_upstream(obs, {cam.id: switch.id, switch.id: None}, {},
                                {cam.id: cam.serial, switch.id: switch.serial})
    cam_obs = judged[cam.id]
    assert cam_obs.cause == "upstream" and cam_obs.reasons[0]["upstream"] == BETA_SWITCH
    for dev, o in ((cam, cam_obs), (switch, judged[switch.id])):
        db.session.add(DeviceStatus(device_id=dev.id, state="offline", since=since, cause=o.cause,
                                    reasons=list(o.reasons), last_sample_at=since))
        db.session.add(StateInterval(device_id=dev.id, state="offline", cause=o.cause,
                                     reasons=list(o.reasons), start_at=since))
        db.session.add(StateEvent(device_id=dev.id, at=since, old="ok", new="offline",
                                  cause=o.cause, reasons=list(o.reasons)))
    db.session.commit()
    return cam.id, switch.id


def _alpha_answers(client, cam_id: int) -> dict[str, str]:
    client.get("/lang/en")
    login(client, "alpha")
    with clock.pinned(NOW):
        pages = {
            "faults": client.get("/health/faults"),
            "faults-upstream": client.get("/health/faults?cause=upstream"),
            "timeline": client.get(f"/health/devices/{cam_id}?span=week"),
            "detail": client.get(f"/devices/{cam_id}"),
            "list": client.get("/devices/"),
            "api-device": client.get(f"/api/v1/devices/{cam_id}"),
            "api-list": client.get("/api/v1/devices?size=100"),
            "export-csv": client.get("/devices/export.csv"),
            "export-xlsx": client.get("/devices/export.xlsx"),
        }
    for name, resp in pages.items():
        assert resp.status_code == 200, name
    return {name: resp.get_data(as_text=name != "export-xlsx") if name != "export-xlsx"
            else _xlsx_text(resp.data) for name, resp in pages.items()}


def _xlsx_text(data: bytes) -> str:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(" ".join(str(c) for c in row if c is not None)
                     for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))


def test_contractor_sees_outside_upstream_without_its_identity(client, linked):
    cam_id, switch_id = linked
    answers = _alpha_answers(client, cam_id)
    for name, text in answers.items():
        assert BETA_SWITCH not in text, name
        assert "b-switch" not in text, name
    # It is told why its camera is offline.
    for name in ("faults", "timeline", "detail"):
        assert "outside your contract" in answers[name], name
    assert "a device outside your contract" in answers["detail"]
    # The API: no id of the other tenant's device, but the link is acknowledged.
    api = client.get(f"/api/v1/devices/{cam_id}").get_json()
    assert api["upstream_id"] is None and api["upstream_outside_scope"] is True
    listed = {d["id"]: d for d in client.get("/api/v1/devices?size=100").get_json()["devices"]}
    assert listed[cam_id]["upstream_id"] is None
    assert all(d["upstream_id"] != switch_id for d in listed.values())
    # Alpha's own links stay visible as they are.
    other = next(d for i, d in listed.items() if i != cam_id and d["kind"] == "camera")
    assert other["upstream_id"] is not None and other["upstream_outside_scope"] is False
    # Pages about the switch itself stay closed.
    assert client.get(f"/health/devices/{switch_id}").status_code == 404
    assert client.get(f"/api/v1/devices/{switch_id}").status_code == 404


def test_contractor_page_in_chinese_says_it_too(client, linked):
    cam_id, _ = linked
    client.get("/lang/zh_CN")
    login(client, "alpha")
    with clock.pinned(NOW):
        text = client.get(f"/devices/{cam_id}").get_data(as_text=True)
    assert BETA_SWITCH not in text
    assert "合同范围外" in text


def test_police_see_the_switch(client, linked):
    cam_id, switch_id = linked
    login(client, "police")
    with clock.pinned(NOW):
        faults = client.get("/health/faults").get_data(as_text=True)
        timeline = client.get(f"/health/devices/{cam_id}?span=week").get_data(as_text=True)
    assert BETA_SWITCH in faults and BETA_SWITCH in timeline
    assert client.get(f"/api/v1/devices/{cam_id}").get_json()["upstream_id"] == switch_id


def test_stored_rows_are_not_rewritten_by_reading(client, linked):
    cam_id, _ = linked
    _alpha_answers(client, cam_id)
    db.session.expire_all()
    status = db.session.get(DeviceStatus, cam_id)
    assert status.reasons[0]["upstream"] == BETA_SWITCH


def test_import_warns_when_a_link_crosses_contracts(client, world):
    client.get("/lang/en")
    login(client, "police")
    page = client.get("/import/")
    csv = ("serial,name,kind,role,ip,community,district,community_type,contract,upstream\n"
           "CAM-A-9,a-camera-9,camera,road,127.0.10.99,阳光小区,东城区,open,CT-ALPHA,SW-B-1\n"
           "CAM-A-8,a-camera-8,camera,road,127.0.10.98,阳光小区,东城区,open,CT-ALPHA,SW-A-1\n")
    resp = client.post("/import/", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                         "file": (io.BytesIO(csv.encode()), "links.csv")},
                       content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200, text[:2000]
    assert "crosses contracts" in text and "CT-ALPHA → CT-BETA" in text
    assert text.count("crosses contracts") == 1  # the in-contract link is not flagged


def test_a_contract_leaving_a_community_loses_its_link(client, world):
    """Alpha's devices all move to Beta's community: Alpha no longer sees its old one;
    Beta's explicit link (made before any device) is untouched."""
    from supervisor.core.scoping import communities_for
    from supervisor.inventory import importer
    from supervisor.inventory.models import Community, Contract
    from supervisor.people.accounts import find_user

    rows = ["serial,name,kind,role,ip,community,district,community_type,contract"]
    for d in db.session.scalars(select(Device).where(Device.serial.like("%-A-%"))):
        role = d.role or ""
        rows.append(f"{d.serial},{d.name},{d.kind},{role},{d.ip},Riverside Estate,西城区,closed,CT-ALPHA")
    plan = importer.parse_upload("move.csv", ("\n".join(rows) + "\n").encode())
    assert not plan.errors, plan.errors
    importer.apply_plan(plan, None)
    db.session.expire_all()
    alpha = find_user("alpha")
    names = {c.name for c in db.session.scalars(communities_for(alpha))}
    assert names == {"Riverside Estate"}
    contract = db.session.scalar(select(Contract).where(Contract.code == "CT-ALPHA"))
    assert [c.name for c in contract.communities] == ["Riverside Estate"]
    beta = db.session.scalar(select(Contract).where(Contract.code == "CT-BETA"))
    assert [c.name for c in beta.communities] == ["Riverside Estate"]
    login(client, "alpha")
    sunny = db.session.scalar(select(Community.id).where(Community.name == "阳光小区"))
    assert client.get(f"/communities/{sunny}").status_code == 404
