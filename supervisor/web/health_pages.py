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

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
)
from flask_login import current_user

from supervisor.core import clock
from supervisor.core.choices import IMAGE_FAULTS
from supervisor.core.extensions import db
from supervisor.core.scoping import devices_for
from supervisor.health import queries
from supervisor.sweeps import queries as sweep_queries
from supervisor.health.models import DeviceStatus, EvidenceFrame
from supervisor.inventory import queries as device_query
from supervisor.inventory.models import Community, Device
from supervisor.web import links, timeline
from supervisor.web.guards import operators_only, police_only
from supervisor.web.helpers import invalid_filters, scoped_device_or_404
from supervisor.core.ids import parse_id

bp = Blueprint("health", __name__, url_prefix="/health")

FAULT_LIMIT = 1000  # rows shown; the count above the table is exact
TIMELINE_LIMIT = 3000  # intervals drawn per device page




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
    figure = timeline.figure(intervals, since, until, now, words=_words())
    events = queries.events_since(db.session, device.id, since)
    frame = queries.latest_frame(db.session, device.id)
    status = db.session.get(DeviceStatus, device.id)
    return render_template(
        "health/device.html", device=device, status=status, span=span, spans=timeline.SPANS,
        since=since, until=until, figure_json=json.dumps(figure), intervals=intervals[::-1],
        shares=timeline.shares(intervals, since, until, now), events=events, frame=frame,
        diagnosis=timeline.diagnosis_rows(frame.diagnosis if frame else None), now=now,
        truncated=truncated, limit=TIMELINE_LIMIT)


# ---------------------------------------------------------------- probe now

PROBE_NOW_TIERS = ("full", "frame")  # the frame tier only for cameras


def probe_now_tiers(kind: str) -> tuple[str, ...]:
    return PROBE_NOW_TIERS if kind == "camera" else ("full",)


def _latest_observation(status: DeviceStatus | None) -> tuple[str, str | None, list]:
    """What the last probe saw: the candidate when one is pending, else the confirmed state."""
    if status is None:
        return "unknown", None, []
    if status.candidate_state and status.candidate_count:
        return status.candidate_state, status.candidate_cause, list(status.candidate_reasons or [])
    return status.state, status.cause, list(status.reasons or [])


def probe_device(device: Any, tiers: tuple[str, ...] | None = None) -> str:
    """Probes one device now through the sweep pipeline (judged and stored like any sweep)
    and says, in the page's language, what each probe saw."""
    from flask_babel import gettext

    from supervisor.sweeps.pipeline import run_sweep
    from supervisor.web import vocabulary as v

    serial, device_id = device.serial, device.id
    lines = []
    for tier in tiers or probe_now_tiers(device.kind):
        try:
            summary = run_sweep(tier, serials=[serial], trigger="page", settings=current_app.extensions["settings"])
        except Exception as exc:  # a probe failure is a result; a crash here must not 500
            current_app.logger.exception("probe now of %s (%s) failed", serial, tier)
            db.session.rollback()
            lines.append(gettext("%(tier)s: the probe could not run (%(error)s)",
                                 tier=v.term(tier, "tier"), error=type(exc).__name__))
            continue
        db.session.expire_all()
        state, cause, reasons = _latest_observation(db.session.get(DeviceStatus, device_id))
        said = str(v.term(state, "state"))
        if cause:
            said += " · " + str(v.term(cause, "cause"))
        shown = [r for r in reasons if not (isinstance(r, dict) and r.get("carried"))][:4]
        detail = v.reasons_text(shown)
        lines.append(gettext("%(tier)s: %(state)s in %(seconds)s s", tier=v.term(tier, "tier"),
                             state=said, seconds=f"{summary.duration_s:.1f}")
                     + (f" — {detail}" if detail else ""))
    return "; ".join(lines)


@bp.post("/devices/<int:device_id>/probe")
@operators_only
def probe_now(device_id: int):
    """Probe now (police; a contractor on its own devices): a full probe, and a frame probe
    for a camera, of this one device; the result is shown on the next page."""
    from flask import flash, redirect, url_for
    from flask_babel import gettext

    from supervisor.core import audit

    device = scoped_device_or_404(device_id)  # the CSRF token is checked app-wide (CSRFProtect)
    audit.record(current_user, "probe", "device", device.serial)
    db.session.commit()
    flash(gettext("Probed now: %(result)s", result=probe_device(device)))
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("devices.detail", device_id=device_id)
    return redirect(target)


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

