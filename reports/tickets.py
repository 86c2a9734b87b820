"""Ticket figures, each defined once: tickets opened, closed and overdue, SLA compliance by
severity (response and repair) and MTTR, for any period and grouping.

Every time comes from the SLA clock each ticket stores (`tickets.clock`, written by
supervisor/tickets/clock.py `compute` on every ticket event and by the clock job): time used
is schedule time of the severity's profile schedule with approved holds left out, breaches
are the instants that clock recorded. Nothing is re-derived here; the one extension is that
a running target whose stored deadline (`due_at`, already net of holds) has passed since the
clock's last refresh counts as missed at that deadline, which is where the clock puts the
breach when it next runs (a hold opened since would have refreshed it).

For a period [lo, hi) (local midnights, naive UTC) and `end` = min(hi, now):

- **opened**: tickets whose `opened_at` is in [lo, end) (closed-as-invalid ones included and
  also counted apart as **invalid**);
- **closed**: tickets closed (repaired, recovered or invalid) in [lo, end);
- **open at the end**: opened before `end` and not closed before it;
- **overdue**: open at the end and past the repair deadline of the clock cycle in force then
  (a repair already marked before the end stops it);
- **response met / missed**: a ticket's response is *missed* at its first response breach,
  *met* at the response (acknowledgement or repair mark) when no breach came first; it counts
  in the period where that instant falls. Likewise **repair met** at the verified closing of
  a repaired ticket without a repair breach, **repair missed** at its first repair breach.
  Tickets closed as invalid are left out (as the ledger leaves them out); a ticket closed as
  recovered without intervention counts its response as the clock judged it (a recovery
  answers it) and a repair breach as missed, never a repair as met (nobody repaired it);
  **compliance** = met / (met + missed), by the ticket's severity (the severity of its
  current clock cycle) and in total;
- **MTTR**: over tickets closed as repaired in the period, the mean wall-clock hours from
  opening to the repair that was verified, and beside it the mean SLA hours the repair clock
  used (schedule time, holds excluded, summed over the ticket's cycles).

Each decision falls in one period, so a closed month's ticket figures do not move when later
months are computed — except that a ticket later closed as invalid drops out of the month its
breach fell in (so does its ledger line). Pure: rows are read from supervisor.models, no Flask.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports.figures import GROUPINGS, load_devices
from supervisor.models import Contract, Contractor, Device, Ticket

SEVERITIES = ("critical", "major", "minor")

DEFINITIONS: tuple[dict[str, str], ...] = (
    {"key": "tickets_opened", "name": "Tickets opened",
     "definition": "Tickets opened in the period (closed-as-invalid ones also counted apart)."},
    {"key": "tickets_closed", "name": "Tickets closed",
     "definition": "Tickets closed in the period: repaired and verified, recovered without "
                   "intervention, or invalid."},
    {"key": "tickets_overdue", "name": "Tickets overdue",
     "definition": "Tickets still open at the end of the period and past the repair deadline "
                   "of their SLA clock then (holds excluded, the severity's schedule)."},
    {"key": "response_rate", "name": "Response within target",
     "definition": "Responses met / (met + missed) decided in the period, by severity: missed "
                   "at the first response breach of the ticket's SLA clock, met at the "
                   "response (or the recovery, as the clock counts it) when no breach came "
                   "first. Invalid tickets are left out."},
    {"key": "repair_rate", "name": "Repair within target",
     "definition": "Repairs met / (met + missed) decided in the period, by severity: missed "
                   "at the first repair breach (also of a ticket that later recovered by "
                   "itself), met at the verified closing of a ticket repaired without a "
                   "breach."},
    {"key": "mttr", "name": "MTTR",
     "definition": "Tickets closed as repaired in the period: mean wall-clock hours from "
                   "opening to the verified repair; beside it the mean SLA hours the repair "
                   "clock used (schedule time, holds excluded)."},
)


def _t(value: Any) -> Optional[dt.datetime]:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    try:
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        return None


@dataclass(frozen=True)
class TicketFacts:
    """What one ticket's stored clock says, as instants (naive UTC)."""

    id: int
    device_id: int
    contract_id: Optional[int]
    severity: str
    family: str
    opened_at: dt.datetime
    closed_at: Optional[dt.datetime]
    outcome: Optional[str]
    response_met_at: Optional[dt.datetime]
    response_missed_at: Optional[dt.datetime]
    repair_met_at: Optional[dt.datetime]
    repair_missed_at: Optional[dt.datetime]
    repair_wall_s: Optional[float]          # opening → verified repair (repaired tickets)
    repair_sla_s: Optional[float]           # schedule seconds the repair clock used
    cycles: tuple[tuple[dt.datetime, Optional[dt.datetime], Optional[dt.datetime],
                        Optional[dt.datetime]], ...]   # (start, end, repair deadline, repair stop)

    def overdue_since(self, end: dt.datetime) -> Optional[dt.datetime]:
        """The repair deadline this ticket is past at `end`, or None (not overdue then)."""
        if not (self.opened_at < end and (self.closed_at is None or self.closed_at >= end)):
            return None
        cycle = None
        for c in self.cycles:
            if c[0] <= end:
                cycle = c
        if cycle is None:
            return None
        _start, _end, deadline, stop = cycle
        if deadline is None or deadline >= end:
            return None
        if stop is not None and stop <= end:
            return None
        return deadline


