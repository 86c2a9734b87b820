"""Ticket pages: the contractor's queue and the police's list, the ticket page (history,
clocks, devices, the device's timeline, photos), actions, opening by hand, the monthly SLA
summary per contractor, the delivery log, calendar days, a CSV export and a JSON API.

Every query starts from `tickets_for(user)`, built on supervisor/core/scoping.py's contract
rule: a contractor sees the tickets of its contracts only; a ticket of another contractor
answers 404 by list, URL, comment, attachment URL, export and API alike.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Optional

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, Select, or_, select, true

from supervisor.core import audit, clock, localtime
from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.core.scoping import contract_clause, devices_for
from supervisor.health.models import DeviceStatus, StateEvent
from supervisor.inventory.models import Community, Contract, Device
from supervisor.notifications.models import Delivery, OutboxMessage, Recipient
from supervisor.tickets import attachments, opening, service
from supervisor.tickets.models import (
    Ticket,
    TicketAttachment,
    TicketDevice,
    TicketState,
)
from supervisor.tickets.policy import SEVERITIES
from supervisor.web.api.routes import api_operators
from supervisor.web.guards import operators_only, police_only
from supervisor.core.ids import parse_id

bp = Blueprint("tickets", __name__, url_prefix="/tickets")
api_bp = Blueprint("tickets_api", __name__, url_prefix="/api/v1/tickets")

TICKET_LABELS: dict[str, Any] = {
    # "open" and "closed" also name community types (开放式/封闭式): a context keeps them apart.
    "open": lazy_pgettext("ticket state", "open"), "acknowledged": _l("acknowledged"),
    "on_hold": _l("on hold"), "verifying": _l("verifying"),
    "closed": lazy_pgettext("ticket state", "closed"),
    "critical": _l("critical"), "major": _l("major"), "minor": _l("minor"),
    "repaired": _l("repaired"), "recovered": _l("recovered without intervention"),
    "invalid": _l("closed as invalid"),
    "response": _l("response"), "repair": _l("repair"),
    "health": _l("health fault"), "manual": _l("opened by hand"),
    # fault families
    "offline": _l("offline"), "recording": _l("recording"), "clock": _l("clock drift"),
    "power": _l("PoE / power"), "access": _l("access / protocol"), "identity": _l("serial mismatch"),
    "image": _l("image fault"), "signal_loss": _l("signal loss"), "blur": _l("blur"),
    "too_dark": _l("too dark"), "too_bright": _l("too bright"), "low_contrast": _l("low contrast"),
    "color_cast": _l("colour cast"), "noise": _l("noise"), "occlusion": _l("occlusion"),
    "stripes": _l("stripes"), "frozen": _l("frozen picture"), "scene_change": _l("scene change"),
    "other": _l("other"),
    # hold reasons
    "power_company": _l("waiting for the power company"), "road_works": _l("road works"),
    "police_approval": _l("police approval pending"), "spare_parts": _l("waiting for spare parts"),
    "site_access": _l("no access to the site"),
    # events
    "opened": _l("opened"), "comment": _l("comment"), "attachment": _l("photo"),
    "hold_requested": _l("hold requested"), "hold_approved": _l("hold approved"),
    "hold_refused": _l("hold refused"), "hold_ended": _l("hold ended"),
    "repair_marked": _l("marked repaired"), "reopened": _l("reopened"), "verified": _l("verified"),
    "recovery_seen": _l("seen working again"), "breached": _l("breached"),
    "near_breach": _l("near breach"), "escalated": _l("escalated"), "reassigned": _l("reassigned"),
    "closed_invalid": _l("closed as invalid"), "severity_changed": _l("severity changed"),
    "policy_changed": _l("policy changed"), "calendar_changed": _l("calendar changed"),
    "devices_added": _l("devices added"), "evidence_added": _l("evidence added"),
    "verification_probe": _l("verification probe"),
    "root": _l("root cause"), "behind": _l("behind it"),
    "pending": _l("pending"), "sent": _l("sent"), "failed": _l("failed"),
    "email": _l("e-mail"), "webhook": _l("webhook"),
    "24x7": _l("24×7"), "working_hours": _l("working hours"),
}

ERRORS: dict[str, Any] = {
    "closed": _l("The ticket is closed."),
    "hold_reason": _l("Choose a hold reason the standard allows."),
    "hold_exists": _l("A hold is already requested or running."),
    "no_hold": _l("There is no hold to decide or end."),
    "already_acknowledged": _l("The ticket is already acknowledged."),
    "verifying": _l("The repair is being verified."),
    "reason_required": _l("A reason is required."),
    "severity": _l("Choose another severity."),
    "contract": _l("Unknown contract."),
    "already_open": _l("A ticket is already open for this device and fault."),
    "too_large": _l("The photo is too large."),
    "not_image": _l("Only JPEG, PNG or WebP photos can be attached."),
    "empty": _l("The file is empty."),
    "kind": _l("This action is not allowed."),
    "calendar": _l("The ticket already uses the calendar in effect."),
}

CONTRACTOR_KINDS = {"acknowledged", "comment", "hold_requested", "hold_ended", "repair_marked"}
POLICE_KINDS = {"comment", "hold_approved", "hold_refused", "hold_ended", "escalated",
                "reassigned", "closed_invalid", "severity_changed", "calendar_changed"}


def tlabel(value: Any) -> Any:
    if value is None or value == "":
        return "—"
    return TICKET_LABELS.get(value, value)


def _is_police() -> bool:
    return getattr(current_user, "role", None) == Role.POLICE


def ticket_clause(user: Any) -> ColumnElement[bool]:
    """Police: every ticket; a contractor: its contracts' tickets; anyone else: none."""
    if getattr(user, "role", None) == Role.POLICE and getattr(user, "is_authenticated", False):
        return true()
    return Ticket.contract_id.in_(select(Contract.id).where(contract_clause(user)))


