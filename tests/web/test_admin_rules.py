"""The pure parts behind the admin pages: local time conversion, diffs, window rules."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfoNotFoundError

import pytest

from supervisor.core import audit, localtime
from supervisor.core.audit_query import AuditFilters, decode_cursor, diff
from supervisor.health import maintenance
from supervisor.health.models import MaintenanceWindow


def test_local_time_round_trip_and_day_bounds():
    assert localtime.local_to_utc(dt.datetime(2026, 3, 1, 8, 10)) == dt.datetime(2026, 3, 1, 0, 10)
    assert localtime.fmt_local(dt.datetime(2026, 12, 31, 16, 30)) == "2027-01-01 00:30"
    assert localtime.local_day_bounds(dt.date(2026, 3, 2)) == (
        dt.datetime(2026, 3, 1, 16, 0), dt.datetime(2026, 3, 2, 16, 0))
    assert localtime.parse_local("2026-03-01 08:10") == dt.datetime(2026, 3, 1, 8, 10)
    for bad in ("", None, "08:10", "2026-02-30T08:00", "tomorrow"):
        assert localtime.parse_local(bad) is None, bad


def test_zone_falls_back_to_utc_plus_8_without_a_tz_database(monkeypatch):
    def missing(name):
        raise ZoneInfoNotFoundError(name)
    monkeypatch.setattr(localtime, "ZoneInfo", missing)
    assert localtime.local_to_utc(dt.datetime(2026, 3, 1, 8, 0)) == dt.datetime(2026, 3, 1, 0, 0)


def test_diff_orders_changed_first_and_keeps_masks():
    before, after = audit.mask({"name": "a", "password": "old-secret", "ip": "127.0.0.1"},
                               {"name": "b", "password": "new-secret", "ip": "127.0.0.1"})
    lines = diff(before, after)
    assert [(line.field, line.kind) for line in lines] == [
        ("name", "changed"), ("password", "changed"), ("ip", "same")]
    assert lines[1].before == "***" and lines[1].after == "*** (changed)"
    assert "secret" not in repr(lines)
    assert [line.kind for line in diff(None, {"x": 1})] == ["added"]
    assert [line.kind for line in diff({"x": 1}, None)] == ["removed"]
    assert diff({"tags": ["a"]}, {"tags": ["a", "b"]})[0].after == '["a", "b"]'


def test_filters_and_cursors_never_raise_on_garbage():
    f = AuditFilters.from_args({"since": "2026-13-45", "until": "x", "actor": "  ", "entity": "device"})
    assert (f.since, f.until, f.actor, f.entity) == (None, None, None, "device")
    for bad in ("", "_", "x_y", "2026-01-01T00:00_", None, "2026-01-01_12"):
        assert decode_cursor(bad) in (None, (dt.datetime(2026, 1, 1), 12)), bad


def _window(start_min: int, end_min: int) -> MaintenanceWindow:
    t0 = dt.datetime(2026, 3, 1)
    return MaintenanceWindow(start_at=t0 + dt.timedelta(minutes=start_min),
                             end_at=t0 + dt.timedelta(minutes=end_min))


def test_window_phases_are_half_open():
    now = dt.datetime(2026, 3, 1, 0, 10)
    assert maintenance.phase(_window(10, 20), now) == maintenance.CURRENT   # starts now
    assert maintenance.phase(_window(0, 10), now) == maintenance.PAST       # ended now
    assert maintenance.phase(_window(11, 20), now) == maintenance.UPCOMING


@pytest.mark.parametrize("start,end,code", [
    (20, 20, "end_before_start"), (-11, 30, "start_past"), (0, 60 * 24 * 32, "too_long")])
def test_span_rules(start, end, code):
    now = dt.datetime(2026, 3, 1)
    with pytest.raises(maintenance.WindowError) as err:
        maintenance._check_span(now + dt.timedelta(minutes=start), now + dt.timedelta(minutes=end), now)
    assert err.value.code == code
    maintenance._check_span(now - dt.timedelta(minutes=9), now + dt.timedelta(minutes=5), now)
