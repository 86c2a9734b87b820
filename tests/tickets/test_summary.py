"""The monthly SLA summary per contractor (the ticket figures of reports/tickets.py, from each
ticket's stored clock); reassignment moves a ticket (and its later notifications) to the other
contractor."""
import datetime as dt

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.models import Contract, Device
from supervisor.notifications.models import OutboxMessage, Recipient
from reports.tickets import ticket_figures
from supervisor.tickets import service

T0 = dt.datetime(2026, 3, 2, 1, 0)   # Monday 09:00 Shanghai


def at(h):
    return T0 + dt.timedelta(hours=h)


def test_month_summary(app, world):
    sw, cam_e, cam_r, cam_r2 = (db.session.get(Device, i) for i in world.alpha_devices)
    # 1: critical switch, acknowledged in 1 h, repaired and verified at 10 h: in time.
    a = service.open_ticket(db.session, sw, "offline", at(0))
    service.act(db.session, a, "acknowledged", at(1))
    service.act(db.session, a, "repair_marked", at(10))
    service.system_event(db.session, a, "verified", at(10.5))
    # 2: critical entrance camera, acknowledged late (3 h), repaired at 30 h: both breached.
    b = service.open_ticket(db.session, cam_e, "offline", at(0))
    service.act(db.session, b, "acknowledged", at(3))
    service.act(db.session, b, "repair_marked", at(30))
    service.system_event(db.session, b, "verified", at(30.5))
    # 3: recovered by itself; 4: closed as invalid; 5: still open.
    c = service.open_ticket(db.session, cam_r, "offline", at(0))
    service.system_event(db.session, c, "recovery_seen", at(2))
    service.system_event(db.session, c, "recovered", at(3))
    d = service.open_ticket(db.session, cam_r2, "offline", at(0))
    service.act(db.session, d, "closed_invalid", at(1), reason="duplicate")
    service.open_ticket(db.session, cam_r2, "blur", at(5))
    lo, hi = dt.datetime(2026, 2, 28, 16), dt.datetime(2026, 3, 31, 16)   # March, Shanghai
    (row,) = ticket_figures(db.session, lo, hi, at(40), by="contractor")
    assert row["group"] == "Alpha Security Ltd"
    # 5 opened (1 invalid); a, b, c (recovered) and d (invalid) closed; the blur ticket (minor,
    # working hours: 11 of its 24 response hours used at 40 h) still open, not overdue.
    assert (row["tickets_opened"], row["tickets_invalid"], row["tickets_closed"],
            row["tickets_open_end"], row["tickets_overdue"]) == (5, 1, 4, 1, 0)
    # a met both targets; b missed both (response at 2 h, repair at 24 h); c (major, 4 h)
    # recovered at 2 h, which the clock counts as answering in time; d (invalid) left out.
    assert (row["response_met_critical"], row["response_missed_critical"]) == (1, 1)
    assert (row["repair_met_critical"], row["repair_missed_critical"]) == (1, 1)
    assert (row["response_met_major"], row["response_missed_major"]) == (1, 0)
    assert row["repair_met_major"] + row["repair_missed_major"] == 0   # nobody repaired c
    assert row["response_rate"] == pytest.approx(2 / 3) and row["repair_rate"] == 0.5
    assert row["repaired"] == 2
    assert row["mttr_h"] == pytest.approx((10 + 30) / 2)       # to the repair marks
    assert row["mttr_sla_h"] == pytest.approx((10 + 30) / 2)   # 24x7, no hold
    assert ticket_figures(db.session, hi, hi + dt.timedelta(days=30), at(40), by="contractor") == []


def test_reassign_moves_the_ticket_and_its_notifications(app, world):
    alpha_id = db.session.get(Contract, world.alpha_contract).contractor_id
    beta_id = db.session.get(Contract, world.beta_contract).contractor_id
    db.session.add_all([Recipient(name="a", contractor_id=alpha_id, channel="email", address="a@x",
                                  format="text", active=True),
                        Recipient(name="b", contractor_id=beta_id, channel="email", address="b@x",
                                  format="text", active=True)])
    db.session.flush()
    t = service.open_ticket(db.session, db.session.get(Device, world.alpha_devices[0]), "offline", at(0))
    service.act(db.session, t, "reassigned", at(1), contract_id=world.beta_contract)
    assert t.contract_id == world.beta_contract
    service.act(db.session, t, "repair_marked", at(2))
    service.system_event(db.session, t, "verified", at(3))
    got = [(m.event, m.contractor_id) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert got == [("opened", alpha_id), ("verified", beta_id)]
    with pytest.raises(service.TicketError) as err:          # a closed ticket stays where it is
        service.act(db.session, t, "reassigned", at(4), contract_id=world.alpha_contract)
    assert err.value.code == "closed"
