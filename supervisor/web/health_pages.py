"""Health pages: a device's timeline and latest frame, the city's current faults, sweeps.

- /health/devices/<id>?span=day|week|month — the device's states as a plotly timeline
  (reasons on hover), its intervals and state changes in the window, its latest frame
  with the diagnosis beside it. Operators only, scoped (another tenant's device: 404).
- /health/faults — every device now `degraded` or `offline` (or flapping), filtered by
  district, community, kind, state, cause, image fault and contract; scoped.
- /health/sweeps (+ .json) — live sweep status: the last run of each tier, its duration,
  devices per second and failures by reason, and the recent runs. Police only: sweeps
  cover every tenant's devices.

Routes stay thin: the queries are supervisor/health/queries.py's, scoped by
supervisor/core/scoping.py.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import (Blueprint, Response, abort, current_app, jsonify, render_template, request,
                   send_file)
from flask_login import current_user

from supervisor.web.guards import operators_only, police_only
from supervisor.core import clock
from supervisor.core.choices import IMAGE_FAULTS, DeviceState
from supervisor.core.extensions import db
from supervisor.health import queries
from supervisor.inventory import queries as device_query
from supervisor.health.models import DeviceStatus, EvidenceFrame
from supervisor.core.scoping import devices_for
from supervisor.web import links, timeline
from supervisor.web.helpers import scoped_device_or_404

bp = Blueprint("health", __name__, url_prefix="/health")
bp.add_app_template_global(timeline.duration_text, "duration_text")
bp.add_app_template_global(timeline.describe_reason, "describe_reason")

FAULT_LIMIT = 1000  # rows shown; the count above the table is exact
TIMELINE_LIMIT = 3000  # intervals drawn per device page


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
    now = clock.now()
    since, until = timeline.window(span, now)
    rows, truncated = queries.intervals_in_window(db.session, device.id, since, until,
                                                  TIMELINE_LIMIT)
    links.prime([r.reasons for r in rows])
    intervals = [timeline.Interval(r.state, r.cause, links.scoped_reasons(r.reasons), r.flapping,
                                   r.start_at, r.end_at) for r in rows]
    figure = timeline.figure(intervals, since, until, now, labels=_state_labels())
    events = queries.events_since(db.session, device.id, since)
    frame = queries.latest_frame(db.session, device.id)
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

@bp.get("/faults")
@operators_only
def faults():
    filters = queries.FaultFilters(request.args)
    stmt = queries.faults_query(devices_for(current_user), filters)
    total = queries.count_rows(db.session, stmt)
    rows = queries.fault_rows(db.session, stmt, FAULT_LIMIT)
    links.prime([st.reasons for _d, st, _c in rows])
    by_state = queries.count_by(db.session, stmt, "state")
    by_cause = queries.count_by(db.session, stmt, "cause")
    return render_template(
        "health/faults.html", rows=rows, total=total, limit=FAULT_LIMIT, filters=filters,
        by_state=by_state, by_cause=by_cause, faults=IMAGE_FAULTS, now=clock.now(),
        **device_query.filter_options(db.session, current_user))


# ---------------------------------------------------------------- sweep status

def _tier_intervals() -> dict[str, float]:
    """Each tier's interval from the scheduler's profile (empty if it can't be loaded)."""
    try:
        from supervisor.sweeps.scheduler import tiers_from_config

        return {t.name: t.interval_s for t in tiers_from_config(current_app.config)}
    except Exception:  # a broken profile must not take the status page down
        return {}


def _sweep_status() -> dict[str, Any]:
    return queries.sweep_status(db.session, clock.now(), _tier_intervals())


@bp.get("/sweeps")
@police_only
def sweeps():
    refresh = _int(request.args.get("refresh"))
    refresh = 10 if refresh is None else max(0, min(refresh, 3600))
    return render_template("health/sweeps.html", status=_sweep_status(), refresh=refresh)


@bp.get("/sweeps.json")
@police_only
def sweeps_json():
    return jsonify(_sweep_status())


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
    from supervisor.web.helpers import label

    return {s: str(label(s)) for s in DeviceState.values()}
