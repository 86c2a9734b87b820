"""Ticket changes: every change appends events and rewrites the clock cache in the caller's
transaction, with the notification outbox rows for it (the caller commits once).

Public API (all take an explicit `session` and `now`; none commits):

    current_calendar(session, now, tz) -> WorkCalendarVersion     # made from the library if none
    add_calendar_days(session, changes, effective_from, actor, note, now, tz) -> WorkCalendarVersion
    resolvers(session) -> (policy_of, calendar_of)
    open_ticket(session, device, family, now, *, severity=None, source, actor, evidence, behind)
    act(session, ticket, kind, now, actor=None, **data) -> TicketEvent     # acknowledged, comment, …
    refresh(session, ticket, now) -> TicketClock   # recompute, cache, record breaches/near-breach
    recompute(session, ticket, now) -> TicketClock # from events only, no writes
    verify_cache(session, ticket) -> list[str]     # differences between cache and recomputation

Errors are `TicketError(code, message)`; pages translate the code.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Callable, Iterable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supervisor.inventory.models import Contract, Device
from supervisor.profiles.loader import load_profile
from supervisor.tickets.calendar import WorkCalendar, library_days, merge_days
from supervisor.tickets.clock import TicketClock, compute
from supervisor.tickets.models import (Ticket, TicketDevice, TicketEvent, TicketState,
                                       WorkCalendarVersion)
from supervisor.tickets.policy import SlaPolicy, TicketRules, device_role

# Events that notify (the profile's `notifications.events` may narrow them).
NOTIFYING = {"opened": "opened", "near_breach": "near_breach", "breached": "breached",
             "reopened": "reopened", "verified": "verified", "recovered": "verified"}

# Who may append what: contractor actions and police actions (pages check the role too).
CONTRACTOR_ACTIONS = {"acknowledged", "comment", "hold_requested", "hold_ended", "repair_marked",
                      "attachment"}
POLICE_ACTIONS = {"comment", "hold_approved", "hold_refused", "hold_ended", "escalated",
                  "reassigned", "closed_invalid", "severity_changed", "policy_changed",
                  "calendar_changed", "acknowledged"}
SYSTEM_ACTIONS = {"recovery_seen", "reopened", "verified", "recovered", "breached", "near_breach",
                  "devices_added", "evidence_added", "verification_probe"}


class TicketError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------ calendar versions

def calendar_in_effect(session: Session, now: dt.datetime) -> Optional[WorkCalendarVersion]:
    """The stored calendar version in effect at `now`, or None (read only)."""
    return session.scalars(select(WorkCalendarVersion)
                           .where(WorkCalendarVersion.effective_from <= now)
                           .order_by(WorkCalendarVersion.effective_from.desc(),
                                     WorkCalendarVersion.id.desc()).limit(1)).first()


def current_calendar(session: Session, now: dt.datetime, tz: str = "Asia/Shanghai"
                     ) -> WorkCalendarVersion:
    """The calendar version in effect at `now`; the first one is made from the library."""
    row = calendar_in_effect(session, now)
    if row is not None:
        return row
    import holidays
    years = range(now.year - 1, now.year + 3)
    days = library_days(years)
    row = WorkCalendarVersion(effective_from=dt.datetime(now.year - 1, 1, 1), tz=tz,
                              source=f"holidays {holidays.__version__} China {years[0]}-{years[-1]}",
                              days={d.isoformat(): k for d, k in sorted(days.items())},
                              note="made from the library", created_at=now)
    session.add(row)
    session.flush()
    return row


def add_calendar_days(session: Session, changes: dict[dt.date, Optional[str]],
                      effective_from: dt.datetime, actor: Any, note: str, now: dt.datetime,
                      tz: str = "Asia/Shanghai") -> WorkCalendarVersion:
    """A new calendar version: the one in effect at `effective_from` with the police's
    changes (`work`, `off`, or None to make a day ordinary again). Earlier versions stay."""
    base = current_calendar(session, effective_from, tz)
    days = merge_days({dt.date.fromisoformat(k): v for k, v in base.days.items()}, changes)
    row = WorkCalendarVersion(effective_from=effective_from, tz=base.tz,
                              source=f"{base.source.split(' + ')[0]} + police",
                              days={d.isoformat(): k for d, k in sorted(days.items())},
                              note=note, created_by_id=getattr(actor, "id", None), created_at=now)
    session.add(row)
    session.flush()
    return row


def resolvers(session: Session) -> tuple[Callable[[str], SlaPolicy], Callable[[int], WorkCalendar]]:
    @functools.lru_cache(maxsize=None)
    def policy_of(key: str) -> SlaPolicy:
        name, _, version = key.partition("@")
        return SlaPolicy.from_profile(load_profile(name, int(version)))

    @functools.lru_cache(maxsize=None)
    def calendar_of(version: int) -> WorkCalendar:
        row = session.get(WorkCalendarVersion, version)
        if row is None:
            raise KeyError(f"calendar version {version} not found")
        return WorkCalendar.from_json(row.id, row.tz, row.days)

    return policy_of, calendar_of


def profile_for_device(device: Device) -> Any:
    contract = device.contract
    if contract is not None:
        return load_profile(contract.profile_name, contract.profile_version)
    return load_profile()


def ticket_rules_for(device: Device) -> TicketRules:
    """The `tickets` rules of the device's contract profile; a profile without that section
    (default@1, locked) takes the latest default profile's, so a dead switch on an old contract
    is not opened as minor. The severity chosen is recorded in the `opened` event, so clocks
    stay recomputable whatever a later profile says."""
    profile = profile_for_device(device)
    if getattr(profile, "tickets", None) is None:
        latest = load_profile()
        if getattr(latest, "tickets", None) is not None:
            return TicketRules.from_profile(latest)
    return TicketRules.from_profile(profile)


# ------------------------------------------------------------------ events

def _events(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.seq)))


def _clock_events(events: Iterable[TicketEvent]) -> list[dict[str, Any]]:
    """Events in time order (stable by seq) as the clock reads them."""
    out = [{"kind": e.kind, "at": e.at, "data": e.data or {}, "seq": e.seq} for e in events]
    return sorted(out, key=lambda e: (e["at"], e["seq"]))


def _append(session: Session, ticket: Ticket, kind: str, at: dt.datetime, actor: Any,
            data: Optional[dict[str, Any]], now: dt.datetime) -> TicketEvent:
    ticket.last_seq = (ticket.last_seq or 0) + 1
    ev = TicketEvent(ticket_id=ticket.id, seq=ticket.last_seq, kind=kind, at=at,
                     actor_id=getattr(actor, "id", None), data=data or {}, recorded_at=now)
    session.add(ev)
    session.flush()
    if kind in NOTIFYING and NOTIFYING[kind] in _notified_events(session, ticket):
        _notify(session, ticket, ev, now)
    return ev


def _notified_events(session: Session, ticket: Ticket) -> set[str]:
    """The profile's `notifications.events` (all of them when the profile has no section)."""
    device = session.get(Device, ticket.device_id)
    rules = getattr(profile_for_device(device), "notifications", None) if device else None
    if rules is None:
        return set(NOTIFYING.values())
    return set(rules.events)


