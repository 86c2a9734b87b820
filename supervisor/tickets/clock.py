"""The SLA clock: ONE pure function of (event history, SLA policy, calendar, now).

``compute(events, policy_of, calendar_of, now) -> TicketClock``

Nothing here is a running counter: every figure (deadlines, time used, holds, breaches,
escalation times) is derived from the ticket's events each time, so a stored value is only a
cache that can be recomputed and compared (``TicketClock.to_dict`` is what the cache holds).

Rules (each event is a mapping or object with ``kind``, ``at`` (naive UTC) and ``data``):

* ``opened`` starts cycle 1 with ``data.severity``, ``data.policy`` (a profile key such as
  ``default@2``) and ``data.calendar`` (a calendar version number).
* Two clocks run per cycle: *response* (until ``acknowledged``; a ``repair_marked`` or a
  closing event also answers it) and *repair* (until the repair is verified).
* Only schedule time counts: the severity's schedule (24x7, or working hours without public
  holidays and with make-up working days) in the calendar version the cycle names.
* A hold counts from ``hold_approved`` until ``hold_ended`` (or a closing event). A requested
  or refused hold changes nothing. A hold is subtracted only where it overlaps schedule time,
  so a hold over a night of a working-hours ticket subtracts nothing for the night.
  While a hold is open the deadlines are paused (shown as ``None`` with ``paused``).
* ``repair_marked`` at t stops the repair clock at t *provisionally*: ``verified`` confirms
  the stop at t; ``reopened`` cancels it and the time since t counts again (the clock runs
  from the original opening). ``recovery_seen`` (health saw the device working again
  without a repair mark) stops both clocks provisionally in the same way; ``recovered``
  closes the ticket as recovered without intervention and confirms that stop.
  ``closed_invalid`` stops both at its time. Provisional stops keep time used from ever
  decreasing: a stop is never placed before the moment it was recorded.
* ``severity_changed`` / ``policy_changed`` / ``calendar_changed`` end the current cycle at
  their time (its figures are kept, frozen at that moment) and start a new one with full
  targets; a response already given carries over as answered at the cycle start; an open
  hold carries over.
* A breach is the moment schedule time used reaches the target while the clock still runs;
  being exactly on the deadline is in time. ``warn_at`` (near breach, for escalation) is the
  moment ``near_breach_share`` of the target is used. Deadlines, warnings and breaches come
  from the same walk, so they never disagree.

``policy_of(key) -> SlaPolicy`` and ``calendar_of(version) -> WorkCalendar`` resolve the
versions an event names (dicts work: pass ``d.__getitem__``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from supervisor.tickets.calendar import Interval, Schedule, WorkCalendar
from supervisor.tickets.policy import SlaPolicy

CYCLE_EVENTS = ("severity_changed", "policy_changed", "calendar_changed")
CLOSING = ("verified", "recovered", "closed_invalid")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _iso(value: Optional[dt.datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


# --------------------------------------------------------------------- interval helpers

def subtract(span: Interval, holes: Iterable[Interval]) -> list[Interval]:
    """[start, end) minus the holes, as ordered intervals."""
    out = [span]
    for hs, he in sorted(holes):
        nxt = []
        for s, e in out:
            if he <= s or hs >= e:
                nxt.append((s, e))
                continue
            if s < hs:
                nxt.append((s, hs))
            if he < e:
                nxt.append((he, e))
        out = nxt
    return out


def used_seconds(cal: WorkCalendar, sched: Schedule, start: dt.datetime, end: dt.datetime,
                 holds: Sequence[Interval]) -> float:
    """Schedule seconds in [start, end) outside the holds."""
    if end <= start:
        return 0.0
    return sum(cal.working_seconds(sched, s, e) for s, e in subtract((start, end), holds))


def advance(cal: WorkCalendar, sched: Schedule, start: dt.datetime, seconds: float,
            holds: Sequence[Interval], horizon_days: int = 800) -> Optional[dt.datetime]:
    """The instant at which `seconds` of schedule time outside `holds` have passed since
    `start` (None when the schedule has no working time within the horizon)."""
    if seconds <= 0:
        return start
    left = float(seconds)
    cursor = start
    chunk = dt.timedelta(days=14)
    limit = start + dt.timedelta(days=horizon_days)
    while cursor < limit:
        hi = cursor + chunk
        for ps, pe in subtract((cursor, hi), holds):
            for s, e in cal.working_intervals(sched, ps, pe):
                length = (e - s).total_seconds()
                if length >= left:
                    return s + dt.timedelta(seconds=left)
                left -= length
        cursor = hi
    return None


# --------------------------------------------------------------------- results

@dataclass(frozen=True)
class TargetClock:
    """One target (response or repair) of one cycle, as of `now`."""

    target_s: float
    used_s: float
    due_at: Optional[dt.datetime]        # None while paused by an open hold
    warn_at: Optional[dt.datetime]
    stopped_at: Optional[dt.datetime]    # answered / repaired (confirmed or provisional)
    provisional: bool                    # stopped by a repair mark awaiting verification
    breached: bool
    breach_at: Optional[dt.datetime]
    paused: bool

    @property
    def left_s(self) -> float:
        return self.target_s - self.used_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("due_at", "warn_at", "stopped_at", "breach_at"):
            d[k] = _iso(d[k])
        d["used_s"] = round(self.used_s, 3)
        return d


@dataclass(frozen=True)
class HoldSpan:
    reason: str
    start: dt.datetime
    end: Optional[dt.datetime]
    subtracted_s: float                  # schedule seconds this hold took off the clock

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "start": _iso(self.start), "end": _iso(self.end),
                "subtracted_s": round(self.subtracted_s, 3)}


@dataclass(frozen=True)
class CycleClock:
    index: int
    severity: str
    policy: str
    calendar: int
    schedule: str
    start: dt.datetime
    end: Optional[dt.datetime]           # when a later cycle replaced this one
    response: TargetClock
    repair: TargetClock
    holds: tuple[HoldSpan, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "severity": self.severity, "policy": self.policy,
                "calendar": self.calendar, "schedule": self.schedule, "start": _iso(self.start),
                "end": _iso(self.end), "response": self.response.to_dict(),
                "repair": self.repair.to_dict(), "holds": [h.to_dict() for h in self.holds]}


@dataclass(frozen=True)
class Breach:
    cycle: int
    target: str                          # response | repair
    at: dt.datetime
    policy: str
    severity: str


@dataclass(frozen=True)
class TicketClock:
    computed_at: dt.datetime
    cycles: tuple[CycleClock, ...]
    on_hold: bool
    closed_at: Optional[dt.datetime]
    outcome: Optional[str]

    @property
    def current(self) -> CycleClock:
        return self.cycles[-1]

    @property
    def breaches(self) -> list[Breach]:
        out = []
        for c in self.cycles:
            for name in ("response", "repair"):
                t: TargetClock = getattr(c, name)
                if t.breached and t.breach_at is not None:
                    out.append(Breach(c.index, name, t.breach_at, c.policy, c.severity))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"computed_at": _iso(self.computed_at), "on_hold": self.on_hold,
                "closed_at": _iso(self.closed_at), "outcome": self.outcome,
                "cycles": [c.to_dict() for c in self.cycles],
                "breaches": [{"cycle": b.cycle, "target": b.target, "at": _iso(b.at),
                              "policy": b.policy, "severity": b.severity} for b in self.breaches]}


# --------------------------------------------------------------------- the function

@dataclass
class _Cycle:
    index: int
    severity: str
    policy: str
    calendar: int
    start: dt.datetime
    end: Optional[dt.datetime] = None
    responded_at: Optional[dt.datetime] = None
    repaired_at: Optional[dt.datetime] = None
    provisional_at: Optional[dt.datetime] = None
    response_provisional_at: Optional[dt.datetime] = None


@dataclass
class _Hold:
    reason: str
    start: dt.datetime
    end: Optional[dt.datetime] = None


def _target(cal: WorkCalendar, sched: Schedule, start: dt.datetime, target_s: float,
            share: float, stop: Optional[dt.datetime], provisional: bool,
            holds: list[_Hold], now: dt.datetime) -> TargetClock:
    end = min(stop, now) if stop is not None else now
    end = max(end, start)
    closed = [(h.start, h.end) for h in holds if h.end is not None]
    spans = [(h.start, h.end if h.end is not None else end) for h in holds]
    used = used_seconds(cal, sched, start, end, spans)
    open_holds = [h.start for h in holds if h.end is None]
    due = advance(cal, sched, start, target_s, closed)
    warn = advance(cal, sched, start, target_s * share, closed)
    paused = False
    if open_holds and due is not None and min(open_holds) < due:
        due, paused = None, True
        if warn is not None and min(open_holds) < warn:
            warn = None
    breached = used > target_s + 1e-6
    breach_at = None
    if breached:
        # The moment used time reached the target (holds known up to `end`).
        breach_at = advance(cal, sched, start, target_s, spans)
    return TargetClock(target_s=target_s, used_s=used, due_at=due, warn_at=warn,
                       stopped_at=stop if stop is not None and stop <= now else None,
                       provisional=provisional and stop is not None and stop <= now,
                       breached=breached, breach_at=breach_at, paused=paused and stop is None)


def compute(events: Iterable[Any], policy_of: Callable[[str], SlaPolicy],
            calendar_of: Callable[[int], WorkCalendar], now: dt.datetime) -> TicketClock:
    """The ticket's clocks as of `now`, from its events (those after `now` are ignored)."""
    evs = [e for e in events if _get(e, "at") <= now]
    if not evs or _get(evs[0], "kind") != "opened":
        raise ValueError("a ticket's history starts with an 'opened' event")
    cycles: list[_Cycle] = []
    holds: list[_Hold] = []
    pending: dict[Any, str] = {}
    closed_at: Optional[dt.datetime] = None
    outcome: Optional[str] = None

    for ev in evs:
        kind, at = _get(ev, "kind"), _get(ev, "at")
        data = _get(ev, "data") or {}
        cur = cycles[-1] if cycles else None
        if closed_at is not None and kind not in ("reopened",):
            continue  # nothing changes a closed ticket's clocks but a reopening
        if kind == "opened":
            cycles.append(_Cycle(1, data["severity"], data["policy"], int(data["calendar"]), at))
        elif kind in CYCLE_EVENTS and cur is not None:
            cur.end = at
            nxt = _Cycle(cur.index + 1, data.get("severity", cur.severity),
                         data.get("policy", cur.policy), int(data.get("calendar", cur.calendar)), at)
            if cur.responded_at is not None:
                nxt.responded_at = at
            cycles.append(nxt)
        elif kind == "acknowledged" and cur is not None:
            if cur.responded_at is None:
                cur.responded_at = at
        elif kind == "hold_requested":
            pending[data.get("hold")] = data.get("reason", "")
        elif kind == "hold_refused":
            pending.pop(data.get("hold"), None)
        elif kind == "hold_approved":
            reason = pending.pop(data.get("hold"), data.get("reason", ""))
            if not any(h.end is None for h in holds):
                holds.append(_Hold(reason, at))
        elif kind == "hold_ended":
            for h in holds:
                if h.end is None:
                    h.end = at
        elif kind == "repair_marked" and cur is not None:
            if cur.responded_at is None:
                cur.responded_at = at
            cur.provisional_at = at
            for h in holds:
                if h.end is None:
                    h.end = at
        elif kind == "recovery_seen" and cur is not None:
            if cur.provisional_at is None:
                cur.provisional_at = at
            if cur.responded_at is None and cur.response_provisional_at is None:
                cur.response_provisional_at = at
        elif kind == "reopened" and cur is not None:
            cur.provisional_at = None
            cur.response_provisional_at = None
            cur.repaired_at = None
            closed_at, outcome = None, None
        elif kind in CLOSING and cur is not None:
            if kind in ("verified", "recovered"):
                stop = cur.provisional_at or at
            else:
                stop = at
            if cur.responded_at is None:
                cur.responded_at = cur.response_provisional_at or stop
            cur.repaired_at = stop
            cur.provisional_at = None
            for h in holds:
                if h.end is None:
                    h.end = at
            closed_at = at
            outcome = {"verified": "repaired", "recovered": "recovered",
                       "closed_invalid": "invalid"}[kind]

    out = []
    for c in cycles:
        policy = policy_of(c.policy)
        terms = policy.for_severity(c.severity)
        sched = policy.schedules[terms.schedule]
        cal = calendar_of(c.calendar)
        upto = c.end if c.end is not None else now
        mine = [_Hold(h.reason, max(h.start, c.start), min(h.end, upto) if h.end else
                      (None if c.end is None else c.end))
                for h in holds if h.start < upto and (h.end is None or h.end > c.start)]
        resp_stop = c.responded_at or c.response_provisional_at or c.end
        rep_stop = c.repaired_at or c.provisional_at or c.end
        response = _target(cal, sched, c.start, terms.response_s, policy.near_breach_share,
                           resp_stop, c.responded_at is None and c.response_provisional_at is not None,
                           mine, now)
        repair = _target(cal, sched, c.start, terms.repair_s, policy.near_breach_share,
                         rep_stop, c.repaired_at is None and c.provisional_at is not None, mine, now)
        hold_spans = tuple(
            HoldSpan(h.reason, h.start, h.end,
                     used_seconds(cal, sched, h.start, min(h.end or now, now), []))
            for h in mine)
        out.append(CycleClock(c.index, c.severity, c.policy, c.calendar, terms.schedule,
                              c.start, c.end, response, repair, hold_spans))
    on_hold = closed_at is None and any(h.end is None for h in holds)
    return TicketClock(computed_at=now, cycles=tuple(out), on_hold=on_hold,
                       closed_at=closed_at, outcome=outcome)
