"""The tables reports/ owns: month closings (frozen ledger snapshots), waivers, adjustment
lines and the archive of built monthly PDFs. Written only through reports/ledger_store.py and
reports/archive.py; changed only together with a migration."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db


class LedgerClosing(db.Model):
    """A closed month of a contract: the ledger month as computed when closed, frozen."""

    __tablename__ = "ledger_closings"
    __table_args__ = (UniqueConstraint("contract_id", "month", name="uq_ledger_closings_month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)            # first day of the local month
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    payable: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(80))


class LedgerWaiver(db.Model):
    """Police waived one deduction line of a contract's month, with a reason."""

    __tablename__ = "ledger_waivers"
    __table_args__ = (UniqueConstraint("contract_id", "month", "line_key",
                                       name="uq_ledger_waivers_line"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)
    line_key: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    waived_by: Mapped[str | None] = mapped_column(String(80))
    waived_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LedgerAdjustment(db.Model):
    """A correction of a closed month, booked in an open month (never a silent rewrite)."""

    __tablename__ = "ledger_adjustments"
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)            # the open month it is booked in
    corrects_month: Mapped[dt.date] = mapped_column(Date)   # the closed month it corrects
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    reason: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80))


class ReportArchive(db.Model):
    """A built monthly PDF: where it is, its checksum, and its progress while building."""

    __tablename__ = "report_archive"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, index=True)
    contract_code: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="building")  # building/done/failed
    progress: Mapped[int] = mapped_column(Integer, default=0)            # percent
    step: Mapped[str | None] = mapped_column(String(100))
    path: Mapped[str | None] = mapped_column(String(500))                # relative to REPORT_DIR
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