def _notify(session: Session, ticket: Ticket, ev: TicketEvent, now: dt.datetime) -> None:
    from supervisor.notifications.outbox import enqueue
    contract = session.get(Contract, ticket.contract_id) if ticket.contract_id else None
    device = session.get(Device, ticket.device_id)
    payload = {"ticket": ticket.id, "event": NOTIFYING[ev.kind], "title": ticket.title,
               "severity": ticket.severity, "state": ticket.state,
               "device": device.serial if device else None,
               "device_name": device.name if device else None,
               "contract": contract.code if contract else None,
               "opened_at": ticket.opened_at.isoformat(),
               "repair_due_at": ticket.repair_due_at.isoformat() if ticket.repair_due_at else None,
               "at": ev.at.isoformat()}
    enqueue(session, ticket_id=ticket.id, event_seq=ev.seq, event=NOTIFYING[ev.kind],
            contractor_id=contract.contractor_id if contract else None,
            severity=ticket.severity, payload=payload, now=now)


# ------------------------------------------------------------------ opening

def open_ticket(session: Session, device: Device, family: str, now: dt.datetime, *,
                severity: Optional[str] = None, source: str = "health", actor: Any = None,
                evidence: Optional[dict[str, Any]] = None, behind: Iterable[Device] = (),
                recorded: Iterable[Device] = (), title: Optional[str] = None,
                opened_at: Optional[dt.datetime] = None, tz: str = "Asia/Shanghai") -> Ticket:
    """Open a ticket on `device` for `family` (one open ticket per device and family)."""
    existing = session.scalars(select(Ticket).where(Ticket.device_id == device.id,
                                                    Ticket.family == family,
                                                    Ticket.closed_at.is_(None))).first()
    if existing is not None:
        raise TicketError("already_open", f"ticket {existing.id} is open for this device and fault")
    profile = profile_for_device(device)
    rules = ticket_rules_for(device)
    policy = SlaPolicy.from_profile(profile)
    severity = severity or rules.severity_for(device_role(device.kind, device.role), family)
    policy.for_severity(severity)  # refuses a severity the policy has no SLA for
    at = opened_at or now
    cal = current_calendar(session, at, tz)
    ticket = Ticket(device_id=device.id, contract_id=device.contract_id,
                    community_id=device.community_id, family=family, source=source,
                    title=title or f"{device.name} · {family}", severity=severity,
                    policy=policy.key, calendar_id=cal.id, state=TicketState.OPEN,
                    opened_at=at, opened_by_id=getattr(actor, "id", None), escalated=False,
                    evidence=evidence or {}, breached=False, last_seq=0, updated_at=now)
    session.add(ticket)
    session.flush()
    session.add(TicketDevice(ticket_id=ticket.id, device_id=device.id, relation="root"))
    for d in behind:
        session.add(TicketDevice(ticket_id=ticket.id, device_id=d.id, relation="behind"))
    for d in recorded:
        session.add(TicketDevice(ticket_id=ticket.id, device_id=d.id, relation="recorded"))
    _append(session, ticket, "opened", at, actor,
            {"severity": severity, "policy": policy.key, "calendar": cal.id, "source": source,
             "family": family, "evidence": evidence or {}}, now)
    refresh(session, ticket, now)
    return ticket


