"""The learning rule of per-camera calibration (supervisor/health/calibration.py `plan`), pure:
hand-made frame series and tickets, an explicit `now`, the reporting zone Asia/Shanghai
(UTC+8: 00:00-15:59 UTC is the same local day)."""
from __future__ import annotations

import datetime as dt

from supervisor.health.calibration import FrameSample, LearnRule, TicketSpan, frame_is_clean, plan

DAY0 = dt.datetime(2026, 3, 1, 0, 0)          # 08:00 local, 1 March
RULE = LearnRule(learn_days=3, min_frames=4)
M = {"brightness": 120.0}                      # the rule never looks inside the measures


def series(days: int, day_frames: int, night_frames: int, start: dt.datetime = DAY0,
           faults=()) -> list[FrameSample]:
    """Per local day: day frames from 08:00 local hourly, night frames from 20:00 local."""
    out = []
    for d in range(days):
        base = start + dt.timedelta(days=d)
        out += [FrameSample(base + dt.timedelta(hours=h), False, M, list(faults))
                for h in range(day_frames)]
        out += [FrameSample(base + dt.timedelta(hours=12 + h), True, M, list(faults))
                for h in range(night_frames)]
    return out


def test_learns_once_the_last_of_the_first_clean_days_is_over():
    frames = series(4, 2, 2)
    # during the third day: not yet (its later frames belong to it too)
    p = plan(frames, [], DAY0 + dt.timedelta(days=2, hours=10), RULE)
    assert not p.ready and p.clean_days == 3 and (p.frames_day, p.frames_night) == (6, 4)
    # the third local day ends at 16:00 UTC
    p = plan(frames, [], DAY0 + dt.timedelta(days=2, hours=16, minutes=1), RULE)
    assert p.ready and p.days_used == 3
    assert (p.frames_day, p.frames_night) == (6, 6) and len(p.use) == 12
    assert max(f.at for f in p.use) < DAY0 + dt.timedelta(days=3)   # day 4 not used


def test_frames_after_now_are_not_seen():
    p = plan(series(5, 2, 2), [], DAY0 + dt.timedelta(hours=1), RULE)
    assert not p.ready and (p.frames_day, p.frames_night, p.clean_days) == (2, 0, 1)


def test_days_without_a_clean_frame_do_not_count():
    # days 1 and 2 clean, days 3-5 offline (no frames), day 6 clean: learns after day 6
    frames = series(2, 2, 2) + series(1, 2, 2, DAY0 + dt.timedelta(days=5))
    p = plan(frames, [], DAY0 + dt.timedelta(days=4, hours=20), RULE)
    assert not p.ready and p.clean_days == 2
    p = plan(frames, [], DAY0 + dt.timedelta(days=5, hours=17), RULE)
    assert p.ready and p.days_used == 3 and len(p.use) == 12


def test_a_half_with_too_few_frames_is_left_out_and_waiting_goes_on_until_one_half_has_enough():
    # one night frame a day: after 3 days the day half (9) learns, the night half (3) does not
    frames = series(3, 3, 1)
    p = plan(frames, [], DAY0 + dt.timedelta(days=3, hours=1), RULE)
    assert p.ready and (p.frames_day, p.frames_night) == (9, 3)
    assert all(not f.night for f in p.use) and len(p.use) == 9
    # one frame a day of either kind: 3 days are not enough, the 4th day brings the 4th frame
    sparse = series(6, 1, 0)
    assert not plan(sparse, [], DAY0 + dt.timedelta(days=3, hours=1), RULE).ready
    p = plan(sparse, [], DAY0 + dt.timedelta(days=4, hours=1), RULE)
    assert p.ready and p.days_used == 4 and p.frames_day == 4


def test_which_faults_leave_a_frame_clean():
    at = DAY0
    cast = {"fault": "color_cast", "severity": "major"}
    assert frame_is_clean(FrameSample(at, False, M, [cast]), [])        # what learning re-judges
    assert frame_is_clean(FrameSample(at, False, M, [{"fault": "noise", "severity": "minor"},
                                                      {"fault": "blur", "severity": "major"}]), [])
    assert not frame_is_clean(FrameSample(at, False, M, [{"fault": "blur", "severity": "critical"}]), [])
    for other in ("too_dark", "signal_loss", "occlusion", "stripes", "frozen", "low_contrast"):
        assert not frame_is_clean(FrameSample(at, False, M, [{"fault": other, "severity": "major"}]), [])
    # a frame flagged by a fault the calibration does not judge does not count at all
    frames = series(3, 2, 2, faults=[{"fault": "too_bright", "severity": "major"}])
    p = plan(frames, [], DAY0 + dt.timedelta(days=5), RULE)
    assert not p.ready and p.clean_days == 0


def test_image_tickets_exclude_their_span_unless_they_restate_a_calibrated_fault():
    frames = series(3, 2, 2)
    now = DAY0 + dt.timedelta(days=3, hours=1)
    day2 = DAY0 + dt.timedelta(days=1)
    span = dict(opened_at=day2, closed_at=day2 + dt.timedelta(hours=20))
    # the health scan's colour-cast ticket on a warm camera: frames still count
    p = plan(frames, [TicketSpan("color_cast", "health", **span, outcome="recovered")], now, RULE)
    assert p.ready and len(p.use) == 12
    p = plan(frames, [TicketSpan("color_cast", "health", day2)], now, RULE)   # still open
    assert p.ready and len(p.use) == 12
    # a person opened it, or a repair fixed it, or it is another image fault: day 2 is not clean
    for t in (TicketSpan("color_cast", "manual", **span),
              TicketSpan("color_cast", "health", **span, outcome="repaired"),
              TicketSpan("occlusion", "health", **span),
              TicketSpan("image", "health", **span)):
        p = plan(frames, [t], now, RULE)
        assert not p.ready and p.clean_days == 2, t
    # a ticket that is not about the picture changes nothing
    p = plan(frames, [TicketSpan("offline", "health", **span)], now, RULE)
    assert p.ready and len(p.use) == 12


def test_clean_days_are_local_days():
    # 17:00 UTC is 01:00 local the next day: two frames 2 hours apart fall on two local days
    a = FrameSample(dt.datetime(2026, 3, 1, 15, 0), True, M)
    b = FrameSample(dt.datetime(2026, 3, 1, 17, 0), True, M)
    p = plan([a, b], [], dt.datetime(2026, 3, 1, 18, 0), RULE)
    assert p.clean_days == 2
    p = plan([a, b], [], dt.datetime(2026, 3, 1, 18, 0), RULE, tz="UTC")
    assert p.clean_days == 1


def test_rule_from_profiles():
    from supervisor.profiles.loader import load_profile

    v2 = LearnRule.from_profile(load_profile("default", 2, check_in_use=False))
    assert (v2.learn_days, v2.min_frames) == (7, 12) and "clean days" in v2.clause
    assert LearnRule.from_profile(load_profile("default", 1, check_in_use=False)) == LearnRule()
