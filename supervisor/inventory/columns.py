"""Inventory files: the columns (English/Chinese headers) and parsing each cell into a
canonical value, as real-world Chinese spreadsheets write them.

No database and no file reading here: reading.py reads CSV/XLSX into raw cells,
supervisor/inventory/importer.py validates and applies; docs/inventory-columns.md documents the columns.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from supervisor.core.choices import (
    DEVICE_SECRET_FIELDS, SNMP_V3_KEY_FIELDS, CameraRole, CommunityType, DeviceKind,
)

# ---------------------------------------------------------------- columns

@dataclass(frozen=True)
class ColumnSpec:
    key: str
    zh: str
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("community", "小区", True, ("小区名称", "所属小区", "社区", "社区名称", "小区名")),
    ColumnSpec("district", "区县", True, ("行政区", "区", "所属区县", "辖区", "所属区域", "区域")),
    ColumnSpec("community_type", "小区类型", True, ("社区类型",)),
    ColumnSpec("name", "设备名称", True, ("名称", "点位名称", "设备名", "点位")),
    ColumnSpec("kind", "设备类型", True, ("类型", "设备种类")),
    ColumnSpec("role", "点位用途", False, ("用途", "摄像机用途", "监控用途")),
    ColumnSpec("vendor", "厂商", False, ("品牌", "生产厂商", "厂家", "设备厂家", "设备品牌")),
    ColumnSpec("model", "型号", False, ("设备型号", "规格型号")),
    ColumnSpec("serial", "序列号", True, ("设备序列号", "sn", "serial no", "serial number",
                                            "序列号(sn)")),
    ColumnSpec("mac", "MAC地址", False, ("mac 地址", "物理地址", "设备mac")),
    ColumnSpec("ip", "IP地址", True, ("ip 地址", "ip_address", "设备ip", "管理ip", "ipv4地址")),
    ColumnSpec("onvif_port", "ONVIF端口", False, ("onvif 端口",)),
    ColumnSpec("snmp_port", "SNMP端口", False, ("snmp 端口",)),
    ColumnSpec("snmp_community", "SNMP团体名", False, ("snmp 团体名", "团体名")),
    ColumnSpec("username", "用户名", False, ("登录用户名", "账号")),
    ColumnSpec("password", "密码", False, ("登录密码",)),
    ColumnSpec("upstream", "上级设备", False, ("上联设备", "上级设备序列号")),
    # The NVR that records a camera (serial): not a network path, see DESIGN.md's topology.
    ColumnSpec("recorded_by", "录像设备", False, ("录像机", "所属录像机", "录像设备序列号")),
    ColumnSpec("contract", "合同编号", False, ("合同", "所属合同")),
    ColumnSpec("installed_on", "安装日期", False, ("安装时间", "建设日期", "安装完成日期")),
    ColumnSpec("contractor", "承建单位", False, ("承建商", "施工单位")),
    # SNMP version and v3 (USM authPriv) credentials; the two keys are secrets like password.
    ColumnSpec("snmp_version", "SNMP版本", False, ("snmp 版本",)),
    ColumnSpec("snmp_user", "SNMPv3用户名", False, ("snmp用户名", "snmpv3 用户")),
    ColumnSpec("snmp_auth_protocol", "SNMPv3认证协议", False, ("snmp认证协议", "认证协议")),
    ColumnSpec("snmp_auth_key", "SNMPv3认证密码", False, ("snmp认证密码", "认证密码", "认证密钥")),
    ColumnSpec("snmp_priv_protocol", "SNMPv3加密协议", False, ("snmp加密协议", "加密协议")),
    ColumnSpec("snmp_priv_key", "SNMPv3加密密码", False, ("snmp加密密码", "加密密码", "加密密钥")),
    # Where a camera stands and what it sees (optional; evidence lookup): WGS-84 degrees,
    # heading clockwise from north, horizontal field of view, useful range in metres.
    ColumnSpec("latitude", "纬度", False, ("lat",)),
    ColumnSpec("longitude", "经度", False, ("lng", "lon")),
    ColumnSpec("heading_deg", "朝向", False, ("朝向角", "方位角", "heading")),
    ColumnSpec("fov_deg", "视场角", False, ("水平视场角", "fov")),
    ColumnSpec("range_m", "可视距离", False, ("监控距离", "range")),
    # The first local day the device is out of service (reports prorate it; sweeps stop).
    ColumnSpec("retired_on", "退役日期", False, ("报废日期", "停用日期", "拆除日期", "退役时间")),
)
# Read-only columns that exports (ours or the web page's) may carry: accepted by the import and
# ignored, so an exported file can be edited and imported back.
IGNORED_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("accepted_on", "验收日期"), ColumnSpec("lifecycle", "生命周期", aliases=("状态阶段",)),
    ColumnSpec("state", "状态", aliases=("当前状态",)),
    # Columns Chinese sheets commonly carry that the inventory has no field for: ignored
    # silently (any other unknown column is ignored with a warning, see inventory.py).
    ColumnSpec("index", "序号", aliases=("no", "no.", "#", "编号序号")),
    ColumnSpec("remarks", "备注", aliases=("说明", "note", "notes", "remark")),
)
IGNORED = {c.key for c in IGNORED_COLUMNS}
SPEC = {c.key: c for c in COLUMNS + IGNORED_COLUMNS}
SECRET_COLUMNS = DEVICE_SECRET_FIELDS
EXPORT_COLUMNS = tuple(c.key for c in COLUMNS if c.key not in SECRET_COLUMNS)
DEVICE_FIELDS = ("name", "kind", "role", "vendor", "model", "mac", "ip", "onvif_port",
                 "snmp_port", "username", "installed_on", "snmp_version", "snmp_user",
                 "snmp_auth_protocol", "snmp_priv_protocol", "latitude", "longitude",
                 "heading_deg", "fov_deg", "range_m", "retired_on")
# What the probes accept (probes/snmp.py SnmpSession._auth), in canonical spelling.
SNMP_VERSIONS = ("1", "2c", "3", "auto")
SNMP_AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
SNMP_PRIV_PROTOCOLS = ("DES", "AES", "AES128", "AES192", "AES256")
SNMP_KEY_MIN = 8  # RFC 3414 2.6: a USM passphrase shorter than 8 characters is refused

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
           "upstream": 100, "recorded_by": 100, "contract": 100, "contractor": 200, "snmp_user": 100,
           "snmp_auth_key": 200, "snmp_priv_key": 200}


def _norm_header(text: str) -> str:
    # NFKC folds full-width letters/brackets (ＩＰ地址, （端口）); "*" marks required columns in
    # many Chinese templates (*设备名称); spaces, newlines, "_" and "-" are ignored.
    text = unicodedata.normalize("NFKC", text).lstrip("\ufeff").lower()
    return re.sub(r"[\s_\-*※:.]+", "", text)


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
    # 'ONVIF端口（默认80）', 'IP地址\n[必填]', 'serial / 序列号': try each part.
    for part in re.split(r"[/|()\[\]【】]", unicodedata.normalize("NFKC", text)):
        if part.strip() and (hit := _HEADER_INDEX.get(_norm_header(part))):
            return hit
    return None


class RowError(NamedTuple):
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


# ---------------------------------------------------------------- cell parsing
#
# Spreadsheets from the field carry more than values: numbers Excel made of serials, MACs and
# dates, full-width characters typed with a Chinese IME, non-breaking spaces pasted from web
# pages, "/" or "无" for "nothing here". Each is either read as what the person meant or
# refused with a message that says how to fix the sheet.

_INVISIBLE_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")  # zero-width, BOM inside a cell
_SPACE_RE = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")  # NBSP, 全角空格...
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# How Excel's General format shows a long number: 1.23457E+13, 1E+15.
_EXCEL_SCI_RE = re.compile(r"^[+-]?\d(?:\.\d+)?E\+\d{2,3}$", re.IGNORECASE)
EXCEL_EXACT = 10 ** 15  # Excel keeps 15 significant digits: integers below this are exact
TEXT_HINT = "format the column as text (设置单元格格式 → 文本) and type the values again"
# Written in optional cells to mean "none"; read as blank.
PLACEHOLDERS = {"/", "-", "--", "—", "——", "无", "暂无", "空", "n/a", "na", "none", "null"}
# Columns whose values are ASCII by nature: full-width forms are folded (ＳＮ１２ → SN12).
FOLDED_COLUMNS = {"serial", "upstream", "recorded_by", "contract"}
EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's (1900) date system, leap bug included
# Excel day numbers accepted as dates: 1990-01-01 .. 2099-12-31 (others are typos, not dates).
SERIAL_DAYS = ((dt.date(1990, 1, 1) - EXCEL_EPOCH).days, (dt.date(2099, 12, 31) - EXCEL_EPOCH).days)


def _tidy(text: str) -> str:
    if text.isascii():  # the common case, ~20x cheaper than the two substitutions
        return text.strip()
    return _SPACE_RE.sub(" ", _INVISIBLE_RE.sub("", text)).strip()


def _fold(text: str) -> str:
    """Full-width forms folded to ASCII (１９２．１６８ → 192.168, ： → :, 。 → .)."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text).replace("。", ".").strip()


