"""What the health pages and the API read: a device's intervals, events and latest frame in a
window, the current faults under filters, and the sweep status.

Every function takes the session and, where tenants matter, the scoped device select from
`supervisor.core.scoping` (the caller builds it for its user), so pages stay thin and the
same query serves a page, its JSON twin and a report.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from supervisor.core.choices import IMAGE_FAULTS, DeviceKind, DeviceState
from supervisor.health.models import DeviceStatus, EvidenceFrame, StateEvent, StateInterval
from supervisor.inventory.models import Community, Device
from supervisor.sweeps.models import SweepRun

FAULT_STATES = (DeviceState.DEGRADED, DeviceState.OFFLINE)


def _int(value: Any) -> int | None:
    """An id from a query string: malformed or outside the database's integers is None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**62 else None


# ---------------------------------------------------------------- one device

def intervals_in_window(session: Session, device_id: int, since: dt.datetime, until: dt.datetime,
                        limit: int) -> tuple[list[StateInterval], bool]:
    """The device's intervals overlapping [since, until), oldest first; at most `limit` (the
    newest, so a flapping device's page stays light) and whether older ones were left out."""
    rows = session.scalars(
        select(StateInterval).where(
            StateInterval.device_id == device_id, StateInterval.start_at < until,
            or_(StateInterval.end_at.is_(None), StateInterval.end_at > since))
        .order_by(StateInterval.start_at.desc()).limit(limit + 1)).all()[::-1]
    return rows[-limit:], len(rows) > limit


def events_since(session: Session, device_id: int, since: dt.datetime, limit: int = 100
                 ) -> list[StateEvent]:
    return list(session.scalars(
        select(StateEvent).where(StateEvent.device_id == device_id, StateEvent.at >= since)
        .order_by(StateEvent.at.desc()).limit(limit)).all())


def latest_frame(session: Session, device_id: int) -> EvidenceFrame | None:
    return session.scalar(
        select(EvidenceFrame).where(EvidenceFrame.device_id == device_id,
                                    EvidenceFrame.kind == "latest")
        .order_by(EvidenceFrame.taken_at.desc()).limit(1))


# ---------------------------------------------------------------- current faults

class FaultFilters:
    """The faults page's query string, validated: unknown values are dropped, not errors."""

    def __init__(self, args: Mapping[str, Any]):
        self.district = (args.get("district") or "").strip()[:100] or None
        self.community = _int(args.get("community"))
        self.contract = _int(args.get("contract"))
        self.kind = args.get("kind") if args.get("kind") in DeviceKind.values() else None
        self.state = args.get("state") if args.get("state") in FAULT_STATES + ("flapping",) else None
        self.fault = args.get("fault") if args.get("fault") in IMAGE_FAULTS else None
        self.cause = (args.get("cause") or "").strip()[:40] or None

    def apply(self, stmt: Select) -> Select:
        if self.district:
            stmt = stmt.where(Community.district == self.district)
        if self.community:
            stmt = stmt.where(Device.community_id == self.community)
        if self.contract:
            stmt = stmt.where(Device.contract_id == self.contract)
        if self.kind:
            stmt = stmt.where(Device.kind == self.kind)
        if self.state == "flapping":
            stmt = stmt.where(DeviceStatus.flapping.is_(True))
        elif self.state:
            stmt = stmt.where(DeviceStatus.state == self.state)
        if self.cause:
            stmt = stmt.where(DeviceStatus.cause == self.cause)
        if self.fault:
            # JSON list of names, stored as text on SQLite and json on PostgreSQL; the
            # name is one of IMAGE_FAULTS, so it carries no LIKE wildcards.
            stmt = stmt.where(cast(DeviceStatus.faults, String).like(f'%"{self.fault}"%'))
        return stmt


