"""Health pages: a device's timeline and latest frame, the city's current faults, sweeps.

- /health/devices/<id>?span=day|week|month — the device's states as a plotly timeline
  (reasons on hover), its intervals and state changes in the window, its latest frame
  with the diagnosis beside it. Operators only, scoped (another tenant's device: 404).
- /health/faults — every device now `degraded` or `offline` (or flapping), filtered by
  district, community, kind, state, cause, image fault and contract; scoped.
- /health/sweeps (+ .json) — live sweep status: the last run of each tier, its duration,
  devices per second and failures by reason, and the recent runs. Police only: sweeps
  cover every tenant's devices.

Times are stored and shown in UTC. Device queries start in supervisor/scoping.py.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from flask import (Blueprint, Response, abort, current_app, jsonify, render_template, request,
                   send_file)
from flask_login import current_user
from sqlalchemy import String, cast, func, or_, select

from ..auth import operators_only, police_only
from ..choices import IMAGE_FAULTS, DeviceKind, DeviceState
from ..extensions import db
from ..health_models import DeviceStatus, EvidenceFrame, StateEvent, StateInterval, SweepRun
from ..models import Community, Contract, Device
from ..scoping import communities_for, contracts_for, devices_for
from . import timeline
from .helpers import scoped_device_or_404

bp = Blueprint("health", __name__, url_prefix="/health")
bp.add_app_template_global(timeline.duration_text, "duration_text")
bp.add_app_template_global(timeline.describe_reason, "describe_reason")

FAULT_STATES = (DeviceState.DEGRADED, DeviceState.OFFLINE)
FAULT_LIMIT = 1000  # rows shown; the count above the table is exact
TIMELINE_LIMIT = 3000  # intervals drawn per device page


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- device timeline

@bp.get("/devices/<int:device_id>")
@operators_only
def device(device_id: int):
    device = scoped_device_or_404(device_id)
    span = request.args.get("span", "day")
    if span not in timeline.SPANS:
        span = "day"
    now = _now()
    since, until = timeline.window(span, now)
    rows = db.session.scalars(
        select(StateInterval).where(
            StateInterval.device_id == device.id, StateInterval.start_at < until,
            or_(StateInterval.end_at.is_(None), StateInterval.end_at > since))
        .order_by(StateInterval.start_at.desc()).limit(TIMELINE_LIMIT + 1)).all()[::-1]
    truncated = len(rows) > TIMELINE_LIMIT
    rows = rows[-TIMELINE_LIMIT:]  # a flapping device: the newest intervals, page stays light
    intervals = [timeline.Interval(r.state, r.cause, r.reasons or [], r.flapping, r.start_at,
                                   r.end_at) for r in rows]
    figure = timeline.figure(intervals, since, until, now, labels=_state_labels())
    events = db.session.scalars(
        select(StateEvent).where(StateEvent.device_id == device.id, StateEvent.at >= since)
        .order_by(StateEvent.at.desc()).limit(100)).all()
    frame = db.session.scalar(
        select(EvidenceFrame).where(EvidenceFrame.device_id == device.id,
                                    EvidenceFrame.kind == "latest")
        .order_by(EvidenceFrame.taken_at.desc()).limit(1))
    status = db.session.get(DeviceStatus, device.id)
    return render_template(
        "health/device.html", device=device, status=status, span=span, spans=timeline.SPANS,
        since=since, until=until, figure_json=json.dumps(figure), intervals=intervals[::-1],
        totals=timeline.totals(intervals, since, until, now), events=events, frame=frame,
        diagnosis=timeline.diagnosis_rows(frame.diagnosis if frame else None), now=now,
        truncated=truncated, limit=TIMELINE_LIMIT)


@bp.get("/frames/<int:frame_id>.jpg")
@operators_only
def frame_image(frame_id: int):
    frame = db.session.get(EvidenceFrame, frame_id)
    if frame is None:
        abort(404)
    scoped_device_or_404(frame.device_id)  # 404 for another tenant's frame
    root = Path(current_app.config["EVIDENCE_DIR"]).resolve()
    path = (root / frame.path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- current faults

class FaultFilters:
    """The faults page's query string, validated: unknown values are dropped, not errors."""

    def __init__(self, args: Any):
        self.district = (args.get("district") or "").strip()[:100] or None
        self.community = _int(args.get("community"))
        self.contract = _int(args.get("contract"))
        self.kind = args.get("kind") if args.get("kind") in DeviceKind.values() else None
        self.state = args.get("state") if args.get("state") in FAULT_STATES + ("flapping",) else None
        self.fault = args.get("fault") if args.get("fault") in IMAGE_FAULTS else None
        self.cause = (args.get("cause") or "").strip()[:40] or None

    def apply(self, stmt):
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


