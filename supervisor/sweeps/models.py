"""Sweep runs and the scheduler's lease."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.extensions import db

class SweepRun(db.Model):
    """One sweep of one tier: what ran, how fast, and why devices failed."""

    __tablename__ = "sweep_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="cli")  # cli / scheduler / bench
    executor: Mapped[str] = mapped_column(String(20), default="local")
    status: Mapped[str] = mapped_column(String(20), default="running")  # running/done/failed
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    devices: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    failures_by_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    devices_per_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(500))
    # The platform's own load (never a device's failure): checks not measured because we
    # were overloaded, by check; the probing event loop's lag (p50/p99/max/bound, s);
    # checks tried again after an overload; the fewest devices kept in flight.
    platform: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SchedulerLease(db.Model):
    """A named lock with a lease: only its owner may run that role until expires_at."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
