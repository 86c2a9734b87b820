"""Delivery against a real local SMTP server (aiosmtpd) and a local HTTP receiver that fails
the first attempts; quiet hours; templates; never another contractor's tickets."""
import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.models import Contract
from supervisor.notifications import channels
from supervisor.notifications.delivery import deliver_due, quiet_until
from supervisor.notifications.models import Delivery, OutboxMessage, Recipient
from supervisor.tickets import opening
from tests.tickets.ticket_helpers import offline

T0 = dt.datetime(2026, 3, 2, 1, 0)   # Monday 09:00 Shanghai


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    sink = Sink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield sink, port
    finally:
        ctl.stop()


@pytest.fixture
def receiver():
    """An HTTP receiver that answers 503 to the first two POSTs, then 200."""
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(json.loads(body))
            self.send_response(503 if len(got) <= 2 else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode": 0}')

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()
        server.server_close()


class S:
    SMTP_HOST = "127.0.0.1"
    SMTP_PORT = 25
    SMTP_FROM = "supervisor@example.org"
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_STARTTLS = False
    NOTIFY_TIMEOUT_S = 5.0
    TICKET_PUBLIC_URL = "https://sv.example.org"


def recipients(world, smtp_port=None, hook=None, fmt="wecom", quiet=None):
    a = db.session.get(Contract, world.alpha_contract).contractor_id
    b = db.session.get(Contract, world.beta_contract).contractor_id
    rows = [Recipient(name="police desk", channel="email", address="desk@police.example", format="text",
                      active=True, quiet_hours=quiet),
            Recipient(name="alpha robot", contractor_id=a, channel="webhook", address=hook or "http://x",
                      format=fmt, active=True),
            Recipient(name="beta mail", contractor_id=b, channel="email", address="beta@example.org",
                      format="text", active=True)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_email_and_webhook_with_retries_and_back_off(app, world, smtp_server, receiver):
    sink, port = smtp_server
    got, hook = receiver
    recipients(world, hook=hook)
    offline(world.alpha_devices[0], T0)          # alpha's switch
    opening.scan(db.session, T0 + dt.timedelta(minutes=20))
    db.session.commit()
    settings = S()
    settings.SMTP_PORT = port
    now = T0 + dt.timedelta(minutes=21)
    first = deliver_due(db.session, now, settings, backoff_s=(60, 300))
    assert first == {"sent": 1, "failed": 0, "retry": 1, "quiet": 0}
    (rcpts, mail), = sink.messages
    assert rcpts == ["desk@police.example"] and "Subject:" in mail
    assert "beta@example.org" not in [r for m in sink.messages for r in m[0]]   # not beta's ticket
    hook_row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == 2)).one()
    assert hook_row.next_attempt_at == now + dt.timedelta(seconds=60)
    assert deliver_due(db.session, now + dt.timedelta(seconds=30), settings, backoff_s=(60, 300)) == \
        {"sent": 0, "failed": 0, "retry": 0, "quiet": 0}          # not due yet
    assert deliver_due(db.session, now + dt.timedelta(seconds=60), settings, backoff_s=(60, 300))["retry"] == 1
    assert deliver_due(db.session, now + dt.timedelta(seconds=360), settings, backoff_s=(60, 300))["sent"] == 1
    assert len(got) == 3 and got[-1]["msgtype"] == "markdown" and "新工单" in got[-1]["markdown"]["content"]
    log = db.session.scalars(select(Delivery).where(Delivery.outbox_id == hook_row.id)
                             .order_by(Delivery.attempt)).all()
    assert [(d.attempt, d.ok) for d in log] == [(1, False), (2, False), (3, True)]
    assert "HTTP 503" in log[0].detail


def test_attempts_exhausted_marks_failed(app, world, receiver):
    got, hook = receiver
    recipients(world, hook=hook, fmt="dingtalk")
    db.session.execute(db.update(Recipient).where(Recipient.channel == "email").values(active=False))
    offline(world.alpha_devices[0], T0)
    opening.scan(db.session, T0 + dt.timedelta(minutes=20))
    now = T0 + dt.timedelta(minutes=21)
    deliver_due(db.session, now, S(), backoff_s=(10,))
    out = deliver_due(db.session, now + dt.timedelta(seconds=10), S(), backoff_s=(10,))
    assert out["failed"] >= 1
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == 2)).one()
    assert row.status == "failed" and "503" in row.last_error
    assert got[0]["msgtype"] == "markdown" and "title" in got[0]["markdown"]


def test_quiet_hours_postpone_except_critical(app, world):
    night = dt.datetime(2026, 3, 2, 15, 0)       # 23:00 Shanghai
    assert quiet_until("22:00-07:00", night, "Asia/Shanghai") == dt.datetime(2026, 3, 2, 23, 0)
    assert quiet_until("22:00-07:00", dt.datetime(2026, 3, 2, 4, 0), "Asia/Shanghai") is None
    assert quiet_until("12:00-13:30", dt.datetime(2026, 3, 2, 4, 30), "Asia/Shanghai") == \
        dt.datetime(2026, 3, 2, 5, 30)
    recipients(world, quiet="22:00-07:00")
    sent = []
    offline(world.alpha_devices[2], night - dt.timedelta(hours=1))   # road camera: major
    opening.scan(db.session, night)
    offline(world.alpha_devices[0], night - dt.timedelta(hours=1))   # switch: critical
    opening.scan(db.session, night)
    out = deliver_due(db.session, night, S(), sender=lambda r, row: sent.append((r.name, row.severity)) or "ok")
    assert ("police desk", "critical") in sent and ("police desk", "major") not in sent
    assert out["quiet"] == 1


def test_templates():
    p = {"ticket": 7, "event": "breached", "title": "t", "severity": "critical", "device": "S1",
         "device_name": "门口", "contract": "C1"}
    subject, body = channels.render("text", p, "https://x/tickets/7")
    assert "已超时" in subject and "https://x/tickets/7" in body
    assert channels.render("json", p)[1]["ticket"] == 7
    assert channels.render("dingtalk", p)[1]["msgtype"] == "markdown"


def test_profile_quiet_hours_apply_to_recipients_without_their_own(app, world):
    recipients(world)                                    # police desk has no quiet hours
    night = dt.datetime(2026, 3, 2, 15, 0)               # 23:00 Shanghai
    offline(world.alpha_devices[2], night - dt.timedelta(hours=1))   # road camera: major
    opening.scan(db.session, night)
    sent = []
    out = deliver_due(db.session, night, S(), sender=lambda r, row: sent.append(r.name) or "ok",
                      default_quiet="22:00-07:00")
    assert sent == [] and out["quiet"] == 2
    morning = dt.datetime(2026, 3, 2, 23, 0)             # 07:00 Shanghai
    deliver_due(db.session, morning, S(), sender=lambda r, row: sent.append(r.name) or "ok",
                default_quiet="22:00-07:00")
    assert sorted(sent) == ["alpha robot", "police desk"]
