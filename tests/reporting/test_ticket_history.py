"""Tickets of a backfilled past: planned from the history's faults by the profile's ticket
rules, written through the ticket service (clock, breaches, holds) and notifying nobody."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from supervisor.core.extensions import db
from supervisor.demo import history
from supervisor.demo.ticket_history import plan_tickets, write_tickets
from supervisor.health.rules import HealthRules
from supervisor.notifications.models import OutboxMessage
from supervisor.tickets import service
from supervisor.tickets.models import Ticket, TicketEvent
from supervisor.tickets.policy import TicketRules

from .test_history import NOW, _fleet

RULES = TicketRules(open_after_s={"offline": 600, "*": 3600}, confirmation_window_s=1800)
T = dt.datetime(2026, 5, 4, 2)
H = dt.timedelta(hours=1)


def _seg(start, hours, state="offline", cause="unreachable", reasons=None):
    reasons = reasons if reasons is not None else ({"check": "reach", "code": "timeout"},)
    return history.Segment(start, start + dt.timedelta(hours=hours), state, cause, tuple(reasons))


def _kinds(tp):
    return [s.kind for s in tp.steps]


def test_a_fault_shorter_than_the_opening_delay_opens_nothing():
    image = ({"check": "frame", "code": "image_fault", "fault": "blur"},)
    plan = history.DevicePlan(1, T - 24 * H, [
        _seg(T, 0.5, "degraded", "image_fault", image),      # < 3600 s: no ticket
        _seg(T + 5 * H, 0.15),                               # 9 min < 600 s: no ticket
        _seg(T + 10 * H, 3, "maintenance", "maintenance", ()),
        _seg(T + 20 * H, 3, "offline", "upstream", ({"check": "upstream", "code": "upstream_down"},)),
    ])
    assert plan_tickets(plan, "camera", RULES, NOW, seed=1) == []


def test_a_long_outage_is_opened_after_the_delay_and_closed_after_the_window():
    plan = history.DevicePlan(1, T - 24 * H, [_seg(T, 5)])
    (tp,) = plan_tickets(plan, "camera", RULES, NOW, seed=1)
    steps = {s.kind: s.at for s in tp.steps}
    assert tp.family == "offline"
    assert steps["open"] == T + dt.timedelta(seconds=600 + 60)
    end = T + 5 * H
    closing = "verified" if "repair_marked" in steps else "recovered"
    assert steps[closing] == end + dt.timedelta(seconds=1800 + 60)
    assert all(a.at <= b.at for a, b in zip(tp.steps, tp.steps[1:]))   # in time order
    if "repair_marked" in steps:
        assert steps["acknowledged"] < steps["repair_marked"] <= end


def test_a_fault_back_before_the_ticket_closed_reopens_it():
    plan = history.DevicePlan(1, T - 24 * H, [_seg(T, 2), _seg(T + 2 * H + dt.timedelta(minutes=15), 2)])
    (tp,) = plan_tickets(plan, "camera", RULES, NOW, seed=3)
    kinds = _kinds(tp)
    assert kinds.count("open") == 1 and kinds.count("reopened") == 1
    assert kinds[-1] in ("verified", "recovered")
    assert kinds.count("verified") + kinds.count("recovered") == 1


def test_a_ticket_still_verifying_at_now_is_left_to_the_live_scan():
    plan = history.DevicePlan(1, T - 24 * H, [_seg(NOW - 3 * H, 2.9)])
    (tp,) = plan_tickets(plan, "camera", RULES, NOW, seed=1)
    assert _kinds(tp)[-1] in ("repair_marked", "recovery_seen")


def test_written_tickets_follow_the_service_and_notify_nobody(app):
    devices = _fleet(3, 6)
    rules = HealthRules(to_offline=3, to_ok=2, to_degraded=2)
    start = dt.datetime(2025, 12, 31, 16)
    for d in devices:
        d.accepted_on = d.accepted_on or dt.date(2026, 1, 5)
    from supervisor.notifications.models import Recipient
    db.session.add(Recipient(name="值班", channel="email", address="duty@example.org"))
    db.session.commit()
    plans = history.plan_history(devices, start, NOW, 7, {})
    history.write_live(db.session, plans, rules, {d.id: d.community_id for d in devices}, NOW)
    kinds = {d.id: d.kind for d in devices}
    expected = sum(len(plan_tickets(p, kinds[p.device_id], service.ticket_rules_for(
        next(d for d in devices if d.id == p.device_id)), NOW, 7)) for p in plans)
    assert expected > 5
    n = write_tickets(db.session, plans, NOW, 7)
    tickets = db.session.scalars(sa.select(Ticket)).all()
    assert n == len(tickets) == expected
    # Every cached clock equals one recomputed from the events; closed ones are closed.
    assert all(service.verify_cache(db.session, t) == [] for t in tickets)
    closed = [t for t in tickets if t.closed_at is not None]
    assert closed and all(t.outcome in ("repaired", "recovered") for t in closed)
    # Each ticket opened on its device's own fault, never on a switch's cameras.
    assert all(t.family for t in tickets)
    # Some answered late enough to breach: the SLA clock ran as it does live, and the
    # breach is recorded at the moment the target passed, not when the history was written.
    breaches = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.kind == "breached")).all()
    assert breaches and all(b.at < NOW for b in breaches)
    assert any(t.breached for t in tickets) and not all(t.breached for t in tickets)
    # Past events notify nobody, though a recipient exists.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
