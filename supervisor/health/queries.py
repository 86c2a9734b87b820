"""What the health pages and the API read: a device's intervals, events and latest frame in a
window, and the current faults under filters.

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
from supervisor.core.ids import parse_id

FAULT_STATES = (DeviceState.DEGRADED, DeviceState.OFFLINE)




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
        self.community = parse_id(args.get("community"))
        self.contract = parse_id(args.get("contract"))
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
