"""Tickets from health: persistence per family, severity matrix, root cause (one ticket for a
dead switch listing its devices), one open ticket per device and family, the cache equals a
recomputation, verification and self-recovery, outbox rows in the same transaction."""
import datetime as dt

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.notifications.models import OutboxMessage, Recipient
from supervisor.tickets import opening, service
from supervisor.tickets.models import Ticket, TicketDevice, TicketEvent, TicketState
from tests.tickets.ticket_helpers import behind, offline, ok, serial, set_status

T0 = dt.datetime(2026, 3, 2, 1, 0)   # Monday 09:00 in Shanghai


def minutes(n):
    return T0 + dt.timedelta(minutes=n)


def test_dead_switch_opens_one_ticket_listing_the_devices_behind_it(app, world):
    sw, *cams = world.alpha_devices
    offline(sw, T0)
    for c in cams:
        behind(c, T0, serial(sw))
    assert opening.scan(db.session, minutes(5)) == {}          # not persisted long enough
    counts = opening.scan(db.session, minutes(20))
    assert counts == {"opened": 1}
    (t,) = db.session.scalars(select(Ticket)).all()
    assert t.device_id == sw and t.family == "offline" and t.severity == "critical"
    rel = dict(db.session.execute(select(TicketDevice.device_id, TicketDevice.relation)
                                  .where(TicketDevice.ticket_id == t.id)).all())
    assert rel == {sw: "root", **{c: "behind" for c in cams}}
    assert t.evidence["reasons"] == [{"check": "reach", "code": "timeout"}]
    # Scanning again opens nothing more (one open ticket per device and family).
    assert opening.scan(db.session, minutes(30)) == {}
    assert db.session.scalar(select(db.func.count(Ticket.id))) == 1
    with pytest.raises(service.TicketError) as err:
        service.open_ticket(db.session, t.device if hasattr(t, "device") else
                            db.session.get(__import__("supervisor.inventory.models", fromlist=["Device"]).Device, sw),
                            "offline", minutes(31))
    assert err.value.code == "already_open"
    assert service.verify_cache(db.session, t) == []


def test_severity_matrix_and_families(app, world):
    cam_entrance, cam_road = world.alpha_devices[1], world.alpha_devices[2]
    set_status(cam_road, "degraded", T0, "image_fault",
               [{"check": "frame", "code": "image_fault", "fault": "blur", "value": 0.7, "limit": 0.6}])
    offline(cam_entrance, T0)
    opening.scan(db.session, minutes(90))
    tickets = {t.device_id: t for t in db.session.scalars(select(Ticket))}
    assert (tickets[cam_road].family, tickets[cam_road].severity) == ("blur", "minor")
    assert (tickets[cam_entrance].family, tickets[cam_entrance].severity) == ("offline", "critical")
    assert tickets[cam_entrance].policy == "default@2"


def test_cache_is_recomputable_and_verification_reopens_then_closes(app, world):
    sw = world.beta_devices[0]
    offline(sw, T0)
    opening.scan(db.session, minutes(20))
    t = db.session.scalars(select(Ticket)).one()
    service.act(db.session, t, "acknowledged", minutes(30))
    service.act(db.session, t, "repair_marked", minutes(60))
    assert t.state == TicketState.VERIFYING
    # The probe after the mark still sees it unreachable: reopened.
    offline(sw, T0, last_sample_at=minutes(61))
    assert opening.scan(db.session, minutes(62)) == {"reopened": 1}
    assert t.state == TicketState.ACKNOWLEDGED
    service.act(db.session, t, "repair_marked", minutes(90))
    ok(sw, minutes(91), last_sample_at=minutes(92))
    assert opening.scan(db.session, minutes(100)) == {}        # healthy, window not over
    assert opening.scan(db.session, minutes(125)) == {"verified": 1}
    assert t.state == TicketState.CLOSED and t.outcome == "repaired"
    tc = service.recompute(db.session, t, minutes(200))
    assert tc.current.repair.stopped_at == minutes(90)
    assert tc.current.repair.used_s == 70 * 60      # critical 24x7: from opening (20) to the mark (90)
    assert service.verify_cache(db.session, t) == []
    kinds = [e.kind for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                                                .order_by(TicketEvent.seq))]
    assert kinds == ["opened", "acknowledged", "repair_marked", "reopened", "repair_marked", "verified"]


def test_self_recovery_closes_as_recovered_without_intervention(app, world):
    cam = world.alpha_devices[1]
    offline(cam, T0)
    opening.scan(db.session, minutes(20))
    ok(cam, minutes(40), last_sample_at=minutes(41))
    assert opening.scan(db.session, minutes(42)) == {"recovery_seen": 1}
    ok(cam, minutes(40), last_sample_at=minutes(75))
    assert opening.scan(db.session, minutes(80)) == {"recovered": 1}
    t = db.session.scalars(select(Ticket)).one()
    assert t.outcome == "recovered" and t.repair_used_s == 22 * 60


def test_outbox_rows_only_for_police_and_the_tickets_contractor(app, world):
    from supervisor.inventory.models import Contract
    a = db.session.get(Contract, world.alpha_contract).contractor_id
    b = db.session.get(Contract, world.beta_contract).contractor_id
    db.session.add_all([Recipient(name="police", channel="email", address="p@x", format="text", active=True),
                        Recipient(name="alpha", contractor_id=a, channel="email", address="a@x",
                                  format="text", active=True),
                        Recipient(name="beta", contractor_id=b, channel="webhook", address="http://b",
                                  format="json", active=True)])
    db.session.flush()
    offline(world.alpha_devices[0], T0)
    opening.scan(db.session, minutes(20))
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(r.recipient_id for r in rows) == [1, 2]
    assert {r.event for r in rows} == {"opened"}
    db.session.rollback()                      # same transaction: no ticket, no outbox row
    assert db.session.scalar(select(db.func.count(OutboxMessage.id))) == 0
    assert db.session.scalar(select(db.func.count(Ticket.id))) == 0


