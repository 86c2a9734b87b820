"""The repayment ledger: instalments, each month's earned payment, deduction lines.

Pure functions (no database, no Flask): reports/ledger_store.py loads the inputs, closes
months and books adjustments. Money follows reports/money.py (Decimal, to the fen, half up).

- **Instalments** of a contract's term (60 months by default) from `contract.instalment_plan`:
  `{"kind": "equal"}` (investment / term, the last absorbs rounding),
  `{"kind": "annuity", "annual_rate": 0.045}` (fixed payment at rate/12 a month, the last
  clears the balance), or `{"kind": "schedule", "amounts": [...]}` (the contract's own list).
- **Score form** (profile `payment.score` + `payment.coefficients`): 100 points less the
  deduction lines (channel faulty over N hours in the month; late response / late repair
  tickets; missed inspections and other events); each rule's points capped at `max_points`;
  the score (or the month's online/intact rate, per `basis`) picks a band whose coefficient
  is the share of the instalment earned.
- **Availability form** (profile `payment.availability`): per device failure (contiguous
  unavailable intervals), the time after `grace_h` from the failure's start that falls in the
  month, in whole `period_h` periods (a started period counts), × weight (role/kind) × rate ×
  instalment × ratchet factor of the failure's rank in the month for that device; the month's
  deductions are capped at `cap` × instalment.
- Every line has a stable `key` (what a waiver names) and the interval or ticket ids behind it.
  A waived line stays listed, marked waived with its reason, and no longer counts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from reports.money import ZERO, dec, money


# ------------------------------------------------------------------ instalments

def instalments(investment: Any, term: int, plan: Mapping[str, Any] | None) -> list[Decimal]:
    """The term's instalments, each to the fen."""
    plan = plan or {"kind": "equal"}
    total = money(investment)
    kind = plan.get("kind", "equal")
    if kind == "schedule":
        amounts = [money(a) for a in plan.get("amounts") or []]
        if len(amounts) != term:
            raise ValueError(f"schedule has {len(amounts)} amounts for a {term}-month term")
        return amounts
    if kind == "annuity":
        i = dec(plan.get("annual_rate", 0)) / 12
        if i == 0:
            return instalments(total, term, {"kind": "equal"})
        pmt = money(total * i / (1 - (1 + i) ** -term))
        out, balance = [], total
        for k in range(term):
            interest = money(balance * i)
            pay = pmt if k < term - 1 else balance + interest
            out.append(pay)
            balance = balance + interest - pay
        return out
    if kind == "equal":
        each = money(total / term)
        return [each] * (term - 1) + [total - each * (term - 1)]
    raise ValueError(f"unknown instalment plan kind {kind!r}")


# ------------------------------------------------------------------ inputs

@dataclass(frozen=True)
class DeviceMonth:
    """One device's month, from reports.figures (seconds) plus its unavailable intervals."""

    device_id: int
    serial: str
    kind: str
    role: str | None
    ok_s: float
    degraded_s: float
    offline_s: float
    # (interval id, state, start, end) clipped to the device's service time in the month
    intervals: tuple[tuple[int, str, dt.datetime, dt.datetime], ...] = ()


@dataclass(frozen=True)
class TicketFact:
    """What the ledger needs of a ticket (supervisor/tickets provides these; see the notes)."""

    id: int
    device_id: int | None
    severity: str
    opened_at: dt.datetime
    responded_at: dt.datetime | None
    repaired_at: dt.datetime | None
    held_s: float = 0.0  # seconds the SLA clock stood still (hold)
    # The SLA clock's own verdict when the ticket engine gives it (working calendar, holds):
    # (target "response"|"repair", breach time) pairs; None: judged here from the times above.
    breaches: tuple[tuple[str, dt.datetime], ...] | None = None


@dataclass(frozen=True)
class EventFact:
    """A recorded event a score rule deducts for (missed inspection, falsified report ...):
    a `contract_events` row, or given by hand."""

    id: int
    rule: str
    at: dt.datetime
    note: str = ""


@dataclass
class Line:
    key: str
    rule: str
    clause: str
    subject: str                 # serial, ticket id or event
    measure: str                 # what was measured, in words and numbers
    points: Decimal = ZERO       # score form
    amount: Decimal = ZERO       # availability form (yuan)
    intervals: list[int] = field(default_factory=list)
    tickets: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)   # contract_events ids
    # What `measure` says, as values a page renders in its language and time zone: hours,
    # limit_h, at (naive UTC), severity, target, and for availability grace_h, periods,
    # period_h, weight, factor, rank.
    facts: dict[str, Any] = field(default_factory=dict)
    waived: bool = False
    waiver_reason: str | None = None


