"""The standard profile's schema: Pydantic v2 models, strict (unknown keys refused), and
`parse_profile`, which turns YAML bytes into a validated `Profile` with its content hash.

Top-level keys: ``name, version, title, supersedes, probe_tiers{fast,full,frame}, hysteresis,
clock, image_quality, retention, nvr, acceptance, coverage{community type}, sla{severity},
targets, payment{score, coefficients}``. Every rule carries ``clause`` (where its figure comes
from) and ``default`` (true: a published starting point to be replaced by the local standard).
``image_quality`` is owned by probes/quality: here it is only checked to be a mapping (and,
when ``probes.quality.Thresholds.from_mapping`` exists, that it accepts the section). Its
optional ``calibration`` sub-section (how a camera without an acceptance reference learns its
own normal range) is the supervisor's: it is taken out of the mapping before probes/quality
sees it and validated here as ``Profile.quality_calibration``.

Errors (``ProfileError``) name the file, the key path and the problem, one per line::

    default-v2.yaml: clock.tolerance_s: Input should be greater than 0
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      field_validator, model_validator)

from supervisor.core.choices import CameraRole, CommunityType

FILE_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*?)-v(?P<version>\d+)\.ya?ml$")

Protocol = Literal["reach", "onvif", "snmp", "frame"]


class ProfileError(Exception):
    """A profile file is missing, unreadable or invalid; the message names file, key, problem."""


class ProfileInUseError(ProfileError):
    """A profile version in use by a contract was edited after its first use."""


# ---------------------------------------------------------------- schema

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """A rule: its figures plus where they come from."""

    clause: str = Field(min_length=3)
    default: bool = False


class Concurrency(_Strict):
    total: int = Field(gt=0)
    per_host: int = Field(default=1, gt=0)
    per_protocol: dict[Protocol, int] = Field(default_factory=dict)

    @field_validator("per_protocol")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        for proto, n in v.items():
            if n <= 0:
                raise ValueError(f"{proto}: must be greater than 0")
        return v


class ProbeTier(Rule):
    interval_s: float = Field(gt=0)
    jitter_s: float = Field(default=0, ge=0)
    checks: list[Protocol] = Field(min_length=1)
    timeouts_s: dict[Protocol, float]
    retries: dict[Protocol, int] = Field(default_factory=dict)
    concurrency: Concurrency

    @model_validator(mode="after")
    def _coherent(self) -> ProbeTier:
        if self.jitter_s >= self.interval_s:
            raise ValueError("jitter_s must be smaller than interval_s")
        missing = [c for c in self.checks if c not in self.timeouts_s]
        if missing:
            raise ValueError(f"timeouts_s lacks a timeout for check(s) {missing}")
        for proto, t in self.timeouts_s.items():
            if t <= 0:
                raise ValueError(f"timeouts_s.{proto} must be greater than 0")
        for proto, n in self.retries.items():
            if n < 0:
                raise ValueError(f"retries.{proto} must be 0 or more")
        return self

    def timeout(self, protocol: str, fallback: float = 5.0) -> float:
        return self.timeouts_s.get(protocol, fallback)  # type: ignore[call-overload]

    def retry(self, protocol: str) -> int:
        return self.retries.get(protocol, 0)  # type: ignore[call-overload]


class ProbeTiers(_Strict):
    fast: ProbeTier
    full: ProbeTier
    frame: ProbeTier

    def get(self, tier: str) -> ProbeTier:
        if tier not in ("fast", "full", "frame"):
            raise KeyError(tier)
        return getattr(self, tier)


class Hysteresis(Rule):
    to_offline: int = Field(ge=1)
    to_ok: int = Field(ge=1)
    to_degraded: int = Field(ge=1)
    flap_changes: int = Field(default=6, ge=2)  # this many changes within the window = flapping
    flap_window_s: float = Field(default=3600, gt=0)


class Clock(Rule):
    tolerance_s: float = Field(gt=0)


class Retention(Rule):
    raw_days: int = Field(ge=1)
    evidence_mb: int = Field(ge=1)
    evidence_days: int = Field(ge=1)


class Nvr(Rule):
    retention_days: int = Field(ge=1)


class Resolution(_Strict):
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = re.fullmatch(r"\s*(\d+)\s*[xX×*]\s*(\d+)\s*", v)
            if not m:
                raise ValueError(f"resolution {v!r} is not WIDTHxHEIGHT (e.g. 1920x1080)")
            return {"width": int(m.group(1)), "height": int(m.group(2))}
        return v

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    def admits(self, width: int | None, height: int | None) -> bool:
        """True when a stream of width x height meets this minimum (either orientation)."""
        if not width or not height:
            return False
        big, small = max(width, height), min(width, height)
        return big >= max(self.width, self.height) and small >= min(self.width, self.height)


class ImageGrades(Rule):
    """Grade (five-grade impairment scale) of a diagnosis by its worst fault's severity."""

    none: int = Field(ge=1, le=5)
    minor: int = Field(ge=1, le=5)
    major: int = Field(ge=1, le=5)
    critical: int = Field(ge=1, le=5)

    def grade(self, severities: list[str]) -> int:
        if not severities:
            return self.none
        return min(getattr(self, s, self.critical) for s in severities)