def tickets_for(user: Any) -> Select:
    return select(Ticket).where(ticket_clause(user))


def scoped_ticket_or_404(ticket_id: int) -> Ticket:
    ticket = db.session.scalar(tickets_for(current_user).where(Ticket.id == ticket_id))
    if ticket is None:
        abort(404)
    return ticket


def _hours(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    return f"{sign}{s // 3600}:{(s % 3600) // 60:02d}"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"local_time": localtime.fmt_local, "zone_name": localtime.zone_name(),
            "tlabel": tlabel, "hours": _hours, "is_police_user": _is_police(),
            "parse_iso": _parse_iso, "ticket_title": ticket_title}


def ticket_title(ticket: Any) -> str:
    """A ticket opened from a health fault is titled "<device> · <family code>" when stored;
    shown with the family in the reader's language. A title typed by a person is shown as is."""
    suffix = f" · {ticket.family}"
    title = ticket.title or ""
    if ticket.source == "health" and title.endswith(suffix):
        return f"{title[:-len(suffix)]} · {tlabel(ticket.family)}"
    return title


def _parse_iso(value: Any) -> Optional[dt.datetime]:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


class ActionForm(FlaskForm):
    """CSRF only; the fields are read from the request and checked by the service."""


def _filters() -> dict[str, Any]:
    a = request.args
    def as_int(name: str) -> Optional[int]:
        return parse_id(a.get(name))
    return {"state": a.get("state") or "active", "severity": a.get("severity") or "",
            "contract": as_int("contract"), "community": as_int("community"),
            "overdue": a.get("overdue") == "1", "on_hold": a.get("on_hold") == "1",
            "device": (a.get("device") or "").strip()}


