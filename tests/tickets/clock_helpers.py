"""A small SLA policy and the 2025 China calendar for hand-computed clock cases."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from supervisor.tickets.calendar import Schedule, WorkCalendar, library_days
from supervisor.tickets.policy import SlaPolicy, SlaTerms

SH = ZoneInfo("Asia/Shanghai")
H = 3600.0

WORKING = Schedule.from_mapping(
    "working_hours", {d: ["08:30-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")})
ALWAYS = Schedule.always()

POLICY = SlaPolicy(key="test@1", terms={
    "critical": SlaTerms("critical", 2 * H, 24 * H, "24x7"),
    "minor": SlaTerms("minor", 2 * H, 8 * H, "working_hours"),
}, schedules={"24x7": ALWAYS, "working_hours": WORKING}, near_breach_share=0.75)
POLICY2 = SlaPolicy(key="test@2", terms={
    "critical": SlaTerms("critical", 1 * H, 12 * H, "24x7"),
    "minor": SlaTerms("minor", 4 * H, 16 * H, "working_hours"),
}, schedules={"24x7": ALWAYS, "working_hours": WORKING}, near_breach_share=0.75)
POLICIES = {p.key: p for p in (POLICY, POLICY2)}

CAL = WorkCalendar(version=1, tz="Asia/Shanghai", days=library_days([2024, 2025, 2026]))
CALENDARS = {1: CAL}


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    """Shanghai wall-clock time → naive UTC."""
    return dt.datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(dt.timezone.utc).replace(tzinfo=None)


def ev(kind: str, at: dt.datetime, **data) -> dict:
    return {"kind": kind, "at": at, "data": data}


def opened(at: dt.datetime, severity: str = "minor", policy: str = "test@1") -> dict:
    return ev("opened", at, severity=severity, policy=policy, calendar=1)
