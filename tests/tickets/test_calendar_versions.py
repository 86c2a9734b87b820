"""A calendar change never rewrites a running clock: a ticket keeps the version its cycle
started with; the police may move it to the version in effect, which starts a new cycle."""
import datetime as dt

from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.models import Device
from supervisor.tickets import service
from supervisor.tickets.models import Ticket

FRI = dt.datetime(2026, 3, 6, 8, 0)        # Friday 16:00 Shanghai


def test_new_version_does_not_touch_running_tickets(app, world):
    cam = db.session.get(Device, world.alpha_devices[3])    # road camera: blur is minor, working hours
    t = service.open_ticket(db.session, cam, "blur", FRI)
    before = service.recompute(db.session, t, FRI + dt.timedelta(days=5)).to_dict()
    assert before["cycles"][0]["calendar"] == 1
    # The police declare Monday 2026-03-09 a day off, effective at once.
    v2 = service.add_calendar_days(db.session, {dt.date(2026, 3, 9): "off"}, FRI + dt.timedelta(hours=1),
                                   None, "typhoon", FRI + dt.timedelta(hours=1))
    assert v2.id == 2 and v2.days["2026-03-09"] == "off"
    after = service.recompute(db.session, t, FRI + dt.timedelta(days=5)).to_dict()
    assert after == before                                   # pinned to version 1
    # A ticket opened after the change uses version 2: Monday does not count.
    cam2 = db.session.get(Device, world.alpha_devices[2])
    t2 = service.open_ticket(db.session, cam2, "blur", FRI + dt.timedelta(hours=2))
    c2 = service.recompute(db.session, t2, dt.datetime(2026, 3, 9, 12)).current   # Mon 20:00
    assert c2.calendar == 2 and c2.repair.used_s == 0        # opened Fri 18:00; Monday is off
    c1 = service.recompute(db.session, t, dt.datetime(2026, 3, 9, 12)).current
    assert c1.repair.used_s == 1.5 * 3600 + 7.5 * 3600       # version 1: Fri 16:00-17:30 + Monday
    # The police move the first ticket onto version 2: a new cycle, the old one kept.
    service.act(db.session, t, "calendar_changed", FRI + dt.timedelta(hours=3))
    tc = service.recompute(db.session, t, dt.datetime(2026, 3, 10, 2))
    assert [c.calendar for c in tc.cycles] == [1, 2]
    assert tc.cycles[0].repair.used_s == 1.5 * 3600          # Fri 16:00-17:30, frozen at 19:00
    assert tc.cycles[1].repair.used_s == 1.5 * 3600          # Monday off, Tue 08:30-10:00
    assert t.calendar_id == 2 and service.verify_cache(db.session, t) == []
    try:
        service.act(db.session, t, "calendar_changed", FRI + dt.timedelta(hours=4))
    except service.TicketError as exc:
        assert exc.code == "calendar"
    else:
        raise AssertionError("a second move to the same version must be refused")
