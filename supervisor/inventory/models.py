"""Inventory tables: communities, contractors, contracts and devices (SQLAlchemy 2 typed ORM).

Changed only together with a migration in migrations/versions/.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supervisor.core.choices import DEVICE_SECRET_FIELDS, Lifecycle
from supervisor.core.clock import utcnow
from supervisor.core.extensions import db
from supervisor.core.secretbox import EncryptedString

contract_communities = Table(
    "contract_communities",
    db.metadata,
    Column("contract_id", ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
)


class Community(db.Model):
    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    district: Mapped[str] = mapped_column(String(100), index=True)
    street: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    devices: Mapped[list[Device]] = relationship(back_populates="community")
    contracts: Mapped[list[Contract]] = relationship(
        secondary=contract_communities, back_populates="communities")


class Contractor(db.Model):
    __tablename__ = "contractors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contracts: Mapped[list[Contract]] = relationship(back_populates="contractor")


class Contract(db.Model):
    __tablename__ = "contracts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    contractor_id: Mapped[int] = mapped_column(ForeignKey("contractors.id"), index=True)
    start_month: Mapped[dt.date] = mapped_column(Date)  # first day of the first month
    term_months: Mapped[int] = mapped_column(Integer, default=60)
    investment: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    # {"kind": "equal"} or {"kind": "schedule", "amounts": [...60 amounts...]}
    instalment_plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=lambda: {"kind": "equal"})
    profile_name: Mapped[str] = mapped_column(String(100), default="default")
    profile_version: Mapped[int] = mapped_column(Integer, default=1)

    contractor: Mapped[Contractor] = relationship(back_populates="contracts")
    communities: Mapped[list[Community]] = relationship(
        secondary=contract_communities, back_populates="contracts")
    devices: Mapped[list[Device]] = relationship(back_populates="contract")


class Device(db.Model):
    __tablename__ = "devices"
    __table_args__ = (
        Index("ix_devices_filter", "community_id", "kind", "role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    role: Mapped[str | None] = mapped_column(String(30))
    vendor: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    mac: Mapped[str | None] = mapped_column(String(17))
    ip: Mapped[str] = mapped_column(String(45), index=True)
    onvif_port: Mapped[int | None] = mapped_column(Integer)
    snmp_port: Mapped[int | None] = mapped_column(Integer)
    # Secrets: encrypted at rest, write-only in forms and the API.
    snmp_community: Mapped[str | None] = mapped_column(EncryptedString(500))
    username: Mapped[str | None] = mapped_column(String(100))
    password: Mapped[str | None] = mapped_column(EncryptedString(500))
    # SNMP: "1" | "2c" | "3" | "auto" (probes/model.py DeviceTarget); v3 is USM authPriv.
    snmp_version: Mapped[str] = mapped_column(String(4), default="2c", server_default="2c")
    snmp_user: Mapped[str | None] = mapped_column(String(100))
    snmp_auth_protocol: Mapped[str | None] = mapped_column(String(10))
    snmp_auth_key: Mapped[str | None] = mapped_column(EncryptedString(500))
    snmp_priv_protocol: Mapped[str | None] = mapped_column(String(10))
    snmp_priv_key: Mapped[str | None] = mapped_column(EncryptedString(500))
    upstream_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    # The NVR that records this camera (not a network path: a dead NVR leaves it online).
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    installed_on: Mapped[dt.date | None] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    # First local day out of service (reports prorate a device retired mid-period to it).
    retired_on: Mapped[dt.date | None] = mapped_column(Date)
    # Where a camera stands and what it sees (all optional; evidence lookup): WGS-84 degrees,
    # heading clockwise from north, horizontal field of view, useful range in metres.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    fov_deg: Mapped[float | None] = mapped_column(Float)
    range_m: Mapped[float | None] = mapped_column(Float)
    lifecycle: Mapped[str] = mapped_column(String(20), default=Lifecycle.INSTALLED)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    community: Mapped[Community] = relationship(back_populates="devices")
    contract: Mapped[Contract | None] = relationship(back_populates="devices")
    upstream: Mapped[Device | None] = relationship(remote_side=[id], foreign_keys=[upstream_id])
    recorded_by: Mapped[Device | None] = relationship(remote_side=[id], foreign_keys=[recorded_by_id])

    SECRET_FIELDS = DEVICE_SECRET_FIELDS


class ImportJob(db.Model):
    """One inventory import through the pages, from upload to its outcome.

    The uploaded file itself is kept encrypted in IMPORT_UPLOAD_DIR under `token` while the
    job is a preview or waiting/running (supervisor/inventory/jobs.py); the row survives
    the web process, so another worker shows the same job and a restart resumes it.
    States: preview → queued → running → done | failed; preview → cancelled | rejected |
    expired.
    """

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    filename: Mapped[str] = mapped_column(String(255))
    create_contracts: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str | None] = mapped_column(String(20))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(120))  # host:pid:process-token running it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