def spelling_key(text: str) -> str:
    """Two names with one key differ only in full-width/half-width forms, case or spaces
    (阳光花园（一期） / 阳光花园(一期)): likely one place typed two ways."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < EXCEL_EXACT:
        value = int(value)  # Excel stores 8000 or a numeric serial as 8000.0
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    text = _tidy(str(value))
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        text = text[1:]  # our own CSV export guards formula-like text with a quote
    return text or None


def excel_number_problem(value: Any) -> str | None:
    """Why a cell's number can't be trusted: Excel already dropped digits of it."""
    # Also an int: Excel writes a rounded 16-digit number without a decimal point. (Decimal,
    # not float: a 400-digit int in a crafted file must not overflow.)
    if _is_number(value) and (isinstance(value, int) or math.isfinite(value)) \
            and abs(value) >= EXCEL_EXACT:
        return (f"Excel stored this as the number {Decimal(value):.5E} and kept only 15 "
                f"digits: " + TEXT_HINT)
    if isinstance(value, str) and ("+" in value or "＋" in value) \
            and _EXCEL_SCI_RE.match(text := _fold(_tidy(value))):
        return (f"{text!r} is a number Excel shortened to scientific notation (digits lost): "
                + TEXT_HINT)
    return None


_MAC_RE = re.compile(r"^[0-9a-f]{12}$")


def parse_mac(text: str) -> str:
    folded = _fold(text).lower()
    hexes = re.sub(r"[:\-.\s]", "", folded)
    if folded.isdigit() and len(folded) != 12:
        raise ValueError(f"{text!r} has {len(hexes)} digits, a MAC has 12 (did Excel make it a "
                         f"number and drop leading zeros?): " + TEXT_HINT)
    if not _MAC_RE.match(hexes):
        raise ValueError(f"{text!r} is not a MAC address (e.g. 00:11:22:aa:bb:cc)")
    return ":".join(hexes[i:i + 2] for i in range(0, 12, 2))


_DOTTED_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def parse_ip(text: str) -> str:
    folded = re.sub(r"\s+", "", _fold(text))
    if _DOTTED_RE.fullmatch(folded):  # 192.168.001.010: zero-padded octets are decimal here
        folded = ".".join(str(int(p)) for p in folded.split("."))
    try:
        return ipaddress.ip_address(folded).compressed
    except ValueError:
        pass
    if m := re.fullmatch(r"(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})", folded):  # "IP:port" in one cell
        raise ValueError(f"{text!r} holds a port too: put {m.group(1)} here and {m.group(2)} "
                         f"in the onvif_port (ONVIF端口) column")
    raise ValueError(f"{text!r} is not an IP address")


def parse_port(text: str) -> int:
    folded = _fold(text)
    try:
        n = int(float(folded)) if re.fullmatch(r"\d+(\.0+)?", folded) else None
    except ValueError:
        n = None
    if n is None or not 1 <= n <= 65535:
        raise ValueError(f"{text!r} is not a port number (1-65535)")
    return n


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")


def _from_serial(days: float) -> dt.date | None:
    if SERIAL_DAYS[0] <= days <= SERIAL_DAYS[1]:
        return EXCEL_EPOCH + dt.timedelta(days=int(days))
    return None


def parse_date(value: Any) -> dt.date:
    """A date from an XLSX date cell, an Excel day number (45356), 2024-03-05, 2024/3/5,
    2024.03.05, 2024年3月5日 or 20240305 (a time of day after it is ignored)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if _is_number(value):
        if (d := _from_serial(value)) is not None:
            return d
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD, or an Excel date "
                         f"from 1990 to 2099)")
    text = _fold(_tidy(str(value)))
    parts = None
    if m := _DATE_RE.fullmatch(text):
        parts = m.groups()
    elif m := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text):
        parts = m.groups()
    elif re.fullmatch(r"\d{5}(?:\.\d+)?", text):  # a date cell saved to CSV as its day number
        if (d := _from_serial(float(text))) is not None:
            return d
    if parts:
        try:
            return dt.date(*(int(p) for p in parts))
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")


