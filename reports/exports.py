"""Tables as CSV (UTF-8 with BOM, so Excel reads Chinese) and XLSX. A table is a list of
(key, heading) columns and rows of dicts; cells that a spreadsheet would run as a formula are
prefixed with a quote. Tables hold figures only: no device secret is ever a column here."""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any, Sequence

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return value


def to_csv(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([h for _, h in columns])
    for r in rows:
        w.writerow(["" if r.get(k) is None else _cell(r.get(k)) for k, _ in columns])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]],
            title: str = "report") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31] or "report")
    ws.append([h for _, h in columns])
    for r in rows:
        ws.append([_cell(r.get(k)) for k, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
