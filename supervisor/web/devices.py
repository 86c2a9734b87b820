"""Devices: list with filters/search/keyset pages, detail, edit (police), CSV/XLSX export.

Secrets (password, SNMP community, SNMPv3 auth/priv keys) are write-only: pages show only whether one is set, the
edit form accepts a new value, and exports and the API never carry them.
"""
from __future__ import annotations

import logging

from sqlalchemy import or_, select

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField

from supervisor.core import audit, clock, localtime
from supervisor.inventory import importer as inventory
from supervisor.web.guards import operators_only, police_only
from supervisor.core.choices import CameraRole, Lifecycle
from supervisor.core.extensions import db
from supervisor.inventory import rules as device_rules
from supervisor.inventory.columns import SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS, SNMP_VERSIONS
from supervisor.inventory.models import Community, Device
from supervisor.health.models import DeviceStatus
from supervisor.core.scoping import devices_for
from supervisor.inventory import queries as device_query
from supervisor.web.helpers import (LABELS, download_name, invalid_filters, mac_query,
                                   scoped_device_or_404)
from supervisor.core.ids import parse_id

bp = Blueprint("devices", __name__, url_prefix="/devices")
log = logging.getLogger(__name__)

def _filter_options() -> dict:
    return device_query.filter_options(db.session, current_user)


def _page_from_request(filters: device_query.DeviceFilters) -> device_query.Page:
    return device_query.page(
        current_user, filters,
        after=parse_id(request.args.get("after")),
        before=parse_id(request.args.get("before")),
        size=parse_id(request.args.get("size")) or device_query.DEFAULT_PAGE_SIZE)


@bp.get("/")
@operators_only
def index():
    filters = device_query.DeviceFilters.from_args(request.args)
    invalid = invalid_filters(request.args, filters, ("community", "contract", "kind", "role",
                                                      "state"))
    if filters.q and (mac := mac_query(filters.q)):
        filters.q = mac  # a MAC in any common form searches the stored form
    sort = request.args.get("sort") or ""
    if sort and sort.lstrip("-") not in SORT_COLUMNS:
        invalid.append(("sort", sort[:60]))
        sort = ""
    page = _sorted_page(filters, sort) if sort else _page_from_request(filters)
    return render_template("devices/list.html", page=page, filters=filters,
                           options=_filter_options(), page_sizes=device_query.PAGE_SIZES,
                           invalid=invalid, summary=_summary(filters), sort=sort)


# Column sort: the list's own order is by id with keyset pages (fast on any page); a sorted
# list moves by page number instead (OFFSET: fine for the inventory's tens of thousands).
SORT_COLUMNS = {
    "name": Device.name, "kind": Device.kind, "role": Device.role, "community": Community.name,
    "district": Community.district, "ip": Device.ip, "serial": Device.serial,
    "model": Device.model, "lifecycle": Device.lifecycle, "state": device_query.state_expr,
}