@dataclass
class MonthResult:
    month: str                    # YYYY-MM
    index: int                    # 1..term
    model: str
    instalment: Decimal
    score: Decimal | None
    basis_value: Decimal | None   # the figure the band was picked by
    coefficient: Decimal
    deductions: Decimal           # money withheld by availability lines (after the cap)
    cap: Decimal | None
    earned: Decimal
    withheld: Decimal
    lines: list[Line]
    figures: dict[str, Any]
    profile: str

    def to_json(self) -> dict[str, Any]:
        def conv(v: Any) -> Any:
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, dt.datetime):
                return v.isoformat()
            if isinstance(v, list):
                return [conv(x) for x in v]
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v
        return conv(asdict(self))


def content_hash(snapshot: Mapping[str, Any]) -> str:
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ score form

def _late(start: dt.datetime, done: dt.datetime | None, held_s: float, hours: float,
          now: dt.datetime) -> tuple[bool, float]:
    end = done or now
    used = (end - start).total_seconds() - held_s
    return used > hours * 3600, used


def score_lines(devices: Sequence[DeviceMonth], tickets: Sequence[TicketFact],
                events: Sequence[EventFact], score: Any, sla: Mapping[str, Any],
                lo: dt.datetime, hi: dt.datetime, now: dt.datetime) -> list[Line]:
    """Deduction lines of the score form (before waivers and per-rule caps)."""
    out: list[Line] = []
    for name, rule in score.deductions.items():
        pts = dec(rule.points)
        if rule.per == "channel":
            over = (rule.over_hours or 0) * 3600
            for d in devices:
                if d.kind != "camera":
                    continue
                faulty = d.offline_s + d.degraded_s
                if faulty > over:
                    out.append(Line(
                        key=f"{name}:{d.serial}", rule=name, clause=rule.clause, subject=d.serial,
                        measure=f"faulty {faulty / 3600:.2f} h > {rule.over_hours:g} h",
                        points=pts, intervals=[i for i, st, *_ in d.intervals
                                               if st in ("offline", "degraded")],
                        facts={"hours": round(faulty / 3600, 2), "limit_h": rule.over_hours}))
        elif rule.per == "ticket":
            for t in tickets:
                if t.breaches is not None:
                    target = {"late_response": "response", "late_repair": "repair"}.get(name)
                    for kind, at in t.breaches:
                        if kind == target and lo <= at < hi:
                            out.append(Line(key=f"{name}:ticket:{t.id}", rule=name,
                                            clause=rule.clause, subject=f"#{t.id}",
                                            measure=f"{kind} target breached at {at.isoformat()}"
                                                    f" ({t.severity})",
                                            points=pts, tickets=[t.id],
                                            facts={"target": kind, "at": at,
                                                   "severity": t.severity}))
                            break
                    continue
                s = sla.get(t.severity)
                if s is None:
                    continue
                if name == "late_response":
                    late, used = _late(t.opened_at, t.responded_at, t.held_s, s.response_h, now)
                    due = t.opened_at + dt.timedelta(hours=s.response_h, seconds=t.held_s)
                    limit = s.response_h
                elif name == "late_repair":
                    late, used = _late(t.opened_at, t.repaired_at, t.held_s, s.repair_h, now)
                    due = t.opened_at + dt.timedelta(hours=s.repair_h, seconds=t.held_s)
                    limit = s.repair_h
                else:
                    continue
                # Booked in the month its deadline passed.
                if late and lo <= due < hi:
                    out.append(Line(key=f"{name}:ticket:{t.id}", rule=name, clause=rule.clause,
                                    subject=f"#{t.id}",
                                    measure=f"{used / 3600:.2f} h > {limit:g} h ({t.severity})",
                                    points=pts, tickets=[t.id],
                                    facts={"hours": round(used / 3600, 2), "limit_h": limit,
                                           "at": due, "severity": t.severity}))
        elif rule.per == "event":
            for e in events:
                if e.rule == name and lo <= e.at < hi:
                    out.append(Line(key=f"{name}:event:{e.id}", rule=name, clause=rule.clause,
                                    subject=e.note or f"event {e.id}", measure=e.at.isoformat(),
                                    points=pts, events=[e.id], facts={"at": e.at}))
    return out


def score_of(lines: Sequence[Line], score: Any) -> Decimal:
    """Full points less the counted lines, each rule capped at its max_points, floor 0."""
    per_rule: dict[str, Decimal] = {}
    for ln in lines:
        if not ln.waived:
            per_rule[ln.rule] = per_rule.get(ln.rule, ZERO) + ln.points
    total = ZERO
    for rule, pts in per_rule.items():
        cap = score.deductions[rule].max_points
        total += min(pts, dec(cap)) if cap is not None else pts
    return max(ZERO, dec(score.full) - total)


