"""The police technology department's admin pages (police only), under /admin:

- /admin/audit — the audit log, newest first: filters (actor, entity, action, key, local date
  range), keyset pages, before/after as a field diff, CSV export of the filtered rows;
- /admin/users — list (role, contractor, active, created, last login from the audit log's
  `login` rows), create (a generated password shown once), deactivate/reactivate, reset
  password (generated, shown once);
- /admin/maintenance — windows current/upcoming/past; create for a device or a community
  (times typed in local time, stored UTC), cancel or shorten one that has not ended.

Routes stay thin: the rules live in supervisor/people/accounts.py (users), supervisor/health/maintenance.py
(windows) and supervisor/core/audit_query.py (reading the log). Every change is an audit row.
A page that shows a generated password is sent with `Cache-Control: no-store` and the
password is never put in the session, a flash message, a URL or a log.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import (
    Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from supervisor.core import audit, audit_query, localtime
from supervisor.inventory import queries as device_query
from supervisor.health import maintenance
from supervisor.people.accounts import (
    create_user,
    find_user,
    generate_password,
    set_active,
    set_password,
)
from supervisor.web.guards import police_only
from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.health.models import MaintenanceWindow
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Community, Contractor, Device
from supervisor.people.models import User
from supervisor.core.clock import utcnow
from supervisor.web.helpers import LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _now() -> dt.datetime:
    """The clock, read once per request (naive UTC); tests may replace it."""
    return utcnow()


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"local_time": localtime.fmt_local, "zone_name": localtime.zone_name(),
            "show_value": audit_query.show, "max_days": maintenance.MAX_LENGTH.days}


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""


@bp.get("/")
@police_only
def index():
    return redirect(url_for("admin.audit_log"))


# ---------------------------------------------------------------- audit log

def _audit_filters() -> audit_query.AuditFilters:
    filters = audit_query.AuditFilters.from_args(request.args)
    if filters.out_of_range:
        abort(400, description=_("Dates must lie between %(min)s and %(max)s.",
                                 min=audit_query.DATE_MIN.isoformat(),
                                 max=audit_query.DATE_MAX.isoformat()))
    return filters


@bp.get("/audit")
@police_only
def audit_log():
    filters = _audit_filters()
    page = audit_query.page(filters, older=request.args.get("older"),
                            newer=request.args.get("newer"))
    return render_template(
        "admin/audit.html", page=page, filters=filters,
        diffs={e.id: audit_query.diff(e.before, e.after) for e in page.rows},
        entities=audit_query.distinct_values(AuditEntry.entity),
        actions=audit_query.distinct_values(AuditEntry.action))


@bp.get("/audit.csv")
@police_only
def audit_export():
    filters = _audit_filters()  # refused (400) before the export's own audit row is written
    # The export is itself a read of sensitive history: it leaves a row, committed before
    # the rows are read (so the file lists it too when the filters match exports).
    audit.record(current_user, "export", "audit_log", "csv", note=str(filters.as_args()))
    db.session.commit()

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # BOM: Excel on a Chinese Windows opens UTF-8 correctly
        for n, row in enumerate(audit_query.csv_rows(filters)):
            writer.writerow(row)
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = localtime.to_local(_now()).strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                             "Cache-Control": "no-store"})


# ---------------------------------------------------------------- users

class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(), Length(max=80),
        Regexp(r"^[\w.@-]+$", message=_l("Letters, digits and . _ @ - only."))])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("User role"), choices=[(r, LABELS[r]) for r in Role.values()])
    contractor = SelectField(_l("Contractor"), choices=[], validate_choice=False)


def _contractor_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Contractor.id, Contractor.name).order_by(Contractor.name))
    return [("", "—")] + [(str(i), n) for i, n in rows]


def _last_logins() -> dict[int, dt.datetime]:
    """The newest `login` audit row per user id: the platform records logins nowhere else."""
    q = (select(AuditEntry.user_id, func.max(AuditEntry.at))
         .where(AuditEntry.action == "login", AuditEntry.entity == "user",
                AuditEntry.user_id.is_not(None))
         .group_by(AuditEntry.user_id))
    return {uid: at for uid, at in db.session.execute(q)}


@bp.get("/users")
@police_only
def users():
    people = db.session.scalars(select(User).order_by(User.role, func.lower(User.username))).all()
    return render_template("admin/users.html", users=people, last_login=_last_logins(),
                           action_form=ActionForm())


@bp.route("/users/new", methods=["GET", "POST"])
@police_only
def user_new():
    form = UserForm()
    form.contractor.choices = _contractor_choices()
    if form.validate_on_submit():
        contractor = None
        if form.contractor.data:
            contractor_id = device_query._int(form.contractor.data)
            contractor = db.session.get(Contractor, contractor_id) if contractor_id else None
            if contractor is None:
                form.contractor.errors.append(_("Not a known contractor."))
        if form.role.data == Role.CONTRACTOR and contractor is None and not form.contractor.errors:
            form.contractor.errors.append(_("A contractor user belongs to a contractor: choose one."))
        if form.role.data != Role.CONTRACTOR and contractor is not None:
            form.contractor.errors.append(_("Only contractor users belong to a contractor."))
        if find_user(form.username.data) is not None:
            form.username.errors.append(_("This username is taken."))
        if not form.errors:
            password = generate_password()
            try:
                user = create_user(form.username.data, password, form.role.data,
                                   contractor=contractor,
                                   display_name=(form.display_name.data or "").strip() or None,
                                   actor=current_user)
            except ValueError as exc:  # the shared rules refused it after all (raced name)
                db.session.rollback()
                form.username.errors.append(str(exc))
            else:
                db.session.commit()
                return _no_store(Response(render_template(
                    "admin/password_once.html", user=user, password=password, created=True)))
    status = 400 if form.errors else 200
    return render_template("admin/user_new.html", form=form), status


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/active")
@police_only
def user_active(user_id: int):
    user = _user_or_404(user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("active") not in ("0", "1"):
        abort(400)
    active = request.form.get("active") == "1"
    if user.id == current_user.id and not active:
        flash(_("You cannot deactivate yourself."))
        return redirect(url_for("admin.users"))
    if set_active(user, active, actor=current_user):
        db.session.commit()
        flash(_("%(name)s can log in again.", name=user.username) if active
              else _("%(name)s can no longer log in.", name=user.username))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reset-password")
@police_only
def user_reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    password = generate_password()
    set_password(user, password, actor=current_user)
    db.session.commit()
    return _no_store(Response(render_template("admin/password_once.html", user=user,
                                              password=password, created=False)))


# ---------------------------------------------------------------- maintenance windows

WINDOW_MESSAGES = {
    "end_before_start": _l("The end must be after the start."),
    "start_past": _l("The start is in the past: windows cannot be approved afterwards."),
    "too_long": _l("A window lasts at most %(days)s days.", days=maintenance.MAX_LENGTH.days),
    "target": _l("Choose one device or one community."),
    "reason_blank": _l("Say why (the reason is kept with the window)."),
    "reason_long": _l("At most %(n)s characters.", n=maintenance.REASON_MAX),
    "ended": _l("This window has already ended."),
    "not_earlier": _l("The new end must be earlier than the current end "
                      "(a longer window is a new approval)."),
    "end_past": _l("The new end must be in the future (use Cancel to end it now)."),
}


def _window_message(exc: maintenance.WindowError) -> str:
    return str(WINDOW_MESSAGES.get(exc.code, str(exc)))


class WindowForm(FlaskForm):
    target = RadioField(_l("Applies to"), choices=[("device", _l("one device")),
                                            ("community", _l("a whole community"))],
                        default="device")
    device = StringField(_l("Device serial"), validators=[Optional(), Length(max=100)])
    community = SelectField(_l("Community"), choices=[], validate_choice=False)
    start = StringField(_l("Start"), validators=[DataRequired()])
    end = StringField(_l("End"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=maintenance.REASON_MAX)])


def _community_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Community.id, Community.district, Community.name)
                              .order_by(Community.district, Community.name))
    return [("", "—")] + [(str(i), f"{d} · {n}") for i, d, n in rows]


def _targets(windows: list[MaintenanceWindow]) -> dict[str, dict[int, Any]]:
    dev_ids = {w.device_id for w in windows if w.device_id}
    com_ids = {w.community_id for w in windows if w.community_id}
    devices = {d.id: d for d in db.session.scalars(select(Device).where(Device.id.in_(dev_ids)))} \
        if dev_ids else {}
    communities = {c.id: c for c in db.session.scalars(
        select(Community).where(Community.id.in_(com_ids)))} if com_ids else {}
    return {"devices": devices, "communities": communities}


def _render_windows(form: WindowForm, now: dt.datetime, status: int = 200,
                    shorten_errors: dict[int, str] | None = None):
    groups = maintenance.windows_by_phase(now)
    everything = [w for ws in groups.values() for w in ws]
    return render_template("admin/maintenance.html", form=form, groups=groups, now=now,
                           targets=_targets(everything), action_form=ActionForm(),
                           shorten_errors=shorten_errors or {},
                           input_value=localtime.input_value), status


def _new_window_form(now: dt.datetime, fresh: bool = False) -> WindowForm:
    """The create form: bound to the posted data, or (`fresh`, or a GET) with defaults."""
    fresh = fresh or request.method == "GET"
    form = WindowForm(formdata=None) if fresh else WindowForm()
    form.community.choices = _community_choices()
    if fresh:
        # Sensible defaults: from the next quarter hour, for two hours; `?device=SERIAL`
        # (a link from a device page) pre-selects the device.
        start = (now + dt.timedelta(minutes=15)).replace(second=0, microsecond=0)
        start -= dt.timedelta(minutes=start.minute % 15)
        form.start.data = localtime.input_value(start)
        form.end.data = localtime.input_value(start + dt.timedelta(hours=2))
        form.device.data = (request.args.get("device") or "")[:100]
    return form


@bp.get("/maintenance")
@police_only
def windows():
    now = _now()
    return _render_windows(_new_window_form(now), now)


@bp.post("/maintenance")
@police_only
def window_create():
    now = _now()
    form = _new_window_form(now)
    if form.validate_on_submit():
        device = community = None
        if form.target.data == "community":
            community_id = device_query._int(form.community.data)
            community = db.session.get(Community, community_id) if community_id else None
            if community is None:
                form.community.errors.append(_("Choose a community."))
        else:
            serial = (form.device.data or "").strip()
            device = db.session.scalar(select(Device).where(Device.serial == serial)) \
                if serial else None
            if device is None:
                form.device.errors.append(_("No device has this serial.") if serial
                                          else _("Give the device's serial."))
        start_local = _window_time(form.start.data)
        end_local = _window_time(form.end.data)
        for field, value in ((form.start, start_local), (form.end, end_local)):
            if value is None:
                field.errors.append(_("Use the form YYYY-MM-DD HH:MM."))
        if not form.errors:
            try:
                maintenance.create_window(
                    start=localtime.local_to_utc(start_local), end=localtime.local_to_utc(end_local),
                    reason=form.reason.data, actor=current_user, now=now, device=device,
                    community=community)
            except maintenance.WindowError as exc:
                db.session.rollback()
                field = getattr(form, exc.field or "", None) or form.reason
                if exc.field == "target":
                    field = form.device if form.target.data == "device" else form.community
                field.errors.append(_window_message(exc))
            else:
                db.session.commit()
                flash(_("Maintenance window saved."))
                return redirect(url_for("admin.windows"))
    return _render_windows(form, now, status=400)


def _window_time(text: str | None) -> dt.datetime | None:
    """A window's local time from the form; None (a field error) when malformed or outside
    the years a window can have (converting the calendar's ends to UTC would overflow)."""
    value = localtime.parse_local(text)
    if value is None or not 1970 <= value.year <= 2999:
        return None
    return value


def _window_or_404(window_id: int) -> MaintenanceWindow:
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None:
        abort(404)
    return window


@bp.post("/maintenance/<int:window_id>/cancel")
@police_only
def window_cancel(window_id: int):
    now = _now()
    window = _window_or_404(window_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        done = maintenance.cancel_window(window, actor=current_user, now=now)
    except maintenance.WindowError as exc:
        db.session.rollback()
        flash(_window_message(exc))
        return redirect(url_for("admin.windows"))
    db.session.commit()
    flash(_("Window cancelled.") if done == "deleted" else _("Window ended now."))
    return redirect(url_for("admin.windows"))


@bp.post("/maintenance/<int:window_id>/shorten")
@police_only
def window_shorten(window_id: int):
    now = _now()
    window = _window_or_404(window_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    new_end = _window_time(request.form.get("end"))
    try:
        if new_end is None:
            raise maintenance.WindowError("format", "bad time", "end")
        maintenance.shorten_window(window, localtime.local_to_utc(new_end), actor=current_user,
                                   now=now)
    except maintenance.WindowError as exc:
        db.session.rollback()
        message = _("Use the form YYYY-MM-DD HH:MM.") if exc.code == "format" \
            else _window_message(exc)
        return _render_windows(_new_window_form(now, fresh=True), now, status=400,
                               shorten_errors={window_id: message})
    db.session.commit()
    flash(_("Window shortened."))
    return redirect(url_for("admin.windows"))
