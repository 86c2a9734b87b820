"""Notification tables (migration 0010). Times naive UTC.

* ``notification_recipients``: an address on a channel, for the police (contractor_id NULL)
  or for one contractor; quiet hours in local time ("22:00-07:00") per recipient.
* ``notification_outbox``: one row per (ticket event, recipient); written in the ticket
  change's transaction; ``status`` pending → sent | failed (attempts exhausted).
* ``notification_deliveries``: one row per attempt (the delivery log the police read).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db


class Recipient(db.Model):
    __tablename__ = "notification_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contractor_id: Mapped[int | None] = mapped_column(ForeignKey("contractors.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))            # email | webhook
    address: Mapped[str] = mapped_column(String(500))           # e-mail address or URL
    format: Mapped[str] = mapped_column(String(20), default="json")  # json | wecom | dingtalk | text
    quiet_hours: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxMessage(db.Model):
    __tablename__ = "notification_outbox"
    __table_args__ = (UniqueConstraint("ticket_id", "event_seq", "recipient_id",
                                       name="uq_outbox_event_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(30))              # opened | near_breach | breached | …
    recipient_id: Mapped[int] = mapped_column(ForeignKey("notification_recipients.id"))
    contractor_id: Mapped[int | None] = mapped_column(ForeignKey("contractors.id"))
    severity: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Delivery(db.Model):
    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("notification_outbox.id", ondelete="CASCADE"),
                                           index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(Text)