# Words inside a longer Chinese value that decide it (网络高清摄像机 → camera, 小区东门出入口 →
# entrance). A value matching words of two different choices is refused as ambiguous.
CHOICE_KEYWORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "kind": (("录像机", "nvr"), ("nvr", "nvr"), ("交换机", "switch"), ("音柱", "speaker"),
             ("喇叭", "speaker"), ("音箱", "speaker"), ("广播", "speaker"), ("摄像", "camera"),
             ("球机", "camera"), ("枪机", "camera"), ("半球", "camera"), ("ipc", "camera")),
    "role": (("出入口", "entrance"), ("入口", "entrance"), ("大门", "entrance"),
             ("道路", "road"), ("路口", "road"), ("周界", "perimeter"), ("围墙", "perimeter"),
             ("高空", "high_altitude"), ("抛物", "high_altitude"), ("消防", "fire_lane"),
             ("室内", "interior"), ("楼内", "interior")),
    "community_type": (("开放", "open"), ("封闭", "closed"), ("单栋", "single_building"),
                       ("单体", "single_building"), ("独栋", "single_building")),
}


POSITION_RANGES = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0),
                   "heading_deg": (0.0, 360.0), "fov_deg": (0.1, 360.0), "range_m": (0.1, 5000.0)}


def parse_position(column: str, text: str) -> float:
    """A camera position/view number within its range (a heading of 360 reads as 0)."""
    try:
        value = float(_fold(text).replace("°", "").replace("米", "").replace("m", "").strip())
    except ValueError:
        raise ValueError("not a number") from None
    lo, hi = POSITION_RANGES[column]
    if not (lo <= value <= hi) or value != value:
        raise ValueError(f"must be between {lo:g} and {hi:g}")
    return 0.0 if column == "heading_deg" and value == 360.0 else value


