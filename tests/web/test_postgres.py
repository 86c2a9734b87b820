"""The pages' queries on PostgreSQL (production): scoping, ILIKE search, keyset pages, state
join and export, against a scratch database on the server `make test` starts."""
from __future__ import annotations

import pytest
from db_helpers import migrated_app
from sqlalchemy import insert, select

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory.models import Contract, Device

from .conftest import TEST_CONFIG, build_world_template

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_database, tmp_path):
    """Overrides the SQLite `app` of this folder: a fresh PostgreSQL database, migrated."""
    with migrated_app(pg_database, {**TEST_CONFIG, "IMPORT_UPLOAD_DIR": str(tmp_path / "imports")},
                      build_world_template) as app:
        yield app


def test_scoping_search_pages_and_export_on_postgresql(as_user, world):
    contract = db.session.scalar(select(Contract).where(Contract.code == "CT-BETA"))
    community_id = world.beta_community
    db.session.execute(insert(Device), [
        {"serial": f"PG-{i:04d}", "name": f"pg camera {i}", "kind": "camera", "role": "road",
         "ip": f"127.2.{i // 250}.{i % 250 + 1}", "community_id": community_id,
         "contract_id": contract.id, "lifecycle": "installed"} for i in range(600)])
    ids = db.session.scalars(select(Device.id).where(Device.serial.like("PG-%")).order_by(Device.id)).all()
    db.session.execute(insert(DeviceStatus), [
        {"device_id": i, "state": "degraded", "flapping": False, "candidate_count": 0} for i in ids[::3]])
    db.session.commit()

    alpha, beta = as_user("alpha"), as_user("beta")
    assert alpha.get("/api/v1/devices?q=pg").get_json()["total"] == 0
    assert alpha.get(f"/devices/{ids[0]}").status_code == 404
    assert beta.get("/api/v1/devices?q=PG CAMERA 1").get_json()["total"] == 111  # ILIKE: 1, 10-19, 100-199
    assert beta.get("/api/v1/devices?state=degraded").get_json()["total"] == 200
    seen, after = [], None
    while True:
        body = beta.get("/api/v1/devices?size=200" + (f"&after={after}" if after else "")).get_json()
        seen += [d["id"] for d in body["devices"]]
        after = body["next_after"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 604 and seen == sorted(seen)
    export = beta.get("/devices/export.csv?state=degraded").get_data(as_text=True)
    assert export.count("\n") == 201 and "CAM-A" not in export
    assert "共 604 台设备" in beta.get("/devices/").get_data(as_text=True)
