"""Tickets for a backfilled past: what the ticket scan and the contractor would have done
about each fault of the history, written through the ticket service (the same events, SLA
clock, breaches and holds as live tickets).

For every fault segment of a device's plan (supervisor/demo/history.py) that lasts longer
than the profile's ``tickets.open_after_s`` for its family, a ticket opens when the scan
would have opened it; the contractor acknowledges it after a while (sometimes late enough
to breach the response target), sometimes asks for a hold the police approve, marks the
repair when the fault ends, and the ticket is verified once the device has stayed healthy
for ``confirmation_window_s``. A fault that ends with no repair mark is recovered without
intervention; a fault of the same family that comes back before the ticket closed reopens
it. Devices offline behind a failed switch are listed on the switch's ticket; cameras
recorded by a failed NVR on the NVR's.

Past events notify nobody: rows the service queued in the notification outbox for them are
removed (the platform did not exist to send them).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.health.rules import CAUSE_UPSTREAM
from supervisor.inventory.models import Device
from supervisor.notifications.models import OutboxMessage
from supervisor.tickets import service
from supervisor.tickets.models import Ticket
from supervisor.tickets.policy import TicketRules, families_of

SCAN_DELAY = dt.timedelta(seconds=60)     # the scan runs about once a minute


@dataclass(frozen=True)
class Step:
    """One thing that happens to a ticket: an action of a person or of the platform."""

    at: dt.datetime
    kind: str                    # open | acknowledged | hold_requested | hold_approved |
    #                              hold_ended | repair_marked | recovery_seen | verified |
    #                              recovered | reopened
    data: tuple[tuple[str, Any], ...] = ()


@dataclass
class TicketPlan:
    device_id: int
    family: str
    fault_start: dt.datetime
    steps: list[Step] = field(default_factory=list)


def _rng(seed: int, key: str) -> Any:
    import hashlib
    import random
    h = hashlib.sha256(f"{seed}:tickets:{key}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def plan_tickets(plan: Any, kind: str, rules: TicketRules, now: dt.datetime, seed: int
                 ) -> list[TicketPlan]:
    """The tickets of one device's history (pure). `plan` is a history.DevicePlan."""
    out: list[TicketPlan] = []
    open_by_family: dict[str, TicketPlan] = {}
    closes_at: dict[str, Optional[dt.datetime]] = {}
    for s in plan.segments:
        if s.state == "maintenance" or s.cause == CAUSE_UPSTREAM:
            continue  # planned work, or another device's fault: no ticket of its own
        for fam in sorted(families_of(s.state, s.cause, s.reasons, kind)):
            r = _rng(seed, f"{plan.device_id}:{fam}:{s.start.isoformat()}")
            current = open_by_family.get(fam)
            close = closes_at.get(fam)
            if current is not None and (close is None or s.start < close):
                # The fault came back before the ticket closed: the scan reopens it.
                steps = [st for st in current.steps if st.kind not in ("verified", "recovered")]
                reopen_at = s.start + SCAN_DELAY
                current.steps = steps + [Step(reopen_at, "reopened")]
                ticket = current
                acked = True
            else:
                opened = s.start + dt.timedelta(seconds=rules.open_after(fam)) + SCAN_DELAY
                if opened >= s.end:
                    continue  # over before a ticket was due
                ticket = TicketPlan(plan.device_id, fam, s.start, [Step(opened, "open")])
                out.append(ticket)
                open_by_family[fam] = ticket
                acked = False
            start = ticket.steps[-1].at
            cursor = start
            if not acked:
                # Most answer within the hour; a few days' worth of late answers breach.
                delay = dt.timedelta(minutes=min(48 * 60, r.lognormvariate(3.4, 1.1)))
                if start + delay < s.end:
                    cursor = start + delay
                    ticket.steps.append(Step(cursor, "acknowledged"))
                    acked = True
            long_fault = s.end - cursor > dt.timedelta(hours=12)
            if acked and long_fault and r.random() < 0.3:
                asked = cursor + dt.timedelta(minutes=30)
                approved = asked + dt.timedelta(minutes=r.randint(10, 90))
                ended = s.end - dt.timedelta(hours=2)
                if approved < ended:
                    reason = r.choice(rules.hold_reasons) if rules.hold_reasons else "spare_parts"
                    ticket.steps += [Step(asked, "hold_requested", (("reason", reason),)),
                                     Step(approved, "hold_approved"),
                                     Step(ended, "hold_ended")]
            window = dt.timedelta(seconds=rules.confirmation_window_s)
            if acked and r.random() < 0.85:
                ticket.steps.append(Step(max(s.end - dt.timedelta(minutes=r.randint(1, 20)),
                                             ticket.steps[-1].at + dt.timedelta(seconds=1)),
                                         "repair_marked"))
                end_kind = "verified"
            else:
                ticket.steps.append(Step(s.end + SCAN_DELAY, "recovery_seen"))
                end_kind = "recovered"
            done = s.end + window + SCAN_DELAY
            if done < now:
                ticket.steps.append(Step(done, end_kind))
                closes_at[fam] = done
            else:
                closes_at[fam] = None   # still verifying: the live scan will close it
    return out