class StreamRequirement(Rule):
    """What a camera's main stream must deliver at acceptance (per role, or `default`)."""

    min_resolution: Resolution
    min_fps: float = Field(gt=0)
    codecs: list[str] = Field(min_length=1)
    min_bitrate_kbps: int = Field(gt=0)


ACCEPTANCE_CHECKS = ("reach", "onvif", "identity", "credentials", "stream", "clock", "ntp",
                     "image", "ptz", "switch", "recording", "speaker", "coverage")


class Acceptance(Rule):
    min_image_grade: int = Field(ge=1, le=5)
    # Optional so that profiles written before these sections stay valid.
    image_grades: ImageGrades | None = None
    streams: dict[str, StreamRequirement] | None = None
    # Where each acceptance check comes from, for checks whose figure lives elsewhere or
    # that have no figure (reach, ONVIF calls, identity, credentials, PTZ, speaker ...).
    checks: dict[str, Rule] | None = None

    @field_validator("streams")
    @classmethod
    def _stream_roles(cls, v: dict[str, StreamRequirement] | None
                      ) -> dict[str, StreamRequirement] | None:
        if v is None:
            return v
        unknown = sorted(set(v) - set(CameraRole.values()) - {"default"})
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: "
                             f"{list(CameraRole.values()) + ['default']}")
        return v

    @field_validator("checks")
    @classmethod
    def _check_names(cls, v: dict[str, Rule] | None) -> dict[str, Rule] | None:
        if v is None:
            return v
        unknown = sorted(set(v) - set(ACCEPTANCE_CHECKS))
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {list(ACCEPTANCE_CHECKS)}")
        return v

    def stream_for(self, role: str | None) -> StreamRequirement | None:
        if not self.streams:
            return None
        return self.streams.get(role or "") or self.streams.get("default")


class RoleSlot(_Strict):
    count: int = Field(ge=0)
    min_resolution: Resolution


class CoverageRule(Rule):
    roles: dict[str, RoleSlot]

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: dict[str, RoleSlot]) -> dict[str, RoleSlot]:
        unknown = sorted(set(v) - set(CameraRole.values()))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: {list(CameraRole.values())}")
        return v


class SlaRule(Rule):
    response_h: float = Field(gt=0)
    repair_h: float = Field(gt=0)
    # Which `calendar.schedules` entry the hours are counted in (None: 24x7 for critical and
    # major, working hours for minor, as supervisor/tickets/policy.py documents).
    schedule: str | None = None

    @model_validator(mode="after")
    def _order(self) -> SlaRule:
        if self.repair_h < self.response_h:
            raise ValueError("repair_h must not be shorter than response_h")
        return self


class ScheduleRule(Rule):
    """Weekly working hours: ``24x7`` or {mon: ["08:30-12:00", "13:30-17:30"], ...}."""

    weekly: str | dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]]
    observes_holidays: bool = True

    @model_validator(mode="after")
    def _spans(self) -> ScheduleRule:
        from supervisor.tickets.calendar import Schedule
        if isinstance(self.weekly, str) and self.weekly != "24x7":
            raise ValueError("weekly must be '24x7' or a mapping of weekday to spans")
        Schedule.from_mapping("check", self.weekly, self.observes_holidays)
        return self


class CalendarRule(Rule):
    """The working calendar: where days come from (the day table itself is versioned in the
    database, see supervisor/tickets/calendar.py) and the weekly schedules."""

    source: Literal["holidays:CN", "none"] = "holidays:CN"
    schedules: dict[str, ScheduleRule] = Field(min_length=1)


