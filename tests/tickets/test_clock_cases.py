"""Hand-computed SLA clocks: weekend, public holiday, make-up working day, a hold over a
night, repair marks, reopening, a severity change mid-ticket.

Working hours in these cases: Mon–Fri 08:30–12:00 and 13:30–17:30 (7.5 h a day), Shanghai.
Policy test@1: minor = respond 2 h, repair 8 h of working hours; critical = 2 h / 24 h, 24x7.
"""
import datetime as dt

import pytest

from supervisor.tickets.clock import compute
from tests.tickets.clock_helpers import CALENDARS, H, POLICIES, ev, local, opened


def clock(events, now):
    return compute(events, POLICIES.__getitem__, CALENDARS.__getitem__, now)


def test_minor_ticket_crosses_a_weekend():
    t0 = local(2025, 3, 7, 16, 0)                      # Friday 16:00
    c = clock([opened(t0)], local(2025, 3, 10, 8, 0)).current  # Monday 08:00, before work
    assert c.response.used_s == 1.5 * H                 # Friday 16:00-17:30 only
    assert c.response.due_at == local(2025, 3, 10, 9, 0)
    assert c.repair.due_at == local(2025, 3, 10, 16, 30)  # 1.5 + 3.5 + 3.0 h
    assert c.repair.warn_at == local(2025, 3, 10, 14, 30)  # 6 h = 75 % of 8 h: 1.5 + 3.5 + 1.0
    assert not c.response.breached
    late = clock([opened(t0)], local(2025, 3, 10, 9, 30)).current
    assert late.response.breached and late.response.breach_at == local(2025, 3, 10, 9, 0)
    assert late.response.used_s == 2.5 * H


def test_minor_ticket_crosses_the_spring_festival_holiday():
    t0 = local(2025, 1, 27, 15, 0)                     # Monday before the holiday
    c = clock([opened(t0)], local(2025, 2, 4, 23, 0)).current  # last holiday evening
    assert c.repair.used_s == 2.5 * H                   # Jan 28 - Feb 4 are off
    assert c.response.due_at == local(2025, 1, 27, 17, 0)
    assert c.repair.due_at == local(2025, 2, 5, 15, 30)   # 2.5 + 3.5 + 2.0 h


def test_make_up_saturday_counts_as_a_working_day():
    t0 = local(2025, 2, 7, 16, 0)                      # Friday
    c = clock([opened(t0)], local(2025, 2, 8, 12, 0)).current  # make-up Saturday noon
    assert c.repair.used_s == 1.5 * H + 3.5 * H
    assert c.repair.due_at == local(2025, 2, 8, 16, 30)
    # An ordinary Saturday a week later does not count.
    t1 = local(2025, 2, 14, 16, 0)
    c1 = clock([opened(t1)], local(2025, 2, 15, 12, 0)).current
    assert c1.repair.used_s == 1.5 * H
    assert c1.repair.due_at == local(2025, 2, 17, 16, 30)


def test_make_up_sunday_before_the_holiday():
    t0 = local(2025, 1, 25, 10, 0)                     # ordinary Saturday
    c = clock([opened(t0)], local(2025, 1, 27, 8, 0)).current
    assert c.response.due_at == local(2025, 1, 26, 10, 30)  # Sunday 26 is a working day
    assert c.response.breached
    assert c.repair.due_at == local(2025, 1, 27, 9, 0)     # 7.5 h Sunday + 0.5 h Monday


def hold_events(t0):
    return [opened(t0),
            ev("acknowledged", local(2025, 3, 11, 9, 30)),
            ev("hold_requested", local(2025, 3, 11, 15, 0), hold=1, reason="power_company"),
            ev("hold_approved", local(2025, 3, 11, 16, 0), hold=1),
            ev("hold_ended", local(2025, 3, 12, 10, 0))]


def test_hold_spanning_a_night_subtracts_only_working_time():
    t0 = local(2025, 3, 11, 9, 0)                      # Tuesday
    events = hold_events(t0)
    during = clock(events[:4], local(2025, 3, 12, 9, 0)).current
    assert during.repair.paused and during.repair.due_at is None
    assert during.repair.used_s == 5.5 * H              # 09:00-12:00, 13:30-16:00
    assert clock(events[:4], local(2025, 3, 12, 9, 0)).on_hold
    after = clock(events, local(2025, 3, 12, 14, 0)).current
    assert after.response.used_s == 0.5 * H and after.response.stopped_at == local(2025, 3, 11, 9, 30)
    assert after.repair.due_at == local(2025, 3, 12, 14, 0)
    assert after.repair.used_s == 8 * H and not after.repair.breached  # on the deadline = in time
    (hold,) = after.holds
    assert hold.subtracted_s == 3 * H                   # 16:00-17:30 + 08:30-10:00, not 18 h
    # A refused hold changes nothing.
    refused = events[:3] + [ev("hold_refused", local(2025, 3, 11, 16, 0), hold=1)]
    assert clock(refused, local(2025, 3, 12, 14, 0)).current.repair.due_at == local(2025, 3, 12, 9, 30)