def faults_query(scope: Select, filters: FaultFilters) -> Select:
    """(Device, DeviceStatus, Community) of every device in `scope` now degraded, offline or
    flapping, narrowed by `filters`."""
    scoped = scope.subquery()
    stmt = (select(Device, DeviceStatus, Community)
            .join(scoped, scoped.c.id == Device.id)
            .join(DeviceStatus, DeviceStatus.device_id == Device.id)
            .join(Community, Community.id == Device.community_id)
            .where(or_(DeviceStatus.state.in_(FAULT_STATES), DeviceStatus.flapping.is_(True))))
    return filters.apply(stmt)


def count_rows(session: Session, stmt: Select) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def count_by(session: Session, stmt: Select, column: str) -> list[tuple[Any, int]]:
    """How many rows of a faults query share each value of a DeviceStatus column."""
    sub = stmt.with_only_columns(getattr(DeviceStatus, column).label("k")).subquery()
    return [tuple(r) for r in session.execute(
        select(sub.c.k, func.count()).group_by(sub.c.k).order_by(func.count().desc())).all()]


def fault_rows(session: Session, stmt: Select, limit: int) -> list[Any]:
    """The oldest faults first (the ones waiting longest), at most `limit`."""
    return list(session.execute(stmt.order_by(DeviceStatus.since, Device.id).limit(limit)).all())


# ---------------------------------------------------------------- sweep status

def sweep_status(session: Session, now: dt.datetime, tier_intervals: Mapping[str, float],
                 recent: int = 30) -> dict[str, Any]:
    """The last run of each tier, totals over each tier's last interval, and the most recent
    runs, as plain data (page + JSON)."""
    runs = session.scalars(select(SweepRun).order_by(SweepRun.started_at.desc(),
                                                     SweepRun.id.desc()).limit(recent)).all()
    last_ids = select(func.max(SweepRun.id)).group_by(SweepRun.tier)
    last = session.scalars(select(SweepRun).where(SweepRun.id.in_(last_ids))
                           .order_by(SweepRun.tier)).all()
    tiers = []
    for run in last:
        row = run_dict(run, now)
        row["interval"] = interval_totals(session, run.tier, tier_intervals.get(run.tier), now)
        tiers.append(row)
    return {"now": now.isoformat(), "tiers": tiers, "recent": [run_dict(r, now) for r in runs]}


def interval_totals(session: Session, tier: str, interval_s: float | None, now: dt.datetime
                    ) -> dict[str, Any] | None:
    """The scheduler sweeps a tier in slices over its interval (one sweep_runs row each):
    sum the runs that started within the last interval, so the page shows a whole cycle."""
    if not interval_s:
        return None
    since = now - dt.timedelta(seconds=interval_s)
    rows = session.scalars(select(SweepRun).where(SweepRun.tier == tier,
                                                  SweepRun.started_at >= since)).all()
    if not rows:
        return None
    failures: dict[str, int] = {}
    busy = 0.0
    for r in rows:
        busy += ((r.finished_at or now) - r.started_at).total_seconds()
        for k, v in (r.failures_by_reason or {}).items():
            failures[k] = failures.get(k, 0) + int(v)
    devices = sum(r.devices for r in rows)
    return {"interval_s": interval_s, "runs": len(rows), "devices": devices,
            "ok": sum(r.ok for r in rows), "failed": sum(r.failed for r in rows),
            "busy_s": round(busy, 2),
            "devices_per_s": round(devices / busy, 2) if busy > 0 else None,
            "failures_by_reason": dict(sorted(failures.items(), key=lambda kv: -kv[1]))}


def run_dict(run: SweepRun, now: dt.datetime) -> dict[str, Any]:
    end = run.finished_at or now
    return {
        "id": run.id, "tier": run.tier, "trigger": run.trigger, "executor": run.executor,
        "status": run.status, "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_s": round((end - run.started_at).total_seconds(), 2),
        "devices": run.devices, "ok": run.ok, "failed": run.failed,
        "devices_per_s": run.devices_per_s,
        "failures_by_reason": run.failures_by_reason or {},
        "age_s": round((now - run.started_at).total_seconds(), 1),
        "error": run.error,
    }
