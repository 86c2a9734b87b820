"""Figures from intervals, asserted to the second against answers worked out by hand
(tests/reporting/world.py describes the intervals; local time is UTC+8)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from reports import periods
from reports.figures import Targets, figures
from supervisor.core.extensions import db
from tests.reporting.world import build

NOW = dt.datetime(2026, 4, 5)
DAY = 86400


@pytest.fixture
def world(app):
    return build()


def _by(rows, key="group"):
    return {r[key]: r for r in rows}


def test_local_month_boundaries():
    march = periods.parse("2026-03")
    assert march.lo == dt.datetime(2026, 2, 28, 16) and march.hi == dt.datetime(2026, 3, 31, 16)
    assert march.seconds == 31 * DAY
    q1 = periods.parse("2026-Q1")
    assert [m.label for m in q1.months()] == ["2026-01", "2026-02", "2026-03"]
    with pytest.raises(ValueError):
        periods.parse("2026-13")


def test_march_per_device_to_the_second(world):
    m = periods.parse("2026-03")
    rows = _by(figures(db.session, m.lo, m.hi, NOW, by="device"))
    assert set(rows) == {"CAM-A", "CAM-B", "CAM-C"}  # D was never accepted
    a = rows["CAM-A"]
    # Whole month in service; the outage's 4 hours after local midnight fall in March.
    assert a["in_service_s"] == 31 * DAY
    assert a["planned_outage_s"] == 4 * 3600
    assert a["unplanned_outage_s"] == 4 * 3600
    assert a["degraded_s"] == 3 * 3600
    assert a["unknown_s"] == 0
    assert a["measured_s"] == 31 * DAY - 4 * 3600
    assert a["ok_s"] == 31 * DAY - 11 * 3600
    assert a["online_rate"] == (31 * DAY - 8 * 3600) / (31 * DAY - 4 * 3600)
    assert a["faults_s"] == {"blur": 3 * 3600}
    b = rows["CAM-B"]
    # Accepted on 03-11: from local midnight (03-10 16:00 UTC), though probed from 12:00.
    assert b["in_service_s"] == 21 * DAY
    assert b["unplanned_outage_s"] == b["upstream_outage_s"] == 3600
    assert b["ok_s"] == 21 * DAY - 3600
    c = rows["CAM-C"]
    # Retired on 03-16: 15 local days; nothing known until 03-05 00:00 UTC (4 d 8 h).
    assert c["in_service_s"] == 15 * DAY
    assert c["unknown_s"] == 4 * DAY + 8 * 3600
    assert c["measured_s"] == c["ok_s"] == 15 * DAY - (4 * DAY + 8 * 3600)
    assert c["online_rate"] == 1.0


def test_february_gets_the_other_part_of_the_outage(world):
    feb = periods.parse("2026-02")
    a = _by(figures(db.session, feb.lo, feb.hi, NOW, by="device"))["CAM-A"]
    assert a["in_service_s"] == 28 * DAY
    assert a["unknown_s"] == 8 * 3600            # 01-31 16:00 → 02-01 00:00 UTC
    assert a["unplanned_outage_s"] == 6 * 3600   # 10:00 → 16:00 UTC on 02-28
    assert a["ok_s"] == 28 * DAY - 14 * 3600


def test_group_is_exact_sum_of_devices(world):
    m = periods.parse("2026-03")
    t = Targets(online_rate=0.98, intact_rate=0.995)
    city = figures(db.session, m.lo, m.hi, NOW, by="city", targets=t)[0]
    assert city["devices"] == 3
    assert city["in_service_s"] == (31 + 21 + 15) * DAY
    assert city["measured_s"] == 5_400_000
    assert city["unplanned_outage_s"] == 18_000 and city["upstream_outage_s"] == 3600
    assert city["planned_outage_s"] == 14_400
    assert city["online_rate"] == 5_382_000 / 5_400_000
    assert city["intact_rate"] == 5_371_200 / 5_400_000
    assert city["online_rate_met"] is True and city["intact_rate_met"] is False
    devices = figures(db.session, m.lo, m.hi, NOW, by="device")
    for key in ("in_service_s", "measured_s", "ok_s", "unplanned_outage_s", "unknown_s"):
        assert sum(r[key] for r in devices) == city[key]
    districts = _by(figures(db.session, m.lo, m.hi, NOW, by="district"))
    assert districts["西城区"]["measured_s"] == _by(devices)["CAM-C"]["measured_s"]


def test_open_month_counts_only_until_now(world):
    m = periods.parse("2026-03")
    now = dt.datetime(2026, 3, 1, 16)  # one day into the local month
    a = _by(figures(db.session, m.lo, m.hi, now, by="device"))["CAM-A"]
    assert a["in_service_s"] == DAY
    assert a["unplanned_outage_s"] == 4 * 3600


def test_cli_prints_the_same_figures(world, runner):
    from app import create_app  # noqa: F401  (the runner's app is the fixture's)
    out = runner.invoke(args=["report", "figures", "--period", "2026-03", "--by", "device",
                              "--format", "json", "--now", "2026-04-05T08:00"])
    assert out.exit_code == 0, out.output
    rows = _by(json.loads(out.output)["rows"])
    assert rows["CAM-B"]["in_service_s"] == 21 * DAY
    table = runner.invoke(args=["report", "figures", "--period", "2026-03",
                                "--now", "2026-04-05T08:00"])
    assert table.exit_code == 0, table.output
    assert "99.6667" in table.output  # city online rate 5,382,000 / 5,400,000
    csv = runner.invoke(args=["report", "figures", "--period", "2026-03", "--format", "csv",
                              "--by", "district", "--now", "2026-04-05T08:00"])
    assert csv.output.splitlines()[0].startswith("group,")
    assert "东城区" in csv.output


def test_map_with_tiles_and_plain_fallback():
    from reports.views import map_figure

    pts = [{"name": "甲", "lat": 34.2, "lon": 108.9, "online_rate": 0.99, "intact_rate": 0.98},
           {"name": "乙", "lat": 34.3, "lon": 108.8, "online_rate": None, "intact_rate": None}]
    tiled = map_figure(pts, "http://tiles.local/{z}/{x}/{y}.png")
    assert [t["type"] for t in tiled["data"]] == ["scattermap", "scattermap"]
    assert tiled["layout"]["map"]["layers"][0]["source"] == ["http://tiles.local/{z}/{x}/{y}.png"]
    plain = map_figure(pts, "")
    assert [t["type"] for t in plain["data"]] == ["scatter", "scatter"]
    assert list(plain["data"][0]["x"]) == [108.9] and list(plain["data"][1]["y"]) == [34.3]


def test_contract_life_period(world, runner):
    out = runner.invoke(args=["report", "figures", "--period", "contract:CT-1", "--by", "device",
                              "--format", "json", "--now", "2026-04-05T08:00"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["period"] == "CT-1 2026-01..2030-12"
    rows = _by(data["rows"])
    # A: accepted 2026-01-10 (local) → now (2026-04-05 00:00 UTC); February and March outages.
    a = rows["CAM-A"]
    assert a["in_service_s"] == int((dt.datetime(2026, 4, 5) - dt.datetime(2026, 1, 9, 16)).total_seconds())
    assert a["unplanned_outage_s"] == 10 * 3600 and a["planned_outage_s"] == 4 * 3600


def test_coverage_is_time_weighted_over_the_period(world, runner):
    """Slots {entrance: 1, high_altitude: 1} per single-building community; March = 744 h.
    East: entrance by A, all March but offline 4 h (02-28 16:00→20:00) and maintenance 4 h
    (the 3 h blur still fills): 736 h; high_altitude by B, in service from 03-10 16:00 UTC
    (21 days = 504 h) less 1 h offline: 503 h → 1,239 of 1,488 slot-hours.
    West: entrance by C, judged ok from 03-05 00:00 until its retirement 03-15 16:00: 256 h
    (unjudged time before does not fill; D is not accepted) → 256 of 1,488."""
    from reports.figures import coverage, load_devices, load_intervals

    march = periods.parse("2026-03")
    slots = {"single_building": {"entrance": 1, "high_altitude": 1}}
    devices = load_devices(db.session)
    ivs = load_intervals(db.session, march.lo, march.hi)
    rows = _by(coverage(devices, ivs, march.lo, march.hi, NOW, slots, "community"))
    east, west = rows["阳光小区"], rows["河畔小区"]
    assert (east["filled_slot_s"], east["required_slot_s"]) == (1239 * 3600, 1488 * 3600)
    assert east["coverage"] == pytest.approx(1239 / 1488)
    assert (west["filled_slot_s"], west["required"]) == (256 * 3600, 2)
    city = coverage(devices, ivs, march.lo, march.hi, NOW, slots, "city")[0]
    assert city["coverage"] == pytest.approx((1239 + 256) / 2976)
    # An open month counts only until now: 02-28 16:00 → 03-10 16:00 UTC is 240 h.
    mid = dt.datetime(2026, 3, 10, 16)
    east_mid = _by(coverage(devices, ivs, march.lo, march.hi, mid, slots))["阳光小区"]
    # A: 240 h less 8 h; B not yet in service: 232 of 2 × 240 slot-hours
    assert (east_mid["filled_slot_s"], east_mid["required_slot_s"]) == (232 * 3600, 480 * 3600)
    # The same figure through `flask report figures` by district (the default profile's
    # single-building slots are these two roles, one each).
    out = runner.invoke(args=["report", "figures", "--period", "2026-03", "--by", "district",
                              "--format", "json", "--now", "2026-04-05T08:00"])
    rows = _by(json.loads(out.output)["rows"])
    assert rows["东城区"]["coverage"] == pytest.approx(1239 / 1488)
    assert rows["西城区"]["coverage_filled_slot_h"] == 256.0


def test_working_hours_figures_count_only_office_hours_on_working_days(world, runner):
    """`--hours working_hours`: 08:30–12:00 and 13:30–17:30 local on working days (the
    profile's schedule, China's calendar). March 2026 has 22 working days, 7.5 h each."""
    from supervisor.reporting.context import figures_for

    m = periods.parse("2026-03")
    rows = _by(figures_for(db.session, m, "device", NOW, hours="working_hours"))
    a = rows["CAM-A"]
    assert a["in_service_s"] == 22 * 7.5 * 3600
    # Maintenance 10:00–14:00 local on Tue 03-10: 10:00–12:00 and 13:30–14:00 are office hours.
    assert a["planned_outage_s"] == 2.5 * 3600
    # The blur 08:00–11:00 local on Sun 03-15 and the outage's March part (Sun 03-01,
    # 00:00–04:00 local) fall outside working time.
    assert a["degraded_s"] == 0 and a["unplanned_outage_s"] == 0
    assert a["ok_s"] == (22 * 7.5 - 2.5) * 3600 and a["online_rate"] == 1.0
    b = rows["CAM-B"]
    # In service from Wed 03-11: 15 working days; its switch's outage 08:00–09:00 local on
    # Fri 03-20 overlaps office hours by 30 minutes.
    assert b["in_service_s"] == 15 * 7.5 * 3600
    assert b["unplanned_outage_s"] == b["upstream_outage_s"] == 1800
    assert all(r["hours"] == "working_hours" for r in rows.values())
    # The whole day stays the default, and the CLI says which hours it counted.
    whole = _by(figures_for(db.session, m, "device", NOW))["CAM-A"]
    assert whole["in_service_s"] == 31 * DAY and whole["hours"] == "24x7"
    res = runner.invoke(args=["report", "figures", "--period", "2026-03", "--by", "device",
                              "--hours", "working_hours", "--format", "json",
                              "--now", "2026-04-05 08:00"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["hours"] == "working_hours"
    assert _by(out["rows"])["CAM-A"]["in_service_s"] == 22 * 7.5 * 3600
    bad = runner.invoke(args=["report", "figures", "--period", "2026-03", "--hours", "nights"])
    assert bad.exit_code != 0 and "working_hours" in bad.output


def test_figures_page_and_export_over_working_hours(world, app):
    from tests.web.conftest import login
    from supervisor.people.accounts import create_user

    create_user("chief", "chief-pass-123", "police")
    db.session.commit()
    c = app.test_client()
    assert login(c, "chief", "chief-pass-123").status_code == 302
    from supervisor.core import clock
    with clock.pinned(NOW):
        page = c.get("/reports/figures?period=2026-03&by=device&hours=working_hours")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "工作时间" in html and 'value="working_hours" selected' in html
        csv_text = c.get("/reports/figures.csv?period=2026-03&by=device&hours=working_hours"
                         ).get_data(as_text=True)
        assert str(22 * 7.5 * 3600).rstrip("0").rstrip(".") in csv_text
        assert c.get("/reports/figures?period=2026-03&hours=nights").status_code == 400
