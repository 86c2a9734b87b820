"""Devices: list with filters/search/keyset pages, detail, edit (police), CSV/XLSX export.

Secrets (password, SNMP community, SNMPv3 auth/priv keys) are write-only: pages show only whether one is set, the
edit form accepts a new value, and exports and the API never carry them.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField

from supervisor.core import audit
from supervisor.inventory import importer as inventory
from supervisor.web.guards import operators_only, police_only
from supervisor.core.choices import CameraRole, Lifecycle
from supervisor.core.extensions import db
from supervisor.inventory import rules as device_rules
from supervisor.inventory.columns import SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS, SNMP_VERSIONS
from supervisor.inventory.models import Device
from supervisor.health.models import DeviceStatus
from supervisor.core.scoping import devices_for
from supervisor.inventory import queries as device_query
from supervisor.web.helpers import LABELS, scoped_device_or_404

bp = Blueprint("devices", __name__, url_prefix="/devices")
log = logging.getLogger(__name__)

def _filter_options() -> dict:
    return device_query.filter_options(db.session, current_user)


def _page_from_request(filters: device_query.DeviceFilters) -> device_query.Page:
    return device_query.page(
        current_user, filters,
        after=device_query._int(request.args.get("after")),
        before=device_query._int(request.args.get("before")),
        size=device_query._int(request.args.get("size")) or device_query.DEFAULT_PAGE_SIZE)


@bp.get("/")
@operators_only
def index():
    filters = device_query.DeviceFilters.from_args(request.args)
    return render_template("devices/list.html", page=_page_from_request(filters), filters=filters,
                           options=_filter_options(), page_sizes=device_query.PAGE_SIZES)


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
    return render_template("devices/detail.html", device=device, status=status, upstream=upstream,
                           upstream_outside=upstream is None and device.upstream_id is not None,
                           downstream=downstream)


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

    PLAIN = ("name", "role", "vendor", "model", "ip", "onvif_port", "snmp_port", "username",
             "snmp_version", "snmp_user", "snmp_auth_protocol", "snmp_priv_protocol", "lifecycle")


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
        return render_template("devices/edit.html", device=device, form=form)
    if not form.validate_on_submit():  # the CSRF token
        abort(400)
    # A client that posts no SNMP fields at all (an older form, a script) keeps them: the
    # rule changes only the fields it is given.
    raw = {name: request.form.get(name) for name in device_rules.EDITABLE if name in request.form}
    checked = device_rules.check_update(
        raw, kind=device.kind, stored={name: getattr(device, name) for name in device_rules.EDITABLE})
    if not checked.ok:
        for problem in checked.problems:  # every problem at once, beside its field
            getattr(form, problem.field).errors.append(
                str(PROBLEM_TEXT.get(problem.code, problem.message)))
        return render_template("devices/edit.html", device=device, form=form), 400
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
    return redirect(url_for("devices.detail", device_id=device.id))


@bp.get("/export.<fmt>")
@operators_only
def export(fmt: str):
    """The filtered list as CSV/XLSX through the inventory's one exporter (never a secret;
    formula-like text guarded), plus the read-only accepted_on/lifecycle/state columns."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = device_query.DeviceFilters.from_args(request.args)
    lang = "zh" if request.args.get("lang") == "zh" else "en"
    audit.record(current_user, "export", "device", fmt, note=str(filters.as_args()))
    db.session.commit()
    data = inventory.export_devices(fmt, query=device_query.filtered(current_user, filters),
                                    scope=devices_for(current_user), lang=lang, status=True)
    mimetype = ("text/csv" if fmt == "csv" else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename=devices.{fmt}"})
