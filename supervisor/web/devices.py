"""Devices: list with filters/search/keyset pages, detail, edit (police), CSV/XLSX export.

Secrets (password, SNMP community) are write-only: pages show only whether one is set, the
edit form accepts a new value, and exports and the API never carry them.
"""
from __future__ import annotations

import csv
import io
import ipaddress
import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from .. import audit
from ..auth import operators_only, police_only
from ..choices import CameraRole, DeviceKind, Lifecycle
from ..extensions import db
from ..models import Community, Contract, Device, DeviceStatus
from ..scoping import communities_for, contracts_for, devices_for
from . import device_query
from .helpers import LABELS

bp = Blueprint("devices", __name__, url_prefix="/devices")
log = logging.getLogger(__name__)

# What an export carries: the import columns minus every credential, plus lifecycle/state.
EXPORT_COLUMNS = ("community", "district", "community_type", "name", "kind", "role", "vendor",
                  "model", "serial", "mac", "ip", "onvif_port", "snmp_port", "upstream",
                  "contract", "installed_on", "accepted_on", "lifecycle", "state")


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


def _scoped_device(device_id: int) -> Device:
    """The device if this user may see it; otherwise 404 (not 403: don't confirm it exists)."""
    device = db.session.scalar(devices_for(current_user).where(Device.id == device_id))
    if device is None:
        abort(404)
    return device


@bp.get("/<int:device_id>")
@operators_only
def detail(device_id: int):
    device = _scoped_device(device_id)
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
    lifecycle = SelectField(_l("Lifecycle"), choices=[(v, LABELS[v]) for v in Lifecycle.values()])

    PLAIN = ("name", "role", "vendor", "model", "ip", "onvif_port", "snmp_port", "username", "lifecycle")


def _audit_view(device: Device) -> dict:
    # Secret values go in as they are: audit.record masks them ("***" / "*** (changed)").
    return {name: getattr(device, name) for name in DeviceForm.PLAIN + Device.SECRET_FIELDS}


@bp.route("/<int:device_id>/edit", methods=["GET", "POST"])
@police_only
def edit(device_id: int):
    device = _scoped_device(device_id)
    form = DeviceForm(obj=device if request.method == "GET" else None)
    if request.method == "GET":
        form.password.data = None
        form.snmp_community.data = None
        form.role.data = device.role or ""
    if form.validate_on_submit():
        before = _audit_view(device)
        if device.kind == DeviceKind.CAMERA or form.role.data:
            device.role = form.role.data or None
        for name in ("name", "vendor", "model", "ip", "onvif_port", "snmp_port", "username", "lifecycle"):
            value = getattr(form, name).data
            setattr(device, name, value.strip() if isinstance(value, str) else value)
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


def _cell(value) -> object:
    """A value safe for a spreadsheet: text that starts like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _export_rows(filters: device_query.DeviceFilters):
    serials: dict[int, str] = {}
    for device, state in device_query.all_rows(current_user, filters):
        serials[device.id] = device.serial
        upstream = None
        if device.upstream_id is not None:
            upstream = serials.get(device.upstream_id)
            if upstream is None:
                # Upstream outside this user's scope stays blank: no leak of other tenants' serials.
                upstream = db.session.scalar(devices_for(current_user).where(
                    Device.id == device.upstream_id).with_only_columns(Device.serial))
        c = device.community
        yield [_cell(v) for v in (
            c.name, c.district, c.type, device.name, device.kind, device.role, device.vendor,
            device.model, device.serial, device.mac, device.ip, device.onvif_port, device.snmp_port,
            upstream, device.contract.code if device.contract else None,
            device.installed_on.isoformat() if device.installed_on else None,
            device.accepted_on.isoformat() if device.accepted_on else None,
            device.lifecycle, state)]


@bp.get("/export.<fmt>")
@operators_only
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = device_query.DeviceFilters.from_args(request.args)
    audit.record(current_user, "export", "device", fmt, note=str(filters.as_args()))
    db.session.commit()
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")  # BOM so Chinese Excel opens UTF-8 correctly
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(_export_rows(filters))
        return Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=devices.csv"})
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("devices")
    sheet.append(list(EXPORT_COLUMNS))
    for row in _export_rows(filters):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return Response(out.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=devices.xlsx"})