def _target_missed(t: Mapping[str, Any], running: bool, now: dt.datetime) -> Optional[dt.datetime]:
    """The breach instant the clock recorded, or (a running target of the current cycle whose
    stored deadline passed since the clock was refreshed) that deadline."""
    if t.get("breached") and t.get("breach_at"):
        return _t(t["breach_at"])
    due = _t(t.get("due_at"))
    if running and t.get("stopped_at") is None and not t.get("paused") and due is not None \
            and due < now:
        return due
    return None


def facts_of(tid: int, device_id: int, contract_id: Optional[int], severity: str, family: str,
             opened_at: dt.datetime, closed_at: Optional[dt.datetime], outcome: Optional[str],
             clock: Mapping[str, Any] | None, now: dt.datetime) -> TicketFacts:
    """Read one ticket's stored clock (TicketClock.to_dict())."""
    cycles = list((clock or {}).get("cycles") or [])
    open_ticket = closed_at is None
    resp_missed = rep_missed = resp_met = None
    for i, c in enumerate(cycles):
        running = open_ticket and i == len(cycles) - 1 and c.get("end") is None
        for name in ("response", "repair"):
            miss = _target_missed(c.get(name) or {}, running, now)
            if miss is None:
                continue
            if name == "response":
                resp_missed = miss if resp_missed is None else min(resp_missed, miss)
            else:
                rep_missed = miss if rep_missed is None else min(rep_missed, miss)
    if resp_missed is None:
        # The response is the first cycle's stop that is a real one (a cycle that ended
        # unanswered records its end as the stop; a later cycle carries an earlier answer).
        for c in cycles:
            r = c.get("response") or {}
            stop, cend = _t(r.get("stopped_at")), _t(c.get("end"))
            if stop is not None and not r.get("provisional") and (cend is None or stop < cend):
                resp_met = stop
                break
    rep_met = closed_at if outcome == "repaired" and rep_missed is None else None
    wall = sla = None
    if outcome == "repaired" and cycles:
        stop = _t((cycles[-1].get("repair") or {}).get("stopped_at")) or closed_at
        if stop is not None:
            wall = (stop - opened_at).total_seconds()
        sla = float(sum(float((c.get("repair") or {}).get("used_s") or 0.0) for c in cycles))
    spans = []
    for i, c in enumerate(cycles):
        r = c.get("repair") or {}
        deadline = _t(r.get("breach_at")) if r.get("breached") else (
            None if r.get("paused") else _t(r.get("due_at")))
        stop = _t(r.get("stopped_at"))  # a repair mark stops it, verified or not yet
        spans.append((_t(c.get("start")) or opened_at, _t(c.get("end")), deadline, stop))
    if outcome == "invalid":
        resp_met = resp_missed = rep_met = rep_missed = None
    return TicketFacts(tid, device_id, contract_id, severity, family, opened_at, closed_at,
                       outcome, resp_met, resp_missed, rep_met, rep_missed, wall, sla,
                       tuple(spans))