def parse_choice(column: str, text: str) -> str:
    folded = re.sub(r"\s+", " ", _fold(text)).lower()
    compact = folded.replace(" ", "")
    value = CHOICE_ALIASES.get(column, {}).get(compact) \
        or folded.replace(" ", "_").replace("-", "_")
    if value not in CHOICES[column]:
        hits = {code for word, code in CHOICE_KEYWORDS.get(column, ()) if word in compact}
        if len(hits) == 1:
            value = hits.pop()
        elif len(hits) > 1:
            raise ValueError(f"{column} {text!r} is ambiguous ({' or '.join(sorted(hits))})")
    if value not in CHOICES[column]:
        raise ValueError(f"unknown {column} {text!r} (one of: {', '.join(CHOICES[column])})")
    return value


def parse_snmp_version(text: str) -> str:
    """1 | 2c | 3 | auto, also as people write them: v3, SNMPv2c, V1, 2 (= 2c)."""
    folded = re.sub(r"\s+", "", _fold(text)).lower()
    folded = re.sub(r"^(snmp)?v?", "", folded)
    folded = {"2": "2c", "2.0": "2c", "1.0": "1", "3.0": "3"}.get(folded, folded)
    if folded not in SNMP_VERSIONS:
        raise ValueError(f"{text!r} is not an SNMP version (one of: {', '.join(SNMP_VERSIONS)})")
    return folded


