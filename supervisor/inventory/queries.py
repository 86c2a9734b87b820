"""The device list query shared by the list page, the JSON API and the exports.

Starts from scoping.devices_for(user) (tenant scope), adds the filters, the text search
and keyset pagination on the primary key, so page N costs the same as page 1 with 20,000
devices (no OFFSET scan). The current state comes from device_status (written by the
health engine); a device without a row there is `unknown`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, literal, or_
from sqlalchemy.orm import contains_eager

from supervisor.core.choices import CameraRole, DeviceKind, DeviceState
from supervisor.core.extensions import db
from supervisor.core.scoping import communities_for, contracts_for
from supervisor.inventory.models import Community, Contract, Device
from supervisor.health.models import DeviceStatus
from supervisor.core.scoping import devices_for

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
FILTER_KEYS = ("district", "community", "kind", "role", "state", "contract", "q")

state_expr = func.coalesce(DeviceStatus.state, literal(DeviceState.UNKNOWN))


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**62 else None


@dataclass
class DeviceFilters:
    """Parsed, validated filters; anything unrecognised is dropped, never an error page."""

    district: str | None = None
    community: int | None = None
    kind: str | None = None
    role: str | None = None
    state: str | None = None
    contract: int | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "DeviceFilters":
        def text(name: str, limit: int = 100) -> str | None:
            value = (args.get(name) or "").strip()
            return value[:limit] or None

        kind = text("kind")
        role = text("role")
        state = text("state")
        return cls(
            district=text("district"),
            community=_int(args.get("community")),
            kind=kind if kind in DeviceKind.values() else None,
            role=role if role in CameraRole.values() else None,
            state=state if state in DeviceState.values() else None,
            contract=_int(args.get("contract")),
            q=text("q", 200),
        )

    def as_args(self) -> dict[str, Any]:
        return {k: v for k in FILTER_KEYS if (v := getattr(self, k)) is not None}


def _apply(stmt: Select, filters: DeviceFilters) -> Select:
    """The filters as WHERE terms; the caller has joined Community/DeviceStatus if needed."""
    if filters.district:
        stmt = stmt.where(Community.district == filters.district)
    if filters.community is not None:
        stmt = stmt.where(Device.community_id == filters.community)
    if filters.kind:
        stmt = stmt.where(Device.kind == filters.kind)
    if filters.role:
        stmt = stmt.where(Device.role == filters.role)
    if filters.contract is not None:
        stmt = stmt.where(Device.contract_id == filters.contract)
    if filters.state:
        if filters.state == DeviceState.UNKNOWN:
            stmt = stmt.where(or_(DeviceStatus.state.is_(None), DeviceStatus.state == DeviceState.UNKNOWN))
        else:
            stmt = stmt.where(DeviceStatus.state == filters.state)
    if filters.q:
        # LIKE metacharacters in the user's text are matched literally.
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(or_(
            Device.name.ilike(pattern, escape="\\"), Device.serial.ilike(pattern, escape="\\"),
            Device.ip.ilike(pattern, escape="\\"), Community.name.ilike(pattern, escape="\\"),
            Device.model.ilike(pattern, escape="\\"), Device.mac.ilike(pattern, escape="\\"),
        ))
    return stmt


def filtered(user: Any, filters: DeviceFilters) -> Select:
    """select(Device) in the user's scope with the filters applied (no order, no limit),
    joined to its community and (outer) to its current status."""
    stmt = devices_for(user).join(Device.community)
    stmt = _join_status(stmt, filters)
    return _apply(stmt, filters)


def _join_status(stmt: Select, filters: DeviceFilters) -> Select:
    # A concrete state filter makes the status row mandatory: an inner join lets the database
    # start from the state index instead of scanning every device.
    if filters.state and filters.state != DeviceState.UNKNOWN:
        return stmt.join(DeviceStatus, DeviceStatus.device_id == Device.id)
    return stmt.outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)


def count(user: Any, filters: DeviceFilters) -> int:
    """How many devices match, joining only the tables the filters need (an unfiltered
    count is one index scan of devices)."""
    stmt = devices_for(user).with_only_columns(func.count(Device.id))
    if filters.district or filters.q:
        stmt = stmt.join(Community, Community.id == Device.community_id)
    if filters.state:
        stmt = _join_status(stmt, filters)
    return db.session.scalar(_apply(stmt, filters)) or 0


@dataclass
class Page:
    rows: list[tuple[Device, str]]  # (device, state)
    total: int
    size: int
    next_after: int | None = None
    prev_before: int | None = None
    first: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def page(user: Any, filters: DeviceFilters, *, after: int | None = None, before: int | None = None,
         size: int = DEFAULT_PAGE_SIZE) -> Page:
    """One page in id order. `after`: ids greater than it; `before`: the page ending before it."""
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    base = filtered(user, filters)
    stmt = base.add_columns(state_expr.label("state")).options(contains_eager(Device.community))
    if before is not None:
        chunk = db.session.execute(
            stmt.where(Device.id < before).order_by(Device.id.desc()).limit(size + 1)).all()
        has_more_before = len(chunk) > size
        rows = [(d, s) for d, s in reversed(chunk[:size])]
        has_next = True
        has_prev = has_more_before
    else:
        if after is not None:
            stmt = stmt.where(Device.id > after)
        chunk = db.session.execute(stmt.order_by(Device.id).limit(size + 1)).all()
        rows = [(d, s) for d, s in chunk[:size]]
        has_next = len(chunk) > size
        has_prev = after is not None and bool(rows)
    total = count(user, filters)
    return Page(
        rows=rows, total=total, size=size,
        next_after=rows[-1][0].id if rows and has_next else None,
        prev_before=rows[0][0].id if rows and has_prev else None,
        first=not has_prev,
    )


def all_rows(user: Any, filters: DeviceFilters, batch: int = 1000):
    """Every matching (device, state) in id order, fetched in keyset batches (exports)."""
    last = 0
    while True:
        chunk = db.session.execute(
            filtered(user, filters).add_columns(state_expr.label("state"))
            .options(contains_eager(Device.community))
            .where(Device.id > last).order_by(Device.id).limit(batch)).all()
        if not chunk:
            return
        for device, state in chunk:
            yield device, state
        last = chunk[-1][0].id


def filter_options(session: Any, user: Any) -> dict[str, Any]:
    """The communities, contracts and districts a user may filter by (their scope only)."""
    communities = session.execute(
        communities_for(user).with_only_columns(Community.id, Community.name, Community.district)
        .order_by(Community.district, Community.name)).all()
    contracts = session.execute(
        contracts_for(user).with_only_columns(Contract.id, Contract.code)
        .order_by(Contract.code)).all()
    return {"communities": communities, "contracts": contracts,
            "districts": sorted({c.district for c in communities})}