def _filtered(f: dict[str, Any], now: dt.datetime) -> Select:
    q = tickets_for(current_user)
    if f["state"] == "active":
        q = q.where(Ticket.state.in_(TicketState.ACTIVE))
    elif f["state"] in TicketState.ALL:
        q = q.where(Ticket.state == f["state"])
    if f["severity"] in SEVERITIES:
        q = q.where(Ticket.severity == f["severity"])
    if f["contract"]:
        q = q.where(Ticket.contract_id == f["contract"])
    if f["community"]:
        q = q.where(Ticket.community_id == f["community"])
    if f["overdue"]:
        q = q.where(or_(Ticket.breached.is_(True), Ticket.repair_due_at < now))
    if f["on_hold"]:
        q = q.where(Ticket.state == TicketState.ON_HOLD)
    if f["device"]:
        # Tickets naming the device as root or listing it behind / recorded (by serial).
        # Only devices the reader may see: another tenant's serial finds nothing.
        visible = devices_for(current_user).with_only_columns(Device.id)
        q = q.where(Ticket.id.in_(select(TicketDevice.ticket_id).join(Device, Device.id == TicketDevice.device_id)
                                  .where(Device.serial == f["device"], Device.id.in_(visible))))
    # The queue: soonest deadline first, paused (no deadline) after, then by opening.
    return q.order_by(Ticket.repair_due_at.is_(None), Ticket.repair_due_at, Ticket.opened_at)


@bp.get("/")
@operators_only
def index():
    now = clock.now()
    f = _filters()
    rows = db.session.scalars(_filtered(f, now).limit(500)).all()
    devices = {d.id: d for d in db.session.scalars(select(Device).where(
        Device.id.in_([t.device_id for t in rows])))}
    contracts = db.session.scalars(select(Contract).where(contract_clause(current_user))
                                   .order_by(Contract.code)).all()
    communities = db.session.scalars(select(Community).where(Community.id.in_(
        select(Ticket.community_id).where(ticket_clause(current_user)))).order_by(Community.name)).all()
    return render_template("tickets/list.html", rows=rows, devices=devices, f=f, now=now,
                           contracts=contracts, communities=communities, states=TicketState.ALL,
                           severities=SEVERITIES)


def _device_timeline(device_id: int, since: dt.datetime) -> list[StateEvent]:
    return db.session.scalars(select(StateEvent).where(StateEvent.device_id == device_id,
                                                       StateEvent.at >= since - dt.timedelta(days=2))
                              .order_by(StateEvent.at.desc()).limit(50)).all()


@bp.get("/<int:ticket_id>")
@operators_only
def detail(ticket_id: int):
    ticket = scoped_ticket_or_404(ticket_id)
    now = clock.now()
    tc = service.recompute(db.session, ticket, now)
    device = db.session.get(Device, ticket.device_id)
    every = db.session.execute(select(Device, TicketDevice.relation)
                               .join(TicketDevice, TicketDevice.device_id == Device.id)
                               .where(TicketDevice.ticket_id == ticket.id)
                               .order_by(TicketDevice.relation.desc(), Device.name)).all()
    # A root cause on this contract may have another contractor's devices behind it: the
    # reader sees those only as a count, never their names or serials.
    visible = set(db.session.scalars(devices_for(current_user).with_only_columns(Device.id)
                                     .where(Device.id.in_([d.id for d, _rel in every]))))
    listed = [(d, rel) for d, rel in every if d.id in visible]
    hidden = len(every) - len(listed)
    photos = db.session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
                                .order_by(TicketAttachment.id)).all()
    contract = db.session.get(Contract, ticket.contract_id) if ticket.contract_id else None
    rules = service.ticket_rules_for(device)
    status = db.session.get(DeviceStatus, device.id)
    contracts = db.session.scalars(select(Contract).order_by(Contract.code)).all() if _is_police() else []
    events = service.events_of(db.session, ticket)
    return render_template("tickets/detail.html", t=ticket, tc=tc, device=device, listed=listed,
                           hidden=hidden,
                           photos=photos, contract=contract, events=events,
                           hold_pending=service.pending_hold(events) is not None,
                           timeline=_device_timeline(device.id, ticket.opened_at), status=status,
                           hold_reasons=rules.hold_reasons, severities=SEVERITIES, form=ActionForm(),
                           contracts=contracts, now=now)


