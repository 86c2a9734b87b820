"""A small read-only JSON API (session login), scoped like the pages, never carrying secrets.

GET /api/v1/devices?district=&community=&kind=&role=&state=&contract=&q=&after=&size=
GET /api/v1/devices/<id>
GET /api/v1/communities
Unauthenticated: 401; officials: 403; another tenant's device: 404.
"""
from __future__ import annotations

import functools

from flask import Blueprint, abort, request
from flask_login import current_user
from sqlalchemy import func

from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.inventory.models import Community, Device
from supervisor.health.models import DeviceStatus
from supervisor.core.scoping import communities_for, devices_for
from supervisor.inventory import queries as device_query

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def api_operators(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return {"error": "login required", "code": "login_required", "status": 401}, 401
        if current_user.role not in (Role.POLICE, Role.CONTRACTOR):
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def device_json(device: Device, state: str, upstream_id: int | None = None,
                upstream_outside: bool = False) -> dict:
    """The public view of a device: credentials appear only as has_password / has_snmp_community /
    has_snmp_auth_key / has_snmp_priv_key. `upstream_id` is given only when the reader may
    see that device; otherwise `upstream_outside_scope` says a link exists, nothing more."""
    return {
        "id": device.id, "serial": device.serial, "name": device.name, "kind": device.kind,
        "role": device.role, "vendor": device.vendor, "model": device.model, "mac": device.mac,
        "ip": device.ip, "onvif_port": device.onvif_port, "snmp_port": device.snmp_port,
        "community": {"id": device.community_id, "name": device.community.name,
                      "district": device.community.district},
        "contract_id": device.contract_id, "upstream_id": upstream_id,
        "upstream_outside_scope": upstream_outside,
        "lifecycle": device.lifecycle,
        "installed_on": device.installed_on.isoformat() if device.installed_on else None,
        "accepted_on": device.accepted_on.isoformat() if device.accepted_on else None,
        "state": state,
        "has_password": bool(device.password), "has_snmp_community": bool(device.snmp_community),
        # SNMPv3: version, user and protocols are not secrets; the keys appear only as has_*.
        "snmp_version": device.snmp_version, "snmp_user": device.snmp_user,
        "snmp_auth_protocol": device.snmp_auth_protocol,
        "snmp_priv_protocol": device.snmp_priv_protocol,
        "has_snmp_auth_key": bool(device.snmp_auth_key),
        "has_snmp_priv_key": bool(device.snmp_priv_key),
    }


@bp.get("/devices")
@api_operators
def devices():
    filters = device_query.DeviceFilters.from_args(request.args)
    result = device_query.page(current_user, filters,
                               after=device_query._int(request.args.get("after")),
                               size=device_query._int(request.args.get("size")) or device_query.DEFAULT_PAGE_SIZE)
    visible = _visible_upstreams([d for d, _s in result.rows])
    return {"total": result.total, "next_after": result.next_after,
            "devices": [_json(d, s, visible) for d, s in result.rows]}


def _visible_upstreams(rows: list[Device]) -> set[int]:
    """Of the upstream ids these devices name, the ones the reader may see (one query)."""
    wanted = {d.upstream_id for d in rows if d.upstream_id is not None}
    if not wanted:
        return set()
    return set(db.session.scalars(devices_for(current_user).with_only_columns(Device.id)
                                  .where(Device.id.in_(sorted(wanted)))).all())


def _json(device: Device, state: str, visible: set[int]) -> dict:
    up = device.upstream_id
    return device_json(device, state, upstream_id=up if up in visible else None,
                       upstream_outside=up is not None and up not in visible)


@bp.get("/devices/<int:device_id>")
@api_operators
def device(device_id: int):
    row = db.session.execute(
        devices_for(current_user).add_columns(device_query.state_expr)
        .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
        .where(Device.id == device_id)).first()
    if row is None:
        abort(404)
    return _json(row[0], row[1], _visible_upstreams([row[0]]))


@bp.get("/communities")
@api_operators
def communities():
    rows = db.session.scalars(communities_for(current_user).order_by(Community.id).limit(5000)).all()
    total = db.session.scalar(communities_for(current_user).with_only_columns(func.count(Community.id)))
    return {"total": total, "communities": [
        {"id": c.id, "name": c.name, "district": c.district, "street": c.street, "type": c.type,
         "address": c.address, "latitude": c.latitude, "longitude": c.longitude} for c in rows]}
