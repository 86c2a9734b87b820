"""The working calendar: China's holidays and make-up days, schedules, police overrides."""
import datetime as dt

import chinese_calendar
import pytest

from supervisor.tickets.calendar import OFF, WORK, Schedule, WorkCalendar, library_days, merge_days
from tests.tickets.clock_helpers import CAL, WORKING, local


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_library_day_table_agrees_with_chinesecalendar(year):
    days = library_days([year])
    cal = WorkCalendar(version=1, days=days)
    day, disagree = dt.date(year, 1, 1), []
    while day.year == year:
        if cal.is_working_day(day) != chinese_calendar.is_workday(day):
            disagree.append(day)
        day += dt.timedelta(days=1)
    assert disagree == []
    assert any(k == WORK for k in days.values())      # make-up days exist every year
    assert any(k == OFF for k in days.values())


def test_2025_spring_festival_and_make_up_days():
    assert CAL.kind_of(dt.date(2025, 1, 26)) == WORK   # Sunday, make-up working day
    assert CAL.kind_of(dt.date(2025, 2, 8)) == WORK    # Saturday, make-up working day
    assert CAL.kind_of(dt.date(2025, 1, 28)) == OFF
    assert CAL.kind_of(dt.date(2025, 10, 1)) == OFF
    assert CAL.kind_of(dt.date(2025, 3, 11)) is None   # an ordinary Tuesday


def test_working_seconds_on_make_up_sunday_holiday_and_weekend():
    # Sunday 2025-01-26 (make-up): 7.5 h; Tuesday 2025-01-28 (holiday): 0; Sat 2025-03-08: 0.
    assert CAL.working_seconds(WORKING, local(2025, 1, 26), local(2025, 1, 27)) == 7.5 * 3600
    assert CAL.working_seconds(WORKING, local(2025, 1, 28), local(2025, 1, 29)) == 0
    assert CAL.working_seconds(WORKING, local(2025, 3, 8), local(2025, 3, 9)) == 0
    # A 24x7 schedule ignores the day table.
    assert CAL.working_seconds(Schedule.always(), local(2025, 1, 28), local(2025, 1, 29)) == 86400


def test_police_override_makes_a_new_table_and_leaves_the_old_one():
    newer = WorkCalendar(version=2, days=merge_days(CAL.days, {dt.date(2025, 3, 11): OFF,
                                                              dt.date(2025, 1, 26): None}))
    assert newer.working_seconds(WORKING, local(2025, 3, 11), local(2025, 3, 12)) == 0
    assert newer.working_seconds(WORKING, local(2025, 1, 26), local(2025, 1, 27)) == 0
    assert CAL.working_seconds(WORKING, local(2025, 3, 11), local(2025, 3, 12)) == 7.5 * 3600
    with pytest.raises(ValueError):
        merge_days({}, {dt.date(2025, 1, 1): "holiday"})


def test_schedule_rejects_bad_spans():
    for bad in ({"mon": ["09:00-08:00"]}, {"mon": ["08:00-12:00", "11:00-13:00"]}, {"xyz": []},
                {"mon": ["25:00-26:00"]}):
        with pytest.raises(ValueError):
            Schedule.from_mapping("x", bad)


def test_json_round_trip():
    again = WorkCalendar.from_json(1, "Asia/Shanghai", CAL.days_as_json())
    assert again == CAL
