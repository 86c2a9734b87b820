"""Devices: list with filters/search/keyset pages, detail, edit (police), CSV/XLSX export.

Secrets (password, SNMP community, SNMPv3 auth/priv keys) are write-only: pages show only whether one is set, the
edit form accepts a new value, and exports and the API never carry them.
"""
from __future__ import annotations

import ipaddress
import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from supervisor.core import audit
from supervisor.inventory import importer as inventory
from supervisor.web.guards import operators_only, police_only
from supervisor.core.choices import CameraRole, DeviceKind, Lifecycle
from supervisor.core.extensions import db
from supervisor.inventory.columns import (
    SNMP_AUTH_PROTOCOLS,
    SNMP_KEY_MIN,
    SNMP_PRIV_PROTOCOLS,
    SNMP_VERSIONS,
)
from supervisor.inventory.models import Community, Contract, Device
from supervisor.health.models import DeviceStatus
from supervisor.core.scoping import communities_for, contracts_for, devices_for
from supervisor.inventory import queries as device_query
from supervisor.web.helpers import LABELS, scoped_device_or_404

bp = Blueprint("devices", __name__, url_prefix="/devices")
log = logging.getLogger(__name__)

def _filter_options() -> dict:
    communities = db.session.execute(
        communities_for(current_user).with_only_columns(Community.id, Community.name, Community.district)
        .order_by(Community.district, Community.name)).all()
    contracts = db.session.execute(
        contracts_for(current_user).with_only_columns(Contract.id, Contract.code)
        .order_by(Contract.code)).all()
    return {"communities": communities, "contracts": contracts,
            "districts": sorted({c.district for c in communities})}


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
                           downstream=downstream)


def _valid_ip(form, field) -> None:
    try:
        address = ipaddress.ip_address((field.data or "").strip())
    except ValueError:
        raise ValidationError(_l("Not an IP address.")) from None
    field.data = str(address)


_KEY_LEN = _l("An SNMPv3 key needs at least 8 characters (at most 200).")


class DeviceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[("", "—")] + [(r, LABELS[r]) for r in CameraRole.values()],
                       validators=[Optional()])
    vendor = StringField(_l("Vendor"), validators=[Optional(), Length(max=100)])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=100)])
    ip = StringField(_l("IP address"), validators=[DataRequired(), _valid_ip])
    onvif_port = IntegerField(_l("ONVIF port"), validators=[Optional(), NumberRange(1, 65535)])
    snmp_port = IntegerField(_l("SNMP port"), validators=[Optional(), NumberRange(1, 65535)])
    username = StringField(_l("Username"), validators=[Optional(), Length(max=100)])
    # Write-only: never pre-filled; blank keeps the stored value.
    password = PasswordField(_l("New password"), validators=[Optional(), Length(max=200)])
    snmp_community = PasswordField(_l("New SNMP community"), validators=[Optional(), Length(max=200)])
    # SNMP version and v3 (USM authPriv) user; the keys are write-only like the password.
    snmp_version = SelectField(_l("SNMP version"), choices=[(v, v) for v in SNMP_VERSIONS])
    snmp_user = StringField(_l("SNMPv3 user"), validators=[Optional(), Length(max=100)])
    snmp_auth_protocol = SelectField(_l("SNMPv3 authentication protocol"),
                                     choices=[("", "—")] + [(p, p) for p in SNMP_AUTH_PROTOCOLS],
                                     validators=[Optional()])
    snmp_auth_key = PasswordField(_l("New SNMPv3 authentication key"),
                                  validators=[Optional(),
                                              Length(min=SNMP_KEY_MIN, max=200, message=_KEY_LEN)])
    snmp_priv_protocol = SelectField(_l("SNMPv3 privacy protocol"),
                                     choices=[("", "—")] + [(p, p) for p in SNMP_PRIV_PROTOCOLS],
                                     validators=[Optional()])
    snmp_priv_key = PasswordField(_l("New SNMPv3 privacy key"),
                                  validators=[Optional(),
                                              Length(min=SNMP_KEY_MIN, max=200, message=_KEY_LEN)])
    lifecycle = SelectField(_l("Lifecycle"), choices=[(v, LABELS[v]) for v in Lifecycle.values()])

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
    else:
        # A client that posts no SNMP fields at all (an older form, a script) keeps them.
        for name in ("snmp_version", "snmp_user", "snmp_auth_protocol", "snmp_priv_protocol"):
            if name not in request.form:
                getattr(form, name).data = getattr(device, name) or ("2c" if name == "snmp_version"
                                                                     else "")
    valid = form.validate_on_submit()
    if request.method == "POST":
        # Checked even when another field failed, so the page lists every problem at once.
        valid = _v3_complete(form, device) and valid
    if valid:
        before = _audit_view(device)
        if device.kind == DeviceKind.CAMERA or form.role.data:
            device.role = form.role.data or None
        for name in ("name", "vendor", "model", "ip", "onvif_port", "snmp_port", "username",
                     "snmp_version", "snmp_user", "snmp_auth_protocol", "snmp_priv_protocol",
                     "lifecycle"):
            value = getattr(form, name).data
            value = value.strip() if isinstance(value, str) else value
            if name in ("snmp_user", "snmp_auth_protocol", "snmp_priv_protocol"):
                value = value or None
            setattr(device, name, value)
        for name in Device.SECRET_FIELDS:
            value = getattr(form, name).data
            if value:
                setattr(device, name, value)
        after = _audit_view(device)
        if before != after:
            audit.record(current_user, "update", "device", device.serial, before=before, after=after)
        db.session.commit()
        flash(_("Saved."))
        return redirect(url_for("devices.detail", device_id=device.id))
    return render_template("devices/edit.html", device=device, form=form), (400 if form.errors else 200)


def _v3_complete(form: DeviceForm, device: Device) -> bool:
    """SNMPv3 needs a user and both keys (new ones, or the stored ones that blank keeps)."""
    if form.snmp_version.data != "3":
        return True
    ok = True
    if not (form.snmp_user.data or "").strip():
        form.snmp_user.errors.append(_("SNMP version 3 needs a user."))
        ok = False
    for name in ("snmp_auth_key", "snmp_priv_key"):
        if not getattr(form, name).data and not getattr(device, name):
            getattr(form, name).errors.append(_("SNMP version 3 needs this key."))
            ok = False
    return ok


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