# ------------------------------------------------------------------ actions

def act(session: Session, ticket: Ticket, kind: str, now: dt.datetime, actor: Any = None,
        **data: Any) -> TicketEvent:
    """Append one action (validated against the ticket's state) and refresh the clock."""
    closed = ticket.closed_at is not None
    if closed and kind not in ("comment", "reopened"):
        raise TicketError("closed", "the ticket is closed")
    events = _events(session, ticket)
    open_hold = _open_hold(events)
    pending = pending_hold(events)
    if kind == "hold_requested":
        rules = ticket_rules_for(session.get(Device, ticket.device_id))
        if data.get("reason") not in rules.hold_reasons:
            raise TicketError("hold_reason", "this hold reason is not allowed by the profile")
        if open_hold or pending:
            raise TicketError("hold_exists", "a hold is already requested or running")
        data["hold"] = 1 + sum(1 for e in events if e.kind == "hold_requested")
    elif kind in ("hold_approved", "hold_refused"):
        if pending is None:
            raise TicketError("no_hold", "no hold is waiting for a decision")
        data["hold"] = pending
    elif kind == "hold_ended":
        if not open_hold:
            raise TicketError("no_hold", "no hold is running")
    elif kind == "acknowledged":
        if any(e.kind == "acknowledged" for e in events):
            raise TicketError("already_acknowledged", "already acknowledged")
    elif kind == "repair_marked":
        if ticket.state == TicketState.VERIFYING:
            raise TicketError("verifying", "the repair is being verified")
    elif kind == "closed_invalid":
        if not (data.get("reason") or "").strip():
            raise TicketError("reason_required", "a reason is required")
    elif kind == "severity_changed":
        sev = data.get("severity")
        policy = SlaPolicy.from_profile(profile_for_device(session.get(Device, ticket.device_id)))
        if sev not in policy.terms or sev == ticket.severity:
            raise TicketError("severity", "choose another severity")
    elif kind == "calendar_changed":
        row = current_calendar(session, now, data.pop("tz", "Asia/Shanghai"))
        if row.id == ticket.calendar_id:
            raise TicketError("calendar", "the ticket already uses the calendar in effect")
        data["calendar"] = row.id
    elif kind == "reassigned":
        contract = session.get(Contract, data.get("contract_id"))
        if contract is None:
            raise TicketError("contract", "unknown contract")
        ticket.contract_id = contract.id
        data = {"contract_id": contract.id, "contract": contract.code}
    elif kind == "escalated":
        ticket.escalated = True
    ev = _append(session, ticket, kind, now, actor, data, now)
    if kind == "severity_changed":
        ticket.severity = data["severity"]
    elif kind == "calendar_changed":
        ticket.calendar_id = data["calendar"]
    refresh(session, ticket, now)
    return ev


def pending_hold(events: list[TicketEvent]) -> Optional[int]:
    pending = None
    for e in events:
        if e.kind == "hold_requested":
            pending = (e.data or {}).get("hold")
        elif e.kind in ("hold_approved", "hold_refused"):
            pending = None
    return pending


def _open_hold(events: list[TicketEvent]) -> bool:
    running = False
    for e in events:
        if e.kind == "hold_approved":
            running = True
        elif e.kind in ("hold_ended", "repair_marked", "verified", "recovered", "closed_invalid"):
            running = False
    return running


