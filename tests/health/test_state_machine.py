"""The hysteresis state machine on synthetic sequences: pure, no database, no clock."""
from __future__ import annotations

import datetime as dt

from supervisor.health.rules import (
    DEGRADED,
    MAINTENANCE,
    OFFLINE,
    OK,
    UNKNOWN,
    HealthRules,
    Observation,
    Status,
    attribute_upstream,
    carry_findings,
    findings_after,
    seconds_by_state,
    step,
)

T0 = dt.datetime(2026, 3, 1, 8, 0, 0)
RULES = HealthRules(to_offline=3, to_ok=2, to_degraded=2, flap_window_s=600, flap_max_changes=4)


def obs(i: int, state: str, cause: str | None = None, every: int = 60, **kw) -> Observation:
    if cause is None and state == OFFLINE:
        cause = "unreachable"
    return Observation(at=T0 + dt.timedelta(seconds=i * every), state=state, cause=cause, **kw)


def run(states, rules=RULES, status=None, every=60, first=0):
    status = status or Status()
    flips = []
    for i, st in enumerate(states, start=first):
        if isinstance(st, tuple):
            status, tr = step(status, obs(i, *st, every=every), rules)
        else:
            status, tr = step(status, obs(i, st, every=every), rules)
        flips.extend(tr)
    return status, flips


def test_needs_n_consecutive_and_starts_at_first_agreeing_probe():
    status, flips = run([OK, OK, OK, OFFLINE, OFFLINE, OFFLINE, OFFLINE, OK, OK])
    assert [(f.old, f.new) for f in flips] == [(UNKNOWN, OK), (OK, OFFLINE), (OFFLINE, OK)]
    # ok confirmed by probe 1, starts at probe 0; offline confirmed at probe 5, starts at 3.
    assert flips[0].at == T0
    assert flips[1].at == T0 + dt.timedelta(minutes=3)
    assert flips[2].at == T0 + dt.timedelta(minutes=7)
    assert status.state == OK and status.since == T0 + dt.timedelta(minutes=7)


def test_short_blips_do_not_change_state():
    status, flips = run([OK, OK, OFFLINE, OFFLINE, OK, OFFLINE, OK, OK])
    assert [(f.old, f.new) for f in flips] == [(UNKNOWN, OK)]
    assert status.state == OK and status.candidate_state is None


def test_interrupted_candidate_restarts_its_count():
    # two offline, one ok, then three offline: the outage starts at the later run
    status, flips = run([OK, OK, OFFLINE, OFFLINE, OK, OFFLINE, OFFLINE, OFFLINE])
    assert flips[-1].new == OFFLINE and flips[-1].at == T0 + dt.timedelta(minutes=5)


def test_flapping_is_flagged_not_turned_into_outages():
    seq = [OK, OK] + [OFFLINE, OK] * 6
    status, flips = run(seq)
    assert [(f.old, f.new) for f in flips] == [(UNKNOWN, OK)]
    assert status.flapping is True
    # ...and it calms down once the flips leave the window
    status, _ = run([OK] * 15, status=status, first=len(seq))
    assert status.flapping is False


def test_replayed_or_older_observation_is_ignored():
    status, _ = run([OK, OK, OFFLINE])
    again, flips = step(status, obs(2, OFFLINE), RULES)
    assert flips == [] and again == status
    older, flips = step(status, obs(1, OFFLINE), RULES)
    assert flips == [] and older.candidate_count == status.candidate_count


def test_cause_change_within_a_state_is_a_new_interval_after_hysteresis():
    seq = [OK, OK, OFFLINE, OFFLINE, OFFLINE,
           (OFFLINE, "upstream"), (OFFLINE, "upstream"), (OFFLINE, "upstream")]
    status, flips = run(seq)
    assert flips[-1].old == OFFLINE and flips[-1].new == OFFLINE
    assert flips[-1].old_cause == "unreachable" and flips[-1].cause == "upstream"
    assert flips[-1].at == T0 + dt.timedelta(minutes=5)