# ------------------------------------------------------------------ loading

def load_tickets(session: Session, lo: dt.datetime, hi: dt.datetime, now: dt.datetime,
                 device_ids: Iterable[int] | None = None,
                 contract_ids: Iterable[int] | None = None) -> list[TicketFacts]:
    """Tickets alive at some point of [lo, hi) (every decision falls while a ticket is
    open), read with their stored clocks. `device_ids` / `contract_ids`: the reader's scope
    (the ticket's root device / the ticket's contract)."""
    q = sa.select(Ticket.id, Ticket.device_id, Ticket.contract_id, Ticket.severity,
                  Ticket.family, Ticket.opened_at, Ticket.closed_at, Ticket.outcome,
                  Ticket.clock).where(Ticket.opened_at < hi,
                                      sa.or_(Ticket.closed_at.is_(None), Ticket.closed_at >= lo))
    if device_ids is not None:
        q = q.where(Ticket.device_id.in_(list(device_ids)))
    if contract_ids is not None:
        q = q.where(Ticket.contract_id.in_(list(contract_ids)))
    return [facts_of(*row, now=now) for row in session.execute(q.order_by(Ticket.id)).tuples()]


def _groups(session: Session, facts: Sequence[TicketFacts], by: str) -> dict[int, str]:
    """Ticket id → its group's name: the root device's place, vendor, role or kind; the
    ticket's own contract (reassignment moves it) for contract and contractor."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; one of {', '.join(GROUPINGS)}")
    if by in ("contract", "contractor"):
        ids = {f.contract_id for f in facts if f.contract_id is not None}
        names = {}
        if ids:
            col = Contract.code if by == "contract" else Contractor.name
            q = (sa.select(Contract.id, col)
                 .outerjoin(Contractor, Contractor.id == Contract.contractor_id)
                 .where(Contract.id.in_(sorted(ids))))
            names = {cid: name for cid, name in session.execute(q)}
        return {f.id: str(names.get(f.contract_id) or "—") for f in facts}
    devices = load_devices(session, sorted({f.device_id for f in facts}))
    key = "serial" if by == "device" else by
    where = dict(zip(devices["device_id"].tolist(), devices[key].astype(str).tolist()))
    return {f.id: where.get(f.device_id, "—") for f in facts}


# ------------------------------------------------------------------ figures

def _rate(met: int, missed: int) -> Optional[float]:
    return met / (met + missed) if met + missed else None


def summarize(facts: Sequence[TicketFacts], groups: Mapping[int, str], lo: dt.datetime,
              hi: dt.datetime, now: dt.datetime,
              severities: Sequence[str] = SEVERITIES,
              sla_hours: Mapping[str, tuple[float, float]] | None = None) -> list[dict[str, Any]]:
    """One row per group (sorted by name). `sla_hours`: severity → (response h, repair h),
    the profile's targets shown beside the compliance."""
    end = min(hi, now)
    if end <= lo:  # a period not begun: nothing to count
        return []
    sevs = list(severities) + sorted({f.severity for f in facts} - set(severities))

    def within(at: Optional[dt.datetime]) -> bool:
        return at is not None and lo <= at < end

    rows: dict[str, dict[str, Any]] = {}
    for f in facts:
        g = groups.get(f.id, "—")
        r = rows.get(g)
        if r is None:
            r = rows[g] = {"group": g, "tickets_opened": 0, "tickets_invalid": 0,
                           "tickets_closed": 0, "tickets_open_end": 0, "tickets_overdue": 0,
                           "repaired": 0, "repair_wall_s": 0.0, "repair_sla_s": 0.0}
            for s in sevs:
                for k in ("response_met", "response_missed", "repair_met", "repair_missed"):
                    r[f"{k}_{s}"] = 0
        if within(f.opened_at):
            r["tickets_opened"] += 1
            r["tickets_invalid"] += f.outcome == "invalid"
        if within(f.closed_at):
            r["tickets_closed"] += 1
        if f.opened_at < end and (f.closed_at is None or f.closed_at >= end):
            r["tickets_open_end"] += 1
            r["tickets_overdue"] += f.overdue_since(end) is not None
        for k, at in (("response_met", f.response_met_at), ("response_missed", f.response_missed_at),
                      ("repair_met", f.repair_met_at), ("repair_missed", f.repair_missed_at)):
            if within(at):
                r[f"{k}_{f.severity}"] += 1
        if f.outcome == "repaired" and within(f.closed_at) and f.repair_wall_s is not None:
            r["repaired"] += 1
            r["repair_wall_s"] += f.repair_wall_s
            r["repair_sla_s"] += f.repair_sla_s or 0.0
    out = []
    for g in sorted(rows):
        r = rows[g]
        for k in ("response", "repair"):
            met = sum(r[f"{k}_met_{s}"] for s in sevs)
            missed = sum(r[f"{k}_missed_{s}"] for s in sevs)
            r[f"{k}_met"], r[f"{k}_missed"], r[f"{k}_rate"] = met, missed, _rate(met, missed)
            for s in sevs:
                r[f"{k}_rate_{s}"] = _rate(r[f"{k}_met_{s}"], r[f"{k}_missed_{s}"])
                if sla_hours and s in sla_hours:
                    r[f"{k}_target_h_{s}"] = sla_hours[s][0 if k == "response" else 1]
        n = r["repaired"]
        r["mttr_h"] = r["repair_wall_s"] / n / 3600 if n else None
        r["mttr_sla_h"] = r["repair_sla_s"] / n / 3600 if n else None
        out.append(r)
    return out


