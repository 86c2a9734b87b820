"""Acceptance tables: runs, per-device results, reference-frame candidates, coverage history.

Changed only together with a migration in migrations/versions/.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervisor.core.clock import utcnow
from supervisor.core.extensions import db


class AcceptanceRun(db.Model):
    """One attempt to accept (some of) a community's devices. Every attempt is kept."""

    __tablename__ = "acceptance_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running/done/failed
    verdict: Mapped[str | None] = mapped_column(String(10))             # pass/fail
    run_by: Mapped[str] = mapped_column(String(80))
    profile_name: Mapped[str] = mapped_column(String(100))
    profile_version: Mapped[int] = mapped_column(Integer)
    profile_sha256: Mapped[str] = mapped_column(String(64))
    devices_total: Mapped[int] = mapped_column(Integer, default=0)
    devices_done: Mapped[int] = mapped_column(Integer, default=0)
    # Role slots at the end of the run: {"required", "filled", "figure", "slots": [...]}
    coverage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    certificate_path: Mapped[str | None] = mapped_column(String(500))
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))

    results: Mapped[list[AcceptanceResult]] = relationship(
        back_populates="run", order_by="AcceptanceResult.id")


class AcceptanceResult(db.Model):
    """One device's checks in one run: [{"check", "verdict", "measured", "required", "clause"}]."""

    __tablename__ = "acceptance_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("acceptance_runs.id", ondelete="CASCADE"),
                                        index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"),
                                           index=True)
    serial: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(10))
    checks: Mapped[list[Any]] = mapped_column(JSON)
    # Relative path (under EVIDENCE_DIR) of the frame taken by this run, for the certificate.
    frame_path: Mapped[str | None] = mapped_column(String(500))
    # Figures behind the checks that other features read (main stream width/height, ...).
    measures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    run: Mapped[AcceptanceRun] = relationship(back_populates="results")


class ReferenceCandidate(db.Model):
    """A frame kept at acceptance, waiting for (or decided by) a police user.

    status: candidate → confirmed (copied as an EvidenceFrame of kind `reference`, which
    scene_change and the reference-based rules judge against) | rejected; a confirmed one
    becomes `superseded` when a later acceptance's candidate is confirmed (history kept).
    """

    __tablename__ = "reference_candidates"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"),
                                           index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("acceptance_runs.id", ondelete="CASCADE"),
                                        index=True)
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime)
    path: Mapped[str] = mapped_column(String(500))
    diagnosis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    evidence_frame_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence_frames.id", ondelete="SET NULL"))


class CoverageSnapshot(db.Model):
    """A community's role-slot coverage at an instant (kept over time for the reports)."""

    __tablename__ = "coverage_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"),
                                              index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    required: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer)
    figure: Mapped[float | None] = mapped_column(Float)     # filled / required; None: nothing required
    slots: Mapped[list[Any]] = mapped_column(JSON)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("acceptance_runs.id", ondelete="SET NULL"))
