"""Real-world spreadsheet quirks, each in a file generated with the quirk (openpyxl / csv).

What Chinese offices' sheets contain: numbers Excel made of serials, MACs and dates; full-width
characters; non-breaking spaces; 序号 and extra columns; merged community cells; instruction
sheets and hidden sheets; formatted-but-empty rows; Chinese choice labels; ;/tab CSV; GB18030.
"""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from supervisor.inventory import importer as inventory
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Device

from inventory_helpers import HEADERS, good_rows, to_csv, to_xlsx, write, zh_headers

COL = {k: i for i, k in enumerate(HEADERS)}


def _rows(**changes) -> list[list]:
    """good_rows() with cells replaced: changes = {"<row index>_<column>": value}."""
    rows = [list(r) for r in good_rows()]
    for spec, value in changes.items():
        i, key = spec.split("_", 1)
        rows[int(i)][COL[key]] = value
    return rows


def _plan(name: str, data: bytes) -> inventory.ImportPlan:
    return inventory.parse_upload(name, data)


def _values(plan: inventory.ImportPlan, key: str) -> list:
    return [r.values.get(key) for r in plan.rows]


def _save(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _errors(plan: inventory.ImportPlan) -> list[str]:
    return [str(e) for e in plan.errors]


# ---------------------------------------------------------------- Excel numbers

def test_long_serial_made_a_number_is_refused_with_row_column_and_fix(app, contracts):
    # XLSX: Excel keeps 15 digits, so a 17-digit serial typed into a General cell is rounded.
    rows = _rows(**{"1_serial": 12345678901234567.0, "1_mac": 1.12233e15})
    plan = _plan("x.xlsx", to_xlsx(rows, HEADERS))
    lines = _errors(plan)
    assert lines[0].startswith("row 3, column serial: Excel stored this as the number "
                               "1.23457E+16 and kept only 15 digits: format the column as text")
    assert lines[1].startswith("row 3, column mac: Excel stored this as the number 1.12233E+15")
    # CSV saved by Excel: the cell's shown text, digits already gone.
    rows = _rows(**{"2_serial": "1.23457E+13", "3_upstream": "2E+15"})
    plan = _plan("x.csv", to_csv(rows, HEADERS))
    assert "row 4, column serial: '1.23457E+13' is a number Excel shortened to scientific " \
           "notation (digits lost): format the column as text" in "\n".join(_errors(plan))
    assert any(e.startswith("row 5, column upstream: '2E+15' is a number Excel")
               for e in _errors(plan))


def test_numbers_that_are_exact_are_accepted(app, contracts):
    # A 14-digit serial as a number is exact in Excel; ports as 8080.0; a MAC of digits only
    # lost its leading zeros, which a 12-digit MAC gives back.
    rows = _rows(**{"4_serial": 12345678901234, "1_onvif_port": 8080.0, "2_mac": 1122334403,
                    "3_snmp_port": 161.0})
    plan = _plan("x.xlsx", to_xlsx(rows, HEADERS))
    assert plan.ok, _errors(plan)
    assert _values(plan, "serial")[4] == "12345678901234"
    assert _values(plan, "onvif_port")[1] == 8080 and _values(plan, "snmp_port")[3] == 161
    assert _values(plan, "mac")[2] == "00:11:22:33:44:03"
    plan = _plan("x.csv", to_csv(_rows(**{"1_onvif_port": "8080.0"}), HEADERS))
    assert plan.ok and _values(plan, "onvif_port")[1] == 8080
    # A CSV MAC of 10 digits can't be told from a typo: refused with the likely cause.
    plan = _plan("x.csv", to_csv(_rows(**{"2_mac": "1122334403"}), HEADERS))
    assert _errors(plan) == ["row 4, column mac: '1122334403' has 10 digits, a MAC has 12 (did "
                             "Excel make it a number and drop leading zeros?): format the column "
                             "as text (设置单元格格式 → 文本) and type the values again"]


# ---------------------------------------------------------------- dates

def test_dates_as_excel_writes_them(app, runner, contracts, tmp_path):
    xlsx_rows = _rows(**{"0_installed_on": 45356,                       # a day number, General
                         "1_installed_on": dt.datetime(2024, 3, 5, 9, 30),  # a date-time cell
                         "2_installed_on": "2024/3/5", "3_installed_on": "2024年3月5日",
                         "4_installed_on": "2024.03.05"})
    plan = _plan("x.xlsx", to_xlsx(xlsx_rows, HEADERS))
    assert plan.ok, _errors(plan)
    assert _values(plan, "installed_on") == [dt.date(2024, 3, 5)] * 5
    csv_rows = _rows(**{"0_installed_on": "45356", "1_installed_on": "20240305",
                        "2_installed_on": "2024-3-5 00:00:00", "3_installed_on": "２０２４/３/５",
                        "4_installed_on": "2024 年 3 月 5 日"})
    path = write(tmp_path, "d.csv", to_csv(csv_rows, HEADERS))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert set(db.session.scalars(select(Device.installed_on))) == {dt.date(2024, 3, 5)}
    bad = _rows(**{"0_installed_on": 12, "1_installed_on": "2024/13/5",
                   "2_installed_on": "3/5/2024"})
    assert _errors(_plan("x.xlsx", to_xlsx(bad, HEADERS))) == [
        "row 2, column installed_on: 12 is not a date (YYYY-MM-DD, or an Excel date from 1990 "
        "to 2099)",
        "row 3, column installed_on: '2024/13/5' is not a date (YYYY-MM-DD)",
        "row 4, column installed_on: '3/5/2024' is not a date (YYYY-MM-DD)"]


# ---------------------------------------------------------------- characters

def test_full_width_characters_and_invisible_spaces(app, contracts):
    rows = _rows(**{"0_ip": "１２７．３１．０．１", "0_mac": "00：11：22：33：44：01",
                    "1_onvif_port": "８０", "1_ip": "127。31。0。2",
                    "2_serial": "ＣＡＭ－０００１", "3_ip": "127.031.000.004",
                    "0_community": "\u00a0阳光花园\u3000", "1_community": "阳光花园\u200b ",
                    "4_name": "\u00a0消防通道音柱 ", "3_serial": " CAM-0002\u00a0",
                    "2_upstream": "ＮＶＲ－０００１"})
    plan = _plan("x.csv", to_csv(rows, HEADERS))
    assert plan.ok, _errors(plan)
    assert _values(plan, "ip")[:4] == ["127.31.0.1", "127.31.0.2", "127.31.0.3", "127.31.0.4"]
    assert _values(plan, "mac")[0] == "00:11:22:33:44:01"
    assert _values(plan, "onvif_port")[1] == 80
    assert _values(plan, "serial")[2:4] == ["CAM-0001", "CAM-0002"]
    assert set(_values(plan, "community")[:3]) == {"阳光花园"}
    assert _values(plan, "name")[4] == "消防通道音柱"
    assert plan.rows[2].values["upstream"] == "NVR-0001"  # folded, so the reference resolves


def test_mac_forms_are_normalised_to_one(app, contracts):
    forms = ["AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "AABBCCDDEEFF", "aa:bb:cc:dd:ee:ff",
             "AABB-CCDD-EEFF", "ａａ：ｂｂ：ｃｃ：ｄｄ：ｅｅ：ｆｆ", " AA BB CC DD EE FF "]
    for mac in forms:
        plan = _plan("x.csv", to_csv(_rows(**{"2_mac": mac}), HEADERS))
        assert plan.ok, (mac, _errors(plan))
        assert _values(plan, "mac")[2] == "aa:bb:cc:dd:ee:ff", mac


def test_placeholders_for_nothing_are_blank_in_optional_cells(app, contracts):
    rows = _rows(**{"4_mac": "无", "4_onvif_port": "／", "4_vendor": "-", "4_installed_on": "—",
                    "3_upstream": "/"})
    plan = _plan("x.csv", to_csv(rows, HEADERS))
    assert plan.ok, _errors(plan)
    spk = plan.rows[4].values
    assert (spk["mac"], spk["onvif_port"], spk["vendor"], spk["installed_on"]) == (None,) * 4
    # ... but a required cell holding "/" is still missing data.
    plan = _plan("x.csv", to_csv(_rows(**{"4_ip": "/", "3_ip": "127.31.0.4：8000"}), HEADERS))
    assert _errors(plan) == [
        "row 5, column ip: '127.31.0.4：8000' holds a port too: put 127.31.0.4 here and 8000 in "
        "the onvif_port (ONVIF端口) column",
        "row 6, column ip: '/' is not an IP address"]


# ---------------------------------------------------------------- headers and choices

def test_header_variants_index_column_and_unknown_columns(app, runner, contracts, tmp_path):
    headers = zh_headers(HEADERS)
    headers[COL["name"]] = "设备\n名称"                 # a line break inside the header cell
    headers[COL["onvif_port"]] = "ONVIF端口（默认80）"   # units in brackets
    headers[COL["serial"]] = "*序列号"                  # a required-column star
    headers[COL["ip"]] = "ＩＰ 地址"                     # full-width letters and a space
    headers = ["序号"] + headers + ["立杆编号", "备注"]
    rows = [[i + 1] + r + [f"P-{i}", "见图纸"] for i, r in enumerate(good_rows())]
    rows[1][1 + COL["name"]] = ""                       # an error names the header on one line
    path = write(tmp_path, "h.csv", to_csv(rows, headers))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 1
    assert "warning: row 1, column 立杆编号: unknown column, ignored" in result.output
    assert "备注" not in result.output and "序号" not in result.output  # known extras: silent
    assert "row 3, column 设备 名称: a value is required" in result.output
    rows[1][1 + COL["name"]] = "录像机"
    plan = _plan("h.csv", to_csv(rows, headers))
    assert plan.ok and plan.header_language == "zh" and len(plan.rows) == 5
    assert [w.column for w in plan.warnings] == ["立杆编号"]
    assert _values(plan, "onvif_port")[3] == 8000


def test_chinese_choice_labels_map_to_codes(app, contracts):
    labels = [("枪机", "出入口"), ("球机", "道路"), ("NVR", ""), ("交换机", ""), ("音柱", ""),
              ("网络高清摄像机", "周界"), ("半球", "高空抛物"), ("摄像头", "消防通道"),
              ("IPC", "室内"), ("枪机", "小区东门出入口")]
    rows = []
    for i, (kind, role) in enumerate(labels):
        r = list(good_rows()[4])
        r[COL["serial"]], r[COL["ip"]] = f"S-{i}", f"127.31.1.{i + 1}"
        r[COL["kind"]], r[COL["role"]] = kind, role
        r[COL["community_type"]] = ["开放式", "封闭式", "单栋", "封闭式小区", "开放"][i % 5]
        r[COL["community"]] = f"小区{i % 5}"
        rows.append(r)
    plan = _plan("x.csv", to_csv(rows, HEADERS))
    assert plan.ok, _errors(plan)
    assert _values(plan, "kind") == ["camera", "camera", "nvr", "switch", "speaker", "camera",
                                     "camera", "camera", "camera", "camera"]
    assert _values(plan, "role") == ["entrance", "road", None, None, None, "perimeter",
                                     "high_altitude", "fire_lane", "interior", "entrance"]
    assert _values(plan, "community_type")[:5] == ["open", "closed", "single_building",
                                                   "closed", "open"]
    rows[0][COL["role"]] = "消防通道出入口"  # two roles' words: refused, not guessed
    rows[1][COL["kind"]] = "云台"
    assert _errors(_plan("x.csv", to_csv(rows, HEADERS))) == [
        "row 2, column role: role '消防通道出入口' is ambiguous (entrance or fire_lane)",
        "row 3, column kind: unknown kind '云台' (one of: camera, nvr, switch, speaker)"]


# ---------------------------------------------------------------- XLSX structure

def _zh_sheet(ws, rows: list[list], title: str | None = "新华区前端设备清单") -> None:
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws.append(zh_headers(HEADERS))
    for r in rows:
        ws.append(r)


def test_merged_community_cells_fill_down_within_the_merge_only(app, runner, contracts, tmp_path):
    wb = openpyxl.Workbook()
    rows = [list(r) for r in good_rows()]
    for r in rows[1:3]:  # value only in the first cell of each merged range, as Excel keeps it
        r[COL["community"]] = r[COL["district"]] = r[COL["community_type"]] = None
    rows[4][COL["community"]] = None  # outside any merge: stays blank
    _zh_sheet(wb.active, rows)
    ws = wb.active
    for key in ("community", "district", "community_type"):  # rows 3-5 = the 阳光花园 devices
        ws.merge_cells(start_row=3, start_column=COL[key] + 1, end_row=5, end_column=COL[key] + 1)
    ws.merge_cells(start_row=6, start_column=COL["district"] + 1, end_row=9,
                   end_column=COL["district"] + 1)  # runs past the last device: no extra rows
    plan = _plan("m.xlsx", _save(wb))
    assert _errors(plan) == ["row 7, column 小区: a value is required"]
    assert _values(plan, "community")[:4] == ["阳光花园"] * 3 + ["幸福里"]
    assert _values(plan, "district") == ["新华区"] * 3 + ["桥西区"] * 2
    assert _values(plan, "community_type")[:3] == ["open"] * 3
    ws.cell(row=7, column=COL["community"] + 1, value="幸福里")
    path = write(tmp_path, "m.xlsx", _save(wb))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
    assert (entry.after["encoding"], entry.after["sheet"]) == ("xlsx", "Sheet")
    cams = {d.serial: d.community.name for d in db.session.scalars(select(Device))}
    assert cams == {"SW-0001": "阳光花园", "NVR-0001": "阳光花园", "CAM-0001": "阳光花园",
                    "CAM-0002": "幸福里", "SPK-0001": "幸福里"}


def test_sheet_choice_skips_instructions_and_hidden_sheets(app, runner, contracts, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请按模板填写，序列号列设为文本格式"])
    old = wb.create_sheet("devices_old")     # hidden, with a header: never read
    _zh_sheet(old, [list(r) for r in good_rows()[:1]])
    old.sheet_state = "hidden"
    other = wb.create_sheet("统计")           # visible, no inventory header
    other.append(["区县", "数量"])
    _zh_sheet(wb.create_sheet("设备清单"), [list(r) for r in good_rows()])
    path = write(tmp_path, "s.xlsx", _save(wb))
    result = runner.invoke(args=["inventory", "import", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "xlsx, sheet '设备清单'" in result.output and "created 5" in result.output
    # No sheet named like an inventory: the first visible sheet with an inventory header.
    wb2 = openpyxl.Workbook()
    wb2.active.title = "Sheet1"
    wb2.active.append(["说明"])
    _zh_sheet(wb2.create_sheet("Sheet2"), [list(r) for r in good_rows()], title=None)
    plan = _plan("s.xlsx", _save(wb2))
    assert plan.ok and plan.sheet == "Sheet2" and len(plan.rows) == 5


def test_trailing_and_formatted_empty_rows_are_not_devices(app, contracts):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号"] + HEADERS)
    for i, r in enumerate(good_rows()):
        ws.append([i + 1] + list(r))
    for n in range(7, 60):                      # a pre-numbered template, only 5 rows filled
        ws.cell(row=n, column=1, value=n - 1)
    for n in range(60, 3000):                   # formatted (text, borders) but empty
        ws.cell(row=n, column=COL["serial"] + 2).number_format = "@"
    ws.cell(row=3000, column=3, value="   ")    # whitespace only
    ws.cell(row=3002, column=2, value="制表人：张三")  # a remark under the table: in a data column
    plan = _plan("t.xlsx", _save(wb))
    assert len(plan.rows) == 6 and plan.rows[-1].row == 3002
    assert _errors(plan)[0] == "row 3002, column district: a value is required"
    assert {e.row for e in plan.errors} == {3002}


def test_row_numbers_are_the_sheets_with_title_and_blank_rows(app, contracts):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["桥西区设备台账"])
    ws.append([])
    ws.append(HEADERS)
    rows = [list(r) for r in good_rows()]
    rows[3][COL["ip"]] = "127.31.0.999"
    for r in rows[:2]:
        ws.append(r)
    ws.append([])                                # a blank row inside the table
    for r in rows[2:]:
        ws.append(r)
    plan = _plan("r.xlsx", _save(wb))
    assert _errors(plan) == ["row 8, column ip: '127.31.0.999' is not an IP address"]


# ---------------------------------------------------------------- CSV dialects and encodings

@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_with_semicolon_or_tab_and_a_title_row(app, contracts, delimiter):
    lines = ["新华区设备清单"] + [delimiter.join(HEADERS)]
    lines += [delimiter.join(r) for r in good_rows()]
    plan = _plan("x.csv", ("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    assert plan.ok, _errors(plan)
    assert len(plan.rows) == 5 and plan.rows[0].row == 3  # title = row 1, header = row 2
    assert _values(plan, "ip")[0] == "127.31.0.1"


def test_gb18030_file_with_characters_outside_gbk(app, runner, contracts, tmp_path):
    name = "𠮷祥小区"  # U+20BB7: in GB18030 (four bytes), not in GBK
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    rows = _rows(**{"3_community": name, "4_community": name, "3_name": "䶮路口"})
    path = write(tmp_path, "g.csv", to_csv(rows, zh_headers(HEADERS), "gb18030"))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "(gb18030," in result.output
    dev = db.session.scalar(select(Device).where(Device.serial == "CAM-0002"))
    assert dev.community.name == name and dev.name == "䶮路口"


def test_two_row_header_with_merged_group_cells(app, contracts):
    """Row 1 groups columns (网络信息 over IP/MAC/ports) and the other headers are merged down
    over both rows: the header is row 2, data starts at row 3."""
    wb = openpyxl.Workbook()
    ws = wb.active
    zh = zh_headers(HEADERS)
    network = [COL[k] for k in ("mac", "ip", "onvif_port", "snmp_port")]
    ws.append([("网络信息" if i == network[0] else None) if i in network else h
               for i, h in enumerate(zh)])
    ws.append([zh[i] if i in network else None for i in range(len(zh))])
    for r in good_rows():
        ws.append(list(r))
    ws.merge_cells(start_row=1, start_column=network[0] + 1, end_row=1,
                   end_column=network[-1] + 1)
    for i in range(len(zh)):
        if i not in network:
            ws.merge_cells(start_row=1, start_column=i + 1, end_row=2, end_column=i + 1)
    plan = _plan("two.xlsx", _save(wb))
    assert plan.ok, _errors(plan)
    assert [r.row for r in plan.rows] == [3, 4, 5, 6, 7]
    assert _values(plan, "ip")[0] == "127.31.0.1" and _values(plan, "serial")[0] == "SW-0001"


def test_csv_with_excel_sep_line(app, contracts):
    lines = ["sep=;", ";".join(HEADERS)] + [";".join(r) for r in good_rows()]
    rows = [list(r) for r in good_rows()]
    lines[3] = ";".join(rows[1][:COL["ip"]] + ["not-an-ip"] + rows[1][COL["ip"] + 1:])
    plan = _plan("x.csv", ("\n".join(lines) + "\n").encode("gb18030"))
    # Excel hides the sep line: the header is row 1, NVR-0001 is row 3.
    assert _errors(plan) == ["row 3, column ip: 'not-an-ip' is not an IP address"]


def test_header_spellings_seen_in_the_field(app, contracts):
    spelled = dict(zip(HEADERS, zh_headers(HEADERS)))
    spelled.update(community="*小区名称", district="所属区域", serial="Serial No.", ip="设备IP",
                   vendor="厂家", model="规格型号", mac="MAC", installed_on="安装时间")
    plan = _plan("x.csv", to_csv(good_rows(), [spelled[k] for k in HEADERS]))
    assert plan.ok, _errors(plan)
    assert plan.header_language == "mixed" and len(plan.rows) == 5
    assert {k: plan.headers[k] for k in ("serial", "ip", "vendor", "mac")} == {
        "serial": "Serial No.", "ip": "设备IP", "vendor": "厂家", "mac": "MAC"}


def _patch_sheet_xml(data: bytes, patch) -> bytes:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = patch(body)
            dst.writestr(item, body)
    return out.getvalue()


def test_crafted_workbooks_are_refused_or_read_not_crashed(app, contracts):
    rows = _rows(**{"4_serial": 123454321})  # becomes a 401-digit number in the XML
    data = _patch_sheet_xml(to_xlsx(rows, HEADERS), lambda b: b.replace(
        b"<v>123454321</v>", b"<v>1" + b"0" * 400 + b"</v>"))
    plan = _plan("x.xlsx", data)
    assert _errors(plan) == [
        "row 6, column serial: Excel stored this as the number 1.00000E+400 and kept only 15 "
        "digits: format the column as text (设置单元格格式 → 文本) and type the values again"]
    # A wrong <dimension> (some writers store "A1"): every cell is still read.
    good = to_xlsx(good_rows(), HEADERS)
    wrong = _patch_sheet_xml(good, lambda b: re.sub(rb'<dimension ref="[^"]+"/>',
                                                    b'<dimension ref="A1"/>', b))
    plan = _plan("x.xlsx", wrong)
    assert plan.ok and len(plan.rows) == 5 and _values(plan, "ip")[4] == "127.31.0.5"
    # A merge over the whole sheet: bounded work (rows up to the last one read, 256 columns),
    # then the filled blanks are judged like any cell -- row errors, not a hang or a crash.
    huge = _patch_sheet_xml(good, lambda b: b.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A2:XFD1048576"/>'
                         b"</mergeCells>"))
    plan = _plan("x.xlsx", huge)
    assert len(plan.rows) == 5 and plan.errors
    assert {e.row for e in plan.errors} <= {2, 3, 4, 5, 6}
    assert "row 2, column role: unknown role '阳光花园'" in "\n".join(_errors(plan))


def test_too_many_merged_cells_refuse_the_workbook(app, contracts, monkeypatch):
    from supervisor.inventory import reading as inventory_read

    monkeypatch.setattr(inventory_read, "MAX_MERGE_FILLS", 10)  # a real limit is millions
    wb = openpyxl.Workbook()
    _zh_sheet(wb.active, [list(r) for r in good_rows()], title=None)
    wb.active.merge_cells("A2:C6")  # 3 cells on each of 5 rows > 10
    plan = _plan("x.xlsx", _save(wb))
    assert _errors(plan) == ["row 1, column -: not a readable .xlsx workbook: too many merged "
                             "cells"]


def test_a_sheet_as_a_district_office_sends_it(app, runner, contracts, tmp_path):
    """Many quirks at once, then export and re-import: nothing changes the second time."""
    wb = openpyxl.Workbook()
    wb.active.title = "填写说明"
    wb.active.append(["1. 带*为必填；2. 序列号列请设置为文本"])
    hidden = wb.create_sheet("旧版")
    hidden.sheet_state = "hidden"
    ws = wb.create_sheet("前端设备清单")
    ws.append(["新华区雪亮工程前端设备台账（2024年）"])
    ws.merge_cells("A1:K1")
    ws.append(["序号", "*小区名称", "所属区域", "小区类型", "点位名称", "设备类型", "用途",
               "设备IP", "MAC", "序列号（SN）", "ONVIF端口\n（默认80）", "安装时间",
               "合同编号", "上级设备", "立杆编号", "备注"])
    data = [
        [1, "阳光花园", "新华区", "开放式小区", "1号交换机", "POE交换机", "/", "127.31.0.1",
         "00-11-22-33-44-01", "SW-0001", "/", 45356, "C-2026-001", "", "G-1", ""],
        [2, None, None, None, "录像机", "NVR", "—", "１２７．３１．０．２", 1122334402,
         "NVR-0001", 80.0, "2024/3/5", "C-2026-001", "SW-0001", "", "机房"],
        [3, None, None, None, "南门\u00a0入口", "枪机", "小区南门出入口", " 127.31.0.3 ",
         "0011.2233.4403", "CAM-0001", "８０", "2024年3月5日", "C-2026-001", "NVR-0001", "G-2",
         ""],
        [4, "幸福里", "桥西区", "封闭式", "高空抛物 1", "网络高清摄像机", "高空抛物", "127.31.0.4",
         "", 12345678901234, 8000, dt.datetime(2024, 3, 5), "C-2026-002", "", "", ""],
    ]
    for r in data:
        ws.append(r)
    for col in ("B", "C", "D"):
        ws.merge_cells(f"{col}3:{col}5")
    for n in range(7, 40):
        ws.cell(row=n, column=1, value=n - 2)  # pre-numbered, empty rows
    path = write(tmp_path, "台账.xlsx", _save(wb))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "sheet '前端设备清单'" in result.output and "created 4" in result.output
    assert "warning: row 2, column 立杆编号: unknown column, ignored" in result.output
    devices = {d.serial: d for d in db.session.scalars(select(Device))}
    assert set(devices) == {"SW-0001", "NVR-0001", "CAM-0001", "12345678901234"}
    cam = devices["CAM-0001"]
    assert (cam.community.name, cam.community.district, cam.community.type) == (
        "阳光花园", "新华区", "open")
    assert (cam.kind, cam.role, cam.name, cam.ip, cam.mac, cam.onvif_port) == (
        "camera", "entrance", "南门 入口", "127.31.0.3", "00:11:22:33:44:03", 80)
    assert cam.upstream.serial == "NVR-0001" and cam.upstream.upstream.serial == "SW-0001"
    assert devices["NVR-0001"].mac == "00:11:22:33:44:02"
    assert {d.installed_on for d in devices.values()} == {dt.date(2024, 3, 5)}
    assert devices["12345678901234"].role == "high_altitude"
    for lang in ("zh", "en"):
        out = tmp_path / f"export-{lang}.xlsx"
        assert runner.invoke(args=["inventory", "export", str(out), "--lang", lang]).exit_code == 0
        again = runner.invoke(args=["inventory", "import", "--dry-run", str(out)])
        assert again.exit_code == 0 and "unchanged 4" in again.output, again.output


def test_community_names_typed_two_ways_are_flagged(app, runner, contracts, tmp_path):
    """Full-width brackets or an extra space make a second community: kept as typed (names are
    data), but warned about, in the file and against what is stored."""
    rows = _rows(**{"0_community": "阳光花园（一期）", "1_community": "阳光花园（一期）",
                    "2_community": "阳光花园(一期)"})
    plan = _plan("x.csv", to_csv(rows, HEADERS))
    assert plan.ok and [str(w) for w in plan.warnings] == [
        "row 4, column community: community '阳光花园(一期)' differs from '阳光花园（一期）' "
        "(row 2) only in full-width/half-width forms or spaces: they are two communities"]
    path = write(tmp_path, "a.csv", to_csv(_rows(**{"0_community": "阳光花园（一期）",
                                                    "1_community": "阳光花园（一期）",
                                                    "2_community": "阳光花园（一期）"}), HEADERS))
    assert runner.invoke(args=["inventory", "import", str(path)]).exit_code == 0
    later = _rows(**{"3_community": "阳光花园 (一期)", "4_community": "阳光花园 (一期)",
                     "3_district": "新华区", "4_district": "新华区",
                     "3_community_type": "open", "4_community_type": "open"})
    path = write(tmp_path, "b.csv", to_csv(later, HEADERS))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0
    assert result.output.count("warning: row 5, column community: new community '阳光花园 (一期)': "
                               "the stored community '阳光花园（一期）' differs only in") == 1
