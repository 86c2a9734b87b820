"""The tables reports/ owns: month closings (frozen ledger snapshots), waivers, adjustment
lines, the contract events police record for the payment rules, the clock checks per local
day, and the archive of built monthly PDFs. Written only through reports/ledger_store.py, supervisor/reporting/events.py and
supervisor/reporting/archive.py; changed only together with a migration."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (JSON, Date, DateTime, Float, ForeignKey, Index, Integer, Numeric, String,
                        Text, UniqueConstraint)
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


class ContractEvent(db.Model):
    """Something police recorded against a contract that a payment rule of the score form
    deducts for (a missed inspection, a falsified report): the rule it falls under, when it
    happened (naive UTC), where, why, and who recorded it. Never edited or deleted: a wrong
    one is waived on the ledger, with a reason."""

    __tablename__ = "contract_events"
    __table_args__ = (Index("ix_contract_events_contract_at", "contract_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(60))            # payment.score.deductions key
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ClockDayRollup(db.Model):
    """One device's clock checks on one LOCAL day of the reporting time zone, judged at the
    city profile's clock tolerance in force when rolled up: what the clock-accuracy figure
    needs once the raw probe samples are pruned (supervisor/reporting/clockdays.py)."""

    __tablename__ = "clock_day_rollups"
    __table_args__ = (UniqueConstraint("device_id", "day", name="uq_clock_day_rollups_device_day"),
                      Index("ix_clock_day_rollups_day", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)               # local calendar day
    tolerance_s: Mapped[float] = mapped_column(Float)
    checks: Mapped[int] = mapped_column(Integer)
    ok: Mapped[int] = mapped_column(Integer)
    worst_abs_offset_s: Mapped[float | None] = mapped_column(Float)
    rolled_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
