"""`flask tickets list/show` print the clocks recomputed from events."""
import datetime as dt
import json

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.tickets import opening, service
from tests.tickets.ticket_helpers import offline

T0 = dt.datetime(2026, 3, 2, 1, 0)


def test_list_and_show(app, world):
    offline(world.alpha_devices[0], T0)
    opening.scan(db.session, T0 + dt.timedelta(minutes=20))
    t = db.session.scalars(db.select(service.Ticket)).one()
    service.act(db.session, t, "acknowledged", T0 + dt.timedelta(minutes=50))
    db.session.commit()
    runner = app.test_cli_runner()
    with clock.pinned(T0 + dt.timedelta(hours=3)):
        out = runner.invoke(args=["tickets", "list", "--format", "json"])
        assert out.exit_code == 0, out.output
        (row,) = json.loads(out.output)
        cur = row["clock"]["cycles"][-1]
        assert cur["response"]["used_s"] == 30 * 60
        assert cur["repair"]["used_s"] == (3 * 60 - 20) * 60
        assert cur["repair"]["due_at"] == "2026-03-03T01:20:00"
        table = runner.invoke(args=["tickets", "list", "--state", "acknowledged"])
        assert "SW-A-1" in table.output and "0.50h" in table.output
        assert "SW-A-1" not in runner.invoke(args=["tickets", "list", "--state", "closed"]).output
        shown = runner.invoke(args=["tickets", "show", str(t.id), "--format", "json"])
        data = json.loads(shown.output)
        assert [e["kind"] for e in data["events"]] == ["opened", "acknowledged"]
        assert {d["relation"] for d in data["devices"]} == {"root"}
        text = runner.invoke(args=["tickets", "show", str(t.id)])
        assert "cycle 1: critical default@2" in text.output and "2026-03-03 09:20" in text.output
        assert runner.invoke(args=["tickets", "show", "999"]).exit_code != 0


def test_recipient_add(app, world):
    from supervisor.notifications.models import Recipient
    runner = app.test_cli_runner()
    out = runner.invoke(args=["tickets", "recipient-add", "Alpha robot", "--channel", "webhook",
                              "--address", "http://127.0.0.1:9/hook", "--format", "wecom",
                              "--contractor", "Alpha Security Ltd", "--quiet-hours", "22:00-07:00"])
    assert out.exit_code == 0, out.output
    r = db.session.scalars(db.select(Recipient)).one()
    assert (r.format, r.quiet_hours, r.contractor_id is not None) == ("wecom", "22:00-07:00", True)
    bad = runner.invoke(args=["tickets", "recipient-add", "x", "--channel", "email", "--address", "a@b",
                              "--contractor", "Nobody Ltd"])
    assert bad.exit_code != 0 and "no contractor" in bad.output
    bad = runner.invoke(args=["tickets", "recipient-add", "x", "--channel", "email", "--address", "a@b",
                              "--quiet-hours", "late"])
    assert bad.exit_code != 0


def test_run_opens_tickets_and_records_breaches(app, world):
    offline(world.alpha_devices[0], T0)
    db.session.commit()
    runner = app.test_cli_runner()
    with clock.pinned(T0 + dt.timedelta(minutes=20)):
        out = runner.invoke(args=["tickets", "run", "--no-deliver"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["scan"] == {"opened": 1}
    with clock.pinned(T0 + dt.timedelta(hours=3)):
        out = runner.invoke(args=["tickets", "run"])
    data = json.loads(out.output)
    assert data["refreshed"] == 1 and data["delivery"] == {"sent": 0, "failed": 0, "retry": 0, "quiet": 0}
    t = db.session.scalars(db.select(service.Ticket)).one()
    assert [e.kind for e in service.events_of(db.session, t)] == ["opened", "breached"]   # response 2 h
