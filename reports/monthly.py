"""The monthly report for officials, in Chinese, as PDF (WeasyPrint; Debian's
fonts-noto-cjk): cover, the month's figures against targets, 12-month trends, district and
community tables, the worst devices, overdue tickets, the contract ledgers, and an appendix
of definitions and profile clauses. Charts are vector SVG drawn by reports/charts.py from the
same chart specs as the pages' plotly charts.

`build_pdf` is pure of Flask (session, now, profiles passed in); supervisor/reporting/archive.py
runs it for the page, the CLI and the scheduler, records progress and archives the file.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from reports import charts, periods, views
from reports import ledger_store as ls
from reports.figures import (DEFINITIONS, coverage, device_seconds, load_clock, load_devices,
                             load_intervals, summarize)
import supervisor.core.localtime as localtime
from supervisor.models import Contract

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
Progress = Callable[[int, str], None]

FAULT_ZH = {"signal_loss": "信号丢失", "blur": "清晰度异常", "too_dark": "过暗", "too_bright": "过亮",
            "low_contrast": "对比度低", "color_cast": "偏色", "noise": "噪声", "occlusion": "遮挡",
            "stripes": "条纹", "frozen": "画面冻结", "scene_change": "场景变换",
            "clock_drift": "时钟偏差", "not_recording": "未录像", "retention_short": "存储天数不足",
            "poe_fault": "PoE 故障", "auth_failed": "认证失败", "onvif_failed": "ONVIF 失败",
            "snmp_failed": "SNMP 失败", "frame_failed": "取图失败", "frame_corrupt": "图像损坏",
            "serial_mismatch": "序列号不符"}
RULE_ZH = {"channel_fault_over_hours": "单路故障超时", "late_response": "响应超时",
           "late_repair": "修复超时", "missed_inspection": "漏巡检", "falsified_report": "虚报",
           "availability": "宽限期后不可用"}
SEVERITY_ZH = {"critical": "紧急", "major": "重要", "minor": "一般"}
FAMILY_ZH = {"offline": "离线", "recording": "录像", "clock": "时钟", "power": "供电",
             "access": "访问", "identity": "设备身份", **FAULT_ZH}
STATUS_ZH = {"closed": "已结账", "due": "待结账", "in_progress": "本月进行中", "projected": "预测"}


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html"]))
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.4f}%"
    env.filters["yuan"] = lambda v: "—" if v is None else f"{v:,.2f}"
    env.filters["hours"] = lambda v: "—" if v is None else f"{v:,.2f}"
    env.filters["local"] = lambda v: localtime.fmt_local(
        dt.datetime.fromisoformat(v) if isinstance(v, str) else v)
    return env


def report_data(session: Session, month: periods.Period, now: dt.datetime, profile: Any,
                profile_of: Callable[[Contract], Any], contract_code: str | None = None,
                progress: Progress = lambda p, s: None) -> dict[str, Any]:
    """Everything the PDF shows (the same functions as the pages and the CLI)."""
    from reports.figures import coverage_slots, targets_of

    targets = targets_of(profile)
    contracts = list(session.scalars(sa.select(Contract).order_by(Contract.code)))
    ids = None
    if contract_code:
        contracts = [c for c in contracts if c.code == contract_code]
        if not contracts:
            raise ValueError(f"no contract {contract_code!r}")
        from supervisor.models import Device
        ids = list(session.scalars(sa.select(Device.id).where(
            Device.contract_id == contracts[0].id)))
    progress(5, "figures")
    devices = load_devices(session, ids)
    ivs = load_intervals(session, month.lo, month.hi, ids)
    per = device_seconds(devices, ivs, month.lo, month.hi, now,
                         load_clock(session, month.lo, month.hi, targets.clock_tolerance_s),
                         targets.clock_tolerance_s)
    city = summarize(devices, per, "city", targets)
    districts = summarize(devices, per, "district", targets)
    communities = summarize(devices, per, "community", targets)
    by_device = summarize(devices, per, "device", targets)
    worst = sorted([r for r in by_device if r["online_rate"] is not None],
                   key=lambda r: (r["online_rate"], r["intact_rate"] or 0))[:20]
    progress(25, "trends")
    months = views.month_range(month, 12)
    trend = views.series(session, months, now, "city", targets, ids)
    trend_svg = charts.to_svg(_zh_trend(views.trend_chart(trend, "在线率 / 完好率（近12个月）",
                                                           targets)))
    progress(45, "coverage")
    cov = coverage(devices, ivs, month.lo, month.hi, now, coverage_slots(profile), "district")
    progress(55, "ledgers")
    ledgers = []
    for c in contracts:
        try:
            prof = profile_of(c)
        except Exception as exc:  # a contract whose profile file is missing: said, not hidden
            ledgers.append({"contract": c, "error": str(exc)})
            continue
        rows = ls.ledger(session, c, now, prof)
        this = next((r for r in rows if r.month == month.label), None)
        detail = this.result if this is not None else None
        if detail is not None and not isinstance(detail, dict):
            detail = detail.to_json()
        ledgers.append({
            "contract": c, "rows": rows, "summary": ls.summary(c, rows), "this": this,
            "detail": detail, "profile": prof.key,
            "chart": charts.to_svg(_zh_ledger(views.ledger_chart(rows, c.investment, "累计回款"))),
        })
    progress(72, "tickets")
    from reports import tickets as tf

    scope = [contracts[0].id] if contract_code else None
    sla_h = tf.sla_hours_of(profile)
    ticket_rows = tf.ticket_figures(session, month.lo, month.hi, now, "city", ids, scope, sla_h)
    overdue = tf.overdue_list(session, month.lo, month.hi, now, ids, scope)
    progress(75, "appendix")
    return {"month": month, "now": now, "zone": localtime.zone_name(), "city": city[0] if city else None,
            "districts": districts, "communities": communities, "worst": worst,
            "trend": trend, "trend_svg": trend_svg, "coverage": cov, "ledgers": ledgers,
            "targets": targets, "profile": profile, "definitions": DEFINITIONS,
            "contract_code": contract_code, "status_zh": STATUS_ZH, "fault_zh": FAULT_ZH, "rule_zh": RULE_ZH,
            "tickets": overdue, "ticket_city": ticket_rows[0] if ticket_rows else None,
            "severities": tf.SEVERITIES, "sla_hours": sla_h, "severity_zh": SEVERITY_ZH,
            "family_zh": FAMILY_ZH, "ticket_end": min(month.hi, now)}


def _zh_trend(s: dict[str, Any]) -> dict[str, Any]:
    names = {"online": "在线率", "intact": "完好率", "target": "目标"}
    for ser in s["series"]:
        ser["name"] = names.get(ser["name"], ser["name"])
    return s


def _zh_ledger(s: dict[str, Any]) -> dict[str, Any]:
    names = {"cumulative": "累计应付", "investment": "投资额"}
    for ser in s["series"]:
        ser["name"] = names.get(ser["name"], ser["name"])
    return s


def render_html(data: dict[str, Any]) -> str:
    return _env().get_template("reports/monthly_pdf.html").render(**data)


def build_pdf(session: Session, month: periods.Period, now: dt.datetime, profile: Any,
              profile_of: Callable[[Contract], Any], contract_code: str | None = None,
              progress: Progress = lambda p, s: None) -> tuple[bytes, dict[str, Any]]:
    """The PDF bytes and the data they were made from."""
    from weasyprint import HTML

    data = report_data(session, month, now, profile, profile_of, contract_code, progress)
    html = render_html(data)
    progress(80, "pdf")
    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    progress(100, "done")
    return pdf, data