def test_critical_24x7_hold_over_a_night_subtracts_the_whole_night():
    t0 = local(2025, 3, 11, 9, 0)
    events = [opened(t0, "critical")] + hold_events(t0)[1:]
    c = clock(events, local(2025, 3, 12, 14, 0)).current
    assert c.repair.used_s == (29 - 18) * H
    assert c.repair.due_at == local(2025, 3, 13, 3, 0)  # 24 h + 18 h hold


def test_mark_repaired_reopen_and_verify_keep_the_original_opening():
    t0 = local(2025, 3, 11, 9, 0)
    events = hold_events(t0) + [ev("repair_marked", local(2025, 3, 12, 11, 0))]
    pending = clock(events, local(2025, 3, 12, 16, 0)).current
    assert pending.repair.provisional and pending.repair.used_s == 6.5 * H
    events += [ev("reopened", local(2025, 3, 12, 13, 45))]
    reopened = clock(events, local(2025, 3, 12, 15, 0)).current
    assert reopened.repair.used_s == 6.5 * H + 1 * H + 1.5 * H   # 11:00-12:00, 13:30-15:00
    assert reopened.repair.breached and reopened.repair.breach_at == local(2025, 3, 12, 14, 0)
    events += [ev("repair_marked", local(2025, 3, 12, 16, 0)), ev("verified", local(2025, 3, 12, 16, 40))]
    done = clock(events, local(2025, 3, 20))
    assert done.outcome == "repaired" and done.closed_at == local(2025, 3, 12, 16, 40)
    assert done.current.repair.stopped_at == local(2025, 3, 12, 16, 0)
    assert done.current.repair.used_s == 10 * H            # 5.5 h Tuesday, 2 + 2.5 h Wednesday
    assert [(b.target, b.at, b.policy) for b in done.breaches] == [
        ("repair", local(2025, 3, 12, 14, 0), "test@1")]


def test_severity_change_starts_a_new_cycle_and_keeps_the_old_one():
    t0 = local(2025, 3, 7, 16, 0)                      # Friday
    events = [opened(t0), ev("acknowledged", local(2025, 3, 7, 16, 30)),
              ev("severity_changed", local(2025, 3, 10, 10, 0), severity="critical")]
    tc = clock(events, local(2025, 3, 10, 12, 0))
    old, new = tc.cycles
    assert old.end == local(2025, 3, 10, 10, 0) and old.repair.used_s == 1.5 * H + 1.5 * H
    assert old.repair.stopped_at == local(2025, 3, 10, 10, 0) and not old.repair.breached
    assert new.severity == "critical" and new.start == local(2025, 3, 10, 10, 0)
    assert new.response.used_s == 0 and new.response.stopped_at == new.start
    assert new.repair.used_s == 2 * H and new.repair.due_at == local(2025, 3, 11, 10, 0)
    # A later check does not change the closed cycle.
    assert clock(events, local(2025, 3, 30)).cycles[0] == old


def test_policy_change_uses_the_new_version_in_the_new_cycle_only():
    t0 = local(2025, 3, 10, 8, 0)                      # Monday 16:00? no: 08:00 local
    events = [opened(t0, "critical"),
              ev("policy_changed", local(2025, 3, 10, 9, 0), policy="test@2")]
    tc = clock(events, local(2025, 3, 10, 11, 0))
    assert [c.policy for c in tc.cycles] == ["test@1", "test@2"]
    assert tc.cycles[1].response.breached and tc.cycles[1].response.breach_at == local(2025, 3, 10, 10, 0)
    assert not tc.cycles[0].response.breached


def test_self_recovery_stops_when_seen_and_closes_apart():
    t0 = local(2025, 3, 11, 9, 0)
    events = [opened(t0, "critical"), ev("recovery_seen", local(2025, 3, 11, 10, 0)),
              ev("recovered", local(2025, 3, 11, 10, 30))]
    tc = clock(events, local(2025, 3, 12))
    assert tc.outcome == "recovered"
    assert tc.current.repair.used_s == 1 * H and tc.current.response.used_s == 1 * H


def test_closed_invalid_stops_the_clock_and_history_must_open():
    t0 = local(2025, 3, 11, 9, 0)
    tc = clock([opened(t0, "critical"), ev("closed_invalid", local(2025, 3, 11, 9, 20), reason="dup")],
               local(2025, 3, 12))
    assert tc.outcome == "invalid" and tc.current.repair.used_s == 20 * 60
    with pytest.raises(ValueError):
        clock([ev("acknowledged", t0)], local(2025, 3, 12))