# Column sort of the faults table (then oldest first, as by default).
FAULT_SORT = {"device": Device.name, "kind": Device.kind, "community": Community.name,
              "district": Community.district, "state": DeviceStatus.state,
              "cause": DeviceStatus.cause, "since": DeviceStatus.since}


@bp.get("/faults")
@operators_only
def faults():
    filters = queries.FaultFilters(request.args)
    stmt = queries.faults_query(devices_for(current_user), filters)
    total = queries.count_rows(db.session, stmt)
    invalid = invalid_filters(request.args, filters,
                              ("community", "contract", "kind", "state", "fault"))
    sort = request.args.get("sort") or ""
    if sort and sort.lstrip("-") not in FAULT_SORT:
        invalid.append(("sort", sort[:60]))
        sort = ""
    ordered = stmt
    if sort:
        column = FAULT_SORT[sort.lstrip("-")]
        ordered = stmt.order_by(column.desc() if sort.startswith("-") else column.asc())
    rows = queries.fault_rows(db.session, ordered, FAULT_LIMIT)
    links.prime([st.reasons for _d, st, _c in rows])
    by_state = queries.count_by(db.session, stmt, "state")
    by_cause = queries.count_by(db.session, stmt, "cause")
    return render_template(
        "health/faults.html", rows=rows, total=total, limit=FAULT_LIMIT, filters=filters,
        by_state=by_state, by_cause=by_cause, faults=IMAGE_FAULTS, now=clock.now(),
        invalid=invalid, sort=sort, **device_query.filter_options(db.session, current_user))


@bp.get("/faults.csv")
@operators_only
def faults_export():
    """The filtered faults as CSV in the page's language (headers, states, causes, findings as
    sentences, times in the reporting zone); the file is named by cause and local date."""
    import csv
    import io

    from flask_babel import gettext

    from supervisor.core import localtime
    from supervisor.web import vocabulary as v
    from supervisor.web.helpers import download_name, spreadsheet_safe

    filters = queries.FaultFilters(request.args)
    stmt = queries.faults_query(devices_for(current_user), filters)
    rows = queries.fault_rows(db.session, stmt, 100_000)
    links.prime([st.reasons for _d, st, _c in rows])
    now = clock.now()
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    writer = csv.writer(out)
    writer.writerow([gettext("Device"), gettext("Serial"), gettext("Kind"), gettext("Role"),
                     gettext("Community"), gettext("District"), gettext("State"),
                     gettext("flapping"), gettext("Cause"),
                     gettext("Since") + f" ({localtime.zone_name()})", gettext("For"),
                     gettext("Reasons")])
    for d, st, c in rows:
        writer.writerow([spreadsheet_safe(x) for x in (
            d.name, d.serial, v.term(d.kind, "kind"), v.term(d.role, "role") if d.role else "",
            c.name, c.district, v.term(st.state, "state"),
            gettext("yes") if st.flapping else "", v.term(st.cause, "cause") if st.cause else "",
            localtime.fmt_local(st.since, seconds=True),
            v.duration((now - st.since).total_seconds()) if st.since else "",
            v.reasons_text(links.scoped_reasons(st.reasons)))])
    name = download_name(gettext("faults"), v.term(filters.cause, "cause") if filters.cause
                         else None, "csv", now)
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": name})


# ---------------------------------------------------------------- sweep status

def _tier_intervals() -> dict[str, float]:
    """Each tier's interval from the scheduler's profile (empty if it can't be loaded)."""
    try:
        from supervisor.sweeps.scheduler import tiers_from_config

        return {t.name: t.interval_s for t in tiers_from_config(current_app.config)}
    except Exception:  # a broken profile must not take the status page down
        return {}


def _sweep_status() -> dict[str, Any]:
    return sweep_queries.sweep_status(db.session, clock.now(), _tier_intervals())


@bp.get("/sweeps")
@police_only
def sweeps():
    refresh = parse_id(request.args.get("refresh"))
    refresh = 10 if refresh is None else max(0, min(refresh, 3600))
    return render_template("health/sweeps.html", status=_sweep_status(), refresh=refresh,
                           now=clock.now())


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


def _words() -> timeline.Words:
    """The timeline's hover texts in the page's language."""
    from flask_babel import gettext

    from supervisor.web import vocabulary as v

    return timeline.Words(state=lambda s: str(v.term(s, "state")),
                          cause=lambda c: str(v.term(c, "cause")), reason=v.reason_text,
                          duration=v.duration, flapping=gettext("flapping"), now=gettext("now"))