def write_tickets(session: Session, plans: Sequence[Any], now: dt.datetime, seed: int,
                  tz: str = "Asia/Shanghai", progress: Callable[[int], None] = lambda n: None
                  ) -> int:
    """Writes the tickets of every device plan through the ticket service; returns how many
    were opened. Call after the history's intervals are written."""
    devices = {d.id: d for d in session.scalars(sa.select(Device).where(
        Device.id.in_([p.device_id for p in plans])))}
    behind_of: dict[int, list[Device]] = {}
    recorded_of: dict[int, list[Device]] = {}
    for d in session.scalars(sa.select(Device)):
        if d.upstream_id is not None:
            behind_of.setdefault(d.upstream_id, []).append(d)
        if d.recorded_by_id is not None:
            recorded_of.setdefault(d.recorded_by_id, []).append(d)
    rules_cache: dict[int, TicketRules] = {}
    opened_ids: list[int] = []
    for n, plan in enumerate(plans, 1):
        dev = devices.get(plan.device_id)
        if dev is None:
            continue
        key = dev.contract_id or 0
        if key not in rules_cache:
            rules_cache[key] = service.ticket_rules_for(dev)
        for tp in plan_tickets(plan, dev.kind, rules_cache[key], now, seed):
            ticket = _write_one(session, dev, tp, behind_of.get(dev.id, []),
                                recorded_of.get(dev.id, []), tz)
            opened_ids.append(ticket.id)
        if n % 50 == 0:
            session.flush()
            progress(n)
    for i in range(0, len(opened_ids), 500):
        part = opened_ids[i:i + 500]
        for t in session.scalars(sa.select(Ticket).where(Ticket.id.in_(part))):
            service.refresh(session, t, now)
        session.execute(sa.delete(OutboxMessage).where(OutboxMessage.ticket_id.in_(part)))
    session.commit()
    progress(len(plans))
    return len(opened_ids)


def _write_one(session: Session, dev: Device, tp: TicketPlan, behind: list[Device],
               recorded: list[Device], tz: str) -> Ticket:
    first = tp.steps[0]
    # Listed as the live scan lists them: devices behind it that were in service then.
    accepted_before = [d for d in behind
                       if d.accepted_on is not None and d.accepted_on <= tp.fault_start.date()]
    ticket = service.open_ticket(
        session, dev, tp.family, first.at, opened_at=first.at, tz=tz,
        evidence={"state": "offline" if tp.family == "offline" else "degraded",
                  "since": tp.fault_start.isoformat(), "seen_at": first.at.isoformat(),
                  "reasons": [], "faults": [], "frames": [], "history": True},
        behind=accepted_before if tp.family == "offline" else [],
        recorded=recorded if tp.family in ("offline", "recording") else [])
    for st in tp.steps[1:]:
        data = dict(st.data)
        if st.kind in service.SYSTEM_ACTIONS:
            service.system_event(session, ticket, st.kind, st.at, **data)
        else:
            service.act(session, ticket, st.kind, st.at, **data)
    return ticket
