"""Two contractors: neither sees the other's devices or communities by list, detail URL,
search, API or export. Police see both."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest


def _serials_in_csv(body: bytes) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    return {r["serial"] for r in rows}


def _serials_in_xlsx(body: bytes) -> set[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("serial")
    return {r[column] for r in rows[1:]}


ALPHA = {"SW-A-1", "CAM-A-0", "CAM-A-1", "CAM-A-2"}
BETA = {"SW-B-1", "CAM-B-0", "CAM-B-1", "CAM-B-2"}


@pytest.mark.parametrize("user, own, other", [("alpha", ALPHA, BETA), ("beta", BETA, ALPHA)])
def test_list_search_api_export_are_scoped(as_user, user, own, other):
    client = as_user(user)
    page = client.get("/devices/?size=200").get_data(as_text=True)
    assert all(f'<td class="mono">{s}</td>' in page for s in own)
    assert not any(s in page for s in other)
    # Search by the other tenant's serial, name and IP finds nothing.
    for needle in sorted(other)[:1] + ["camera-1", "127.0."]:
        found = client.get(f"/devices/?q={needle}").get_data(as_text=True)
        # (the needle itself is echoed in the search box: look at the table cells)
        assert not any(f'<td class="mono">{s}</td>' in found for s in other), needle
    # Filtering by the other tenant's contract or community gives nothing either.
    api = client.get("/api/v1/devices?size=200").get_json()
    assert {d["serial"] for d in api["devices"]} == own and api["total"] == len(own)
    assert _serials_in_csv(client.get("/devices/export.csv").data) == own
    assert _serials_in_xlsx(client.get("/devices/export.xlsx").data) == own
    assert _serials_in_csv(client.get("/devices/export.csv?q=CAM").data) == {s for s in own if s.startswith("CAM")}


def test_other_tenants_detail_urls_are_404(as_user, world):
    alpha = as_user("alpha")
    for device_id in world.beta_devices:
        assert alpha.get(f"/devices/{device_id}").status_code == 404
        assert alpha.get(f"/api/v1/devices/{device_id}").status_code == 404
    assert alpha.get(f"/communities/{world.beta_community}").status_code == 404
    assert alpha.get(f"/devices/{world.alpha_devices[1]}").status_code == 200
    assert alpha.get(f"/api/v1/devices/{world.alpha_devices[1]}").get_json()["serial"] == "CAM-A-0"
    beta = as_user("beta")
    assert beta.get(f"/devices/{world.alpha_devices[0]}").status_code == 404


def test_filters_cannot_widen_the_scope(as_user, world):
    alpha = as_user("alpha")
    for query in (f"contract={world.beta_contract}", f"community={world.beta_community}", "district=西城区"):
        assert alpha.get(f"/api/v1/devices?{query}").get_json()["total"] == 0, query
        assert _serials_in_csv(alpha.get(f"/devices/export.csv?{query}").data) == set(), query


def test_communities_are_scoped(as_user):
    alpha = as_user("alpha")
    page = alpha.get("/communities/").get_data(as_text=True)
    assert "阳光小区" in page and "Riverside Estate" not in page
    names = {c["name"] for c in alpha.get("/api/v1/communities").get_json()["communities"]}
    assert names == {"阳光小区"}
    # The filter dropdowns on the device page list only the user's own contracts/communities.
    devices_page = alpha.get("/devices/").get_data(as_text=True)
    assert "CT-ALPHA" in devices_page and "CT-BETA" not in devices_page
    assert "Riverside Estate" not in devices_page


def test_police_see_everything(as_user, world):
    police = as_user("police")
    assert police.get("/api/v1/devices?size=200").get_json()["total"] == len(ALPHA | BETA)
    assert _serials_in_csv(police.get("/devices/export.csv").data) == ALPHA | BETA
    assert police.get(f"/devices/{world.beta_devices[0]}").status_code == 200


def test_contractor_upstream_outside_scope_is_not_linked(app, as_user, world):
    """A camera whose upstream belongs to the other contractor must not reveal that device."""
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Device

    cam = db.session.get(Device, world.alpha_devices[1])
    cam.upstream_id = world.beta_devices[0]
    db.session.commit()
    alpha = as_user("alpha")
    page = alpha.get(f"/devices/{cam.id}").get_data(as_text=True)
    assert "b-switch" not in page
    assert "SW-B-1" not in alpha.get("/devices/export.csv").get_data(as_text=True)


def test_scoping_functions_directly(app, world):
    from supervisor.core import scoping
    from supervisor.core.extensions import db
    from supervisor.people.accounts import find_user

    alpha, official, police = find_user("alpha"), find_user("official"), find_user("police")
    assert {d.serial for d in db.session.scalars(scoping.devices_for(alpha))} == ALPHA
    assert db.session.scalars(scoping.devices_for(official)).all() == []
    assert db.session.scalars(scoping.devices_for(None)).all() == []
    assert len(db.session.scalars(scoping.devices_for(police)).all()) == 8
    assert [c.code for c in db.session.scalars(scoping.contracts_for(alpha))] == ["CT-ALPHA"]
    assert [c.name for c in db.session.scalars(scoping.communities_for(alpha))] == ["阳光小区"]


def test_community_list_counts_states_within_scope(app, as_user, world):
    from sqlalchemy import insert

    from supervisor.core.extensions import db
    from supervisor.health.models import DeviceStatus

    db.session.execute(insert(DeviceStatus), [
        {"device_id": world.alpha_devices[1], "state": "offline", "flapping": False, "candidate_count": 0},
        {"device_id": world.alpha_devices[2], "state": "degraded", "flapping": False, "candidate_count": 0},
        {"device_id": world.beta_devices[1], "state": "offline", "flapping": False, "candidate_count": 0}])
    db.session.commit()
    html = as_user("police").get("/communities/").get_data(as_text=True)
    assert f'community={world.alpha_community}&amp;state=offline">1<' in html
    assert f'community={world.alpha_community}&amp;state=degraded">1<' in html
    assert f'community={world.beta_community}&amp;state=offline">1<' in html
    alpha = as_user("alpha").get("/communities/").get_data(as_text=True)
    assert f"community={world.beta_community}" not in alpha
