"""Recording a contract event a payment rule deducts for (a missed inspection, a falsified
report): validated whole (every problem at once, each naming its field), audited, and booked
on the ledger — in a month already closed, as an adjustment in the next open month.

The rules an event may fall under are the score deductions of the contract's profile with
`per: event`; the deduction line it produces links to the event (reports/ledger_store.py
`recorded_events`). Takes the session and `now`; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports import periods
from reports import ledger_store as ls
from supervisor.core import audit
from supervisor.inventory.models import Community, Contract, Device, contract_communities
from supervisor.reporting.models import ContractEvent, LedgerClosing

REASON_MAX = 2000


@dataclass(frozen=True)
class EventProblem:
    field: str          # rule | occurred_at | community | device | reason
    code: str           # a stable code the page translates
    message: str        # English, for the CLI


class EventError(ValueError):
    def __init__(self, problems: list[EventProblem]):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def event_rules(profile: Any) -> dict[str, Any]:
    """Rule name → the profile's deduction rule, for the rules counted per recorded event."""
    score = getattr(getattr(profile, "payment", None), "score", None)
    if score is None:
        return {}
    return {name: rule for name, rule in score.deductions.items() if rule.per == "event"}


def _community_on_contract(session: Session, contract: Contract, community_id: int) -> bool:
    linked = session.scalar(sa.select(sa.func.count()).select_from(contract_communities).where(
        contract_communities.c.contract_id == contract.id,
        contract_communities.c.community_id == community_id))
    if linked:
        return True
    return bool(session.scalar(sa.select(sa.func.count()).select_from(Device).where(
        Device.contract_id == contract.id, Device.community_id == community_id)))


def record_event(session: Session, contract: Contract, profile: Any, *, rule: str,
                 occurred_at: Optional[dt.datetime], reason: str, actor: Any,
                 now: dt.datetime, community_id: Optional[int] = None,
                 device_serial: Optional[str] = None) -> tuple[ContractEvent, Any]:
    """Record one event (naive UTC `occurred_at`). Returns the row and the adjustment booked
    when its month was already closed (else None). Raises EventError listing every problem."""
    problems: list[EventProblem] = []
    rules = event_rules(profile)
    if rule not in rules:
        problems.append(EventProblem("rule", "rule_unknown",
                                     f"not a per-event rule of {profile.key}: "
                                     f"{', '.join(sorted(rules)) or 'none'}"))
    start = periods.month(contract.start_month.year, contract.start_month.month).lo
    if occurred_at is None:
        problems.append(EventProblem("occurred_at", "time_missing", "a local time is required"))
    elif occurred_at > now:
        problems.append(EventProblem("occurred_at", "time_future", "the event is in the future"))
    elif occurred_at < start:
        problems.append(EventProblem("occurred_at", "time_before_contract",
                                     "before the contract's first month"))
    reason = (reason or "").strip()
    if not reason:
        problems.append(EventProblem("reason", "reason_missing", "a reason is required"))
    elif len(reason) > REASON_MAX:
        problems.append(EventProblem("reason", "reason_long",
                                     f"at most {REASON_MAX} characters"))
    community = None
    if community_id is not None:
        community = session.get(Community, community_id)
        if community is None or not _community_on_contract(session, contract, community_id):
            problems.append(EventProblem("community", "community_not_on_contract",
                                         "not a community of this contract"))
    device = None
    if device_serial:
        device = session.scalar(sa.select(Device).where(Device.serial == device_serial.strip()))
        if device is None or device.contract_id != contract.id:
            problems.append(EventProblem("device", "device_not_on_contract",
                                         "no device with this serial on this contract"))
        elif community is not None and device.community_id != community.id:
            problems.append(EventProblem("device", "device_not_in_community",
                                         "the device is not in the chosen community"))
    if problems:
        raise EventError(problems)
    assert occurred_at is not None
    if community is None and device is not None:
        community = session.get(Community, device.community_id)
    row = ContractEvent(contract_id=contract.id, rule=rule, occurred_at=occurred_at,
                        community_id=community.id if community else None,
                        device_id=device.id if device else None, reason=reason,
                        recorded_by_id=getattr(actor, "id", None),
                        recorded_by=str(getattr(actor, "username", actor) or "unknown")[:80],
                        recorded_at=now)
    session.add(row)
    session.flush()
    audit.record(actor, "create", "contract_event", f"{contract.code}/{row.id}", after={
        "rule": rule, "occurred_at": occurred_at.isoformat(), "reason": reason,
        "community": community.name if community else None,
        "device": device.serial if device else None})
    adjustment = None
    first = _local_date(occurred_at).replace(day=1)
    index = ls.month_index(contract, first)
    if session.scalar(sa.select(LedgerClosing.id).where(
            LedgerClosing.contract_id == contract.id, LedgerClosing.month == first)):
        adjustment = ls.reconcile(session, contract, index, now, profile,
                                  f"event {row.id}: {rule}", getattr(actor, "username", actor))
    return row, adjustment


def _local_date(at: dt.datetime) -> dt.date:
    from supervisor.core import localtime

    return localtime.to_local(at).date()


def events_of(session: Session, contract: Contract, limit: int = 500) -> list[ContractEvent]:
    """The contract's recorded events, newest first."""
    return list(session.scalars(sa.select(ContractEvent).where(
        ContractEvent.contract_id == contract.id).order_by(ContractEvent.occurred_at.desc(),
                                                           ContractEvent.id.desc()).limit(limit)))
