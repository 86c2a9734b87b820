"""Acceptance pages: run a community's acceptance (police), watch its progress, read every
device's checks, confirm or reject reference frames, discovery, certificate and punch list.

Scoping: runs and references are found through communities_for / device_clause, so a
contractor sees the runs of its own communities and only its own devices' results; only
police start runs, decide references, run discovery and export the punch list.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import (Blueprint, Flask, Response, abort, current_app, flash, redirect,
                   render_template, request, send_file, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from supervisor.acceptance.models import AcceptanceResult, AcceptanceRun, ReferenceCandidate
from supervisor.core.extensions import db
from supervisor.core.scoping import communities_for, device_clause
from supervisor.inventory.models import Community, Device
from supervisor.web.guards import operators_only, police_only

bp = Blueprint("acceptance", __name__, url_prefix="/acceptance")

CHECK_LABELS = {
    "reach": _l("Reachable"), "onvif": _l("ONVIF calls"), "identity": _l("Identity"),
    "credentials": _l("No default password"), "stream": _l("Video stream"), "clock": _l("Clock"),
    "ntp": _l("NTP"), "image": _l("Image diagnosis"), "ptz": _l("PTZ"),
    "switch": _l("Switch ports and PoE"), "recording": _l("Recording and retention"),
    "speaker": _l("Paired speaker"),
}
# Measured/required values that are whole fixed phrases (checks.py) are shown translated;
# values with figures in them stay as measured (they are also the CLI/JSON contract).
CHECK_PHRASES = {
    "all answered": _l("all answered"),
    "NTP": _l("NTP"),
    "manual (no NTP)": _l("manual (no NTP)"),
    "date/time type not reported": _l("date/time type not reported"),
    "device time not reported": _l("device time not reported"),
    "no media profile": _l("no media profile"),
    "no ONVIF port in the inventory": _l("no ONVIF port in the inventory"),
    "not measured: ONVIF failed": _l("not measured: ONVIF failed"),
    "not measured: device not reachable": _l("not measured: device not reachable"),
    "no speaker paired in the inventory": _l("no speaker paired in the inventory"),
    "not a fire-lane camera": _l("not a fire-lane camera"),
    "fixed camera (no PTZ service)": _l("fixed camera (no PTZ service)"),
    "no recordings reported (Profile G)": _l("no recordings reported (Profile G)"),
    "nothing to compare": _l("nothing to compare"),
    "no requirement in the profile": _l("no requirement in the profile"),
    "answers": _l("answers"),
    "NTP configured": _l("NTP configured"),
    "no factory-default login accepted": _l("no factory-default login accepted"),
    "vendor, model, serial and MAC as in the inventory":
        _l("vendor, model, serial and MAC as in the inventory"),
    "moves and returns": _l("moves and returns"),
    "paired speaker answers": _l("paired speaker answers"),
    "SNMP answers; every powered device's port up, PoE delivering":
        _l("SNMP answers; every powered device's port up, PoE delivering"),
}
VERDICT_LABELS = {"pass": _l("pass"), "fail": _l("fail"), "n/a": _l("n/a"),
                  "running": _l("running"), "done": _l("done"), "failed": _l("failed"),
                  "candidate": _l("candidate"), "confirmed": _l("confirmed"),
                  "rejected": _l("rejected"), "superseded": _l("superseded")}


def _community_or_404(community_id: int) -> Community:
    c = db.session.scalar(communities_for(current_user).where(Community.id == community_id))
    if c is None:
        abort(404)
    return c


def _run_or_404(run_id: int) -> AcceptanceRun:
    run = db.session.get(AcceptanceRun, run_id)
    if run is None:
        abort(404)
    _community_or_404(run.community_id)
    return run


def _visible_results(run: AcceptanceRun) -> list[AcceptanceResult]:
    return list(db.session.scalars(
        sa.select(AcceptanceResult).join(Device, Device.id == AcceptanceResult.device_id)
        .where(AcceptanceResult.run_id == run.id, device_clause(current_user))
        .order_by(AcceptanceResult.id)))


# ---------------------------------------------------------------- running

def _work(app: Flask, run_id: int, community_id: int, serials: list[str] | None,
          actor: str) -> None:
    from supervisor.acceptance.run import run_acceptance
    with app.app_context():
        try:
            run = db.session.get(AcceptanceRun, run_id)
            community = db.session.get(Community, community_id)
            run_acceptance(db.session, community, actor=actor, serials=serials, run=run,
                           evidence_dir=app.config["EVIDENCE_DIR"])
        except Exception:  # recorded on the run by run_acceptance
            current_app.logger.exception("acceptance run %s failed", run_id)
        finally:
            db.session.remove()


@bp.post("/community/<int:community_id>/run")
@police_only
def start(community_id: int):
    from supervisor.acceptance.run import (AcceptanceError, community_profile, select_devices,
                                           start_run)
    from supervisor.core.clock import now
    community = _community_or_404(community_id)
    raw = (request.form.get("devices") or "").strip()
    serials = [s for s in raw.replace("\n", ",").split(",") if s.strip()] or None
    try:
        chosen, _all = select_devices(db.session, community, serials)
        profile = community_profile(db.session, community)
    except (AcceptanceError, ValueError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("communities.detail", community_id=community.id))
    if not chosen:
        flash(_("This community has no device to accept."), "error")
        return redirect(url_for("communities.detail", community_id=community.id))
    run = start_run(db.session, community, current_user.username, profile, len(chosen), now())
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    t = threading.Thread(target=_work, name=f"acceptance-{run.id}", daemon=True,
                         args=(app, run.id, community.id, serials, current_user.username))
    app.extensions.setdefault("acceptance_threads", {})[run.id] = t
    t.start()
    return redirect(url_for("acceptance.run_page", run_id=run.id))


@bp.get("/runs/<int:run_id>")
@operators_only
def run_page(run_id: int):
    run = _run_or_404(run_id)
    community = db.session.get(Community, run.community_id)
    results = _visible_results(run)
    names = dict(db.session.execute(sa.select(Device.id, Device.name).where(
        Device.id.in_([r.device_id for r in results]))).all()) if results else {}
    from supervisor.acceptance.punchlist import tickets_available
    return render_template("acceptance/run.html", run=run, community=community,
                           results=results, names=names, check_labels=CHECK_LABELS,
                           tickets=tickets_available(),
                           refresh=2 if run.status == "running" else None)


@bp.get("/community/<int:community_id>/runs")
@operators_only
def runs(community_id: int):
    community = _community_or_404(community_id)
    items = db.session.scalars(sa.select(AcceptanceRun).where(
        AcceptanceRun.community_id == community.id).order_by(AcceptanceRun.id.desc())).all()
    return render_template("acceptance/runs.html", community=community, runs=items)


# ---------------------------------------------------------------- references

def _candidate_or_404(candidate_id: int) -> ReferenceCandidate:
    cand = db.session.scalar(sa.select(ReferenceCandidate)
                             .join(Device, Device.id == ReferenceCandidate.device_id)
                             .where(ReferenceCandidate.id == candidate_id,
                                    device_clause(current_user)))
    if cand is None:
        abort(404)
    return cand


@bp.get("/references/<int:candidate_id>.jpg")
@operators_only
def reference_image(candidate_id: int):
    return _send_evidence(_candidate_or_404(candidate_id).path)


@bp.get("/results/<int:result_id>.jpg")
@operators_only
def result_image(result_id: int):
    """The frame a run took of a camera (scoped like the device)."""
    res = db.session.scalar(sa.select(AcceptanceResult)
                            .join(Device, Device.id == AcceptanceResult.device_id)
                            .where(AcceptanceResult.id == result_id, device_clause(current_user)))
    if res is None or not res.frame_path:
        abort(404)
    return _send_evidence(res.frame_path)


def _send_evidence(rel: str):
    """A JPEG under EVIDENCE_DIR (never outside it)."""
    root = Path(current_app.config["EVIDENCE_DIR"]).resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.exists():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=3600)


@bp.get("/community/<int:community_id>/references")
@operators_only
def references(community_id: int):
    community = _community_or_404(community_id)
    rows = db.session.execute(
        sa.select(ReferenceCandidate, Device).join(Device, Device.id == ReferenceCandidate.device_id)
        .where(Device.community_id == community.id, device_clause(current_user))
        .order_by(Device.serial, ReferenceCandidate.id.desc())).all()
    return render_template("acceptance/references.html", community=community, rows=rows)


@bp.post("/references/<int:candidate_id>/<any(confirm, reject):decision>")
@police_only
def decide(candidate_id: int, decision: str):
    from supervisor.acceptance.references import ReferenceError, confirm, reject
    cand = _candidate_or_404(candidate_id)
    device = db.session.get(Device, cand.device_id)
    try:
        if decision == "confirm":
            confirm(db.session, cand, current_app.config["EVIDENCE_DIR"], current_user)
            flash(_("Reference confirmed for %(name)s.", name=device.name), "ok")
        else:
            reject(db.session, cand, current_user)
            flash(_("Reference rejected for %(name)s.", name=device.name), "ok")
    except ReferenceError as exc:
        flash(str(exc), "error")
    return redirect(url_for("acceptance.references", community_id=device.community_id))


# ---------------------------------------------------------------- discovery

@bp.post("/community/<int:community_id>/discover")
@police_only
def discover(community_id: int):
    from supervisor.acceptance.discovery import DiscoveryError, discover as run_discovery
    community = _community_or_404(community_id)
    cidr = (request.form.get("range") or "").strip() or None
    settings = current_app.extensions["settings"]
    try:
        report = run_discovery(db.session, community=community, cidr=cidr,
                               port=settings.WSDISCOVERY_PORT,
                               timeout=settings.WSDISCOVERY_TIMEOUT_S)
    except DiscoveryError as exc:
        flash(str(exc), "error")
        return redirect(url_for("communities.detail", community_id=community.id))
    from supervisor.inventory.models import Contract
    contracts = db.session.scalars(sa.select(Contract.code).order_by(Contract.code)).all()
    return render_template("acceptance/discovery.html", community=community, report=report,
                           cidr=cidr, contracts=contracts)


@bp.post("/community/<int:community_id>/discover/add")
@police_only
def discover_add(community_id: int):
    from supervisor.acceptance.discovery import ADD_COLUMNS, add_found
    from supervisor.inventory.models import Contract
    community = _community_or_404(community_id)
    fields = {k: request.form.get(k, "") for k in ADD_COLUMNS}
    added, problems = add_found(community, fields, current_user)
    if added:
        flash(_("Added %(serial)s to the inventory.", serial=fields["serial"].strip()), "ok")
        return redirect(url_for("communities.detail", community_id=community.id))
    contracts = db.session.scalars(sa.select(Contract.code).order_by(Contract.code)).all()
    fields.pop("password", None)             # a secret is never written back into a page
    return render_template("acceptance/add_found.html", community=community, fields=fields,
                           problems=problems, contracts=contracts), 400


# ---------------------------------------------------------------- certificate, punch list

@bp.get("/runs/<int:run_id>/certificate.pdf")
@operators_only
def certificate(run_id: int):
    from supervisor.acceptance.certificate import ensure_certificate
    run = _run_or_404(run_id)
    if run.status != "done":
        abort(404)
    # The certificate lists every device of the run: a contractor whose scope does not cover
    # all of them (a community shared with another contract) may not download it.
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AcceptanceResult)
                              .where(AcceptanceResult.run_id == run.id))
    if len(_visible_results(run)) != total:
        abort(404)
    path, sha = ensure_certificate(db.session, run, current_app.config["EVIDENCE_DIR"])
    resp = send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=f"acceptance-{run.id}.pdf")
    resp.headers["X-Content-SHA256"] = sha
    return resp


@bp.get("/runs/<int:run_id>/punchlist.csv")
@police_only
def punchlist(run_id: int):
    from supervisor.acceptance.punchlist import punch_list_csv
    run = _run_or_404(run_id)
    data = punch_list_csv(db.session, run)
    return Response(data, mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=punchlist-{run.id}.csv"})


@bp.post("/runs/<int:run_id>/tickets")
@police_only
def punch_tickets(run_id: int):
    from supervisor.acceptance.punchlist import PunchListError, open_tickets
    from supervisor.core.clock import now
    run = _run_or_404(run_id)
    try:
        out = open_tickets(db.session, run, now(), current_user)
    except PunchListError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(n)s tickets opened, %(m)s devices skipped (a ticket is already open).",
                n=len(out["opened"]), m=len(out["skipped"])), "ok")
    return redirect(url_for("acceptance.run_page", run_id=run.id))


# ---------------------------------------------------------------- community page panel

def community_panel(community: Any) -> dict[str, Any]:
    """What the community page shows: the latest run and coverage, candidates to decide."""
    from supervisor.acceptance.models import CoverageSnapshot
    latest = db.session.scalars(sa.select(AcceptanceRun).where(
        AcceptanceRun.community_id == community.id).order_by(AcceptanceRun.id.desc()).limit(1)).first()
    snap = db.session.scalars(sa.select(CoverageSnapshot).where(
        CoverageSnapshot.community_id == community.id).order_by(CoverageSnapshot.at.desc(),
                                                               CoverageSnapshot.id.desc()).limit(1)).first()
    pending = db.session.scalar(
        sa.select(sa.func.count()).select_from(ReferenceCandidate)
        .join(Device, Device.id == ReferenceCandidate.device_id)
        .where(Device.community_id == community.id, ReferenceCandidate.status == "candidate",
               device_clause(current_user))) or 0
    return {"latest": latest, "coverage": snap, "pending": pending}


def init_app(app: Flask) -> None:
    from supervisor.core import localtime
    app.register_blueprint(bp)
    app.jinja_env.globals.setdefault("local_time", localtime.fmt_local)
    app.jinja_env.globals.update(acceptance_panel=community_panel,
                                 acceptance_check_label=lambda c: str(CHECK_LABELS.get(c, c)),
                                 acceptance_verdict=lambda v: str(VERDICT_LABELS.get(v, v)),
                                 acceptance_text=lambda t: str(CHECK_PHRASES.get(t, t)))
