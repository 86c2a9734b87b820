"""Property test over random event histories: the clock recomputed from events equals the one
cached when each event was written, time used never decreases, a hold never adds time."""
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisor.tickets.clock import compute
from tests.tickets.clock_helpers import CALENDARS, POLICIES, ev, local

KINDS = ["acknowledged", "hold_requested", "hold_approved", "hold_refused", "hold_ended",
         "repair_marked", "reopened", "recovery_seen", "severity_changed", "policy_changed",
         "comment", "verified", "recovered", "closed_invalid"]
HOLD_KINDS = {"hold_requested", "hold_approved", "hold_refused", "hold_ended"}


@st.composite
def histories(draw):
    # Start anywhere in 2025 (weekends, the Spring Festival, make-up days all reachable).
    start = local(2025, 1, 1) + dt.timedelta(minutes=draw(st.integers(0, 364 * 24 * 60)))
    events = [ev("opened", start, severity=draw(st.sampled_from(["minor", "critical"])),
                 policy="test@1", calendar=1)]
    at, hold = start, 0
    for _ in range(draw(st.integers(0, 12))):
        at = at + dt.timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
        kind = draw(st.sampled_from(KINDS))
        data = {}
        if kind == "hold_requested":
            hold += 1
            data = {"hold": hold, "reason": "road_works"}
        elif kind in ("hold_approved", "hold_refused"):
            data = {"hold": hold}
        elif kind == "severity_changed":
            data = {"severity": draw(st.sampled_from(["minor", "critical"]))}
        elif kind == "policy_changed":
            data = {"policy": draw(st.sampled_from(["test@1", "test@2"]))}
        events.append(ev(kind, at, **data))
    return events


def clock(events, now):
    return compute(events, POLICIES.__getitem__, CALENDARS.__getitem__, now)


def used(tc):
    return [(c.response.used_s, c.repair.used_s) for c in tc.cycles]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.lists(st.integers(0, 40 * 24 * 60), min_size=1, max_size=6))
def test_clock_properties(events, offsets):
    start = events[0]["at"]
    moments = sorted({e["at"] for e in events} | {start + dt.timedelta(minutes=m) for m in offsets})
    # Cached: what was computed (and stored as JSON) at each moment, with the events known then.
    cache = {now: clock([e for e in events if e["at"] <= now], now).to_dict() for now in moments}
    previous = None
    for now in moments:
        full = clock(events, now)
        assert full.to_dict() == cache[now]                  # recomputed == cached
        current = used(full)
        if previous is not None:
            for (r0, p0), (r1, p1) in zip(previous, current):  # same cycles, later moment
                assert r1 >= r0 - 1e-6 and p1 >= p0 - 1e-6
        previous = current
        without_holds = used(clock([e for e in events if e["kind"] not in HOLD_KINDS], now))
        if len(without_holds) == len(current):
            for (r, p), (rh, ph) in zip(without_holds, current):
                assert rh <= r + 1e-6 and ph <= p + 1e-6     # a hold never adds time
        for c in full.cycles:
            for t in (c.response, c.repair):
                assert 0 <= t.used_s
                assert t.breached == (t.used_s > t.target_s + 1e-6)
                if t.breached:
                    assert t.breach_at is not None and t.breach_at <= now
