"""On PostgreSQL: the partial unique index keeps one open ticket per device and fault family
even when two workers open it at the same moment; a closed one does not block a new one."""
import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

T0 = dt.datetime(2026, 3, 2, 1, 0)


def test_one_open_ticket_per_device_and_family(pg_database):
    from flask_migrate import upgrade

    from app import create_app
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Community, Contract, Contractor, Device
    from supervisor.tickets import service
    from supervisor.tickets.models import Ticket

    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_database, "SECRET_KEY": "x",
                      "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="})
    with app.app_context():
        upgrade()
        co = Contractor(name="PG Ltd")
        ct = Contract(code="PG-1", contractor=co, start_month=dt.date(2026, 1, 1), profile_version=2)
        cm = Community(name="PG 小区", district="鼓楼区", type="open")
        dev = Device(serial="PG-SW", name="pg-switch", kind="switch", ip="127.0.0.9", community=cm, contract=ct)
        db.session.add_all([co, ct, cm, dev])
        db.session.commit()
        service.current_calendar(db.session, T0)
        db.session.commit()
        # Two workers race to open the same ticket: the second waits on the index, then fails.
        t1 = service.open_ticket(db.session, dev, "offline", T0)
        outcome = {}

        def second_worker():
            with app.app_context():
                other = sa.orm.Session(db.engine)
                try:
                    service.open_ticket(other, other.get(Device, dev.id), "offline", T0)
                    other.commit()
                    outcome["error"] = None
                except IntegrityError as exc:
                    outcome["error"] = exc
                    other.rollback()
                finally:
                    other.close()

        worker = threading.Thread(target=second_worker)
        worker.start()
        worker.join(timeout=2)
        assert worker.is_alive()          # blocked on the first worker's uncommitted row
        db.session.commit()
        worker.join(timeout=30)
        assert isinstance(outcome.get("error"), IntegrityError)
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 1
        service.act(db.session, t1, "closed_invalid", T0 + dt.timedelta(minutes=5), reason="test")
        db.session.commit()
        t3 = service.open_ticket(db.session, dev, "offline", T0 + dt.timedelta(minutes=6))
        db.session.commit()
        assert t3.id != t1.id and service.verify_cache(db.session, t3) == []
        db.session.remove()
        db.engine.dispose()
