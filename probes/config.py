"""How a batch runs: concurrency limits and tier specs (which checks, timeouts, retries).

The numbers here are only the defaults for the shell; the platform builds a
``TierSpec`` from its standard profile (``TierSpec.from_mapping``) so no threshold or
timeout is hard-coded in a sweep.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

from probes.model import CHECKS, _Serial

DEFAULT_TIMEOUTS: dict[str, float] = {"reach": 2.0, "onvif": 8.0, "snmp": 2.0, "frame": 10.0,
                                      "ptz": 20.0}
DEFAULT_RETRIES: dict[str, int] = {"reach": 0, "onvif": 0, "snmp": 1, "frame": 0, "ptz": 0}


@dataclass
class Limits(_Serial):
    """Concurrency bounds. Per host is 1 by default: cameras fall over under parallel requests."""

    global_limit: int = 200
    per_host: int = 1
    per_protocol: dict[str, int] = field(
        default_factory=lambda: {"reach": 500, "onvif": 200, "snmp": 100, "frame": 50,
                                 "ptz": 20})
    # Devices in flight adapt to the event loop's lag (probes.load): global_limit is the
    # ceiling, adaptive_floor the least; lag_bound_s the lag beyond which the loop counts
    # as overloaded (timeouts then are ours, not the device's).
    adaptive: bool = True
    adaptive_floor: int = 8
    lag_bound_s: float = 0.25

    def for_protocol(self, check: str) -> int:
        return max(1, int(self.per_protocol.get(check, self.global_limit)))


@dataclass
class TierSpec(_Serial):
    name: str
    checks: list[str]
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    retries: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RETRIES))
    # ONVIF sub-options: NVR recordings are fetched for kind == "nvr" only.
    onvif_profiles: bool = True
    onvif_recordings: bool = True
    # Frame: skip the RTSP fallback (PyAV) when False.
    rtsp_fallback: bool = True
    # Frame: decode to pixels here (in a worker thread); False leaves decoding to the
    # caller's process pool (``FrameResult.decode()``), size read from the JPEG header.
    decode_frame: bool = True
    # Reach: also send an ICMP echo (only where the process may; loopback always answers).
    icmp: bool = False
    # ONVIF clock: the tolerance the platform judges the offset by. A first reading whose
    # interval straddles it is refined with a few reads timed on the device's second
    # tick (probes.clock); None: one reading.
    clock_tolerance_s: Optional[float] = None

    def timeout(self, check: str) -> float:
        return float(self.timeouts.get(check, DEFAULT_TIMEOUTS.get(check, 5.0)))

    def retry(self, check: str) -> int:
        return max(0, int(self.retries.get(check, DEFAULT_RETRIES.get(check, 0))))

    @classmethod
    def from_mapping(cls, name: str, spec: Mapping[str, Any]) -> "TierSpec":
        """Build from a profile's ``probe_tiers.<name>`` mapping.

        Accepts ``checks`` (list), ``timeouts``/``timeout_s`` (a number for all checks or a
        mapping per check), ``retries`` (same). Unknown check names are refused, so a typo in
        a profile fails when loaded rather than silently probing less.
        """
        checks = list(spec.get("checks") or [])
        unknown = [c for c in checks if c not in CHECKS]
        if unknown:
            raise ValueError(f"unknown checks {unknown}; known: {list(CHECKS)}")
        if not checks:
            raise ValueError("a tier needs at least one check")
        timeouts = dict(DEFAULT_TIMEOUTS)
        raw_t = spec.get("timeouts", spec.get("timeout_s"))
        if isinstance(raw_t, Mapping):
            timeouts.update({k: float(v) for k, v in raw_t.items()})
        elif raw_t is not None:
            timeouts = {c: float(raw_t) for c in CHECKS}
        retries = dict(DEFAULT_RETRIES)
        raw_r = spec.get("retries")
        if isinstance(raw_r, Mapping):
            retries.update({k: int(v) for k, v in raw_r.items()})
        elif raw_r is not None:
            retries = {c: int(raw_r) for c in CHECKS}
        for v in timeouts.values():
            if v <= 0:
                raise ValueError("timeouts must be positive")
        return cls(name=name, checks=checks, timeouts=timeouts, retries=retries,
                   onvif_recordings=bool(spec.get("onvif_recordings", True)),
                   rtsp_fallback=bool(spec.get("rtsp_fallback", True)),
                   icmp=bool(spec.get("icmp", False)),
                   clock_tolerance_s=(float(spec["clock_tolerance_s"])
                                      if spec.get("clock_tolerance_s") is not None else None),
                   decode_frame=bool(spec.get("decode_frame", True)))


TIERS: dict[str, TierSpec] = {
    "fast": TierSpec("fast", ["reach"]),
    "full": TierSpec("full", ["reach", "onvif", "snmp", "frame"]),
}


def resolve_tier(tier: "str | TierSpec | Mapping[str, Any]", name: Optional[str] = None) -> TierSpec:
    if isinstance(tier, TierSpec):
        return tier
    if isinstance(tier, str):
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; known: {sorted(TIERS)}")
        return replace(TIERS[tier])
    return TierSpec.from_mapping(name or str(tier.get("name", "custom")), tier)
