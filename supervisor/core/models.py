"""The audit log table."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db

class AuditEntry(db.Model):
    """Who changed what: one row per change, secrets masked before they get here."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))  # username, or "cli:<os user>"
    action: Mapped[str] = mapped_column(String(40))  # create / update / delete / import / login ...
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