def test_maintenance_bypasses_hysteresis_and_ends_at_window_end():
    status, _ = run([OK, OK, OK])
    w = (T0 + dt.timedelta(minutes=2, seconds=30), T0 + dt.timedelta(minutes=10))
    status, flips = step(status, obs(3, OFFLINE), RULES, maintenance=w)
    assert [(f.new, f.at) for f in flips] == [(MAINTENANCE, w[0])]
    status, flips = step(status, obs(11, OK), RULES)
    assert [(f.old, f.new, f.at) for f in flips] == [(MAINTENANCE, UNKNOWN, w[1])]
    status, flips = step(status, obs(12, OK), RULES)
    assert [(f.new, f.at) for f in flips] == [(OK, T0 + dt.timedelta(minutes=11))]


def test_a_window_ended_early_ends_maintenance_at_its_new_end():
    status, _ = run([OK, OK, OK])
    w = (T0 + dt.timedelta(minutes=2, seconds=30), T0 + dt.timedelta(minutes=10))
    status, _ = step(status, obs(3, OFFLINE), RULES, maintenance=w)
    ended_early = T0 + dt.timedelta(minutes=4, seconds=20)  # "end now" on the admin page
    status, flips = step(status, obs(5, OK), RULES, maintenance_ended_at=ended_early)
    assert [(f.old, f.new, f.at) for f in flips] == [(MAINTENANCE, UNKNOWN, ended_early)]


def test_upstream_attribution_names_the_topmost_offline_ancestor():
    # nvr(1) <- switch(2) <- camera(3); camera(4) behind switch(5) that answers
    o = {d: obs(0, OFFLINE) for d in (1, 2, 3, 4)}
    o[5] = obs(0, OK)
    up = {3: 2, 2: 1, 1: None, 4: 5, 5: None}
    out = attribute_upstream(o, up, {}, {1: "NVR1", 2: "SW1", 5: "SW2"})
    assert out[3].cause == "upstream" and out[3].reasons[0]["upstream"] == "NVR1"
    assert out[2].cause == "upstream"
    assert out[1].cause == "unreachable"
    assert out[4].cause == "unreachable"
    # an upstream not probed this sweep: its stored state decides
    out = attribute_upstream({4: obs(0, OFFLINE)}, up, {5: OFFLINE}, {5: "SW2"})
    assert out[4].cause == "upstream"


def test_fast_probe_carries_findings_of_checks_it_did_not_run():
    blur = {"check": "frame", "code": "image_fault", "fault": "blur", "value": 12.0}
    fast = Observation(at=T0, state=OK, checks=("reach",))
    merged = carry_findings(fast, [blur])
    assert merged.state == DEGRADED and merged.cause == "image_fault" and merged.faults == ("blur",)
    # a full probe with a clean frame clears the finding
    full = Observation(at=T0, state=OK, checks=("reach", "onvif", "snmp", "frame"))
    assert findings_after(full, [blur]) == []
    assert carry_findings(full, findings_after(full, [blur])).state == OK
    # offline learns nothing about the picture: finding kept
    assert findings_after(Observation(at=T0, state=OFFLINE, checks=("reach",)), [blur]) == [blur]


def test_seconds_by_state_clips_open_intervals_at_now():
    day = dt.datetime(2026, 3, 1)
    ivs = [
        {"state": OK, "cause": None, "start_at": day - dt.timedelta(hours=1), "end_at": day + dt.timedelta(hours=2)},
        {"state": OFFLINE, "cause": "upstream", "start_at": day + dt.timedelta(hours=2), "end_at": None},
    ]
    now = day + dt.timedelta(hours=3, seconds=30)
    out = seconds_by_state(ivs, day, day + dt.timedelta(days=1), now)
    assert out == {OK: 7200.0, OFFLINE: 3630.0, "offline:upstream": 3630.0}


def test_rules_from_profile_mapping_and_bad_values():
    rules = HealthRules.from_profile({"name": "default", "version": 1,
                                      "hysteresis": {"to_offline": 4, "to_ok": "x"},
                                      "clock": {"tolerance_s": {"value": 2.5}}})
    assert rules.to_offline == 4 and rules.to_ok == HealthRules().to_ok
    assert rules.clock_tolerance_s == 2.5 and rules.profile == "default-v1"