def _verification_probe(ticket: Ticket, now: dt.datetime) -> None:
    """'Mark repaired' probes the device and everything behind it at once (full tier)."""
    if current_app.config.get("TICKET_VERIFY_PROBE", "inline") == "off":
        return
    from supervisor.sweeps.pipeline import run_sweep
    serials = [s for (s,) in db.session.execute(
        select(Device.serial).join(TicketDevice, TicketDevice.device_id == Device.id)
        .where(TicketDevice.ticket_id == ticket.id))]
    db.session.commit()
    try:
        result = run_sweep("full", serials, trigger="ticket", settings=current_app.extensions["settings"])
        data = {"devices": sorted(serials), "sweep": result.sweep_id, "ok": result.ok,
                "degraded": result.degraded, "offline": result.offline}
    except Exception as exc:  # a failed probe is recorded; the next sweep verifies instead
        current_app.logger.warning("verification probe of ticket %s failed: %s", ticket.id, exc)
        data = {"devices": sorted(serials), "error": type(exc).__name__}
    ticket = db.session.get(Ticket, ticket.id)
    service.system_event(db.session, ticket, "verification_probe", clock.now(), **data)
    opening.scan(db.session, clock.now(), current_app.config.get("LOCAL_TIMEZONE", "Asia/Shanghai"),
                 current_app.config.get("EVIDENCE_DIR"))
    db.session.commit()


