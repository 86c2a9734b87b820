"""The whole lifecycle against the simulator, over real sockets: a camera breaks → a ticket
opens with evidence → the contractor acknowledges → a hold is requested and approved →
resumed → marked repaired (page) while the simulated camera is still broken → the immediate
probe reopens it → the fault is cleared in the simulator → marked repaired → the probe sees
it healthy → after the confirmation window it is verified and closed.

Every clock value is asserted: first from the real event times (24x7, critical), then the
same event history re-timed onto a Friday before the 2025 Spring Festival under a
working-hours SLA: a weekend, a make-up working Sunday (调休), a hold over a night and the
eight-day public holiday, each value computed by hand.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from flask import current_app
from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.inventory.models import Contract, Contractor, Device
from supervisor.tickets import opening, service
from supervisor.tickets.clock import compute
from supervisor.tickets.models import Ticket
from tests.tickets.clock_helpers import CALENDARS, POLICIES, H, local
from tests.web.conftest import csrf_from, login

# Own loopback range and ports (tests/tickets: 127.114.0.0/16, ports 19940-19949).
BASE = "127.114.1.1"
CONTROL = 19941


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess
    with FleetProcess(devices=8, seed=5, communities=1, base_address=BASE, control_port=CONTROL,
                      snmp_port=19942, onvif_port=19943, truth=False,
                      tmp_dir=tmp_path_factory.mktemp("fleet-tickets"), start_timeout=60) as f:
        yield f


@pytest.fixture
def fast_profile(app, tmp_path):
    """default@2 with a one-probe hysteresis, tickets opening at once and a 60 s window."""
    from supervisor.profiles import loader
    doc = yaml.safe_load((loader.DEFAULT_DIR / "default-v2.yaml").read_text(encoding="utf-8"))
    doc.update(name="ticketsim", version=1, supersedes=None)
    doc["hysteresis"].update(to_offline=1, to_ok=1, to_degraded=1)
    doc["tickets"]["open_after_s"] = {"*": 0}
    doc["tickets"]["confirmation_window_s"] = 60
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "ticketsim-v1.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    loader.configure([folder, loader.DEFAULT_DIR], db.engine)
    yield
    loader.configure(None, db.engine)


def kinds(ticket):
    return [e.kind for e in service.events_of(db.session, ticket)]


def test_lifecycle_against_the_simulator(web, app, fleet, fast_profile):
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.people.accounts import create_user
    from supervisor.sweeps.pipeline import run_sweep

    plan = parse_upload("fleet.csv", Path(fleet.inventory_path).read_bytes(), create_contracts=True)
    assert plan.ok, [str(e) for e in plan.errors[:5]]
    apply_plan(plan, "test")
    for c in db.session.scalars(select(Contract)):
        c.profile_name, c.profile_version = "ticketsim", 1
    sim = {d["serial"]: d for d in fleet.devices()}
    cam_serial = next(s for s, d in sim.items() if d["kind"] == "camera" and d["role"] == "entrance")
    cam = db.session.scalar(select(Device).where(Device.serial == cam_serial))
    nvr = db.session.scalar(select(Device).where(Device.kind == "nvr"))
    assert cam.recorded_by_id == nvr.id and cam.upstream.kind == "switch"   # the imported topology
    contractor = db.session.get(Contractor, db.session.get(Contract, cam.contract_id).contractor_id)
    create_user("fleetco", "fleetco-pass-123", "contractor", contractor=contractor, actor="test")
    db.session.commit()
    app.config["TICKET_VERIFY_PROBE"] = "inline"

    # 1. The camera breaks; a full sweep sees it unreachable; the ticket opens with evidence.
    fleet.set_faults(cam_serial, ["offline"])
    run_sweep("full", [cam_serial], deadline_s=30, settings=current_app.extensions["settings"])
    assert opening.scan(db.session, clock.now()) == {"opened": 1}
    db.session.commit()
    t = db.session.scalars(select(Ticket)).one()
    assert (t.device_id, t.family, t.severity, t.policy) == (cam.id, "offline", "critical", "ticketsim@1")
    assert t.evidence["state"] == "offline" and t.evidence["reasons"][0]["check"] in ("reach", "onvif")

    # 2. Acknowledge, hold requested and approved, resumed (contractor and police).
    service.act(db.session, t, "acknowledged", clock.now())
    service.act(db.session, t, "hold_requested", clock.now(), reason="power_company")
    service.act(db.session, t, "hold_approved", clock.now())
    assert t.state == "on_hold"
    service.act(db.session, t, "hold_ended", clock.now())
    db.session.commit()

    # 3. Marked repaired on the page while still broken: the immediate probe reopens it.
    client = app.test_client()
    login(client, "fleetco", "fleetco-pass-123")
    token = csrf_from(client.get(f"/tickets/{t.id}").get_data(as_text=True))
    assert client.post(f"/tickets/{t.id}/act", data={"csrf_token": token, "kind": "repair_marked"}
                       ).status_code == 302
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert kinds(t)[-3:] == ["repair_marked", "verification_probe", "reopened"]
    assert t.state == "acknowledged"
    reopened = service.events_of(db.session, t)[-1]
    assert reopened.data["evidence"]["state"] == "offline"

    # 4. The fault is cleared in the simulator; marked repaired again; the probe sees it ok.
    fleet.clear_faults(cam_serial)
    token = csrf_from(client.get(f"/tickets/{t.id}").get_data(as_text=True))
    client.post(f"/tickets/{t.id}/act", data={"csrf_token": token, "kind": "repair_marked"})
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert kinds(t)[-2:] == ["repair_marked", "verification_probe"] and t.state == "verifying"
    mark = service.events_of(db.session, t)[-2].at
    # 5. Healthy for the confirmation window (the job runs a minute later): verified, closed.
    assert opening.scan(db.session, mark + dt.timedelta(seconds=30)) == {}
    assert opening.scan(db.session, mark + dt.timedelta(seconds=61)) == {"verified": 1}
    db.session.commit()
    assert (t.state, t.outcome) == ("closed", "repaired")

    # Every clock value, from the event times (critical: 24x7).
    ev = {e.kind: e for e in service.events_of(db.session, t)}
    events = service.events_of(db.session, t)
    opened_at = events[0].at
    hold = ev["hold_ended"].at - ev["hold_approved"].at
    tc = service.recompute(db.session, t, mark + dt.timedelta(hours=1))
    (cyc,) = tc.cycles
    assert cyc.response.stopped_at == ev["acknowledged"].at
    assert cyc.response.used_s == pytest.approx((ev["acknowledged"].at - opened_at).total_seconds())
    assert cyc.repair.stopped_at == mark and not cyc.repair.provisional
    assert cyc.repair.used_s == pytest.approx((mark - opened_at - hold).total_seconds())
    assert cyc.repair.due_at == opened_at + dt.timedelta(hours=24) + hold
    assert cyc.holds[0].reason == "power_company" and cyc.holds[0].subtracted_s == pytest.approx(hold.total_seconds())
    assert tc.breaches == [] and tc.closed_at == ev["verified"].at
    assert service.verify_cache(db.session, t) == []

    # The same history re-timed onto the 2025 Spring Festival under working hours (minor,
    # test@2: respond in 4 h, repair in 16 h; Mon-Fri 08:30-12:00, 13:30-17:30).
    script = {
        "opened": local(2025, 1, 24, 16, 0),          # Friday
        "acknowledged": local(2025, 1, 26, 9, 0),     # Sunday, a make-up working day
        "hold_requested": local(2025, 1, 26, 16, 0),
        "hold_approved": local(2025, 1, 26, 17, 0),
        "hold_ended": local(2025, 1, 27, 10, 0),      # over the night
        "repair_marked#1": local(2025, 1, 27, 11, 0),
        "verification_probe#1": local(2025, 1, 27, 11, 1),
        "reopened": local(2025, 1, 27, 11, 1),
        "repair_marked#2": local(2025, 2, 5, 10, 0),  # after the holiday (Jan 28 - Feb 4)
        "verification_probe#2": local(2025, 2, 5, 10, 1),
        "verified": local(2025, 2, 5, 11, 0),
    }
    seen: dict[str, int] = {}
    retimed = []
    for e in events:
        seen[e.kind] = seen.get(e.kind, 0) + 1
        key = e.kind if e.kind in script else f"{e.kind}#{seen[e.kind]}"
        data = dict(e.data or {})
        if e.kind == "opened":
            data.update(severity="minor", policy="test@2", calendar=1)
        retimed.append({"kind": e.kind, "at": script[key], "data": data})
    at_end = compute(retimed, POLICIES.__getitem__, CALENDARS.__getitem__, local(2025, 2, 10))
    c = at_end.current
    assert c.response.used_s == 2 * H                      # Fri 1.5 h + Sun 0.5 h
    assert c.response.due_at == local(2025, 1, 26, 11, 0) and not c.response.breached
    assert c.holds[0].subtracted_s == 2 * H                # Sun 17:00-17:30 + Mon 08:30-10:00
    assert c.repair.used_s == 16 * H                       # 1.5 + 7 + 6 + 1.5: on the deadline
    assert c.repair.due_at == local(2025, 2, 5, 10, 0) and not c.repair.breached
    assert c.repair.stopped_at == local(2025, 2, 5, 10, 0)
    assert at_end.outcome == "repaired" and at_end.breaches == []
    # Seen on the first day of the holiday: the make-up Sunday counted, the holiday does not.
    mid = compute([r for r in retimed if r["at"] <= local(2025, 1, 30)], POLICIES.__getitem__,
                  CALENDARS.__getitem__, local(2025, 1, 30, 12, 0)).current
    assert mid.repair.used_s == 14.5 * H and mid.repair.due_at == local(2025, 2, 5, 10, 0)
