"""Device health: judge one probe result, then the hysteresis state machine.

Everything here is pure: no database, no clock. Callers read the clock once and pass
`now` (or the probe's own start time) down. Times are naive UTC datetimes.

Judging (`judge`) turns a ProbeResult (+ image diagnosis) into an `Observation`: the
state this one probe suggests (ok / degraded / offline / maintenance), a `cause` (the main
reason code) and the `reasons` (which check, which code, which measured value, which
limit). A tier only sees its own checks: a fast (reach-only) probe of a reachable device
carries forward the findings of the checks it did not run (`carry_findings`), so a camera
with a blurred picture does not turn `ok` just because it answers a TCP connect.

The state machine (`step`) moves a `Status` by one observation:
  * an observation agreeing with the current (state, cause) clears any candidate;
  * any other observation becomes (or extends) the candidate; the candidate is counted by
    observed STATE only (its cause is the latest seen), so a cause that changes within one
    state does not restart the count; after N consecutive observations of that state (N
    from the profile: to_offline / to_ok / to_degraded) the change is confirmed with the
    latest cause and the new interval starts at the FIRST probe of the run
    (candidate_since), so durations are exact to the probe;
  * observations at or before `last_sample_at` are ignored (idempotent replays);
  * raw observed-state changes are remembered in `recent_flips`; when at least
    `flap_max_changes` fall within `flap_window_s` the status (and its open interval) is
    marked flapping instead of producing an outage per flip;
  * maintenance windows bypass hysteresis: they are approved and exact.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Optional

from supervisor.core.choices import DeviceState
from supervisor.core.clock import naive_utc  # noqa: F401  (rules take times in any zone)

OK, DEGRADED, OFFLINE, UNKNOWN, MAINTENANCE = (
    DeviceState.OK, DeviceState.DEGRADED, DeviceState.OFFLINE, DeviceState.UNKNOWN,
    DeviceState.MAINTENANCE)
_SEVERITY = {OK: 0, DEGRADED: 1, OFFLINE: 2}

CAUSE_UPSTREAM = "upstream"
CAUSE_MAINTENANCE = "maintenance"


# --------------------------------------------------------------------------- rules

def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Read `key` from a mapping or an attribute (pydantic profile sections), tolerant."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass(frozen=True)
class HealthRules:
    """The parts of the standard profile that judging and hysteresis need."""

    to_offline: int = 2
    to_ok: int = 2
    to_degraded: int = 2
    clock_tolerance_s: float = 1.0
    flap_window_s: float = 3600.0
    flap_max_changes: int = 6
    nvr_retention_days: Optional[float] = None
    profile: str = "builtin"

    @classmethod
    def from_profile(cls, profile: Any) -> "HealthRules":
        """Build from a loaded profile (pydantic model or mapping); missing keys keep defaults."""
        base = cls()
        hyst = _get(profile, "hysteresis")
        clock = _get(profile, "clock")
        nvr = _get(profile, "nvr")

        def num(section: Any, key: str, default: Any, kind: type) -> Any:
            value = _get(section, key)
            if isinstance(value, Mapping) or hasattr(value, "value"):
                value = _get(value, "value")
            try:
                return kind(value) if value is not None else default
            except (TypeError, ValueError):
                return default

        name = _get(profile, "name")
        version = _get(profile, "version")
        return cls(
            to_offline=max(1, num(hyst, "to_offline", base.to_offline, int)),
            to_ok=max(1, num(hyst, "to_ok", base.to_ok, int)),
            to_degraded=max(1, num(hyst, "to_degraded", base.to_degraded, int)),
            clock_tolerance_s=num(clock, "tolerance_s", base.clock_tolerance_s, float),
            flap_window_s=num(hyst, "flap_window_s", base.flap_window_s, float),
            flap_max_changes=max(2, num(hyst, "flap_changes",
                                         num(hyst, "flap_max_changes", base.flap_max_changes, int), int)),
            nvr_retention_days=num(nvr, "retention_days", None, float),
            profile=f"{name}-v{version}" if name else base.profile,
        )

    def confirmations(self, state: str) -> int:
        return {OFFLINE: self.to_offline, OK: self.to_ok, DEGRADED: self.to_degraded}.get(state, 1)


@dataclass
class RulesBook:
    """Rules per device: each device is judged by its contract's profile version."""

    default: HealthRules
    by_device: dict[int, HealthRules] = field(default_factory=dict)

    def for_device(self, device_id: int) -> HealthRules:
        return self.by_device.get(device_id, self.default)