# ------------------------------------------------------------------ availability form

def failures(intervals: Iterable[tuple[int, str, dt.datetime, dt.datetime]],
             states: Sequence[str]) -> list[tuple[dt.datetime, dt.datetime, list[int]]]:
    """Contiguous unavailable intervals of one device merged into failures (start, end, ids)."""
    out: list[tuple[dt.datetime, dt.datetime, list[int]]] = []
    for iv_id, state, start, end in sorted(intervals, key=lambda x: x[2]):
        if state not in states:
            continue
        if out and out[-1][1] >= start:
            s, e, ids = out[-1]
            out[-1] = (s, max(e, end), ids + [iv_id])
        else:
            out.append((start, end, [iv_id]))
    return out


def availability_lines(devices: Sequence[DeviceMonth], avail: Any, instalment: Decimal,
                       lo: dt.datetime, hi: dt.datetime) -> list[Line]:
    """One line per failure with unavailable periods after the grace inside the month.
    Intervals are given unclipped at the month start so the grace runs from the true start."""
    out: list[Line] = []
    grace = dt.timedelta(hours=avail.grace_h)
    period_s = avail.period_h * 3600
    for d in devices:
        weight = dec(avail.weight(d.role, d.kind))
        rank = 0
        for start, end, ids in failures(d.intervals, avail.unavailable_states):
            counted_from = max(start + grace, lo)
            counted_to = min(end, hi)
            if end <= lo or start >= hi:
                continue
            rank += 1  # a failure in the month, deducted or not, moves the ratchet
            secs = (counted_to - counted_from).total_seconds()
            if secs <= 0:
                continue
            periods = math.ceil(secs / period_s)
            factor = dec(avail.factor(rank))
            amount = money(instalment * dec(avail.rate) * weight * periods * factor)
            out.append(Line(
                key=f"availability:{d.serial}:{start.isoformat()}", rule="availability",
                clause=avail.clause, subject=d.serial,
                measure=(f"{secs / 3600:.2f} h after {avail.grace_h:g} h grace = {periods} × "
                         f"{avail.period_h:g} h; weight {weight}, ratchet ×{factor} "
                         f"(failure {rank})"),
                amount=amount, intervals=ids,
                facts={"hours": round(secs / 3600, 2), "grace_h": avail.grace_h,
                       "periods": periods, "period_h": avail.period_h, "weight": str(weight),
                       "factor": str(factor), "rank": rank}))
    return out


# ------------------------------------------------------------------ one month

def month_result(*, month: str, index: int, instalment: Decimal, payment: Any, sla: Mapping[str, Any],
                 devices: Sequence[DeviceMonth], figures: Mapping[str, Any],
                 tickets: Sequence[TicketFact] = (), events: Sequence[EventFact] = (),
                 waivers: Mapping[str, str] | None = None, lo: dt.datetime, hi: dt.datetime,
                 now: dt.datetime, profile_key: str = "") -> MonthResult:
    """The month's earned payment under the profile's payment model."""
    waivers = waivers or {}
    model = payment.model or "score"
    if model == "availability":
        lines = availability_lines(devices, payment.availability, instalment, lo, hi)
    else:
        lines = score_lines(devices, tickets, events, payment.score, sla, lo, hi, now)
    for ln in lines:
        if ln.key in waivers:
            ln.waived, ln.waiver_reason = True, waivers[ln.key]
    score = score_of(lines, payment.score) if model == "score" else None
    cap = None
    if model == "availability":
        counted = sum((ln.amount for ln in lines if not ln.waived), ZERO)
        cap = money(instalment * dec(payment.availability.cap))
        deductions = min(counted, cap)
        coefficient = Decimal("1")
        basis_value = None
        earned = instalment - deductions
    else:
        basis = payment.coefficients.basis
        if basis == "score":
            basis_value = score
        else:
            rate = figures.get(basis)
            basis_value = dec(rate) if rate is not None else None
        coefficient = (dec(payment.coefficients.coefficient_for(float(basis_value)))
                       if basis_value is not None else Decimal("1"))
        deductions = ZERO
        earned = money(instalment * coefficient)
    return MonthResult(month=month, index=index, model=model, instalment=instalment, score=score,
                       basis_value=basis_value, coefficient=coefficient, deductions=deductions,
                       cap=cap, earned=earned, withheld=instalment - earned, lines=lines,
                       figures=dict(figures), profile=profile_key)