def system_event(session: Session, ticket: Ticket, kind: str, now: dt.datetime,
                 at: Optional[dt.datetime] = None, **data: Any) -> TicketEvent:
    """Events the platform writes (verification, recovery, reopening, evidence)."""
    if kind not in SYSTEM_ACTIONS:
        raise TicketError("kind", f"not a system event: {kind}")
    ev = _append(session, ticket, kind, at or now, None, data, now)
    refresh(session, ticket, now)
    return ev


# ------------------------------------------------------------------ the cache

def recompute(session: Session, ticket: Ticket, now: dt.datetime) -> TicketClock:
    policy_of, calendar_of = resolvers(session)
    return compute(_clock_events(_events(session, ticket)), policy_of, calendar_of, now)


def _state_of(events: list[TicketEvent], tc: TicketClock) -> str:
    if tc.closed_at is not None:
        return TicketState.CLOSED
    last = None
    for e in events:
        if e.kind in ("repair_marked", "recovery_seen"):
            last = TicketState.VERIFYING
        elif e.kind == "reopened":
            last = None
    if last:
        return last
    if tc.on_hold:
        return TicketState.ON_HOLD
    if any(e.kind in ("acknowledged",) for e in events):
        return TicketState.ACKNOWLEDGED
    return TicketState.OPEN


def refresh(session: Session, ticket: Ticket, now: dt.datetime) -> TicketClock:
    """Recompute the clock from events, write the cache, record new breaches and the
    near-breach warning as events (once per cycle and target)."""
    events = _events(session, ticket)
    policy_of, calendar_of = resolvers(session)
    tc = compute(_clock_events(events), policy_of, calendar_of, now)
    seen = {(e.data or {}).get("cycle", 0) * 10 + (1 if (e.data or {}).get("target") == "repair" else 0)
            for e in events if e.kind == "breached"}
    for b in tc.breaches:
        key = b.cycle * 10 + (1 if b.target == "repair" else 0)
        if key not in seen:
            _append(session, ticket, "breached", b.at, None,
                    {"cycle": b.cycle, "target": b.target, "policy": b.policy,
                     "severity": b.severity}, now)
            seen.add(key)
    warned = {((e.data or {}).get("cycle"), (e.data or {}).get("target", "repair"))
              for e in events if e.kind == "near_breach"}
    cur = tc.current
    for name in ("response", "repair"):
        target = getattr(cur, name)
        if (tc.closed_at is None and target.stopped_at is None and target.warn_at is not None
                and target.warn_at <= now and not target.breached and (cur.index, name) not in warned):
            _append(session, ticket, "near_breach", target.warn_at, None,
                    {"cycle": cur.index, "target": name}, now)
    events = _events(session, ticket)
    write_cache(ticket, tc, _state_of(events, tc), now)
    return tc


def write_cache(ticket: Ticket, tc: TicketClock, state: str, now: dt.datetime) -> None:
    cur = tc.current
    ticket.state = state
    ticket.closed_at = tc.closed_at
    ticket.outcome = tc.outcome
    ticket.severity = cur.severity
    ticket.policy = cur.policy
    ticket.response_due_at = cur.response.due_at
    ticket.repair_due_at = cur.repair.due_at
    ticket.response_used_s = round(cur.response.used_s, 3)
    ticket.repair_used_s = round(cur.repair.used_s, 3)
    ticket.breached = bool(tc.breaches)
    ticket.clock = tc.to_dict()
    ticket.clock_at = now
    ticket.updated_at = now


def verify_cache(session: Session, ticket: Ticket) -> list[str]:
    """Differences between the cached clock and one recomputed from events at the cache's
    moment (empty: the cache is right)."""
    if ticket.clock_at is None:
        return ["no cache"]
    tc = recompute(session, ticket, ticket.clock_at)
    problems = []
    if tc.to_dict() != ticket.clock:
        problems.append("clock")
    cur = tc.current
    for name, cached, fresh in (("repair_due_at", ticket.repair_due_at, cur.repair.due_at),
                                ("response_due_at", ticket.response_due_at, cur.response.due_at),
                                ("repair_used_s", ticket.repair_used_s, round(cur.repair.used_s, 3)),
                                ("response_used_s", ticket.response_used_s, round(cur.response.used_s, 3)),
                                ("closed_at", ticket.closed_at, tc.closed_at),
                                ("outcome", ticket.outcome, tc.outcome)):
        if cached != fresh:
            problems.append(f"{name}: cached {cached} != {fresh}")
    return problems


def events_of(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return _events(session, ticket)


def next_ticket_count(session: Session) -> int:
    return session.scalar(select(func.count(Ticket.id))) or 0