def ticket_figures(session: Session, lo: dt.datetime, hi: dt.datetime, now: dt.datetime,
                   by: str = "city", device_ids: Iterable[int] | None = None,
                   contract_ids: Iterable[int] | None = None,
                   sla_hours: Mapping[str, tuple[float, float]] | None = None
                   ) -> list[dict[str, Any]]:
    """Load and summarise: what the CLI, the pages, the ticket summary and the PDF call."""
    facts = load_tickets(session, lo, hi, now, device_ids, contract_ids)
    return summarize(facts, _groups(session, facts, by), lo, hi, now,
                     sla_hours=sla_hours)


def overdue_list(session: Session, lo: dt.datetime, hi: dt.datetime, now: dt.datetime,
                 device_ids: Iterable[int] | None = None,
                 contract_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """The tickets overdue at the period's end, longest overdue first (the PDF's list)."""
    end = min(hi, now)
    facts = load_tickets(session, lo, hi, now, device_ids, contract_ids)
    serials = {i: s for i, s in session.execute(sa.select(Device.id, Device.serial).where(
        Device.id.in_(sorted({f.device_id for f in facts}))))} if facts else {}
    codes = {i: c for i, c in session.execute(sa.select(Contract.id, Contract.code))}
    out = []
    for f in facts:
        since = f.overdue_since(end)
        if since is None:
            continue
        out.append({"id": f.id, "device": serials.get(f.device_id, ""), "severity": f.severity,
                    "family": f.family, "contract": codes.get(f.contract_id, "—"),
                    "opened_at": f.opened_at, "deadline": since,
                    "overdue_h": (end - since).total_seconds() / 3600})
    return sorted(out, key=lambda r: (-r["overdue_h"], r["id"]))


def sla_hours_of(profile: Any) -> dict[str, tuple[float, float]]:
    """Severity → (response h, repair h) from a standard profile's `sla` section."""
    out = {}
    for sev, rule in (getattr(profile, "sla", None) or {}).items():
        try:
            out[sev] = (float(rule.response_h), float(rule.repair_h))
        except AttributeError:
            continue
    return out