@bp.post("/<int:ticket_id>/act")
@operators_only
def act(ticket_id: int):
    ticket = scoped_ticket_or_404(ticket_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    kind = request.form.get("kind", "")
    allowed = POLICE_KINDS if _is_police() else CONTRACTOR_KINDS
    if kind not in allowed:
        abort(403)
    data: dict[str, Any] = {}
    text = (request.form.get("text") or "").strip()[:2000]
    if text:
        data["text"] = text
    if kind == "hold_requested":
        data["reason"] = request.form.get("reason", "")
    elif kind == "closed_invalid":
        data["reason"] = text
    elif kind == "severity_changed":
        data["severity"] = request.form.get("severity", "")
    elif kind == "reassigned":
        data["contract_id"] = parse_id(request.form.get("contract_id"))
    elif kind == "calendar_changed":
        data["tz"] = current_app.config.get("LOCAL_TIMEZONE", "Asia/Shanghai")
    elif kind == "comment" and not text:
        flash(_("Write a comment first."))
        return redirect(url_for(".detail", ticket_id=ticket.id))
    now = clock.now()
    try:
        service.act(db.session, ticket, kind, now, current_user, **data)
    except service.TicketError as exc:
        db.session.rollback()
        flash(ERRORS.get(exc.code, str(exc)))
        return redirect(url_for(".detail", ticket_id=ticket.id))
    if _is_police() and kind != "comment":
        audit.record(current_user, f"ticket.{kind}", "ticket", ticket.id, None, data)
    db.session.commit()
    if kind == "repair_marked":
        _verification_probe(ticket, now)
    flash(_("Saved: %(what)s.", what=tlabel(kind)))
    return redirect(url_for(".detail", ticket_id=ticket.id))


@bp.post("/<int:ticket_id>/photos")
@operators_only
def upload_photo(ticket_id: int):
    ticket = scoped_ticket_or_404(ticket_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("photo")
    if upload is None:
        flash(ERRORS["empty"])
        return redirect(url_for(".detail", ticket_id=ticket.id))
    limit = int(current_app.config.get("TICKET_ATTACHMENT_MAX_BYTES", 8 * 1024 * 1024))
    data = upload.stream.read(limit + 1)
    try:
        attachments.store_photo(db.session, current_app.config["TICKET_ATTACHMENT_DIR"], ticket, data,
                                upload.filename or "photo", current_user, clock.now(), limit)
    except service.TicketError as exc:
        db.session.rollback()
        flash(ERRORS.get(exc.code, str(exc)))
        return redirect(url_for(".detail", ticket_id=ticket.id))
    db.session.commit()
    flash(_("Photo attached."))
    return redirect(url_for(".detail", ticket_id=ticket.id))


@bp.get("/<int:ticket_id>/photos/<int:photo_id>")
@bp.get("/<int:ticket_id>/photos/<int:photo_id>/<any(thumb):size>")
@operators_only
def photo(ticket_id: int, photo_id: int, size: Optional[str] = None):
    ticket = scoped_ticket_or_404(ticket_id)
    row = db.session.scalar(select(TicketAttachment).where(TicketAttachment.id == photo_id,
                                                           TicketAttachment.ticket_id == ticket.id))
    if row is None:
        abort(404)
    path = attachments.safe_path(current_app.config["TICKET_ATTACHMENT_DIR"],
                                 row.thumb if size else row.stored)
    if path is None:
        abort(404)
    resp = send_file(path, mimetype="image/jpeg" if size else row.content_type, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Disposition"] = "inline"
    return resp


class OpenForm(FlaskForm):
    pass


@bp.route("/new", methods=["GET", "POST"])
@police_only
def new():
    form = OpenForm()
    errors: dict[str, str] = {}
    values = {"device": request.form.get("device", request.args.get("device", "")).strip(),
              "family": request.form.get("family", "offline"),
              "severity": request.form.get("severity", ""),
              "description": (request.form.get("description") or "").strip()}
    if request.method == "POST" and form.validate_on_submit():
        device = db.session.scalar(devices_for(current_user).where(Device.serial == values["device"]))
        if device is None:
            errors["device"] = _("No device with this serial.")
        if values["family"] not in TICKET_LABELS:
            errors["family"] = _("Choose a fault.")
        if values["severity"] and values["severity"] not in SEVERITIES:
            errors["severity"] = _("Choose a severity.")
        if not values["description"]:
            errors["description"] = _("Describe the report.")
        if not errors:
            try:
                ticket = service.open_ticket(
                    db.session, device, values["family"], clock.now(), severity=values["severity"] or None,
                    source="manual", actor=current_user,
                    evidence={"report": values["description"]},
                    title=f"{device.name} · {values['description'][:120]}",
                    tz=current_app.config.get("LOCAL_TIMEZONE", "Asia/Shanghai"))
            except service.TicketError as exc:
                db.session.rollback()
                errors["device"] = str(ERRORS.get(exc.code, exc))
            else:
                audit.record(current_user, "ticket.open", "ticket", ticket.id, None,
                             {"device": device.serial, "family": values["family"],
                              "severity": ticket.severity})
                db.session.commit()
                return redirect(url_for(".detail", ticket_id=ticket.id))
    families = ["offline", "recording", "power", "access", "clock", "identity", "signal_loss", "blur",
                "too_dark", "too_bright", "low_contrast", "color_cast", "noise", "occlusion",
                "stripes", "frozen", "scene_change", "other"]
    return render_template("tickets/new.html", form=form, errors=errors, values=values,
                           families=families, severities=SEVERITIES), (400 if errors else 200)


def _month_bounds(text: Optional[str], now: dt.datetime) -> tuple[str, dt.datetime, dt.datetime]:
    local_now = localtime.to_local(now)
    try:
        year, month = (int(x) for x in (text or "").split("-"))
        first = dt.date(year, month, 1)
    except ValueError:
        first = dt.date(local_now.year, local_now.month, 1)
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    lo = localtime.local_to_utc(dt.datetime.combine(first, dt.time()))
    hi = localtime.local_to_utc(dt.datetime.combine(nxt, dt.time()))
    return first.strftime("%Y-%m"), lo, hi


@bp.get("/summary")
@operators_only
def sla_summary():
    now = clock.now()
    month, lo, hi = _month_bounds(request.args.get("month"), now)
    ids = None if _is_police() else [c for (c,) in db.session.execute(
        select(Contract.id).where(contract_clause(current_user)))]
    # One definition of the ticket figures: reports/tickets.py (the reports show the same).
    from reports.tickets import SEVERITIES, ticket_figures
    rows = ticket_figures(db.session, lo, hi, now, by="contractor", contract_ids=ids)
    return render_template("tickets/summary.html", rows=rows, month=month, severities=SEVERITIES)


@bp.get("/export.csv")
@operators_only
def export():
    now = clock.now()
    f = _filters()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "state", "severity", "family", "device", "contract", "opened_at_local",
                "response_due_local", "response_used_h", "repair_due_local", "repair_used_h",
                "breaches", "outcome"])
    for t in db.session.scalars(_filtered(f, now)):
        tc = service.recompute(db.session, t, now)
        cur = tc.current
        dev = db.session.get(Device, t.device_id)
        con = db.session.get(Contract, t.contract_id) if t.contract_id else None
        w.writerow([t.id, t.state, t.severity, t.family, dev.serial if dev else "", con.code if con else "",
                    localtime.fmt_local(t.opened_at), localtime.fmt_local(cur.response.due_at),
                    f"{cur.response.used_s / 3600:.3f}", localtime.fmt_local(cur.repair.due_at),
                    f"{cur.repair.used_s / 3600:.3f}", len(tc.breaches), tc.outcome or ""])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=tickets.csv"})


@bp.get("/deliveries")
@police_only
def deliveries():
    rows = db.session.execute(
        select(OutboxMessage, Recipient).join(Recipient, Recipient.id == OutboxMessage.recipient_id)
        .order_by(OutboxMessage.id.desc()).limit(300)).all()
    attempts: dict[int, list[Delivery]] = {}
    for d in db.session.scalars(select(Delivery).where(Delivery.outbox_id.in_([r.id for r, _recipient in rows]))
                                .order_by(Delivery.attempt)):
        attempts.setdefault(d.outbox_id, []).append(d)
    return render_template("tickets/deliveries.html", rows=rows, attempts=attempts)


@bp.route("/calendar", methods=["GET", "POST"])
@police_only
def calendar():
    from supervisor.tickets.models import WorkCalendarVersion
    form = ActionForm()
    errors: dict[str, str] = {}
    now = clock.now()
    if request.method == "POST" and form.validate_on_submit():
        try:
            day = dt.date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            errors["day"] = _("Enter a date.")
        kind = request.form.get("kind", "")
        if kind not in ("work", "off", "ordinary"):
            errors["kind"] = _("Choose working day, day off or ordinary.")
        note = (request.form.get("note") or "").strip()
        if not note:
            errors["note"] = _("Say why (e.g. the State Council notice).")
        if not errors:
            row = service.add_calendar_days(db.session, {day: None if kind == "ordinary" else kind}, now,
                                            current_user, note, now,
                                            current_app.config.get("LOCAL_TIMEZONE", "Asia/Shanghai"))
            audit.record(current_user, "calendar.day", "work_calendar", row.id, None,
                         {day.isoformat(): kind}, note)
            db.session.commit()
            flash(_("Calendar version %(n)s saved.", n=row.id))
            return redirect(url_for(".calendar"))
    current = service.current_calendar(db.session, now, current_app.config.get("LOCAL_TIMEZONE", "Asia/Shanghai"))
    db.session.commit()
    versions = db.session.scalars(select(WorkCalendarVersion).order_by(WorkCalendarVersion.id.desc())).all()
    year = localtime.to_local(now).year
    days = sorted((k, v) for k, v in current.days.items() if k.startswith((str(year), str(year + 1))))
    return render_template("tickets/calendar.html", form=form, errors=errors, versions=versions,
                           current=current, days=days), (400 if errors else 200)


# ------------------------------------------------------------------ JSON API

@api_bp.get("")
@api_operators
def api_list():
    from supervisor.tickets.cli import ticket_dict
    now = clock.now()
    rows = db.session.scalars(_filtered(_filters(), now).limit(500)).all()
    return jsonify([ticket_dict(t, now) for t in rows])


@api_bp.get("/<int:ticket_id>")
@api_operators
def api_show(ticket_id: int):
    from supervisor.tickets.cli import ticket_dict
    ticket = scoped_ticket_or_404(ticket_id)
    return jsonify(ticket_dict(ticket, clock.now(), full=True))


def register(app) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.add_template_global(tlabel, "tlabel")