def test_breach_is_an_event_with_the_policy_and_stays_after_closing(app, world):
    sw = world.alpha_devices[0]
    offline(sw, T0)
    opening.scan(db.session, minutes(20))
    t = db.session.scalars(select(Ticket)).one()
    opening.refresh_all(db.session, minutes(20 + 150))        # response 2 h (24x7) passed
    (b,) = [e for e in service.events_of(db.session, t) if e.kind == "breached"]
    assert b.data == {"cycle": 1, "target": "response", "policy": "default@2", "severity": "critical"}
    assert b.at == minutes(140)
    service.act(db.session, t, "closed_invalid", minutes(200), reason="duplicate")
    assert t.breached and [e.kind for e in service.events_of(db.session, t)].count("breached") == 1


def test_contract_on_profile_v1_takes_the_latest_ticket_rules(app, world):
    from supervisor.inventory.models import Contract
    db.session.get(Contract, world.alpha_contract).profile_version = 1
    sw = world.alpha_devices[0]
    offline(sw, T0)
    opening.scan(db.session, minutes(20))
    t = db.session.scalars(select(Ticket)).one()
    assert (t.policy, t.severity) == ("default@1", "critical")   # v1's SLA, the latest matrix
    assert t.clock["cycles"][0]["schedule"] == "24x7"


def test_frames_before_and_after_are_kept_with_the_ticket(web, world, tmp_path):
    from supervisor.health.evidence import save_frame
    from supervisor.health.models import EvidenceFrame
    cam = world.alpha_devices[2]
    root = tmp_path / "evidence"
    save_frame(db.session, root, cam, "reference", b"\xff\xd8ref", T0 - dt.timedelta(days=30))
    save_frame(db.session, root, cam, "latest", b"\xff\xd8now", T0)
    set_status(cam, "degraded", T0, "image_fault",
               [{"check": "frame", "code": "image_fault", "fault": "occlusion", "value": 0.8, "limit": 0.25}])
    opening.scan(db.session, minutes(90), evidence_root=root)
    t = db.session.scalars(select(Ticket)).one()
    roles = {f["role"]: f["id"] for f in t.evidence["frames"]}
    kept = db.session.get(EvidenceFrame, roles["after"])
    assert kept.kind == "ticket" and kept.ticket_id == t.id and (root / kept.path).read_bytes() == b"\xff\xd8now"
    assert db.session.get(EvidenceFrame, roles["before"]).kind == "reference"
    assert t.evidence["reasons"][0]["value"] == 0.8
    db.session.commit()
    from tests.web.conftest import login
    client = web.test_client()
    login(client, "alpha")
    page = client.get(f"/tickets/{t.id}").get_data(as_text=True)
    assert f"/frames/{roles['after']}.jpg" in page and f"/frames/{roles['before']}.jpg" in page
    assert "故障前" in page and "故障后" in page


def test_repaired_offline_device_with_another_fault_verifies_and_the_other_opens_apart(app, world):
    cam = world.alpha_devices[1]
    offline(cam, T0)
    opening.scan(db.session, minutes(20))
    t = db.session.scalars(select(Ticket)).one()
    service.act(db.session, t, "repair_marked", minutes(30))
    set_status(cam, "degraded", minutes(31), "image_fault",
               [{"check": "frame", "code": "image_fault", "fault": "blur", "value": 0.7, "limit": 0.6}],
               last_sample_at=minutes(32))
    assert opening.scan(db.session, minutes(40)) == {}
    assert opening.scan(db.session, minutes(62)) == {"verified": 1}
    assert t.outcome == "repaired"
    assert opening.scan(db.session, minutes(31 + 61)) == {"opened": 1}      # blur: 3600 s later
    blur = db.session.scalars(select(Ticket).where(Ticket.family == "blur")).one()
    assert blur.closed_at is None


def test_near_breach_events_fall_inside_working_hours(app, world):
    # A minor working-hours ticket opened Friday 16:00 local: 80 % of the 24 h response is
    # 19.2 working hours later, on a working day, never at night or on the weekend.
    cam = db.session.get(__import__("supervisor.inventory.models", fromlist=["Device"]).Device,
                         world.alpha_devices[3])
    fri = dt.datetime(2026, 3, 6, 8, 0)
    t = service.open_ticket(db.session, cam, "blur", fri)
    opening.refresh_all(db.session, dt.datetime(2026, 3, 11, 4, 0))     # Wednesday 12:00 local
    warns = {e.data["target"]: e.at for e in service.events_of(db.session, t) if e.kind == "near_breach"}
    # 1.5 h Fri + 7.5 h Mon, Tue, (19.2 - 16.5 = 2.7 h) Wed from 08:30 → 11:12 local.
    assert warns == {"response": dt.datetime(2026, 3, 11, 3, 12)}
    assert t.response_due_at == dt.datetime(2026, 3, 11, 9, 30)         # Wednesday 17:30 local
    opening.refresh_all(db.session, dt.datetime(2026, 3, 11, 10, 0))     # 18:00: exactly on time
    assert not [e for e in service.events_of(db.session, t) if e.kind == "breached"]
    opening.refresh_all(db.session, dt.datetime(2026, 3, 12, 1, 0))      # Thursday 09:00
    assert [e.data["target"] for e in service.events_of(db.session, t) if e.kind == "breached"] == ["response"]
    assert [e.kind for e in service.events_of(db.session, t)].count("near_breach") == 1
