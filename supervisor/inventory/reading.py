"""Reading an inventory file into numbered rows of raw cells, as real offices produce them.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a superset of GBK, what
Chinese Excel writes); comma, semicolon or tab separated. XLSX: the sheet that holds the
inventory (see ``_pick_sheet``), merged cells filled within their range, trailing formatted but
empty rows dropped. Row numbers are the ones the spreadsheet shows (first row = 1).

No parsing of values here: columns.py turns cells into canonical values.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any, NamedTuple

from supervisor.inventory.columns import _cell_text, match_header

Rows = list[tuple[int, list[Any]]]

MAX_XLSX_UNPACKED = 256 * 1024 * 1024  # a workbook that inflates beyond this is refused
# A sheet formatted down to row 1,048,576 has that many empty <row> elements: stop reading
# after this many blank rows in a row (data after such a gap is not read; documented).
MAX_BLANK_RUN = 10_000
MAX_MERGE_COLUMNS = 256      # a merge across all 16,384 columns fills only this far
MAX_MERGE_FILLS = 5_000_000  # cells filled from merges, in all; beyond it the file is refused
_SHEET_NAME_RE = re.compile(r"设备|清单|台账|devices?|inventory", re.IGNORECASE)
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


class WorkbookRefused(ValueError):
    """A workbook we read but refuse; the message says why."""


class Table(NamedTuple):
    rows: Rows
    encoding: str            # the text encoding, or "xlsx"
    sheet: str | None = None  # the worksheet read (XLSX only)


# ---------------------------------------------------------------- CSV

def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"  # a superset of GBK, as Chinese Excel writes
    except UnicodeDecodeError:
        raise ValueError("the file is neither UTF-8 nor GB18030/GBK text "
                         "(save it as \"CSV UTF-8\" or .xlsx)") from None


def _delimiter(text: str) -> str:
    """The separator used by most of the first lines (a title row above the header has none,
    so the first line alone can mislead)."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()][:10]
    best, best_score = ",", (0, 0)
    for d in (",", ";", "\t"):
        counts = [ln.count(d) for ln in lines]
        score = (sum(1 for c in counts if c >= 2), sum(counts))
        if score > best_score:
            best, best_score = d, score
    return best


_SEP_LINE_RE = re.compile(r"sep=(.)\r?\n")


def _read_csv(data: bytes) -> Table:
    text, encoding = _decode(data)
    # Excel's "sep=;" first line names the separator; Excel hides it, so rows count after it.
    if m := _SEP_LINE_RE.match(text):
        delimiter, text = m.group(1), text[m.end():]
    else:
        delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: Rows = []
    try:
        # One record per spreadsheet row, even when a quoted cell holds a line break.
        for n, row in enumerate(reader, start=1):
            rows.append((n, row))
    except csv.Error as exc:  # an over-long field, a stray NUL...
        raise ValueError(f"row {len(rows) + 1}: unreadable CSV ({exc})") from None
    return Table(rows, encoding)


# ---------------------------------------------------------------- XLSX

def _looks_like_header(rows: list[list[Any]]) -> bool:
    body = [r for r in rows if any(_cell_text(c) for c in r)][:10]
    return any(sum(1 for c in r if (t := _cell_text(c)) and match_header(t)) >= 3 for r in body)


def _pick_sheet(wb: Any) -> Any:
    """The first visible sheet whose first rows hold an inventory header, trying sheets named
    like 设备/清单/台账/devices/inventory first; else the first visible sheet (whose header
    problems are then reported). Hidden and very hidden sheets are never read."""
    visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if not visible:
        raise WorkbookRefused("the workbook has no visible worksheet")
    ordered = sorted(visible, key=lambda ws: not _SHEET_NAME_RE.search(ws.title))
    for ws in ordered:
        ws.reset_dimensions()  # some writers store a wrong <dimension>: read every cell there is
        head = []
        for row in ws.iter_rows(max_row=20, values_only=True):
            head.append(list(row))
        if _looks_like_header(head):
            return ws
    return visible[0]


def _merged_ranges(data: bytes, sheet_path: str | None) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of each merged range, read from the sheet's XML
    (openpyxl's read-only mode does not expose merges)."""
    from openpyxl.utils.cell import range_boundaries

    if not sheet_path:
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        try:
            xml = z.read(sheet_path.lstrip("/"))
        except KeyError:
            return []
    out = []
    for m in _MERGE_RE.finditer(xml):
        ref = m.group(1).decode()
        if ":" in ref:
            out.append(range_boundaries(ref))
    return out


def _fill_merges(rows: Rows, ranges: list[tuple[int, int, int, int]]) -> None:
    """Each cell of a merged range gets the range's top-left value -- what the reader sees --
    within the range only (a blank cell outside any merge stays blank)."""
    if not rows:
        return
    by_row = {n: cells for n, cells in rows}
    last_row = rows[-1][0]
    budget = MAX_MERGE_FILLS
    # A merge that runs past the last device (a community cell merged down over blank rows)
    # must not turn blank rows into half-filled ones: only rows with a value of their own.
    own = {n for n, cells in rows if any(c is not None and c != "" for c in cells)}
    for min_col, min_row, max_col, max_row in ranges:
        top = by_row.get(min_row)
        if top is None or min_col > len(top):
            continue
        value = top[min_col - 1]
        if value is None:
            continue
        max_col = min(max_col, MAX_MERGE_COLUMNS)
        if min_col > max_col:
            continue
        for r in range(min_row, min(max_row, last_row) + 1):
            budget -= 1 + max_col - min_col  # bounds the work a crafted file can ask for
            if budget < 0:
                raise WorkbookRefused("too many merged cells")
            cells = by_row.get(r)
            if cells is None or r not in own:
                continue
            if len(cells) < max_col:
                cells.extend([None] * (max_col - len(cells)))
            for c in range(min_col, max_col + 1):
                if cells[c - 1] is None:
                    cells[c - 1] = value


def _read_xlsx(data: bytes) -> Table:
    import openpyxl

    with zipfile.ZipFile(io.BytesIO(data)) as z:  # refuse a zip bomb before inflating it
        if sum(i.file_size for i in z.infolist()) > MAX_XLSX_UNPACKED:
            raise WorkbookRefused("workbook too large once unpacked")
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = _pick_sheet(wb)
        ws.reset_dimensions()
        rows: Rows = []
        blank_run = 0
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if any(c is not None and c != "" for c in row):
                blank_run = 0
                rows.append((n, list(row)))
            else:
                blank_run += 1
                if blank_run > MAX_BLANK_RUN:
                    break
                rows.append((n, []))
        while rows and not rows[-1][1]:
            rows.pop()
        _fill_merges(rows, _merged_ranges(data, getattr(ws, "_worksheet_path", None)))
        return Table(rows, "xlsx", ws.title)
    finally:
        wb.close()


def read_table(filename: str, data: bytes) -> Table:
    """(numbered rows, encoding or 'xlsx', sheet); raises ValueError with a readable reason."""
    name = (filename or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValueError("this is an old .xls workbook: save it as .xlsx or CSV")
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        try:
            return _read_xlsx(data)
        except ValueError as exc:
            if isinstance(exc, WorkbookRefused):
                raise ValueError(f"not a readable .xlsx workbook: {exc}") from None
            raise ValueError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
        except Exception as exc:  # zipfile/openpyxl raise many kinds for a damaged file
            raise ValueError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("binary data: expected a CSV text file or an .xlsx workbook")
    return _read_csv(data)
