"""The import preview says which worksheet it read and lists warnings (unknown columns are
ignored, so the page must say so: a misspelt column would otherwise vanish unnoticed)."""
from __future__ import annotations

import io

import openpyxl

from .conftest import csrf_from
from .test_import_page import GOOD


def test_preview_names_the_sheet_and_the_ignored_column(as_user, world):
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["序列号请设为文本格式"])
    ws = wb.create_sheet("设备清单")
    lines = [line.split(",") for line in GOOD.strip().splitlines()]
    for i, cells in enumerate(lines):
        ws.append(cells + (["立杆编号"] if i == 0 else [f"P-{i}"]))
    out = io.BytesIO()
    wb.save(out)
    police = as_user("police")
    page = police.get("/import/").get_data(as_text=True)
    resp = police.post("/import/", data={"csrf_token": csrf_from(page),
                                         "file": (io.BytesIO(out.getvalue()), "inv.xlsx")},
                       content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="confirm-import"' in html, html[-1500:]
    assert "设备清单" in html.split('id="import-sheet"', 1)[1].split("</p>", 1)[0]
    warnings = html.split('id="import-warnings"', 1)[1].split("</div>", 1)[0]
    assert "立杆编号" in warnings and "unknown column, ignored" in warnings
