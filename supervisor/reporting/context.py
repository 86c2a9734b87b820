"""What the CLI, the pages and the PDF hand to the pure figure functions: the standard
profile's targets and slots. Profiles are read through supervisor.profiles (data, not code)."""
from __future__ import annotations

from typing import Any, Mapping

from reports.figures import Targets, coverage_slots, targets_of  # noqa: F401  (re-exported)


def _profile(name: str = "default", version: int | None = None) -> Any:
    from supervisor.profiles.loader import load_profile

    return load_profile(name, version, check_in_use=False)


def city_profile(name: str = "default") -> Any:
    """The latest version of the city's profile: the targets of city-wide figures."""
    return _profile(name)


def contract_targets(contracts: list[Any]) -> Mapping[str, Targets]:
    """Contract code → the targets of the profile version the contract is judged by."""
    out: dict[str, Targets] = {}
    for c in contracts:
        try:
            out[c.code] = targets_of(_profile(c.profile_name, c.profile_version))
        except Exception:  # a missing profile file: no target shown, never a crash
            continue
    return out


def hour_schedules(profile: Any = None) -> list[str]:
    """The schedules a figure may be limited to: the profile's `calendar.schedules` (e.g.
    `working_hours`), beside the whole day."""
    from supervisor.tickets.policy import SlaPolicy

    return sorted(SlaPolicy.from_profile(profile or city_profile()).schedules)


def schedule_windows(session: Any, schedule: str, lo: Any, hi: Any, now: Any,
                     profile: Any = None) -> list[tuple[Any, Any]]:
    """The working time of `schedule` (profile's calendar schedules, with the working-day
    calendar in effect: holidays and make-up days) inside [lo, hi), as naive-UTC ranges."""
    from supervisor.core import localtime
    from supervisor.tickets.calendar import WorkCalendar, library_days
    from supervisor.tickets.policy import SlaPolicy
    from supervisor.tickets.service import calendar_in_effect

    schedules = SlaPolicy.from_profile(profile or city_profile()).schedules
    if schedule not in schedules:
        raise ValueError(f"no schedule {schedule!r}; one of {', '.join(sorted(schedules))}")
    row = calendar_in_effect(session, now)   # read only: a report never writes one
    if row is not None:
        cal = WorkCalendar.from_json(row.id, row.tz or localtime.zone_name(), row.days or {})
    else:
        days = library_days(range(lo.year - 1, hi.year + 2))
        cal = WorkCalendar(0, localtime.zone_name(), days)
    return list(cal.working_intervals(schedules[schedule], lo, hi))


def figures_for(session: Any, period: Any, by: str, now: Any, device_ids: Any = None,
                hours: str | None = None) -> list[dict[str, Any]]:
    """The figures as every surface shows them (CLI, pages, PDF): the city profile's targets,
    or each contract's own when grouping by contract; coverage (city profile's slots) when
    grouping by place. `hours` names a calendar schedule (e.g. `working_hours`): every
    figure then counts only the time inside its working hours."""
    from reports.figures import figures
    from supervisor.models import Contract

    profile = city_profile()
    if by == "contract":
        targets: Any = contract_targets(session.query(Contract).all())
    else:
        targets = targets_of(profile)
    windows = (schedule_windows(session, hours, period.lo, period.hi, now, profile)
               if hours else None)
    rows = figures(session, period.lo, period.hi, now, by=by, targets=targets,
                   device_ids=device_ids, slots=coverage_slots(profile), windows=windows)
    for r in rows:
        r["hours"] = hours or "24x7"
    return rows