class TicketsRule(Rule):
    """When a fault opens a ticket, how severe it is, which holds, verification."""

    open_after_s: dict[str, float] = Field(min_length=1)
    severity: dict[str, dict[str, Literal["critical", "major", "minor"]]]
    default_severity: Literal["critical", "major", "minor"] = "minor"
    hold_reasons: list[str] = Field(min_length=1)
    confirmation_window_s: float = Field(gt=0)
    near_breach_share: float = Field(default=0.8, gt=0, lt=1)


class NotificationsRule(Rule):
    """Delivery: retries with back-off, the quiet-hours default, which events notify."""

    events: list[Literal["opened", "near_breach", "breached", "reopened", "verified"]]
    retry_backoff_s: list[float] = Field(min_length=1)
    quiet_hours: str | None = None   # "22:00-07:00" local, per recipient overridable


class Target(Rule):
    value: float = Field(ge=0, le=1)


class Targets(_Strict):
    online_rate: Target
    intact_rate: Target


class Deduction(Rule):
    points: float = Field(gt=0)
    per: Literal["channel", "ticket", "event", "month"]
    over_hours: float | None = Field(default=None, ge=0)
    max_points: float | None = Field(default=None, gt=0)


class ScoreModel(Rule):
    full: float = Field(gt=0)
    pass_mark: float = Field(ge=0)
    deductions: dict[str, Deduction] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _pass(self) -> ScoreModel:
        if self.pass_mark > self.full:
            raise ValueError("pass_mark must not exceed full")
        return self


class Band(_Strict):
    min: float
    coefficient: float = Field(ge=0, le=2)


