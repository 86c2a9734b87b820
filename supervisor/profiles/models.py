"""The in-use record of a standard profile version."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db

class ProfileUse(db.Model):
    """The content hash of a profile version at the moment a contract first used it.

    A profile version in use can't be edited, only superseded: loading a file whose
    hash differs from the recorded one is refused (supervisor/profiles/loader.py).
    """

    __tablename__ = "profile_uses"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    first_used_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
