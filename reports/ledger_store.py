"""The ledger over the database: load a contract month's inputs, build its 60 rows, close a
month (frozen snapshot + content hash), waive a line, book corrections as adjustments.

Writes only reports' own tables (ledger_closings, ledger_waivers, ledger_adjustments); the
caller commits and records the audit entry (web/CLI). Times are naive UTC; months are local.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports import periods
from reports.figures import (Targets, device_seconds, load_devices, load_intervals, summarize)
from reports.ledger import (DeviceMonth, EventFact, MonthResult, TicketFact, content_hash,
                            instalments, month_result)
from reports.money import ZERO, money
from supervisor.models import (Contract, ContractEvent, Device, LedgerAdjustment,
                               LedgerClosing, LedgerWaiver)

# How far back a failure that is still open at the month's start is looked for (its grace
# runs from its true start).
LOOKBACK = dt.timedelta(days=62)

TicketSource = Callable[[Session, int, dt.datetime, dt.datetime], Sequence[TicketFact]]


def default_tickets(session: Session, contract_id: int, lo: dt.datetime, hi: dt.datetime
                    ) -> Sequence[TicketFact]:
    """The contract's tickets with the breaches their SLA clock recorded (supervisor/tickets
    keeps each ticket's clock, computed with the working calendar and holds, in
    `tickets.clock`); tickets closed as invalid are left out. A breach is booked in the month
    it happened."""
    import supervisor.models as models

    ticket = getattr(models, "Ticket", None)
    if ticket is None:  # a platform without tickets
        return []
    out = []
    rows = session.execute(sa.select(ticket.id, ticket.device_id, ticket.severity,
                                     ticket.opened_at, ticket.outcome, ticket.clock).where(
        ticket.contract_id == contract_id, ticket.opened_at < hi)).all()
    for tid, dev, severity, opened, outcome, clock in rows:
        if outcome == "invalid" or not clock:
            continue
        breaches = []
        for b in clock.get("breaches") or []:
            try:
                at = dt.datetime.fromisoformat(b["at"]).replace(tzinfo=None)
            except (KeyError, TypeError, ValueError):
                continue
            if lo <= at < hi:
                breaches.append((str(b.get("target")), at))
        if breaches:
            out.append(TicketFact(id=tid, device_id=dev, severity=severity, opened_at=opened,
                                  responded_at=None, repaired_at=None,
                                  breaches=tuple(breaches)))
    return out


EventSource = Callable[[Session, int, dt.datetime, dt.datetime], Sequence[EventFact]]
# A list given by the caller, a source to read them through, or None: the recorded ones.
Events = Sequence[EventFact] | EventSource | None


def recorded_events(session: Session, contract_id: int, lo: dt.datetime, hi: dt.datetime
                    ) -> Sequence[EventFact]:
    """The events police recorded against the contract in [lo, hi) (`contract_events`); each
    deduction line names the event it stands on."""
    rows = session.execute(sa.select(ContractEvent.id, ContractEvent.rule,
                                     ContractEvent.occurred_at, ContractEvent.reason).where(
        ContractEvent.contract_id == contract_id, ContractEvent.occurred_at >= lo,
        ContractEvent.occurred_at < hi).order_by(ContractEvent.occurred_at, ContractEvent.id))
    return [EventFact(id=i, rule=rule, at=at, note=(reason or "")[:200])
            for i, rule, at, reason in rows]


def _events_of(events: Events, session: Session,
               contract_id: int, lo: dt.datetime, hi: dt.datetime) -> Sequence[EventFact]:
    """Events given by the caller (a list), or read through a source (default: recorded)."""
    if events is None:
        return recorded_events(session, contract_id, lo, hi)
    if callable(events):
        return events(session, contract_id, lo, hi)
    return events


@dataclass
class Preloaded:
    """A contract's devices and its intervals overlapping [lo, hi), loaded once when several
    months are computed (the ledger's ended, unclosed months)."""

    devices: pd.DataFrame
    intervals: pd.DataFrame
    lo: dt.datetime
    hi: dt.datetime

    def overlapping(self, lo: dt.datetime, hi: dt.datetime,
                    device_ids: Sequence[int] | None = None) -> pd.DataFrame:
        iv = self.intervals
        mask = (iv["start_at"] < pd.Timestamp(hi)) & (iv["end_at"].isna()
                                                      | (iv["end_at"] > pd.Timestamp(lo)))
        if device_ids is not None:
            mask &= iv["device_id"].isin(device_ids)
        return iv[mask]


def preload(session: Session, contract: Contract, lo: dt.datetime, hi: dt.datetime) -> Preloaded:
    ids = list(session.scalars(sa.select(Device.id).where(Device.contract_id == contract.id)))
    return Preloaded(load_devices(session, ids), load_intervals(session, lo - LOOKBACK, hi, ids),
                     lo - LOOKBACK, hi)


def month_devices(session: Session, contract: Contract, period: periods.Period,
                  now: dt.datetime, pre: Preloaded | None = None
                  ) -> tuple[list[DeviceMonth], pd.DataFrame, pd.DataFrame]:
    """The contract's devices in service in the month: their seconds (reports.figures) and
    their intervals from LOOKBACK before the month, clipped to service time and `now`."""
    lo, hi = period.lo, period.hi
    if pre is not None and not (pre.lo <= lo - LOOKBACK and hi <= pre.hi):
        pre = None  # not covered by what was loaded
    if pre is None:
        ids = list(session.scalars(sa.select(Device.id).where(Device.contract_id == contract.id)))
        devices = load_devices(session, ids)
        month_ivs = load_intervals(session, lo, hi, ids)
    else:
        devices = pre.devices
        month_ivs = pre.overlapping(lo, hi)
    per = device_seconds(devices, month_ivs, lo, hi, now)
    stop = min(hi, now)
    bounds = {}
    for dev, acc, ret in zip(devices["device_id"].tolist(), devices["accepted_on"].tolist(),
                             devices["retired_on"].tolist()):
        if acc is None or (isinstance(acc, float) and pd.isna(acc)) or pd.isna(acc):
            continue
        end_svc = stop
        if ret is not None and not pd.isna(ret):
            end_svc = min(stop, periods.day(ret).lo)
        bounds[dev] = (periods.day(acc).lo, end_svc)
    # A failure open at the month's start may have begun in an earlier interval (offline,
    # then offline because of the switch): those devices' earlier intervals are added.
    carry = month_ivs[(month_ivs["start_at"] < pd.Timestamp(lo))
                      & month_ivs["state"].isin(["offline", "degraded"])]["device_id"].unique().tolist()
    wide = month_ivs
    if carry:
        early = (pre.overlapping(lo - LOOKBACK, lo, carry) if pre is not None
                 else load_intervals(session, lo - LOOKBACK, lo, carry))
        early = early[early["start_at"] < pd.Timestamp(lo)]
        early = early[~early["id"].isin(month_ivs["id"])]
        wide = pd.concat([early, month_ivs], ignore_index=True) if len(early) else month_ivs
    by_dev: dict[int, list[tuple[int, str, dt.datetime, dt.datetime]]] = {}
    if len(wide):
        starts = wide["start_at"].dt.to_pydatetime().tolist()
        ends = [None if pd.isna(e) else e for e in wide["end_at"].dt.to_pydatetime().tolist()]
        for iv_id, dev, state, st, en in zip(wide["id"].tolist(), wide["device_id"].tolist(),
                                             wide["state"].tolist(), starts, ends):
            b = bounds.get(dev)
            if b is None:
                continue
            s0, e0 = max(st, b[0]), min(en or now, b[1])
            if e0 > s0:
                by_dev.setdefault(dev, []).append((int(iv_id), state, s0, e0))
    info = devices.set_index("device_id")[["serial", "kind", "role"]].to_dict("index")
    out: list[DeviceMonth] = []
    for r in per[per["in_service_us"] > 0].to_dict("records"):
        dev = r["device_id"]
        meta = info[dev]
        out.append(DeviceMonth(
            device_id=int(dev), serial=meta["serial"], kind=meta["kind"],
            role=None if meta["role"] == "—" else meta["role"], ok_s=r["ok_us"] / 1e6,
            degraded_s=r["degraded_us"] / 1e6, offline_s=r["offline_us"] / 1e6,
            intervals=tuple(sorted(by_dev.get(dev, []), key=lambda x: x[2]))))
    return out, devices, per


def compute_month(session: Session, contract: Contract, index: int, now: dt.datetime,
                  profile: Any, tickets: TicketSource = default_tickets,
                  events: Events = None, pre: Preloaded | None = None) -> MonthResult:
    """Month `index` (1-based) of the contract, as of `now`."""
    first = periods.add_months(contract.start_month, index - 1)
    period = periods.month(first.year, first.month)
    plan = instalments(contract.investment, contract.term_months, contract.instalment_plan)
    devs, devices, per = month_devices(session, contract, period, now, pre)
    t = Targets(profile.targets.online_rate.value, profile.targets.intact_rate.value)
    rows = summarize(devices, per, "contract", t)
    figures = rows[0] if rows else {}
    figures = {k: figures.get(k) for k in ("devices", "measured_s", "online_rate",
                                            "intact_rate", "unplanned_outage_s",
                                            "planned_outage_s")}
    waivers = dict(session.execute(sa.select(LedgerWaiver.line_key, LedgerWaiver.reason).where(
        LedgerWaiver.contract_id == contract.id, LedgerWaiver.month == period.first)).all())
    return month_result(
        month=period.label, index=index, instalment=plan[index - 1], payment=profile.payment,
        sla=profile.sla, devices=devs, figures=figures,
        tickets=tickets(session, contract.id, period.lo, period.hi),
        events=_events_of(events, session, contract.id, period.lo, period.hi),
        waivers=waivers, lo=period.lo, hi=period.hi, now=now, profile_key=profile.key)


@dataclass
class LedgerRow:
    index: int
    month: str
    status: str           # closed | due | in_progress | projected
    instalment: Decimal
    earned: Decimal
    withheld: Decimal
    carried: Decimal      # adjustments booked in this month (corrections of closed months)
    payable: Decimal
    cumulative: Decimal
    score: Decimal | None
    coefficient: Decimal | None
    sha256: str | None = None
    result: MonthResult | dict | None = None


def month_index(contract: Contract, first: dt.date) -> int:
    return (first.year - contract.start_month.year) * 12 + first.month - contract.start_month.month + 1


def ledger(session: Session, contract: Contract, now: dt.datetime, profile: Any,
           tickets: TicketSource = default_tickets, events: Events = None
           ) -> list[LedgerRow]:
    """The contract's term, month by month: closed months from their snapshots, ended but
    unclosed months computed now (due), the current month so far, later months projected at
    the average share earned so far (1.0 while nothing is earned yet)."""
    plan = instalments(contract.investment, contract.term_months, contract.instalment_plan)
    closed = {c.month: c for c in session.scalars(sa.select(LedgerClosing).where(
        LedgerClosing.contract_id == contract.id))}
    carried: dict[dt.date, Decimal] = {}
    for a in session.scalars(sa.select(LedgerAdjustment).where(
            LedgerAdjustment.contract_id == contract.id)):
        carried[a.month] = carried.get(a.month, ZERO) + money(a.amount)
    rows: list[LedgerRow] = []
    cumulative = ZERO
    shares: list[Decimal] = []
    todo = [periods.month(d.year, d.month) for d in (
        periods.add_months(contract.start_month, k) for k in range(contract.term_months))
        if d not in closed]
    todo = [m for m in todo if m.lo < now]
    pre = preload(session, contract, todo[0].lo, todo[-1].hi) if len(todo) > 1 else None
    for k in range(1, contract.term_months + 1):
        first = periods.add_months(contract.start_month, k - 1)
        period = periods.month(first.year, first.month)
        inst = plan[k - 1]
        carry = carried.get(first, ZERO)
        if first in closed:
            snap = closed[first].snapshot
            earned = Decimal(snap["earned"])
            row = LedgerRow(k, period.label, "closed", inst, earned, inst - earned, carry,
                            money(closed[first].payable), ZERO,
                            Decimal(snap["score"]) if snap.get("score") else None,
                            Decimal(snap["coefficient"]), closed[first].content_sha256, snap)
        elif period.lo < now:
            res = compute_month(session, contract, k, now, profile, tickets, events, pre)
            status = "due" if period.hi <= now else "in_progress"
            row = LedgerRow(k, period.label, status, inst, res.earned, res.withheld, carry,
                            res.earned + carry, ZERO, res.score, res.coefficient, None, res)
        else:
            share = (sum(shares) / len(shares)) if shares else Decimal("1")
            earned = money(inst * share)
            row = LedgerRow(k, period.label, "projected", inst, earned, inst - earned, carry,
                            earned + carry, ZERO, None, None)
        if row.status in ("closed", "due") and inst > 0:
            shares.append(row.earned / inst)
        cumulative += row.payable
        row.cumulative = cumulative
        rows.append(row)
    return rows


def summary(contract: Contract, rows: Sequence[LedgerRow]) -> dict[str, Any]:
    closed = [r for r in rows if r.status == "closed"]
    recovered = sum((r.payable for r in closed), ZERO)
    return {"investment": money(contract.investment), "recovered": recovered,
            "recovered_share": (recovered / money(contract.investment)
                                if contract.investment else None),
            "months_closed": len(closed), "months_remaining": len(rows) - len(closed),
            "withheld": sum((r.withheld for r in closed), ZERO),
            "projected_total": rows[-1].cumulative if rows else ZERO}


class LedgerError(ValueError):
    pass


def close_month(session: Session, contract: Contract, index: int, now: dt.datetime,
                profile: Any, actor: str | None = None,
                tickets: TicketSource = default_tickets, events: Events = None
                ) -> LedgerClosing:
    """Freeze month `index` (it must have ended): its snapshot, content hash and payable."""
    first = periods.add_months(contract.start_month, index - 1)
    period = periods.month(first.year, first.month)
    if period.hi > now:
        raise LedgerError(f"{period.label} has not ended yet")
    if session.scalar(sa.select(LedgerClosing.id).where(
            LedgerClosing.contract_id == contract.id, LedgerClosing.month == first)):
        raise LedgerError(f"{period.label} is already closed")
    res = compute_month(session, contract, index, now, profile, tickets, events)
    carry = sum((money(a.amount) for a in session.scalars(sa.select(LedgerAdjustment).where(
        LedgerAdjustment.contract_id == contract.id, LedgerAdjustment.month == first))), ZERO)
    snap = res.to_json()
    snap["carried"] = str(carry)
    row = LedgerClosing(contract_id=contract.id, month=first, snapshot=snap,
                        content_sha256=content_hash(snap), payable=res.earned + carry,
                        closed_at=now, closed_by=actor)
    session.add(row)
    session.flush()
    return row


def next_open_month(session: Session, contract: Contract, after: dt.date) -> dt.date:
    closed = set(session.scalars(sa.select(LedgerClosing.month).where(
        LedgerClosing.contract_id == contract.id)))
    m = periods.add_months(after, 1)
    while m in closed:
        m = periods.add_months(m, 1)
    return m


def reconcile(session: Session, contract: Contract, index: int, now: dt.datetime, profile: Any,
              reason: str, actor: str | None = None,
              tickets: TicketSource = default_tickets, events: Events = None
              ) -> LedgerAdjustment | None:
    """Recompute a closed month; a difference in what it earned becomes an adjustment line in
    the next open month (the snapshot is never rewritten). None when nothing changed."""
    first = periods.add_months(contract.start_month, index - 1)
    closing = session.scalar(sa.select(LedgerClosing).where(
        LedgerClosing.contract_id == contract.id, LedgerClosing.month == first))
    if closing is None:
        raise LedgerError(f"month {index} is not closed: it is recomputed anyway")
    res = compute_month(session, contract, index, now, profile, tickets, events)
    booked = sum((money(a.amount) for a in session.scalars(sa.select(LedgerAdjustment).where(
        LedgerAdjustment.contract_id == contract.id,
        LedgerAdjustment.corrects_month == first))), ZERO)
    delta = res.earned - Decimal(closing.snapshot["earned"]) - booked
    if delta == 0:
        return None
    adj = LedgerAdjustment(
        contract_id=contract.id, month=next_open_month(session, contract, first),
        corrects_month=first, amount=delta, reason=reason, created_at=now, created_by=actor,
        detail={"closed_sha256": closing.content_sha256, "closed_earned": closing.snapshot["earned"],
                "recomputed_earned": str(res.earned),
                "recomputed_sha256": content_hash(res.to_json())})
    session.add(adj)
    session.flush()
    return adj


def waive(session: Session, contract: Contract, index: int, line_key: str, reason: str,
          actor: str | None, now: dt.datetime, profile: Any,
          tickets: TicketSource = default_tickets, events: Events = None
          ) -> tuple[LedgerWaiver, LedgerAdjustment | None]:
    """Police waive one deduction line (with a reason). In a closed month the change is booked
    as an adjustment in the next open month. The caller records the audit entry and commits."""
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("a waiver needs a reason")
    first = periods.add_months(contract.start_month, index - 1)
    res = compute_month(session, contract, index, now, profile, tickets, events)
    if line_key not in {ln.key for ln in res.lines}:
        raise LedgerError(f"no deduction line {line_key!r} in month {index}")
    w = LedgerWaiver(contract_id=contract.id, month=first, line_key=line_key, reason=reason[:500],
                     waived_by=actor, waived_at=now)
    session.add(w)
    session.flush()
    adj = None
    if session.scalar(sa.select(LedgerClosing.id).where(
            LedgerClosing.contract_id == contract.id, LedgerClosing.month == first)):
        adj = reconcile(session, contract, index, now, profile, f"waiver: {reason[:400]}", actor,
                        tickets, events)
    return w, adj