def rules_for(rules: "HealthRules | RulesBook", device_id: int) -> HealthRules:
    return rules.for_device(device_id) if isinstance(rules, RulesBook) else rules


# --------------------------------------------------------------------------- judging

@dataclass(frozen=True)
class Observation:
    """What one probe says about one device."""

    at: dt.datetime
    state: str
    cause: Optional[str] = None
    reasons: tuple[dict[str, Any], ...] = ()
    checks: tuple[str, ...] = ()          # the checks this probe ran
    rtt_ms: Optional[float] = None
    clock_offset_s: Optional[float] = None
    error_kind: Optional[str] = None
    faults: tuple[str, ...] = ()          # image faults by name
    uptime_s: Optional[float] = None

    @property
    def key(self) -> tuple[str, Optional[str]]:
        return (self.state, self.cause)


def _reason(check: str, code: str, **extra: Any) -> dict[str, Any]:
    out = {"check": check, "code": code}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _diagnosis_faults(diagnosis: Any) -> list[dict[str, Any]]:
    """Faults from a probes.quality Diagnosis (object or dict), as reason dicts."""
    if diagnosis is None:
        return []
    faults = _get(diagnosis, "faults") or []
    out = []
    if _get(diagnosis, "error"):
        out.append(_reason("frame", "frame_corrupt", message=_get(diagnosis, "error")))
    for f in faults:
        if isinstance(f, str):
            out.append(_reason("frame", "image_fault", fault=f))
            continue
        out.append(_reason(
            "frame", "image_fault", fault=_get(f, "name") or _get(f, "fault") or _get(f, "kind"),
            value=_get(f, "value"), limit=_get(f, "threshold"), severity=_get(f, "severity")))
    return out


def clock_uncertainty(onvif: Any) -> float:
    """± seconds around a clock offset: as the probe measured it, or for readings stored
    before it did, half of ONVIF's one-second resolution plus half the round trip."""
    u = getattr(onvif, "clock_uncertainty_s", None)
    if u is not None:
        return float(u)
    rtt = getattr(onvif, "clock_rtt_s", None) or 0.0
    return 0.5 + float(rtt) / 2.0


def clock_beyond(offset: float, uncertainty: float, tolerance: float) -> bool:
    """Clock drift: |offset| exceeds the tolerance by more than the reading's own
    uncertainty (a limit is breached only beyond what the measurement can tell)."""
    from probes.clock import drift_beyond
    return drift_beyond(offset, uncertainty, tolerance)