def _sorted_page(filters: device_query.DeviceFilters, sort: str) -> device_query.Page:
    from sqlalchemy.orm import contains_eager

    size = parse_id(request.args.get("size")) or device_query.DEFAULT_PAGE_SIZE
    size = size if size in device_query.PAGE_SIZES else device_query.DEFAULT_PAGE_SIZE
    total = device_query.count(current_user, filters)
    pages = max(1, -(-total // size))
    number = min(max(1, parse_id(request.args.get("page")) or 1), pages)
    column = SORT_COLUMNS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    stmt = (device_query.filtered(current_user, filters)
            .add_columns(device_query.state_expr.label("state"))
            .options(contains_eager(Device.community))
            .order_by(order, Device.id).offset((number - 1) * size).limit(size))
    rows = [(d, s) for d, s in db.session.execute(stmt).all()]
    return device_query.Page(rows=rows, total=total, size=size, first=number == 1,
                             extra={"number": number, "pages": pages})


def _summary(filters: device_query.DeviceFilters) -> dict:
    """Counts by state of the filtered devices and their online rate: devices answering
    (ok or degraded) over devices probed and not in maintenance; unknown shown apart."""
    from sqlalchemy import func

    stmt = device_query.filtered(current_user, filters).with_only_columns(
        device_query.state_expr.label("state"), func.count(Device.id)).group_by(
        device_query.state_expr)
    by_state = {state: n for state, n in db.session.execute(stmt).all()}
    answering = by_state.get("ok", 0) + by_state.get("degraded", 0)
    judged = answering + by_state.get("offline", 0)
    return {"by_state": by_state, "total": sum(by_state.values()), "answering": answering,
            "judged": judged, "online_rate": (100.0 * answering / judged) if judged else None}


@bp.get("/<int:device_id>")
@operators_only
def detail(device_id: int):
    device = scoped_device_or_404(device_id)
    status = db.session.get(DeviceStatus, device.id)
    upstream = None
    if device.upstream_id is not None:
        upstream = db.session.scalar(devices_for(current_user).where(Device.id == device.upstream_id))
    downstream = db.session.scalars(
        devices_for(current_user).where(Device.upstream_id == device.id).order_by(Device.id).limit(200)).all()
    from supervisor.health.calibration import baseline

    return render_template("devices/detail.html", device=device, status=status, upstream=upstream,
                           upstream_outside=upstream is None and device.upstream_id is not None,
                           downstream=downstream,
                           baseline=baseline(db.session, device, clock.now(),
                                             current_app.config.get("LOCAL_TIMEZONE", "Asia/Shanghai")))


@bp.post("/<int:device_id>/calibration")
@police_only
def relearn_calibration(device_id: int):
    """A police user confirms the camera's view changed, or asks: learn its normal again."""
    from supervisor.health.calibration import RELEARN_REASONS, relearn

    device = scoped_device_or_404(device_id)
    reason = request.form.get("reason") or ""
    if device.kind != "camera" or reason not in RELEARN_REASONS:
        abort(400)
    relearn(db.session, device, clock.now(), current_user, reason)
    db.session.commit()
    flash(_("%(name)s learns its normal picture again from its next clean days.",
            name=device.name), "ok")
    return redirect(url_for("devices.detail", device_id=device.id))


_KEY_LEN = _l("An SNMPv3 key needs at least 8 characters (at most 200).")
# The device rule's problem codes (supervisor/inventory/rules.py) as the page says them.
PROBLEM_TEXT = {
    "required": _l("This value is required."),
    "ip": _l("Not an IP address."),
    "port": _l("Not a port number (1-65535)."),
    "choice": _l("Not one of the choices."),
    "control": _l("Contains a control character."),
    "too_long": _l("Too long."),
    "key_short": _KEY_LEN,
    "role_required": _l("A camera needs a role."),
    "v3_user": _l("SNMP version 3 needs a user."),
    "v3_key": _l("SNMP version 3 needs this key."),
    "invalid": _l("Not a valid value."),
    "date": _l("Not a date (YYYY-MM-DD)."),
    "retired_future": _l("The retirement date cannot be in the future."),
    "retired_before_install": _l("The retirement date is before the installation date."),
    "retired_needs_date": _l("A retired device needs its retirement date (the first day out of service)."),
}


class DeviceForm(FlaskForm):
    """Renders the fields and checks the CSRF token; the values themselves are judged by
    the inventory's one device rule (inventory/rules.py), like an import row."""

    name = StringField(_l("Name"))
    role = SelectField(_l("Role"), choices=[("", "—")] + [(r, LABELS[r]) for r in CameraRole.values()],
                       validate_choice=False)
    vendor = StringField(_l("Vendor"))
    model = StringField(_l("Model"))
    ip = StringField(_l("IP address"))
    onvif_port = StringField(_l("ONVIF port"))
    snmp_port = StringField(_l("SNMP port"))
    username = StringField(_l("Username"))
    # Write-only: never pre-filled; blank keeps the stored value.
    password = PasswordField(_l("New password"))
    snmp_community = PasswordField(_l("New SNMP community"))
    # SNMP version and v3 (USM authPriv) user; the keys are write-only like the password.
    snmp_version = SelectField(_l("SNMP version"), choices=[(v, v) for v in SNMP_VERSIONS],
                               validate_choice=False)
    snmp_user = StringField(_l("SNMPv3 user"))
    snmp_auth_protocol = SelectField(_l("SNMPv3 authentication protocol"),
                                     choices=[("", "—")] + [(p, p) for p in SNMP_AUTH_PROTOCOLS],
                                     validate_choice=False)
    snmp_auth_key = PasswordField(_l("New SNMPv3 authentication key"))
    snmp_priv_protocol = SelectField(_l("SNMPv3 privacy protocol"),
                                     choices=[("", "—")] + [(p, p) for p in SNMP_PRIV_PROTOCOLS],
                                     validate_choice=False)
    snmp_priv_key = PasswordField(_l("New SNMPv3 privacy key"))
    lifecycle = SelectField(_l("Lifecycle"), choices=[(v, LABELS[v]) for v in Lifecycle.values()],
                            validate_choice=False)
    # The first local day out of service: retires the device; reports prorate by it.
    retired_on = StringField(_l("Retired on"))  # read by the device rule, like an import cell

    PLAIN = ("name", "role", "vendor", "model", "ip", "onvif_port", "snmp_port", "username",
             "snmp_version", "snmp_user", "snmp_auth_protocol", "snmp_priv_protocol", "lifecycle",
             "retired_on")


def _audit_view(device: Device) -> dict:
    # Secret values go in as they are: audit.record masks them ("***" / "*** (changed)").
    return {name: getattr(device, name) for name in DeviceForm.PLAIN + Device.SECRET_FIELDS}


@bp.route("/<int:device_id>/edit", methods=["GET", "POST"])
@police_only
def edit(device_id: int):
    device = scoped_device_or_404(device_id)
    form = DeviceForm(obj=device if request.method == "GET" else None)
    if request.method == "GET":
        for name in Device.SECRET_FIELDS:
            getattr(form, name).data = None
        form.role.data = device.role or ""
        form.snmp_version.data = device.snmp_version or "2c"
        form.snmp_auth_protocol.data = device.snmp_auth_protocol or ""
        form.snmp_priv_protocol.data = device.snmp_priv_protocol or ""
        return render_template("devices/edit.html", device=device, form=form,
                               sharing=_sharing_address(device))
    if not form.validate_on_submit():  # the CSRF token
        abort(400)
    # A client that posts no SNMP fields at all (an older form, a script) keeps them: the
    # rule changes only the fields it is given.
    raw = {name: request.form.get(name) for name in device_rules.EDITABLE if name in request.form}
    stored = {name: getattr(device, name) for name in device_rules.EDITABLE}
    stored["installed_on"] = device.installed_on
    checked = device_rules.check_update(raw, kind=device.kind, stored=stored,
                                        today=localtime.to_local(clock.now()).date())
    if not checked.ok:
        for problem in checked.problems:  # every problem at once, beside its field
            getattr(form, problem.field).errors.append(
                str(PROBLEM_TEXT.get(problem.code, problem.message)))
        return render_template("devices/edit.html", device=device, form=form,
                               sharing=_sharing_address(device)), 400
    before = _audit_view(device)
    for name, value in checked.values.items():
        if name in Device.SECRET_FIELDS and not value:
            continue
        setattr(device, name, value)
    after = _audit_view(device)
    if before != after:
        audit.record(current_user, "update", "device", device.serial, before=before, after=after)
    db.session.commit()
    flash(_("Saved."))
    for other in _sharing_address(device):
        flash(_("Warning: %(ip)s is also the address of %(name)s (%(serial)s).",
                ip=device.ip, name=other.name, serial=other.serial))
    credentials = ("username", "password", "snmp_community", "snmp_user", "snmp_auth_key",
                   "snmp_priv_key", "snmp_version", "ip", "onvif_port", "snmp_port")
    if any(before.get(k) != after.get(k) for k in credentials):
        # Test the connection with what was saved: the result is shown, the save stands.
        from supervisor.web.health_pages import probe_device

        flash(_("Connection test: %(result)s", result=probe_device(device, ("full",))))
    return redirect(url_for("devices.detail", device_id=device.id))


def _sharing_address(device: Device) -> list[Device]:
    """Other devices on the same IP address (and ONVIF port, when both have one): usually a
    typo. A warning, not an error: a NAT or a multi-channel encoder can share one."""
    stmt = select(Device).where(Device.ip == device.ip, Device.id != device.id)
    if device.onvif_port:
        stmt = stmt.where(or_(Device.onvif_port.is_(None), Device.onvif_port == device.onvif_port))
    return list(db.session.scalars(stmt.order_by(Device.id).limit(5)))


@bp.get("/export.<fmt>")
@operators_only
def export(fmt: str):
    """The filtered list as CSV/XLSX through the inventory's one exporter (never a secret;
    formula-like text guarded), plus the read-only accepted_on/lifecycle/state columns."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = device_query.DeviceFilters.from_args(request.args)
    # The page's language unless the link asks for one (?lang=zh|en).
    from supervisor.web.i18n import select_locale

    asked = request.args.get("lang")
    lang = asked if asked in ("zh", "en") else ("zh" if select_locale() == "zh_CN" else "en")
    audit.record(current_user, "export", "device", fmt, note=str(filters.as_args()))
    db.session.commit()
    data = inventory.export_devices(fmt, query=device_query.filtered(current_user, filters),
                                    scope=devices_for(current_user), lang=lang, status=True)
    mimetype = ("text/csv" if fmt == "csv" else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": download_name(
                        "设备" if lang == "zh" else "devices", None, fmt, clock.now())})