class Coefficients(Rule):
    basis: Literal["score", "online_rate", "intact_rate"]
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands(self) -> Coefficients:
        mins = [b.min for b in self.bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("bands must be listed from the highest min to the lowest, each min once")
        if mins[-1] > 0:
            raise ValueError("the last band must start at 0 so every figure earns a coefficient")
        if self.basis != "score" and mins[0] > 1:
            raise ValueError(f"basis {self.basis} is a rate: band mins must be within 0..1")
        return self

    def coefficient_for(self, figure: float) -> float:
        """The coefficient earned by a month's figure (score points or a rate 0..1)."""
        for band in self.bands:
            if figure >= band.min:
                return band.coefficient
        return self.bands[-1].coefficient


class Availability(Rule):
    """PFI-style availability deductions: per device failure, the unavailable time after a
    rectification grace, in whole periods, times the device's weight, the rate (a share of
    the month's instalment per period) and the ratchet factor of the failure's rank in the
    month (a failure that recurs costs more); the month's total is capped."""

    unavailable_states: list[Literal["offline", "degraded"]] = Field(
        default_factory=lambda: ["offline"], min_length=1)
    grace_h: float = Field(ge=0)
    period_h: float = Field(gt=0)
    rate: float = Field(gt=0, le=1)
    weights: dict[str, float] = Field(default_factory=dict)   # device role or kind → weight
    default_weight: float = Field(default=1.0, ge=0)
    ratchet: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    cap: float = Field(gt=0, le=1)

    def weight(self, role: str | None, kind: str | None) -> float:
        for key in (role, kind):
            if key and key in self.weights:
                return self.weights[key]
        return self.default_weight

    def factor(self, rank: int) -> float:
        """Ratchet factor of the rank-th failure of a device in the month (1-based)."""
        return self.ratchet[min(rank, len(self.ratchet)) - 1]


class Payment(_Strict):
    score: ScoreModel
    coefficients: Coefficients
    # Which form pays: the score with its bands (the default) or availability deductions.
    model: Literal["score", "availability"] | None = None
    availability: Availability | None = None

    @model_validator(mode="after")
    def _model_has_section(self) -> Payment:
        if self.model == "availability" and self.availability is None:
            raise ValueError("model availability needs an availability section")
        return self


class QualityCalibration(Rule):
    """``image_quality.calibration``: a camera without an acceptance reference learns its
    normal colour, noise and sharpness from its first ``learn_days`` clean days (days with at
    least one clean frame); each half (day, night) needs ``min_frames`` clean frames to be
    learned. Read by supervisor/health/calibration.py."""

    learn_days: int = Field(ge=1, le=90)
    min_frames: int = Field(ge=12, le=10_000)   # 12: probes.quality.calibration.MIN_FRAMES


class Profile(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: int = Field(ge=1)
    title: str
    supersedes: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+@\d+$")
    probe_tiers: ProbeTiers
    hysteresis: Hysteresis
    clock: Clock
    image_quality: dict[str, Any]
    retention: Retention
    nvr: Nvr
    acceptance: Acceptance | None = None
    coverage: dict[str, CoverageRule]
    sla: dict[str, SlaRule] = Field(min_length=1)
    targets: Targets
    payment: Payment
    calendar: CalendarRule | None = None
    tickets: TicketsRule | None = None
    notifications: NotificationsRule | None = None
    # Written as image_quality.calibration (see _calibration_section); optional so that
    # profiles written before it stay valid.
    quality_calibration: QualityCalibration | None = None

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")
    _file_sha256: str = PrivateAttr(default="")  # of the bytes: what early databases recorded

    @model_validator(mode="before")
    @classmethod
    def _calibration_section(cls, data: Any) -> Any:
        """Move ``image_quality.calibration`` out of the mapping probes/quality validates
        (it refuses keys it does not own). The caller's document is not changed: the content
        hash is taken over it."""
        if not isinstance(data, dict):
            return data
        if "quality_calibration" in data:
            raise ValueError("quality_calibration: unknown key (write image_quality.calibration)")
        iq = data.get("image_quality")
        if isinstance(iq, dict) and "calibration" in iq:
            rest = {k: v for k, v in iq.items() if k != "calibration"}
            return {**data, "image_quality": rest, "quality_calibration": iq["calibration"]}
        return data

    @model_validator(mode="after")
    def _sla_schedules(self) -> Profile:
        for sev, rule in self.sla.items():
            if rule.schedule is not None:
                known = set(self.calendar.schedules) if self.calendar else set()
                if rule.schedule not in known:
                    raise ValueError(f"sla.{sev}.schedule {rule.schedule!r} is not in calendar.schedules")
        if self.tickets is not None:
            unknown = sorted({v for row in self.tickets.severity.values() for v in row.values()}
                             - set(self.sla) | ({self.tickets.default_severity} - set(self.sla)))
            if unknown:
                raise ValueError(f"tickets.severity names severities without an SLA: {unknown}")
        return self

    @field_validator("coverage")
    @classmethod
    def _known_types(cls, v: dict[str, CoverageRule]) -> dict[str, CoverageRule]:
        unknown = sorted(set(v) - set(CommunityType.values()))
        if unknown:
            raise ValueError(
                f"unknown community type(s) {unknown}; known: {list(CommunityType.values())}")
        return v

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def required_slots(self, community_type: str) -> dict[str, RoleSlot]:
        rule = self.coverage.get(community_type)
        return dict(rule.roles) if rule else {}



def _format_validation(filename: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if loc.startswith("quality_calibration"):
            loc = "image_quality.calibration" + loc.removeprefix("quality_calibration")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key missing"
        msg = msg.removeprefix("Value error, ")
        lines.append(f"{filename}: {loc}: {msg}")
    return "\n".join(lines)


def parse_profile(data: bytes, filename: str = "<profile>") -> Profile:
    """Validates YAML bytes into a Profile (no file name/version or in-use checks)."""
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{filename}: (file): not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{filename}: {where}: YAML syntax error: {problem}") from None
    if not isinstance(doc, dict):
        raise ProfileError(f"{filename}: (top level): must be a mapping of keys")
    try:
        profile = Profile.model_validate(doc)
    except ValidationError as exc:
        raise ProfileError(_format_validation(filename, exc)) from None
    _check_image_quality(profile, filename)
    profile._sha256 = content_hash(doc)
    profile._file_sha256 = hashlib.sha256(data).hexdigest()
    return profile


def content_hash(doc: Any) -> str:
    """sha256 of the parsed content: comments and layout may change, no key or value may."""
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_image_quality(profile: Profile, filename: str) -> None:
    """Lets probes/quality validate its own section when its loader exists."""
    try:
        from probes.quality import Thresholds  # type: ignore[attr-defined]
        from_mapping = Thresholds.from_mapping
    except Exception:  # not there yet (or failed to import): the section stays a mapping
        return
    try:
        from_mapping(profile.image_quality)
    except Exception as exc:  # its own message, placed at our key path
        raise ProfileError(f"{filename}: image_quality: {exc}") from None
