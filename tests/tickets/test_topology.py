"""Topology: upstream is the network/power path, recorded-by the recording link. A dead switch
opens one ticket listing everything behind it, also when its NVR goes down with it; a dead
NVR alone opens one recording ticket and leaves its cameras online."""
import datetime as dt

from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.health.rules import recording_down
from supervisor.inventory.models import Device
from supervisor.tickets import opening
from supervisor.tickets.models import Ticket, TicketDevice
from tests.tickets.ticket_helpers import behind, offline, ok, serial

T0 = dt.datetime(2026, 3, 2, 1, 0)


def add_nvr(world):
    sw, *cams = world.alpha_devices
    switch = db.session.get(Device, sw)
    nvr = Device(serial="NVR-A-1", name="a-nvr", kind="nvr", ip="127.0.10.2", community_id=switch.community_id,
                 contract_id=switch.contract_id, upstream_id=sw)
    db.session.add(nvr)
    db.session.flush()
    for c in cams:
        db.session.get(Device, c).recorded_by_id = nvr.id
    db.session.flush()
    return sw, nvr.id, cams


def listed(ticket_id):
    return dict(db.session.execute(select(TicketDevice.device_id, TicketDevice.relation)
                                   .where(TicketDevice.ticket_id == ticket_id)).all())


def test_switch_and_its_nvr_down_open_one_ticket(app, world):
    sw, nvr, cams = add_nvr(world)
    offline(sw, T0)
    behind(nvr, T0, serial(sw))
    for c in cams:
        behind(c, T0, serial(sw))
    assert opening.scan(db.session, T0 + dt.timedelta(minutes=30)) == {"opened": 1}
    (t,) = db.session.scalars(select(Ticket)).all()
    assert t.device_id == sw and t.family == "offline"
    assert listed(t.id) == {sw: "root", nvr: "behind", **{c: "behind" for c in cams}}


def test_dead_nvr_alone_is_one_recording_ticket_and_cameras_stay_online(app, world):
    sw, nvr, cams = add_nvr(world)
    ok(sw, T0)
    offline(nvr, T0)
    for c in cams:
        ok(c, T0)
    assert opening.scan(db.session, T0 + dt.timedelta(minutes=40)) == {"opened": 1}
    (t,) = db.session.scalars(select(Ticket)).all()
    assert (t.device_id, t.family, t.severity) == (nvr, "recording", "critical")
    assert listed(t.id) == {nvr: "root", **{c: "recorded" for c in cams}}
    # The rule for the recording link: information on the cameras, no state.
    info = recording_down({nvr: "offline", **{c: "ok" for c in cams}}, {c: nvr for c in cams},
                          {nvr: "NVR-A-1"})
    assert info == {c: {"check": "recording", "code": "not_recorded", "recorder": "NVR-A-1"} for c in cams}
    assert recording_down({nvr: "ok"}, {c: nvr for c in cams}, {}) == {}


def test_fault_coming_back_while_open_extends_the_ticket(app, world):
    sw, *cams = world.alpha_devices
    offline(sw, T0)
    behind(cams[0], T0, serial(sw))
    opening.scan(db.session, T0 + dt.timedelta(minutes=20))
    behind(cams[1], T0 + dt.timedelta(minutes=25), serial(sw))
    assert opening.scan(db.session, T0 + dt.timedelta(minutes=26)) == {"extended": 1}
    (t,) = db.session.scalars(select(Ticket)).all()
    assert listed(t.id) == {sw: "root", cams[0]: "behind", cams[1]: "behind"}
