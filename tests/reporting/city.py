"""A generated city for the PDF test and the benchmark: N devices in communities of 20
(a switch, an NVR and 18 cameras behind the switch), two contractors with one contract each,
and months of history from supervisor.demo.history (bulk writer: same intervals as the live
path, see test_history)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from supervisor.core.extensions import db
from supervisor.demo import history
from supervisor.health.models import MaintenanceWindow
from supervisor.inventory.models import Community, Contract, Contractor, Device

ROLES = ("entrance", "entrance", "road", "road", "perimeter", "high_altitude", "high_altitude",
         "fire_lane", "road", "interior")
DISTRICTS = ("新城区", "碑林区", "莲湖区", "雁塔区", "未央区", "灞桥区")


def build_city(devices: int, months: int, now: dt.datetime, seed: int = 7,
               start_month: dt.date = dt.date(2025, 10, 1)) -> dict:
    ks = [Contractor(name="东方安防工程有限公司"), Contractor(name="城市网络科技有限公司")]
    cs = [Contract(code=f"XL-{i + 1:02d}", contractor=k, start_month=start_month,
                   investment=Decimal("36000000.00") if i == 0 else Decimal("24000000.00"),
                   instalment_plan={"kind": "equal"} if i == 0 else
                   {"kind": "annuity", "annual_rate": 0.045},
                   profile_name="default", profile_version=2) for i, k in enumerate(ks)]
    db.session.add_all(ks + cs)
    db.session.flush()
    rows, n_comm = [], (devices + 19) // 20
    serial = 0
    for ci in range(n_comm):
        contract = cs[0] if ci % 5 < 3 else cs[1]
        com = Community(name=f"{DISTRICTS[ci % 6][:2]}第{ci + 1:04d}小区", district=DISTRICTS[ci % 6],
                        type="open", latitude=34.20 + (ci % 40) * 0.004,
                        longitude=108.88 + (ci // 40) * 0.006)
        contract.communities.append(com)
        db.session.add(com)
        db.session.flush()
        accepted = start_month + dt.timedelta(days=(ci * 7) % 60)
        sw = dict(serial=f"SW{ci:05d}", name=f"交换机{ci}", kind="switch", ip=f"10.{ci // 250}.{ci % 250}.1",
                  community_id=com.id, contract_id=contract.id, accepted_on=accepted,
                  lifecycle="accepted", vendor="H3C")
        db.session.execute(sa.insert(Device), [sw])
        sw_id = db.session.scalar(sa.select(Device.id).where(Device.serial == sw["serial"]))
        batch = [dict(serial=f"NVR{ci:05d}", name=f"录像机{ci}", kind="nvr",
                      ip=f"10.{ci // 250}.{ci % 250}.2", community_id=com.id,
                      contract_id=contract.id, accepted_on=accepted, lifecycle="accepted",
                      vendor="Hikvision", upstream_id=sw_id)]
        for j in range(18):
            serial += 1
            batch.append(dict(serial=f"CAM{serial:06d}", name=f"摄像机{serial}", kind="camera",
                              role=ROLES[j % len(ROLES)], ip=f"10.{ci // 250}.{ci % 250}.{10 + j}",
                              community_id=com.id, contract_id=contract.id,
                              accepted_on=accepted, lifecycle="accepted",
                              vendor=("Hikvision", "Dahua", "Uniview")[j % 3], upstream_id=sw_id,
                              latitude=com.latitude + j * 1e-4, longitude=com.longitude,
                              heading_deg=(j * 40) % 360, fov_deg=90, range_m=40))
        db.session.execute(sa.insert(Device), batch)
    db.session.commit()
    devs = list(db.session.scalars(sa.select(Device).order_by(Device.id)))[:devices]
    first = now.date().replace(day=1)
    idx = first.year * 12 + first.month - 1 - months
    start = dt.datetime(idx // 12, idx % 12 + 1, 1) - dt.timedelta(hours=8)
    maint = history.plan_maintenance({d.community_id for d in devs}, start, now, seed)
    db.session.execute(sa.insert(MaintenanceWindow), [
        dict(community_id=c, start_at=a, end_at=b, reason="例行维护", approved_by="history",
             created_at=a) for c, ws in maint.items() for a, b in ws])
    plans = history.plan_history(devs, start, now, seed, maint)
    n = history.write_bulk(db.session, plans)
    return {"contracts": cs, "devices": len(devs), "intervals": n}