def judge(result: Any, rules: HealthRules, diagnosis: Any = None,
          previous_uptime_s: Optional[float] = None) -> Observation:
    """Judge one ProbeResult against the rules: the state it suggests and why.

    Offline means unreachable (or no answer before the batch deadline). A reachable
    device is degraded by any failing sub-check, clock drift beyond tolerance, a serial
    mismatch, PoE faults, NVR recording problems or image faults; otherwise ok.
    """
    at = naive_utc(result.started_at)
    checks = tuple(name for name in ("reach", "onvif", "snmp", "frame")
                   if getattr(result, name, None) is not None)
    rtt = result.reach.rtt_ms if result.reach is not None else None
    if rtt is None and result.snmp is not None:
        rtt = result.snmp.rtt_ms
    offset = result.onvif.clock_offset_s if result.onvif is not None else None
    uptime = result.snmp.sys_uptime_s if result.snmp is not None else None
    common = dict(at=at, checks=checks, rtt_ms=rtt, clock_offset_s=offset, uptime_s=uptime)

    if result.error is not None and not checks:
        # Never probed (batch deadline, internal crash): we learned nothing about the device.
        return Observation(state=UNKNOWN, cause=result.error.kind, error_kind=result.error.kind,
                           reasons=(_reason("batch", result.error.kind,
                                            message=result.error.message),), **common)
    if result.reachable is False:
        err = next(iter(result.errors()), None)
        kind = err.kind if err is not None else "unreachable"
        return Observation(state=OFFLINE, cause="unreachable", error_kind=kind,
                           reasons=(_reason(err.check if err and err.check else "reach", kind,
                                            message=err.message if err else None),), **common)

    reasons: list[dict[str, Any]] = []
    if result.error is not None and result.error.kind != "not_measured":
        # reachable, but the probe of it crashed
        reasons.append(_reason("batch", result.error.kind, message=result.error.message))
    onvif = result.onvif
    if onvif is not None:
        if onvif.error is not None:
            code = "auth_failed" if onvif.error.kind == "auth" else "onvif_failed"
            reasons.append(_reason("onvif", code, kind=onvif.error.kind,
                                   message=onvif.error.message))
        if onvif.serial_mismatch:
            reasons.append(_reason("onvif", "serial_mismatch", value=onvif.serial_number))
        if offset is not None and clock_beyond(offset, clock_uncertainty(onvif),
                                               rules.clock_tolerance_s):
            reasons.append(_reason("onvif", "clock_drift", value=round(offset, 3),
                                   uncertainty=clock_uncertainty(onvif),
                                   limit=rules.clock_tolerance_s))
        rec = onvif.recordings
        if rec is not None:
            if rec.recording_now is False:
                reasons.append(_reason("onvif", "not_recording"))
            if (rules.nvr_retention_days is not None and rec.span_days is not None
                    and rec.span_days < rules.nvr_retention_days):
                reasons.append(_reason("onvif", "retention_short", value=round(rec.span_days, 2),
                                       limit=rules.nvr_retention_days))
    snmp = result.snmp
    if snmp is not None:
        if snmp.error is not None:
            code = "auth_failed" if snmp.error.kind == "auth" else "snmp_failed"
            reasons.append(_reason("snmp", code, kind=snmp.error.kind, message=snmp.error.message))
        bad_poe = [p.index for p in snmp.poe if p.detection_status in ("fault", "otherFault")]
        if bad_poe:
            reasons.append(_reason("snmp", "poe_fault", value=bad_poe))
    info: list[dict[str, Any]] = []
    # What the platform could not measure (its own overload, the batch deadline) says
    # nothing about the device: shown, never held against it.
    for err in list(result.not_measured) + (
            [result.error] if result.error is not None and result.error.kind == "not_measured"
            else []):
        info.append(_reason(err.check or "batch", "not_measured", message=err.message))
    if uptime is not None and previous_uptime_s is not None and uptime < previous_uptime_s:
        # A reboot is worth showing but the device works: information, not degradation.
        info.append(_reason("snmp", "rebooted", value=uptime, previous=previous_uptime_s))
    frame = result.frame
    faults: list[str] = []
    if frame is not None:
        if frame.error is not None:
            reasons.append(_reason("frame", "frame_failed", kind=frame.error.kind,
                                   message=frame.error.message))
        image = _diagnosis_faults(diagnosis)
        reasons.extend(image)
        faults = [r["fault"] for r in image if r.get("fault")]

    kinds = sorted({e.kind for e in result.errors()})
    if reasons:
        return Observation(state=DEGRADED, cause=_main_cause(reasons), reasons=tuple(reasons + info),
                           error_kind=kinds[0] if kinds else None, faults=tuple(faults), **common)
    return Observation(state=OK, cause=None, reasons=tuple(info), faults=tuple(faults), **common)