def parse_snmp_protocol(column: str, text: str) -> str:
    """An SNMPv3 protocol name as the probes spell it (SHA-256 → SHA256, aes → AES)."""
    allowed = SNMP_AUTH_PROTOCOLS if column == "snmp_auth_protocol" else SNMP_PRIV_PROTOCOLS
    folded = re.sub(r"[\s\-_]+", "", _fold(text)).upper()
    folded = {"SHA1": "SHA", "AES128CFB": "AES128", "CFB128AES": "AES128"}.get(folded, folded)
    if folded not in allowed:
        raise ValueError(f"unknown protocol {text!r} (one of: {', '.join(allowed)})")
    return folded


def _numeric_mac(cell: Any) -> str | None:
    """A MAC of decimal digits that Excel stored as a number lost only its leading zeros:
    the 12-digit form is exact again."""
    if _is_number(cell) and float(cell).is_integer() and 0 <= cell < 10 ** 12:
        return str(int(cell)).zfill(12)
    return None


def _parse_row(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Canonical values for one row, and (column key, message) problems."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, cell in raw.items():
        secret = key in SECRET_COLUMNS
        if not secret and (problem := excel_number_problem(cell)):
            problems.append((key, problem))
            out[key] = None
            continue
        text = _cell_text(cell)
        if text is not None and not secret and not SPEC[key].required \
                and _fold(text).lower() in PLACEHOLDERS:
            text = None
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
                value = parse_mac(_numeric_mac(cell) or text)
            elif key in ("onvif_port", "snmp_port"):
                value = parse_port(text)
            elif key == "snmp_version":
                value = parse_snmp_version(text)
            elif key in ("snmp_auth_protocol", "snmp_priv_protocol"):
                value = parse_snmp_protocol(key, text)
            elif key in POSITION_RANGES:
                value = parse_position(key, text)
            elif key in ("installed_on", "retired_on"):
                value = parse_date(cell if isinstance(cell, dt.date) or _is_number(cell)
                                   else text)
            else:
                value = _fold(text) if key in FOLDED_COLUMNS else text
                if _CONTROL_RE.search(value):
                    raise ValueError("contains a control character")
                limit = MAX_LEN.get(key)
                if limit and len(value) > limit:
                    raise ValueError(f"longer than {limit} characters")
                if key in SNMP_V3_KEY_FIELDS and len(value) < SNMP_KEY_MIN:
                    raise ValueError(f"an SNMPv3 key needs at least {SNMP_KEY_MIN} characters")
        except ValueError as exc:
            problems.append((key, str(exc)))
            value = None
        out[key] = value
    if "snmp_version" in raw and out.get("snmp_version") is None \
            and not any(k == "snmp_version" for k, _ in problems):
        out["snmp_version"] = "2c"  # a blank version means the default, like a new device
    if out.get("retired_on") and out.get("installed_on") \
            and out["retired_on"] < out["installed_on"]:
        problems.append(("retired_on", "the retirement date is before the installation date"))
    if out.get("kind") == DeviceKind.CAMERA and out.get("role") is None \
            and not any(k == "role" for k, _ in problems):
        problems.append(("role", "a camera needs a role "
                                 f"(one of: {', '.join(CameraRole.values())})"))
    return out, problems
