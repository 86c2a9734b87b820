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


def figures_for(session: Any, period: Any, by: str, now: Any, device_ids: Any = None
                ) -> list[dict[str, Any]]:
    """The figures as every surface shows them (CLI, pages, PDF): the city profile's targets,
    or each contract's own when grouping by contract."""
    from reports.figures import figures
    from supervisor.models import Contract

    if by == "contract":
        targets: Any = contract_targets(session.query(Contract).all())
    else:
        targets = targets_of(city_profile())
    return figures(session, period.lo, period.hi, now, by=by, targets=targets,
                   device_ids=device_ids)
