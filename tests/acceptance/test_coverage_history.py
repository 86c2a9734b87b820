"""`flask coverage`: each community's role-slot coverage recorded over time from stored
device states (accepted devices only, online now, stream as accepted)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from supervisor.acceptance.models import AcceptanceResult, AcceptanceRun, CoverageSnapshot
from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory.models import Community, Device


def _world():
    c = Community(name="单栋测试楼", district="鼓楼区", type="single_building")
    db.session.add(c)
    db.session.flush()
    run = AcceptanceRun(community_id=c.id, run_by="t", profile_name="default", profile_version=2,
                        profile_sha256="x" * 64, status="done", verdict="fail")
    db.session.add(run)
    db.session.flush()
    devs = {}
    for serial, role, lifecycle, state, size in (
            ("E1", "entrance", "accepted", "ok", (1920, 1080)),
            ("H1", "high_altitude", "accepted", "offline", (2688, 1520)),
            ("H2", "high_altitude", "installed", "ok", (2688, 1520))):
        d = Device(serial=serial, name=serial, kind="camera", role=role, ip="127.0.0.1",
                   community_id=c.id, lifecycle=lifecycle)
        db.session.add(d)
        db.session.flush()
        db.session.add(DeviceStatus(device_id=d.id, state=state))
        db.session.add(AcceptanceResult(run_id=run.id, device_id=d.id, serial=serial,
                                        verdict="pass" if lifecycle == "accepted" else "fail",
                                        checks=[], measures={"width": size[0], "height": size[1]}))
        devs[serial] = d
    db.session.commit()
    return c, devs


def test_coverage_history_from_stored_states(app, runner):
    c, devs = _world()
    t1 = dt.datetime(2026, 12, 1, 16, 0)
    with clock.pinned(t1):
        res = runner.invoke(args=["coverage"])
    assert res.exit_code == 0, res.output
    assert "单栋测试楼: 1/2 (50%)" in res.output       # H1 is offline, H2 not accepted
    db.session.execute(sa.update(DeviceStatus).where(DeviceStatus.device_id == devs["H1"].id)
                       .values(state="ok"))
    db.session.commit()
    with clock.pinned(t1 + dt.timedelta(days=1)):
        res = runner.invoke(args=["coverage", "--community", "单栋测试楼"])
    assert "1/1" not in res.output and "2/2 (100%)" in res.output
    rows = db.session.execute(sa.select(CoverageSnapshot.at, CoverageSnapshot.figure)
                              .where(CoverageSnapshot.community_id == c.id)
                              .order_by(CoverageSnapshot.at)).all()
    assert [(r.at, r.figure) for r in rows] == [(t1, 0.5), (t1 + dt.timedelta(days=1), 1.0)]
