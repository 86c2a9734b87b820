"""Ticket tables. All times naive UTC. Changed only together with a migration (0010).

* ``work_calendars``: immutable calendar versions (the day table as JSON, see calendar.py).
* ``tickets``: one row per work order. ``state`` and the ``*_due_at``/``*_used_s``/``clock``
  columns are a CACHE of ``tickets.clock.compute`` over the ticket's events, rewritten on
  every change and by the clock job; reports must recompute from events (or may read the
  cache after ``service.verify_cache``).
* ``ticket_events``: the append-only history (``seq`` 1, 2, … per ticket). The clock reads
  only these. Breaches are events too (``breached``, written once per cycle and target).
* ``ticket_devices``: the devices a ticket covers (the root device and those behind it).
* ``ticket_attachments``: photos, stored under the instance folder with their sha256.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db


class TicketState:
    OPEN = "open"                      # waiting for the contractor's response
    ACKNOWLEDGED = "acknowledged"
    ON_HOLD = "on_hold"
    VERIFYING = "verifying"            # marked repaired (or seen recovered): probing
    CLOSED = "closed"
    ACTIVE = (OPEN, ACKNOWLEDGED, ON_HOLD, VERIFYING)
    ALL = ACTIVE + (CLOSED,)


class WorkCalendarVersion(db.Model):
    __tablename__ = "work_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)          # the version number
    effective_from: Mapped[dt.datetime] = mapped_column(DateTime)
    tz: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    source: Mapped[str] = mapped_column(String(100))            # e.g. "holidays 0.109 + police"
    days: Mapped[dict[str, str]] = mapped_column(JSON)          # ISO date → work | off
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        # One open ticket per device and fault family.
        Index("uq_tickets_open_device_family", "device_id", "family", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
        Index("ix_tickets_contract_state", "contract_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)  # the root device
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    family: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))             # health | manual
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(20))
    policy: Mapped[str] = mapped_column(String(120))            # profile key of the SLA, current cycle
    calendar_id: Mapped[int] = mapped_column(ForeignKey("work_calendars.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))     # repaired | recovered | invalid
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Cache of tickets.clock.compute (current cycle), for lists and sorting.
    response_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    repair_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    response_used_s: Mapped[float | None] = mapped_column(Float)
    repair_used_s: Mapped[float | None] = mapped_column(Float)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    clock: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # TicketClock.to_dict()
    clock_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TicketEvent(db.Model):
    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TicketDevice(db.Model):
    __tablename__ = "ticket_devices"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(20))           # root | behind


class TicketAttachment(db.Model):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))          # as uploaded (shown only)
    stored: Mapped[str] = mapped_column(String(200))            # path under the instance folder
    thumb: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
