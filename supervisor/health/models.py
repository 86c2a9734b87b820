"""Health tables: probe samples, state intervals/events, current status, rollups,
maintenance windows and evidence frames (sweep runs and the lease: supervisor/sweeps/models.py).

All times are naive UTC (core.clock). Intervals are half-open [start_at, end_at);
`end_at` is NULL while the interval is open. Changed only together with a migration.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String,
    UniqueConstraint,
)
from sqlalchemy import text
from sqlalchemy.orm import Mapped, mapped_column

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db

# 64-bit ids where rows pile up (samples); SQLite needs plain INTEGER for its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")




class ProbeSample(db.Model):
    """One judged probe of one device: kept `retention.raw_days`, then dropped."""

    __tablename__ = "probe_samples"
    __table_args__ = (
        # Idempotent writes: a re-run of the same sweep cannot add the same sample twice.
        # Also the index for "this device's samples": a device_id prefix (an index on
        # (device_id, at) as well cost ~18% of the table's size for no query of ours).
        UniqueConstraint("device_id", "tier", "at", name="uq_probe_samples_device_tier_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # probe start
    tier: Mapped[str] = mapped_column(String(20))
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweep_runs.id", ondelete="SET NULL"))
    observed: Mapped[str] = mapped_column(String(20))  # ok/degraded/offline (judged)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    clock_offset_s: Mapped[float | None] = mapped_column(Float)
    error_kind: Mapped[str | None] = mapped_column(String(30))
    faults: Mapped[list[Any] | None] = mapped_column(JSON)  # image faults / failed checks
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ProbeResult.to_dict()
    # How many probes this row stands for: ok fast-tier probes that agree with an ok state
    # are thinned (HEALTH_FAST_SAMPLE_EVERY_S) and counted into the next stored row.
    weight: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class StateInterval(db.Model):
    """A device's confirmed state over [start_at, end_at); end_at NULL while open."""

    __tablename__ = "state_intervals"
    __table_args__ = (
        UniqueConstraint("device_id", "start_at", name="uq_state_intervals_device_start"),
        Index("ix_state_intervals_start_end", "start_at", "end_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    # Why: "upstream" (its switch/NVR is down), "maintenance", or the main reason code
    # ("unreachable", "image_fault", "clock_drift", ...).
    cause: Mapped[str | None] = mapped_column(String(40))
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    start_at: Mapped[dt.datetime] = mapped_column(DateTime)
    end_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class StateEvent(db.Model):
    """One confirmed state change (a flip): old → new, at the first agreeing probe."""

    __tablename__ = "state_events"
    __table_args__ = (
        UniqueConstraint("device_id", "at", name="uq_state_events_device_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    old: Mapped[str] = mapped_column(String(20))
    new: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str | None] = mapped_column(String(40))
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DeviceStatus(db.Model):
    """The current state of each device and the hysteresis memory that decides the next."""

    __tablename__ = "device_status"
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="unknown", index=True)
    since: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cause: Mapped[str | None] = mapped_column(String(40))
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hysteresis: the state the last probes agree on but not yet confirmed.
    candidate_state: Mapped[str | None] = mapped_column(String(20))
    candidate_since: Mapped[dt.datetime | None] = mapped_column(DateTime)
    candidate_count: Mapped[int] = mapped_column(Integer, default=0)
    candidate_cause: Mapped[str | None] = mapped_column(String(40))
    candidate_reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    recent_flips: Mapped[list[Any] | None] = mapped_column(JSON)  # ISO times, flap detection
    last_sample_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_observed: Mapped[str | None] = mapped_column(String(20))
    last_rtt_ms: Mapped[float | None] = mapped_column(Float)
    last_clock_offset_s: Mapped[float | None] = mapped_column(Float)
    faults: Mapped[list[Any] | None] = mapped_column(JSON)  # current faults (names)
    # For deltas on the next probe: SNMP uptime (reboot detection) and error counters.
    last_uptime_s: Mapped[float | None] = mapped_column(Float)
    last_counters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Sample thinning: the last stored fast-tier sample, and ok probes skipped since.
    last_kept_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    fast_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DailyRollup(db.Model):
    """Per device per UTC day: seconds in each state and probe figures; kept for years."""

    __tablename__ = "daily_rollups"
    __table_args__ = (
        UniqueConstraint("device_id", "day", name="uq_daily_rollups_device_day"),
        Index("ix_daily_rollups_day", "day"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    ok_s: Mapped[float] = mapped_column(Float, default=0.0)
    degraded_s: Mapped[float] = mapped_column(Float, default=0.0)
    offline_s: Mapped[float] = mapped_column(Float, default=0.0)
    upstream_offline_s: Mapped[float] = mapped_column(Float, default=0.0)  # part of offline_s
    unknown_s: Mapped[float] = mapped_column(Float, default=0.0)
    maintenance_s: Mapped[float] = mapped_column(Float, default=0.0)
    probes: Mapped[int] = mapped_column(Integer, default=0)
    probes_failed: Mapped[int] = mapped_column(Integer, default=0)
    clock_checks: Mapped[int] = mapped_column(Integer, default=0)
    clock_ok: Mapped[int] = mapped_column(Integer, default=0)
    worst_clock_offset_s: Mapped[float | None] = mapped_column(Float)
    fault_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flips: Mapped[int] = mapped_column(Integer, default=0)


class MaintenanceWindow(db.Model):
    """An approved window [start_at, end_at) during which a device (or a whole community)
    is in `maintenance` and excluded from the contract's figures."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_span", "start_at", "end_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[dt.datetime] = mapped_column(DateTime)
    end_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(300))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class EvidenceFrame(db.Model):
    """A frame kept on disk under instance/: the acceptance reference, the latest frame,
    or one attached to a ticket. The file path is relative to EVIDENCE_DIR."""

    __tablename__ = "evidence_frames"
    __table_args__ = (Index("ix_evidence_frames_device_kind_at", "device_id", "kind", "taken_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # reference / latest / ticket
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    path: Mapped[str] = mapped_column(String(500))
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    diagnosis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(Integer)  # no FK: tickets are another issue


class QualityCalibration(db.Model):
    """A camera's learned normal image range (``probes.quality.calibration.Calibration``,
    ``data`` = its ``as_dict()``), used by the sweep's diagnosis while the camera has no
    confirmed acceptance reference. History is kept: a re-learn marks the row in force
    ``superseded_at`` (with the reason and who asked) and the next learning adds a new row;
    a row is never otherwise changed. At most one row per device is in force."""

    __tablename__ = "quality_calibrations"
    __table_args__ = (
        Index("uq_quality_calibrations_current", "device_id", unique=True,
              sqlite_where=text("superseded_at IS NULL"),
              postgresql_where=text("superseded_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    learned_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The frames it was learned from: their span, how many for day and night, clean days.
    first_frame_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_frame_at: Mapped[dt.datetime] = mapped_column(DateTime)
    frames_day: Mapped[int] = mapped_column(Integer)
    frames_night: Mapped[int] = mapped_column(Integer)
    clean_days: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    superseded_reason: Mapped[str | None] = mapped_column(String(20))  # view_changed | requested
    superseded_by: Mapped[str | None] = mapped_column(String(80))


class CalibrationFrame(db.Model):
    """The measures of one diagnosed frame of a camera that is learning its normal range (no
    acceptance reference, no calibration in force): what learning is computed from. Written
    by the sweep only while the camera learns; a re-learn deletes the camera's rows."""

    __tablename__ = "quality_calibration_frames"
    __table_args__ = (
        UniqueConstraint("device_id", "at", name="uq_quality_calibration_frames_device_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime)          # frame capture time
    night: Mapped[bool] = mapped_column(Boolean)               # judged by the night figures
    faults: Mapped[list[Any] | None] = mapped_column(JSON)     # [{fault, severity, rule}]
    measures: Mapped[dict[str, Any]] = mapped_column(JSON)     # Diagnosis.measures
