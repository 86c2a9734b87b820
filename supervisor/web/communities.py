"""Communities: a list (district filter, text search, paged) and a detail page with its devices."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from supervisor.web.guards import operators_only
from supervisor.core.extensions import db
from supervisor.inventory.models import Community, Device
from supervisor.health.models import DeviceStatus
from supervisor.core.scoping import communities_for, device_clause
from supervisor.inventory import queries as device_query

bp = Blueprint("communities", __name__, url_prefix="/communities")
PAGE_SIZE = 100


@bp.get("/")
@operators_only
def index():
    district = (request.args.get("district") or "").strip()[:100] or None
    q = (request.args.get("q") or "").strip()[:200] or None
    page = max(1, min(device_query._int(request.args.get("page")) or 1, 10_000))
    stmt = communities_for(current_user)
    if district:
        stmt = stmt.where(Community.district == district)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Community.name.ilike(pattern, escape="\\"),
                              Community.street.ilike(pattern, escape="\\"),
                              Community.address.ilike(pattern, escape="\\")))
    total = db.session.scalar(stmt.with_only_columns(func.count(Community.id)).order_by(None)) or 0
    communities = db.session.scalars(
        stmt.order_by(Community.district, Community.name)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    # Device counts in the user's scope (a contractor counts only its own devices).
    ids = [c.id for c in communities]
    counts: dict[int, int] = {}
    by_state: dict[int, dict[str, int]] = {}
    if ids:
        rows = db.session.execute(
            select(Device.community_id, DeviceStatus.state, func.count(Device.id))
            .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
            .where(Device.community_id.in_(ids), device_clause(current_user))
            .group_by(Device.community_id, DeviceStatus.state)).all()
        for community_id, state, n in rows:
            counts[community_id] = counts.get(community_id, 0) + n
            by_state.setdefault(community_id, {})[state or "unknown"] = n
    districts = db.session.scalars(
        communities_for(current_user).with_only_columns(Community.district)
        .distinct().order_by(Community.district)).all()
    return render_template("communities/list.html", communities=communities, counts=counts,
                           by_state=by_state,
                           total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           districts=districts, district=district, q=q)


@bp.get("/<int:community_id>")
@operators_only
def detail(community_id: int):
    community = db.session.scalar(communities_for(current_user).where(Community.id == community_id))
    if community is None:
        abort(404)
    filters = device_query.DeviceFilters.from_args(request.args)
    filters.community = community.id
    result = device_query.page(current_user, filters,
                               after=device_query._int(request.args.get("after")),
                               before=device_query._int(request.args.get("before")),
                               size=device_query._int(request.args.get("size")) or device_query.DEFAULT_PAGE_SIZE)
    return render_template("communities/detail.html", community=community, page=result,
                           filters=filters)
