"""Inventory export (CSV/XLSX, never a secret) and the blank template to fill in."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import aliased

from supervisor.core.choices import DeviceState
from supervisor.core.extensions import db
from supervisor.inventory.columns import _CONTROL_RE, COLUMNS, EXPORT_COLUMNS, SPEC
from supervisor.inventory.models import Community, Contract, Contractor, Device
from supervisor.health.models import DeviceStatus

# Read-only columns the device pages' export adds: the import accepts and ignores them, so
# such a file can be edited and imported back.
STATUS_COLUMNS = ("accepted_on", "lifecycle", "state")


def _ids(query: Select) -> Any:
    return query.with_only_columns(Device.id).order_by(None).scalar_subquery()


def export_rows(query: Select | None = None, *, scope: Select | None = None,
                status: bool = False) -> Iterator[dict[str, Any]]:
    """Device rows in import terms (never secrets), limited to ``query``'s devices.

    ``scope`` (default: ``query``) is what the reader may see: an upstream device outside it
    is left blank, so no other tenant's serial leaks out, while one merely outside a filter
    (an NVR when exporting kind=camera) is still named. ``status`` adds STATUS_COLUMNS.
    """
    Up = aliased(Device)
    Rec = aliased(Device)
    columns = EXPORT_COLUMNS + (STATUS_COLUMNS if status else ())
    stmt = (select(Device.serial, Device.name, Device.kind, Device.role, Device.vendor,
                   Device.model, Device.mac, Device.ip, Device.onvif_port, Device.snmp_port,
                   Device.username, Device.installed_on, Device.accepted_on, Device.lifecycle,
                   Device.snmp_version, Device.snmp_user, Device.snmp_auth_protocol,
                   Device.snmp_priv_protocol, Device.latitude, Device.longitude,
                   Device.heading_deg, Device.fov_deg, Device.range_m, Device.retired_on,
                   func.coalesce(DeviceStatus.state, literal(DeviceState.UNKNOWN)).label("state"),
                   Community.name.label("community"), Community.district,
                   Community.type.label("community_type"), Contract.code.label("contract"),
                   Contractor.name.label("contractor"), Up.serial.label("upstream"),
                   Rec.serial.label("recorded_by"))
            .join(Community, Device.community_id == Community.id)
            .outerjoin(Contract, Device.contract_id == Contract.id)
            .outerjoin(Contractor, Contract.contractor_id == Contractor.id)
            .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
            .order_by(Community.name, Device.serial))
    scope = query if scope is None else scope
    if scope is None:
        stmt = stmt.outerjoin(Up, Device.upstream_id == Up.id)
        stmt = stmt.outerjoin(Rec, Device.recorded_by_id == Rec.id)
    else:
        stmt = stmt.outerjoin(Up, (Device.upstream_id == Up.id) & Up.id.in_(_ids(scope)))
        stmt = stmt.outerjoin(Rec, (Device.recorded_by_id == Rec.id) & Rec.id.in_(_ids(scope)))
    if query is not None:
        stmt = stmt.where(Device.id.in_(_ids(query)))
    for r in db.session.execute(stmt):
        yield {k: getattr(r, k) for k in columns}


def _guard(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading quote (CSV injection;
    a leading tab or CR is how the OWASP list smuggles one past a trim)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_devices(fmt: str = "csv", *, query: Select | None = None,
                   scope: Select | None = None, lang: str = "en",
                   status: bool = False) -> bytes:
    """The inventory as CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX bytes.

    ``query``/``scope``/``status`` as in ``export_rows``; ``lang`` picks the header language.
    """
    keys = EXPORT_COLUMNS + (STATUS_COLUMNS if status else ())
    headers = [SPEC[k].zh if lang == "zh" else k for k in keys]
    rows = ([("" if (x := r[k]) is None else x.isoformat() if isinstance(x, dt.date) else x)
             for k in keys] for r in export_rows(query, scope=scope, status=status))
    if fmt == "csv":
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(headers)
        for row in rows:
            w.writerow([_guard(x) for x in row])
        return buf.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("devices")
        ws.append(headers)
        for row in rows:
            cells = []
            for x in row:
                if isinstance(x, str):  # stored by another path? never let it break the file
                    x = _CONTROL_RE.sub("", x)
                c = WriteOnlyCell(ws, value=x)
                if isinstance(x, str):
                    c.data_type = "s"  # never a formula, whatever the text starts with
                cells.append(c)
            ws.append(cells)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise ValueError(f"unknown export format {fmt!r} (csv or xlsx)")


def template(fmt: str = "xlsx", lang: str = "zh") -> bytes:
    """An empty file to fill in: every import column (secrets included), one example row."""
    keys = [c.key for c in COLUMNS]
    headers = [f"{SPEC[k].zh} / {k}" if lang == "zh" else k for k in keys]
    example = {"community": "阳光花园", "district": "新华区", "community_type": "open",
               "name": "南门入口", "kind": "camera", "role": "entrance", "vendor": "Hikvision",
               "model": "DS-2CD3T47", "serial": "EXAMPLE-0001", "mac": "02:00:00:00:00:01",
               "ip": "127.0.0.1", "onvif_port": "80", "username": "admin",
               "password": "(device password)", "contract": "C-2026-001",
               "installed_on": "2026-01-15"}
    row = [example.get(k, "") for k in keys]
    if fmt == "csv":
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(headers)
        w.writerow(row)
        return buf.getvalue().encode("utf-8-sig")
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "devices"
    ws.append(headers)
    ws.append(row)
    for col in ws.iter_cols(min_row=1, max_row=2):
        for cell in col:
            cell.number_format = "@"  # text: Excel must not turn serials or dates into numbers
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
