"""Inventory files: the columns (English/Chinese headers), reading CSV/XLSX in any of the
encodings Chinese offices produce, and parsing each cell into a canonical value.

No database here: supervisor/inventory.py validates and applies; docs/inventory-columns.md
documents the columns.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from .choices import CameraRole, CommunityType, DeviceKind

# ---------------------------------------------------------------- columns

@dataclass(frozen=True)
class ColumnSpec:
    key: str
    zh: str
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("community", "小区", True, ("小区名称", "所属小区", "社区")),
    ColumnSpec("district", "区县", True, ("行政区", "区", "所属区县", "辖区")),
    ColumnSpec("community_type", "小区类型", True, ("社区类型",)),
    ColumnSpec("name", "设备名称", True, ("名称", "点位名称")),
    ColumnSpec("kind", "设备类型", True, ("类型", "设备种类")),
    ColumnSpec("role", "点位用途", False, ("用途", "摄像机用途", "监控用途")),
    ColumnSpec("vendor", "厂商", False, ("品牌", "生产厂商")),
    ColumnSpec("model", "型号", False, ("设备型号",)),
    ColumnSpec("serial", "序列号", True, ("设备序列号", "sn")),
    ColumnSpec("mac", "MAC地址", False, ("mac 地址", "物理地址")),
    ColumnSpec("ip", "IP地址", True, ("ip 地址", "ip_address")),
    ColumnSpec("onvif_port", "ONVIF端口", False, ("onvif 端口",)),
    ColumnSpec("snmp_port", "SNMP端口", False, ("snmp 端口",)),
    ColumnSpec("snmp_community", "SNMP团体名", False, ("snmp 团体名", "团体名")),
    ColumnSpec("username", "用户名", False, ("登录用户名", "账号")),
    ColumnSpec("password", "密码", False, ("登录密码",)),
    ColumnSpec("upstream", "上级设备", False, ("上联设备", "上级设备序列号")),
    ColumnSpec("contract", "合同编号", False, ("合同", "所属合同")),
    ColumnSpec("installed_on", "安装日期", False, ("安装时间",)),
    ColumnSpec("contractor", "承建单位", False, ("承建商", "施工单位")),
)
# Read-only columns that exports (ours or the web page's) may carry: accepted by the import and
# ignored, so an exported file can be edited and imported back.
IGNORED_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("accepted_on", "验收日期"), ColumnSpec("lifecycle", "生命周期", aliases=("状态阶段",)),
    ColumnSpec("state", "状态", aliases=("当前状态",)),
)
IGNORED = {c.key for c in IGNORED_COLUMNS}
SPEC = {c.key: c for c in COLUMNS + IGNORED_COLUMNS}
SECRET_COLUMNS = ("password", "snmp_community")
EXPORT_COLUMNS = tuple(c.key for c in COLUMNS if c.key not in SECRET_COLUMNS)
DEVICE_FIELDS = ("name", "kind", "role", "vendor", "model", "mac", "ip", "onvif_port",
                 "snmp_port", "username", "installed_on")

# Chinese spellings of the choice values, as people type them in Excel.
CHOICE_ALIASES: dict[str, dict[str, str]] = {
    "kind": {"摄像机": "camera", "摄像头": "camera", "网络摄像机": "camera", "球机": "camera",
             "枪机": "camera", "录像机": "nvr", "硬盘录像机": "nvr", "网络录像机": "nvr",
             "交换机": "switch", "音柱": "speaker", "喇叭": "speaker", "音箱": "speaker",
             "扬声器": "speaker"},
    "role": {"出入口": "entrance", "入口": "entrance", "道路": "road", "周界": "perimeter",
             "高空抛物": "high_altitude", "高空": "high_altitude", "消防通道": "fire_lane",
             "室内": "interior"},
    "community_type": {"开放式": "open", "开放": "open", "封闭式": "closed", "封闭": "closed",
                       "单栋楼": "single_building", "单体楼": "single_building",
                       "单栋": "single_building"},
}
CHOICES = {"kind": DeviceKind.values(), "role": CameraRole.values(),
           "community_type": CommunityType.values()}
MAX_LEN = {"community": 200, "district": 100, "name": 200, "vendor": 100, "model": 100,
           "serial": 100, "username": 100, "password": 200, "snmp_community": 200,
           "upstream": 100, "contract": 100, "contractor": 200}


def _norm_header(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.strip().lstrip("\ufeff").lower())


_HEADER_INDEX: dict[str, tuple[str, str]] = {}  # normalised header -> (key, language)
for _c in COLUMNS + IGNORED_COLUMNS:
    _HEADER_INDEX[_norm_header(_c.key)] = (_c.key, "en")
    _HEADER_INDEX[_norm_header(_c.zh)] = (_c.key, "zh")
    for _a in _c.aliases:
        _HEADER_INDEX.setdefault(_norm_header(_a), (_c.key, "zh" if re.search(r"[^\x00-\x7f]", _a)
                                                     else "en"))


def match_header(text: str) -> tuple[str, str] | None:
    """(column key, language) for a header cell, also for bilingual 'serial / 序列号' cells."""
    hit = _HEADER_INDEX.get(_norm_header(text))
    if hit:
        return hit
    for part in re.split(r"[/|()（）]", text):
        if part.strip() and (hit := _HEADER_INDEX.get(_norm_header(part))):
            return hit
    return None


class RowError(NamedTuple):
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


# ---------------------------------------------------------------- reading

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


def _read_csv(data: bytes) -> tuple[list[tuple[int, list[Any]]], str]:
    text, encoding = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for n, row in enumerate(reader, start=1):
            rows.append((n, row))
    except csv.Error as exc:  # an over-long field, a stray NUL...
        raise ValueError(f"row {len(rows) + 1}: unreadable CSV ({exc})") from None
    return rows, encoding


MAX_XLSX_UNPACKED = 256 * 1024 * 1024  # a workbook that inflates beyond this is refused


def _read_xlsx(data: bytes) -> list[tuple[int, list[Any]]]:
    import zipfile

    import openpyxl

    with zipfile.ZipFile(io.BytesIO(data)) as z:  # refuse a zip bomb before inflating it
        if sum(i.file_size for i in z.infolist()) > MAX_XLSX_UNPACKED:
            raise ValueError("workbook too large once unpacked")
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        return [(n, list(row)) for n, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()


def read_table(filename: str, data: bytes) -> tuple[list[tuple[int, list[Any]]], str]:
    """(numbered rows, encoding or 'xlsx'); raises ValueError with a readable reason."""
    name = (filename or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValueError("this is an old .xls workbook: save it as .xlsx or CSV")
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        try:
            return _read_xlsx(data), "xlsx"
        except ValueError as exc:
            if "too large" in str(exc):
                raise ValueError(f"not a readable .xlsx workbook: {exc}") from None
            raise ValueError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
        except Exception as exc:  # zipfile/openpyxl raise many kinds for a damaged file
            raise ValueError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("binary data: expected a CSV text file or an .xlsx workbook")
    return _read_csv(data)


# ---------------------------------------------------------------- cell parsing

def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 8000 or a numeric serial as 8000.0
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    text = str(value).strip().replace("\u3000", " ").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]  # our own CSV export guards formula-like text with a quote
    return text or None


_MAC_RE = re.compile(r"^[0-9a-f]{12}$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_mac(text: str) -> str:
    hexes = re.sub(r"[:\-.\s]", "", text.lower())
    if not _MAC_RE.match(hexes):
        raise ValueError(f"{text!r} is not a MAC address (e.g. 00:11:22:aa:bb:cc)")
    return ":".join(hexes[i:i + 2] for i in range(0, 12, 2))


def parse_ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def parse_port(text: str) -> int:
    try:
        n = int(float(text)) if re.fullmatch(r"\d+(\.0+)?", text) else None
    except ValueError:
        n = None
    if n is None or not 1 <= n <= 65535:
        raise ValueError(f"{text!r} is not a port number (1-65535)")
    return n


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?", text)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")


def parse_choice(column: str, text: str) -> str:
    low = text.strip().lower()
    value = CHOICE_ALIASES.get(column, {}).get(text.strip(), low)
    if value not in CHOICES[column]:
        raise ValueError(f"unknown {column} {text!r} (one of: {', '.join(CHOICES[column])})")
    return value


def _parse_row(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Canonical values for one row, and (column key, message) problems."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, cell in raw.items():
        is_date_cell = isinstance(cell, (dt.date, dt.datetime))  # an XLSX date cell
        text = _cell_text(cell)
        if text is None:
            out[key] = None
            if SPEC[key].required:
                problems.append((key, "a value is required"))
            continue
        try:
            if key in CHOICES:
                value: Any = parse_choice(key, text)
            elif key == "ip":
                value = parse_ip(text)
            elif key == "mac":
                value = parse_mac(text)
            elif key in ("onvif_port", "snmp_port"):
                value = parse_port(text)
            elif key == "installed_on":
                value = parse_date(cell if is_date_cell else text)
            else:
                value = text
                if _CONTROL_RE.search(value):
                    raise ValueError("contains a control character")
                limit = MAX_LEN.get(key)
                if limit and len(value) > limit:
                    raise ValueError(f"longer than {limit} characters")
        except ValueError as exc:
            problems.append((key, str(exc)))
            value = None
        out[key] = value
    if out.get("kind") == DeviceKind.CAMERA and out.get("role") is None \
            and not any(k == "role" for k, _ in problems):
        problems.append(("role", "a camera needs a role "
                                 f"(one of: {', '.join(CameraRole.values())})"))
    return out, problems
