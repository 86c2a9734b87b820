"""History backfill: the plan written through the live state machine gives exactly the
intervals the bulk writer stores; the CLI fills every device without history."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.demo import history
from supervisor.health.models import MaintenanceWindow, StateInterval
from supervisor.health.rules import HealthRules
from supervisor.inventory.models import Community, Contract, Contractor, Device

NOW = dt.datetime(2026, 6, 10, 4)


def _fleet(n_comm=3, cams=6):
    k = Contractor(name="乙")
    c = Contract(code="CT-H", contractor=k, start_month=dt.date(2026, 1, 1))
    db.session.add_all([k, c])
    out = []
    for i in range(n_comm):
        com = Community(name=f"小区{i}", district=f"区{i % 2}", type="open",
                        latitude=34.2 + i / 100, longitude=108.9 + i / 100)
        db.session.add(com)
        db.session.flush()
        sw = Device(serial=f"SW-{i}", name="sw", kind="switch", ip=f"10.{i}.0.1",
                    community_id=com.id, contract=c, accepted_on=dt.date(2026, 1, 5),
                    lifecycle="accepted")
        db.session.add(sw)
        db.session.flush()
        out.append(sw)
        for j in range(cams):
            d = Device(serial=f"CAM-{i}-{j}", name="cam", kind="camera", role="road",
                       ip=f"10.{i}.0.{10 + j}", community_id=com.id, contract=c,
                       upstream_id=sw.id, accepted_on=dt.date(2026, 1, 5) if j else None,
                       lifecycle="accepted" if j else "installed")
            db.session.add(d)
            out.append(d)
    db.session.commit()
    return out


def test_live_path_equals_plan(app):
    devices = _fleet()
    rules = HealthRules(to_offline=3, to_ok=2, to_degraded=2)
    start = dt.datetime(2025, 12, 31, 16)
    for d in devices:
        d.accepted_on = d.accepted_on or dt.date(2026, 2, 11)
    maint = history.plan_maintenance({d.community_id for d in devices}, start, NOW, seed=5)
    for cid, wins in maint.items():
        for a, b in wins:
            db.session.add(MaintenanceWindow(community_id=cid, start_at=a, end_at=b, reason="r"))
    db.session.commit()
    plans = history.plan_history(devices, start, NOW, 5, maint)
    assert sum(len(p.segments) for p in plans) > 20
    assert any(s.cause == "upstream" for p in plans for s in p.segments)
    assert any(s.state == "maintenance" for p in plans for s in p.segments)
    history.write_live(db.session, plans, rules, {d.id: d.community_id for d in devices}, NOW)
    for p in plans:
        stored = [(r.state, r.cause, r.start_at, r.end_at) for r in db.session.scalars(
            sa.select(StateInterval).where(StateInterval.device_id == p.device_id)
            .order_by(StateInterval.start_at))]
        expected = [(iv["state"], iv["cause"], iv["start_at"], iv["end_at"])
                    for iv in history.intervals_of(p)]
        assert stored == expected, p.device_id
    # A fault that ended in the past is not a finding now: the probes that ended it ran the
    # check that found it, so the first live sweep has nothing to carry back.
    from supervisor.health.models import DeviceStatus
    ended = [p.device_id for p in plans
             if any(s.cause in ("image_fault", "clock_drift") for s in p.segments)]
    assert ended
    rows = db.session.scalars(sa.select(DeviceStatus).where(DeviceStatus.device_id.in_(ended)))
    assert sorted((r.device_id, r.state, r.faults or []) for r in rows) == [
        (d, "ok", []) for d in sorted(ended)]


def test_cli_backfill_fills_every_device(app, runner):
    _fleet(2, 3)
    with clock.pinned(NOW):
        res = runner.invoke(args=["history", "backfill", "--months", "3", "--seed", "2"])
    assert res.exit_code == 0, res.output
    ids = set(db.session.scalars(sa.select(Device.id)))
    with_history = set(db.session.scalars(sa.select(StateInterval.device_id).distinct()))
    assert with_history == ids
    # Acceptance dates were given to devices without one, inside the history.
    assert all(d.accepted_on and d.accepted_on >= dt.date(2026, 3, 1)
               for d in db.session.scalars(sa.select(Device))
               if d.serial.startswith("CAM") and d.serial.endswith("-0"))
    # Running again leaves devices with history alone.
    with clock.pinned(NOW):
        again = runner.invoke(args=["history", "backfill", "--months", "3"])
    assert "devices=0" in again.output


def test_backfill_works_the_tickets_through_the_ticket_service(app):
    """The backfill's tickets (supervisor/demo/ticket_history.py, planned per fault by
    `plan_tickets`, tested there) are written through the ticket service: upstream outages
    open none, each ticket's stored clock is what the clock computes from its events, and
    the reports' ticket figures read them."""
    from reports import periods
    from reports.tickets import ticket_figures
    from supervisor.demo.ticket_history import plan_tickets, write_tickets
    from supervisor.models import Ticket
    from supervisor.tickets import service

    devices = _fleet(2, 4)
    for c in db.session.scalars(sa.select(Contract)):
        c.profile_version = 2
    for d in devices:
        d.accepted_on = d.accepted_on or dt.date(2026, 2, 11)
        d.lifecycle = "accepted"
    db.session.commit()
    start = dt.datetime(2026, 2, 28, 16)
    plans = history.plan_history(devices, start, NOW, 7, {})
    history.write_live(db.session, plans, HealthRules(), {d.id: d.community_id for d in devices},
                       NOW)
    made = write_tickets(db.session, plans, NOW, 7)
    by_dev = {d.id: d for d in devices}
    expected = sorted((p.device_id, tp.family, tp.steps[0].at) for p in plans
                      for tp in plan_tickets(p, by_dev[p.device_id].kind,
                                             service.ticket_rules_for(by_dev[p.device_id]), NOW, 7))
    tickets = list(db.session.scalars(sa.select(Ticket)))
    assert made == len(tickets) == len(expected) > 5
    assert sorted((t.device_id, t.family, t.opened_at) for t in tickets) == expected
    assert any(s.cause == "upstream" for p in plans for s in p.segments)
    upstream_only = {p.device_id for p in plans
                     if p.segments and all(s.cause == "upstream" for s in p.segments)}
    assert not any(t.device_id in upstream_only for t in tickets)
    assert {t.outcome for t in tickets if t.closed_at is not None} <= {"repaired", "recovered"}
    for t in tickets[:40]:
        assert service.verify_cache(db.session, t) == [], t.id
    march = periods.month(2026, 3)
    (city,) = ticket_figures(db.session, march.lo, march.hi, NOW)
    assert city["tickets_opened"] == sum(1 for t in tickets if march.lo <= t.opened_at < march.hi)
    assert city["response_met"] + city["response_missed"] > 0