def _fault_base():
    scoped = devices_for(current_user).subquery()
    return (select(Device, DeviceStatus, Community)
            .join(scoped, scoped.c.id == Device.id)
            .join(DeviceStatus, DeviceStatus.device_id == Device.id)
            .join(Community, Community.id == Device.community_id)
            .where(or_(DeviceStatus.state.in_(FAULT_STATES), DeviceStatus.flapping.is_(True))))


@bp.get("/faults")
@operators_only
def faults():
    filters = FaultFilters(request.args)
    stmt = filters.apply(_fault_base())
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.order_by(DeviceStatus.since, Device.id).limit(FAULT_LIMIT)).all()
    by_state = _count_by(stmt, "state")
    by_cause = _count_by(stmt, "cause")
    communities = db.session.execute(
        communities_for(current_user).with_only_columns(Community.id, Community.name, Community.district)
        .order_by(Community.district, Community.name)).all()
    contracts = db.session.execute(
        contracts_for(current_user).with_only_columns(Contract.id, Contract.code)
        .order_by(Contract.code)).all()
    return render_template(
        "health/faults.html", rows=rows, total=total, limit=FAULT_LIMIT, filters=filters,
        by_state=by_state, by_cause=by_cause, communities=communities, contracts=contracts,
        districts=sorted({c.district for c in communities}), faults=IMAGE_FAULTS, now=_now())


def _count_by(stmt, column: str) -> list[tuple[Any, int]]:
    sub = stmt.with_only_columns(getattr(DeviceStatus, column).label("k")).subquery()
    return [tuple(r) for r in db.session.execute(
        select(sub.c.k, func.count()).group_by(sub.c.k).order_by(func.count().desc())).all()]


# ---------------------------------------------------------------- sweep status

def sweep_status(now: dt.datetime, recent: int = 30) -> dict[str, Any]:
    """The last run of each tier and the most recent runs, as plain data (page + JSON)."""
    runs = db.session.scalars(select(SweepRun).order_by(SweepRun.started_at.desc(),
                                                        SweepRun.id.desc()).limit(recent)).all()
    last_ids = select(func.max(SweepRun.id)).group_by(SweepRun.tier)
    last = db.session.scalars(select(SweepRun).where(SweepRun.id.in_(last_ids))
                              .order_by(SweepRun.tier)).all()
    intervals = _tier_intervals()
    tiers = []
    for run in last:
        row = _run_dict(run, now)
        row["interval"] = _interval_totals(run.tier, intervals.get(run.tier), now)
        tiers.append(row)
    return {"now": now.isoformat(), "tiers": tiers, "recent": [_run_dict(r, now) for r in runs]}


def _tier_intervals() -> dict[str, float]:
    """Each tier's interval from the scheduler's profile (empty if it can't be loaded)."""
    try:
        from ..scheduling import tiers_from_config

        return {t.name: t.interval_s for t in tiers_from_config(current_app.config)}
    except Exception:  # a broken profile must not take the status page down
        return {}


def _interval_totals(tier: str, interval_s: float | None, now: dt.datetime) -> dict[str, Any] | None:
    """The scheduler sweeps a tier in slices over its interval (one sweep_runs row each):
    sum the runs that started within the last interval, so the page shows a whole cycle."""
    if not interval_s:
        return None
    since = now - dt.timedelta(seconds=interval_s)
    rows = db.session.scalars(select(SweepRun).where(SweepRun.tier == tier,
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


def _run_dict(run: SweepRun, now: dt.datetime) -> dict[str, Any]:
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


@bp.get("/sweeps")
@police_only
def sweeps():
    refresh = _int(request.args.get("refresh"))
    refresh = 10 if refresh is None else max(0, min(refresh, 3600))
    return render_template("health/sweeps.html", status=sweep_status(_now()), refresh=refresh)


@bp.get("/sweeps.json")
@police_only
def sweeps_json():
    return jsonify(sweep_status(_now()))


# ---------------------------------------------------------------- plotly.js, served locally

_PLOTLY_JS: bytes | None = None


@bp.get("/plotly.min.js")
def plotly_js():
    """plotly.js from the installed plotly package: pages never load scripts from the web."""
    global _PLOTLY_JS
    if _PLOTLY_JS is None:
        from plotly.offline import get_plotlyjs

        _PLOTLY_JS = get_plotlyjs().encode("utf-8")
    response = Response(_PLOTLY_JS, mimetype="application/javascript")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def _state_labels() -> dict[str, str]:
    from .helpers import label

    return {s: str(label(s)) for s in DeviceState.values()}