# Which reason names an interval when several apply: the one a repair crew needs first.
_CAUSE_ORDER = ("auth_failed", "onvif_failed", "snmp_failed", "frame_failed", "frame_corrupt",
                "image_fault",
                "not_recording", "retention_short", "poe_fault", "clock_drift", "serial_mismatch")


def _main_cause(reasons: Iterable[Mapping[str, Any]]) -> str:
    codes = [r.get("code") for r in reasons]
    for code in _CAUSE_ORDER:
        if code in codes:
            return code
    return str(codes[0]) if codes else "unknown"


# Reasons that inform and never degrade: a reboot (the device works), a check the platform
# could not measure (its own overload), a camera whose NVR is down (the NVR's fault). They
# are shown with the observation that made them but are never stored as findings, so no
# later probe carries them back as a fault.
INFO_CODES = frozenset({"rebooted", "not_measured", "not_recorded"})


def carry_findings(obs: Observation, findings: Iterable[Mapping[str, Any]]) -> Observation:
    """Merge findings of checks this probe did not run into a reachable observation.

    `findings` are the degrading reasons stored from earlier probes (device_status.faults).
    Offline observations are left alone: unreachable is unreachable.
    """
    if obs.state not in (OK, DEGRADED):
        return obs
    carried = [dict(f, carried=True) for f in findings
               if f.get("check") not in obs.checks and f.get("check") != "batch"
               and f.get("code") not in INFO_CODES]
    if not carried:
        return obs
    reasons = [r for r in obs.reasons if r.get("code") not in INFO_CODES]
    info = [r for r in obs.reasons if r.get("code") in INFO_CODES]
    merged = reasons + carried
    faults = tuple(dict.fromkeys(list(obs.faults) + [f["fault"] for f in carried if f.get("fault")]))
    return replace(obs, state=DEGRADED, cause=_main_cause(merged), reasons=tuple(merged + info),
                   faults=faults)


