"""The SLA policy and ticket rules as the clock and the opening rules need them.

Read from a profile version (`sla`, `calendar`, `tickets` sections); a profile without them
(default@1) falls back to the documented defaults below, which are the figures of default@2.
Pure: no database, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from supervisor.tickets.calendar import Schedule

SEVERITIES = ("critical", "major", "minor")

# Used only when a profile has no `calendar` section (default@1): a 24x7 clock for critical
# tickets and office hours for the others, as default@2 states with its clauses.
_DEFAULT_SCHEDULES = {
    "24x7": "24x7",
    "working_hours": {d: ["08:30-12:00", "13:30-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
}
_DEFAULT_SCHEDULE_OF = {"critical": "24x7", "major": "24x7", "minor": "working_hours"}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass(frozen=True)
class SlaTerms:
    """One severity's targets: seconds of schedule time to respond and to repair."""

    severity: str
    response_s: float
    repair_s: float
    schedule: str


@dataclass(frozen=True)
class SlaPolicy:
    """The SLA of one profile version (its key, e.g. ``default@2``)."""

    key: str
    terms: Mapping[str, SlaTerms]
    schedules: Mapping[str, Schedule]
    near_breach_share: float = 0.8

    def for_severity(self, severity: str) -> SlaTerms:
        try:
            return self.terms[severity]
        except KeyError:
            raise KeyError(f"policy {self.key} has no SLA for severity {severity!r}") from None

    def schedule_of(self, severity: str) -> Schedule:
        return self.schedules[self.for_severity(severity).schedule]

    @classmethod
    def from_profile(cls, profile: Any) -> "SlaPolicy":
        key = f"{_get(profile, 'name')}@{_get(profile, 'version')}"
        cal = _get(profile, "calendar")
        raw_schedules = _get(cal, "schedules") or None
        schedules: dict[str, Schedule] = {}
        if raw_schedules:
            for name, sched in raw_schedules.items():
                schedules[name] = Schedule.from_mapping(
                    name, _get(sched, "weekly"), bool(_get(sched, "observes_holidays", True)))
        else:
            for name, weekly in _DEFAULT_SCHEDULES.items():
                schedules[name] = Schedule.from_mapping(name, weekly, name != "24x7")
        terms = {}
        for sev, rule in (_get(profile, "sla") or {}).items():
            sched = _get(rule, "schedule") or _DEFAULT_SCHEDULE_OF.get(sev, "24x7")
            if sched not in schedules:
                raise ValueError(f"sla.{sev}.schedule {sched!r} is not in calendar.schedules")
            terms[sev] = SlaTerms(sev, float(_get(rule, "response_h")) * 3600,
                                  float(_get(rule, "repair_h")) * 3600, sched)
        tickets = _get(profile, "tickets")
        share = _get(tickets, "near_breach_share", 0.8) or 0.8
        return cls(key=key, terms=terms, schedules=schedules, near_breach_share=float(share))


# ------------------------------------------------------------------ fault families

# Health causes (supervisor/health/rules.py) → the fault family a ticket is opened for.
# Image faults are their own families (by fault name), so the matrix can tell low contrast
# from signal loss.
CAUSE_FAMILY = {
    "unreachable": "offline",
    "not_recording": "recording", "retention_short": "recording",
    "clock_drift": "clock",
    "poe_fault": "power",
    "auth_failed": "access", "onvif_failed": "access", "snmp_failed": "access",
    "frame_failed": "access", "frame_corrupt": "access",
    "serial_mismatch": "identity",
}


def family_of(state: str, cause: Optional[str], reasons: Any = ()) -> Optional[str]:
    """The fault family of a device status (None: nothing to open a ticket for).

    An `upstream` offline is not the device's own fault: its root device holds the ticket.
    """
    if state == "offline":
        return None if cause == "upstream" else "offline"
    if state != "degraded":
        return None
    if cause == "image_fault":
        for r in reasons or ():
            if _get(r, "code") == "image_fault" and _get(r, "fault"):
                return str(_get(r, "fault"))
        return "image"
    return CAUSE_FAMILY.get(cause or "", cause or None)


@dataclass(frozen=True)
class TicketRules:
    """The profile's `tickets` section: when to open, how severe, which holds, verification."""

    open_after_s: Mapping[str, float] = field(default_factory=lambda: {"*": 900.0})
    severity: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    default_severity: str = "minor"
    hold_reasons: tuple[str, ...] = ("power_company", "road_works", "police_approval", "spare_parts")
    confirmation_window_s: float = 1800.0
    profile: str = "builtin"

    @classmethod
    def from_profile(cls, profile: Any) -> "TicketRules":
        t = _get(profile, "tickets")
        key = f"{_get(profile, 'name')}@{_get(profile, 'version')}"
        if t is None:
            return cls(profile=key)
        base = cls()
        return cls(
            open_after_s={k: float(v) for k, v in (_get(t, "open_after_s") or base.open_after_s).items()},
            severity={k: dict(v) for k, v in (_get(t, "severity") or {}).items()},
            default_severity=_get(t, "default_severity") or base.default_severity,
            hold_reasons=tuple(_get(t, "hold_reasons") or base.hold_reasons),
            confirmation_window_s=float(_get(t, "confirmation_window_s") or base.confirmation_window_s),
            profile=key,
        )

    def open_after(self, family: str) -> float:
        return self.open_after_s.get(family, self.open_after_s.get("*", 900.0))

    def severity_for(self, role: str, family: str) -> str:
        """Matrix lookup: (role, family), (role, *), (*, family), (*, *), default."""
        for r in (role, "*"):
            row = self.severity.get(r) or {}
            for f in (family, "*"):
                if f in row:
                    return row[f]
        return self.default_severity


def device_role(kind: str, role: Optional[str]) -> str:
    """The matrix row of a device: a camera's role, else its kind (nvr, switch, speaker)."""
    return role if kind == "camera" and role else kind


def families_of(state: str, cause: Optional[str], reasons: Any = (),
                kind: Optional[str] = None) -> set[str]:
    """Every fault family a device status shows (a degraded device may have several).

    A dead NVR is a recording fault (its cameras keep their own state: the recording link
    is not a network path); a device offline behind a dead upstream shows none (the root
    device's ticket lists it)."""
    if state == "offline":
        if cause == "upstream":
            return set()
        return {"recording"} if kind == "nvr" else {"offline"}
    if state != "degraded":
        return set()
    out = set()
    for r in reasons or ():
        code = _get(r, "code")
        if code == "image_fault":
            out.add(str(_get(r, "fault") or "image"))
        elif code in CAUSE_FAMILY:
            out.add(CAUSE_FAMILY[code])
    if not out and cause:
        out.add(family_of(state, cause, reasons) or cause)
    return out
