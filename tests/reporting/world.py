"""A small hand-built world for figure and ledger tests: one contract, devices with known
acceptance/retirement dates, and state intervals whose seconds are worked out by hand."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from supervisor.core.extensions import db
from supervisor.health.models import StateInterval
from supervisor.inventory.models import Community, Contract, Contractor, Device

T = dt.datetime


def iv(device: Device, state: str, start: dt.datetime, end: dt.datetime | None,
       cause: str | None = None, reasons: list | None = None) -> StateInterval:
    row = StateInterval(device_id=device.id, state=state, start_at=start, end_at=end,
                        cause=cause, reasons=reasons)
    db.session.add(row)
    return row


def build() -> dict:
    """Devices (all UTC naive times; local = UTC+8):

    A accepted 2026-01-10: ok 02-01 00:00 → 02-28 10:00; offline 02-28 10:00 → 20:00 (spans
      the local month boundary 02-28 16:00); ok → 03-10 02:00; maintenance → 06:00; ok →
      03-15 00:00; degraded (blur) → 03:00; ok, open.
    B accepted 2026-03-11 (service from local midnight = 03-10 16:00 UTC): ok from 03-10
      12:00, offline because of its switch 03-20 00:00 → 01:00, ok, open.
    C accepted 2026-01-01, retired_on 2026-03-16: no interval before 03-05 00:00, ok from
      then, open (still answering after retirement).
    D never accepted: ok all March (not in service, not counted).
    """
    contractor = Contractor(name="甲安防")
    contract = Contract(code="CT-1", contractor=contractor, start_month=dt.date(2026, 1, 1),
                        investment=Decimal("1200000.00"), instalment_plan={"kind": "equal"},
                        profile_name="default", profile_version=2)
    east = Community(name="阳光小区", district="东城区", type="single_building")
    west = Community(name="河畔小区", district="西城区", type="single_building")
    contract.communities.extend([east, west])
    db.session.add_all([contractor, contract, east, west])
    db.session.flush()

    def dev(serial, community, accepted=None, retired=None, role="entrance"):
        d = Device(serial=serial, name=serial, kind="camera", role=role, vendor="Hik",
                   ip="10.0.0." + str(len(serial)), community_id=community.id,
                   contract_id=contract.id, accepted_on=accepted, retired_on=retired,
                   lifecycle="retired" if retired else ("accepted" if accepted else "installed"))
        db.session.add(d)
        db.session.flush()
        return d

    a = dev("CAM-A", east, dt.date(2026, 1, 10))
    b = dev("CAM-B", east, dt.date(2026, 3, 11), role="high_altitude")
    c = dev("CAM-C", west, dt.date(2026, 1, 1), dt.date(2026, 3, 16))
    d = dev("CAM-D", west, None)
    blur = [{"check": "frame", "code": "image_fault", "fault": "blur", "value": 0.7}]
    ivs = {
        "a_feb_ok": iv(a, "ok", T(2026, 2, 1), T(2026, 2, 28, 10)),
        "a_outage": iv(a, "offline", T(2026, 2, 28, 10), T(2026, 2, 28, 20), "unreachable"),
        "a_ok1": iv(a, "ok", T(2026, 2, 28, 20), T(2026, 3, 10, 2)),
        "a_maint": iv(a, "maintenance", T(2026, 3, 10, 2), T(2026, 3, 10, 6), "maintenance"),
        "a_ok2": iv(a, "ok", T(2026, 3, 10, 6), T(2026, 3, 15, 0)),
        "a_blur": iv(a, "degraded", T(2026, 3, 15, 0), T(2026, 3, 15, 3), "image_fault", blur),
        "a_ok3": iv(a, "ok", T(2026, 3, 15, 3), None),
        "b_ok": iv(b, "ok", T(2026, 3, 10, 12), T(2026, 3, 20, 0)),
        "b_up": iv(b, "offline", T(2026, 3, 20, 0), T(2026, 3, 20, 1), "upstream"),
        "b_ok2": iv(b, "ok", T(2026, 3, 20, 1), None),
        "c_ok": iv(c, "ok", T(2026, 3, 5, 0), None),
        "d_ok": iv(d, "ok", T(2026, 2, 1), None),
    }
    db.session.commit()
    return {"contract": contract, "a": a, "b": b, "c": c, "d": d, "ivs": ivs}
