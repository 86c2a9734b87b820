"""Inventory export (CSV/XLSX, never a secret) and the blank template to fill in."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from .extensions import db
from .inventory_format import _CONTROL_RE, COLUMNS, EXPORT_COLUMNS, SPEC
from .models import Community, Contract, Contractor, Device

def export_rows(query: Select | None = None) -> Iterator[dict[str, Any]]:
    """Device rows in import terms (never secrets), limited to ``query``'s devices."""
    Up = aliased(Device)
    stmt = (select(Device.serial, Device.name, Device.kind, Device.role, Device.vendor,
                   Device.model, Device.mac, Device.ip, Device.onvif_port, Device.snmp_port,
                   Device.username, Device.installed_on,
                   Community.name.label("community"), Community.district,
                   Community.type.label("community_type"), Contract.code.label("contract"),
                   Contractor.name.label("contractor"), Up.serial.label("upstream"))
            .join(Community, Device.community_id == Community.id)
            .outerjoin(Contract, Device.contract_id == Contract.id)
            .outerjoin(Contractor, Contract.contractor_id == Contractor.id)
            .order_by(Community.name, Device.serial))
    if query is None:
        stmt = stmt.outerjoin(Up, Device.upstream_id == Up.id)
    else:
        ids = query.with_only_columns(Device.id).order_by(None).scalar_subquery()
        # An upstream outside the scope stays blank: no other tenant's serials leak out.
        stmt = stmt.outerjoin(Up, (Device.upstream_id == Up.id) & Up.id.in_(ids)) \
            .where(Device.id.in_(ids))
    for r in db.session.execute(stmt):
        yield {k: getattr(r, k) for k in EXPORT_COLUMNS}


def _guard(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def export_devices(fmt: str = "csv", *, query: Select | None = None, lang: str = "en") -> bytes:
    """The inventory as CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX bytes."""
    headers = [SPEC[k].zh if lang == "zh" else k for k in EXPORT_COLUMNS]
    rows = ([("" if (x := r[k]) is None else x.isoformat() if isinstance(x, dt.date) else x)
             for k in EXPORT_COLUMNS] for r in export_rows(query))
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
