"""Keyset pagination over 20,000 devices: every device exactly once, filters and counts right,
state joined from device_status."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory.models import Community, Contract, Device

N = 20_000


def _add_bulk() -> None:
    """20,000 devices over 40 communities of contract CT-ALPHA; every 10th offline."""
    contract = db.session.scalar(select(Contract).where(Contract.code == "CT-ALPHA"))
    communities = []
    for i in range(40):
        c = Community(name=f"Estate {i:02d}", district="东城区" if i % 2 else "南区", type="open")
        contract.communities.append(c)
        communities.append(c)
    db.session.commit()
    rows = [{"serial": f"BULK-{i:05d}", "name": f"bulk camera {i}", "kind": "camera" if i % 4 else "switch",
             "role": "road" if i % 4 else None, "ip": f"127.1.{i // 250}.{i % 250}",
             "community_id": communities[i % 40].id, "contract_id": contract.id,
             "lifecycle": "installed"} for i in range(N)]
    db.session.execute(insert(Device), rows)
    ids = db.session.scalars(select(Device.id).where(Device.serial.like("BULK-%")).order_by(Device.id)).all()
    db.session.execute(insert(DeviceStatus), [
        {"device_id": device_id, "state": "offline", "flapping": False, "candidate_count": 0}
        for device_id in ids[::10]])
    db.session.commit()


@pytest.fixture
def db_template(tmp_path_factory):
    """This module starts from the two-contractor world plus 20,000 bulk devices (built once)."""
    from .conftest import build_world_template, database_template

    def build() -> None:
        build_world_template()
        _add_bulk()
    return database_template(tmp_path_factory, "many", build)


@pytest.fixture
def many(app) -> list[int]:
    return list(db.session.scalars(select(Device.id).where(Device.serial.like("BULK-%")).order_by(Device.id)))


def test_api_walks_every_device_exactly_once(as_user, many):
    client = as_user("alpha")
    seen: list[int] = []
    after = None
    while True:
        url = "/api/v1/devices?size=200" + (f"&after={after}" if after else "")
        body = client.get(url).get_json()
        assert body["total"] == N + 4  # the world's 4 alpha devices too
        seen += [d["id"] for d in body["devices"]]
        after = body["next_after"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == N + 4
    assert seen == sorted(seen)


def test_pages_forward_and_back(as_user, many):
    client = as_user("alpha")
    first = client.get("/devices/?size=100&kind=camera").get_data(as_text=True)
    assert "共 15003 台设备" in first  # 3/4 of the bulk + the world's 3 cameras
    next_link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_link).get_data(as_text=True)
    prev_link = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    back = client.get(prev_link).get_data(as_text=True)
    rows = lambda html: re.findall(r'href="/devices/(\d+)"', html)  # noqa: E731
    assert rows(back) == rows(first) and len(rows(first)) == 100
    assert not set(rows(first)) & set(rows(second))
    assert 'rel="prev"' not in first


def test_state_filter_uses_device_status(as_user, many):
    client = as_user("alpha")
    offline = client.get("/api/v1/devices?state=offline&size=25").get_json()
    assert offline["total"] == N // 10
    assert {d["state"] for d in offline["devices"]} == {"offline"}
    unknown = client.get("/api/v1/devices?state=unknown").get_json()
    assert unknown["total"] == N - N // 10 + 4
    page = client.get("/devices/?state=offline").get_data(as_text=True)
    assert "s-offline" in page and "s-unknown" not in page.split("<tbody>")[1]


def test_combined_filters_and_search(as_user, many, world):
    client = as_user("alpha")
    estate = db.session.scalar(select(Community.id).where(Community.name == "Estate 07"))
    body = client.get(f"/api/v1/devices?community={estate}&kind=camera&district=东城区").get_json()
    assert body["total"] == sum(1 for i in range(N) if i % 40 == 7 and i % 4)
    assert client.get("/api/v1/devices?q=BULK-1234").get_json()["total"] == 10  # BULK-12340..12349
    assert client.get("/api/v1/devices?q=%25").get_json()["total"] == 0  # "%" is literal
    assert client.get("/api/v1/devices?after=not-a-number&size=999").status_code == 200


def test_keyset_query_uses_the_primary_key(app, many):
    """The page query seeks by id instead of scanning from the start (SQLite's plan)."""
    from supervisor.inventory import queries as device_query
    from supervisor.people.accounts import find_user

    user = find_user("police")
    stmt = (device_query.filtered(user, device_query.DeviceFilters())
            .where(Device.id > many[10_000]).order_by(Device.id).limit(51))
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(r[-1]) for r in db.session.execute(
        db.text(f"EXPLAIN QUERY PLAN {compiled}")).all())
    assert "USING INTEGER PRIMARY KEY" in plan and "rowid>" in plan, plan