def findings_after(obs: Observation, findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The stored findings after this observation: its checks replace theirs."""
    if obs.state == OFFLINE:
        return [dict(f) for f in findings]  # nothing learned about the sub-checks
    fresh = [{k: v for k, v in r.items() if k != "carried"} for r in obs.reasons
             if not (r.get("carried") or r.get("code") in INFO_CODES or r.get("check") == "batch")]
    # A check this observation ran, or reported on, replaces what was stored about it.
    replaced = set(obs.checks) | {r.get("check") for r in fresh}
    keep = [dict(f) for f in findings if f.get("check") not in replaced]
    out: list[dict[str, Any]] = []
    for f in keep + fresh:  # the same finding twice is one finding
        if f not in out:
            out.append(f)
    return out


# --------------------------------------------------------------------------- root cause

def attribute_upstream(observations: Mapping[int, Observation], upstream_of: Mapping[int, Optional[int]],
                       known_state: Mapping[int, str], serial_of: Mapping[int, str]
                       ) -> dict[int, Observation]:
    """Offline devices whose upstream chain is offline get cause `upstream`.

    `observations` are this sweep's (device id → observation); for an upstream not probed
    in this sweep its last known state (`known_state`) decides. The reason names the
    topmost offline ancestor: the fault, and the ticket, belong to it.
    """
    out = dict(observations)

    def state_of(dev: int) -> Optional[str]:
        if dev in observations:
            return observations[dev].state
        return known_state.get(dev)

    for dev, obs in observations.items():
        if obs.state != OFFLINE:
            continue
        root, cur, seen = None, upstream_of.get(dev), {dev}
        while cur is not None and cur not in seen:
            seen.add(cur)
            if state_of(cur) == OFFLINE:
                root = cur
            else:
                break  # an answering upstream: whatever is above it is not our cause
            cur = upstream_of.get(cur)
        if root is not None:
            reason = _reason("upstream", "upstream_down", upstream=serial_of.get(root, str(root)))
            out[dev] = replace(obs, cause=CAUSE_UPSTREAM, reasons=(reason,) + tuple(obs.reasons))
    return out


def recording_down(states: Mapping[int, str], recorded_by: Mapping[int, Optional[int]],
                   serial_of: Mapping[int, str]) -> dict[int, dict[str, Any]]:
    """Cameras whose recording NVR is offline: camera id → an information reason
    (``not_recorded``, naming the NVR).

    The recording link is not a network path: a dead NVR is one fault, on the NVR; its
    cameras keep their own state (they still answer and stream) and carry this reason only
    as information, so no camera is degraded, offline or ticketed for the NVR's fault.
    `states` maps device id → confirmed state for the cameras and NVRs concerned.
    """
    out: dict[int, dict[str, Any]] = {}
    for cam, nvr in recorded_by.items():
        if nvr is not None and states.get(nvr) == OFFLINE:
            out[cam] = _reason("recording", "not_recorded", recorder=serial_of.get(nvr, str(nvr)))
    return out


# --------------------------------------------------------------------------- state machine

@dataclass
class Status:
    """Mirror of a device_status row: the confirmed state and the hysteresis memory."""

    state: str = UNKNOWN
    since: Optional[dt.datetime] = None
    cause: Optional[str] = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    flapping: bool = False
    candidate_state: Optional[str] = None
    candidate_cause: Optional[str] = None
    candidate_since: Optional[dt.datetime] = None
    candidate_count: int = 0
    candidate_reasons: list[dict[str, Any]] = field(default_factory=list)
    recent_flips: list[dt.datetime] = field(default_factory=list)
    last_sample_at: Optional[dt.datetime] = None
    last_observed: Optional[str] = None


@dataclass(frozen=True)
class Transition:
    """A confirmed change: the old interval ends and the new one starts at `at`."""

    at: dt.datetime
    old: str
    new: str
    old_cause: Optional[str]
    cause: Optional[str]
    reasons: tuple[dict[str, Any], ...]
    flapping: bool


def _clear_candidate(s: Status) -> None:
    s.candidate_state = s.candidate_cause = s.candidate_since = None
    s.candidate_count = 0
    s.candidate_reasons = []


def _window_end(reasons: Iterable[Mapping[str, Any]]) -> Optional[dt.datetime]:
    for r in reasons:
        if r.get("code") == "window" and r.get("end"):
            try:
                return dt.datetime.fromisoformat(r["end"])
            except (TypeError, ValueError):
                return None
    return None


def step(status: Status, obs: Observation, rules: HealthRules,
         maintenance: Optional[tuple[dt.datetime, dt.datetime]] = None,
         maintenance_ended_at: Optional[dt.datetime] = None,
         ) -> tuple[Status, list[Transition]]:
    """Advance `status` by one observation. Returns the new status and its transitions.

    `maintenance` is the approved window [start, end) covering obs.at, if any.
    `maintenance_ended_at` is when the window the device is in actually ended, as stored now
    (a window shortened or ended early after it began ends before the end recorded in the
    reasons). The input status is not modified.
    """
    if status.last_sample_at is not None and obs.at <= status.last_sample_at:
        return status, []  # replay or out of order: already accounted for
    if obs.state == UNKNOWN:
        return status, []  # no information (never probed): neither agrees nor disagrees
    s = replace(status, reasons=list(status.reasons), recent_flips=list(status.recent_flips),
                candidate_reasons=list(status.candidate_reasons))
    transitions: list[Transition] = []

    def confirm(at: dt.datetime, state: str, cause: Optional[str],
                reasons: list[dict[str, Any]]) -> None:
        if s.since is not None and at < s.since:
            at = s.since  # never start before the interval we are closing
        old, old_cause = s.state, s.cause
        if transitions and transitions[-1].at == at:
            # The interval opened earlier in this step would be empty: skip it.
            prev = transitions.pop()
            old, old_cause = prev.old, prev.old_cause
            if (old, old_cause) == (state, cause):
                s.state, s.cause, s.reasons = state, cause, list(reasons)
                _clear_candidate(s)
                return
        transitions.append(Transition(at=at, old=old, new=state, old_cause=old_cause,
                                      cause=cause, reasons=tuple(reasons), flapping=s.flapping))
        s.state, s.cause, s.since, s.reasons = state, cause, at, list(reasons)
        _clear_candidate(s)

    # Leaving a maintenance window: the window's end is exact; after it we don't know
    # the state until the probes confirm one.
    if s.state == MAINTENANCE and maintenance is None:
        ended = maintenance_ended_at or _window_end(s.reasons) or obs.at
        confirm(min(ended, obs.at), UNKNOWN, None, [])

    if maintenance is not None:
        if s.state != MAINTENANCE:
            start = max(maintenance[0], s.since) if s.since else maintenance[0]
            confirm(min(start, obs.at), MAINTENANCE, CAUSE_MAINTENANCE,
                    [_reason("maintenance", "window", start=maintenance[0].isoformat(),
                             end=maintenance[1].isoformat())])
        s.last_sample_at = obs.at
        return s, transitions

    # Flap detection on raw observations, before hysteresis hides them.
    if s.last_observed is not None and obs.state != s.last_observed:
        s.recent_flips.append(obs.at)
    horizon = obs.at - dt.timedelta(seconds=rules.flap_window_s)
    s.recent_flips = [t for t in s.recent_flips if t > horizon]
    s.flapping = len(s.recent_flips) >= rules.flap_max_changes
    s.last_observed = obs.state
    s.last_sample_at = obs.at

    if obs.key == (s.state, s.cause):
        s.reasons = list(obs.reasons)  # same state: keep the freshest measured values
        _clear_candidate(s)
        return s, transitions
    if s.candidate_state == obs.state:
        # Hysteresis counts observed states: a new cause within the same state (a camera's
        # `unreachable` becoming `upstream` once its switch's outage is confirmed) continues
        # the count, and the interval takes the latest cause.
        s.candidate_count += 1
    else:
        s.candidate_state = obs.state
        s.candidate_since, s.candidate_count = obs.at, 1
    s.candidate_cause = obs.cause
    s.candidate_reasons = list(obs.reasons)
    if s.candidate_count >= rules.confirmations(obs.state):
        confirm(s.candidate_since, obs.state, obs.cause, list(obs.reasons))  # type: ignore[arg-type]
    return s, transitions


def status_reasons(status: Status, rules: HealthRules) -> list[dict[str, Any]]:
    """The reasons to show for a status, with the flapping note when it applies."""
    out = list(status.reasons)
    if status.flapping:
        out.append(_reason("history", "flapping", value=len(status.recent_flips),
                           window_s=rules.flap_window_s))
    return out


# --------------------------------------------------------------------------- intervals

def overlap_seconds(start: dt.datetime, end: Optional[dt.datetime], lo: dt.datetime,
                    hi: dt.datetime, now: dt.datetime) -> float:
    """Seconds of [start, end or now) inside [lo, hi)."""
    stop = min(end if end is not None else now, hi)
    begin = max(start, lo)
    return max(0.0, (stop - begin).total_seconds())


def seconds_by_state(intervals: Iterable[Any], lo: dt.datetime, hi: dt.datetime,
                     now: dt.datetime) -> dict[str, float]:
    """Sum interval overlap with [lo, hi) per state; `offline:upstream` is reported apart too."""
    out: dict[str, float] = {}
    for iv in intervals:
        secs = overlap_seconds(_get(iv, "start_at"), _get(iv, "end_at"), lo, hi, now)
        if secs <= 0:
            continue
        state = _get(iv, "state")
        out[state] = out.get(state, 0.0) + secs
        if state == OFFLINE and _get(iv, "cause") == CAUSE_UPSTREAM:
            out["offline:upstream"] = out.get("offline:upstream", 0.0) + secs
    return out
