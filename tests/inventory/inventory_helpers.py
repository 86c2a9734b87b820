"""Helpers for inventory tests: build inventory files in any encoding / header language."""
from __future__ import annotations

import io
from pathlib import Path

from supervisor.inventory.importer import SPEC

HEADERS = ["community", "district", "community_type", "name", "kind", "role", "vendor", "model",
           "serial", "mac", "ip", "onvif_port", "snmp_port", "snmp_community", "username",
           "password", "upstream", "contract", "installed_on"]
PASSWORD = "Pw-9f8e7d6c-秘密"
SNMP = "snmp-3c2b1a0f"


def good_rows() -> list[list[str]]:
    """A switch, an NVR behind it, two cameras and a speaker in two Chinese communities."""
    return [
        ["阳光花园", "新华区", "open", "1号交换机", "switch", "", "H3C", "S5120", "SW-0001",
         "00:11:22:33:44:01", "127.31.0.1", "", "161", SNMP, "", "", "", "C-2026-001", "2026-01-05"],
        ["阳光花园", "新华区", "open", "录像机", "nvr", "", "Hikvision", "DS-7608", "NVR-0001",
         "00-11-22-33-44-02", "127.31.0.2", "80", "", "", "admin", PASSWORD, "SW-0001",
         "C-2026-001", "2026-01-05"],
        ["阳光花园", "新华区", "open", "南门入口", "camera", "entrance", "Hikvision", "DS-2CD",
         "CAM-0001", "001122334403", "127.31.0.3", "80", "", "", "admin", PASSWORD, "NVR-0001",
         "C-2026-001", "2026-01-06"],
        ["幸福里", "桥西区", "closed", "高空抛物 1", "camera", "high_altitude", "Dahua", "IPC-HFW",
         "CAM-0002", "", "127.31.0.4", "8000", "", "", "admin", PASSWORD, "", "C-2026-002",
         "2026-02-01"],
        ["幸福里", "桥西区", "closed", "消防通道音柱", "speaker", "", "", "", "SPK-0001", "",
         "127.31.0.5", "", "", "", "", "", "", "", ""],
    ]


def zh_headers(keys: list[str]) -> list[str]:
    return [SPEC[k].zh for k in keys]


def to_csv(rows: list[list[str]], headers: list[str], encoding: str = "utf-8") -> bytes:
    import csv

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def to_xlsx(rows: list[list], headers: list[str]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p
