"""Thresholds as data: the ``image_quality`` section of a standard profile, validated once.

Shape of the section (every rule cites its ``clause``; ``default: true`` marks a figure to
be replaced by the local standard's)::

    image_quality:
      analysis_width: 640
      timezone: Asia/Shanghai          # the cameras' clock; naive capture times are UTC
      night: {start: "19:00", end: "07:00", clause: ..., default: true}
      rules:
        too_dark: {measure: brightness, op: below, day: 30, night: 8,
                   severity: major, critical: 10, clause: ..., default: true}
        ...

Per-camera overrides are a mapping of the same shape merged over the section (a bare
``{too_dark: {night: 4}}`` is read as ``{rules: {too_dark: {night: 4}}}``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FAULTS = ("signal_loss", "blur", "too_dark", "too_bright", "low_contrast", "color_cast",
          "noise", "occlusion", "stripes", "frozen", "scene_change")
MEASURES = ("signal_loss", "blur", "blur_vs_reference", "brightness", "contrast", "contrast_range", "contrast_ratio", "contrast_vs_reference",
            "color_cast", "color_shift", "noise", "noise_vs_reference", "occlusion",
            "occlusion_new", "stripes", "stripes_new", "stripe_tone", "stripe_tone_new", "impulses", "impulses_new",
            "frozen", "scene_similarity", "scene_similarity_axis", "scene_shift_pct", "screen", "clipped", "overexposure", "overexposure_new",
            "cast_consensus", "cast_consensus_cool", "cast_consensus_magenta", "cast_vs_normal", "noise_vs_normal", "cast_vs_reference",
            "cast_vs_reference_magenta", "cast_white_magenta",
            "blur_vs_normal", "veil_contrast", "veil_detail", "veil_detail_kept", "cover_share", "stripes_fine", "cover_new",
            "cover_vs_normal", "blur_directional")
# Readings a diagnosis records beside the measures (what a measure rests on, or a guard in
# diagnose.judge reads); no rule names them. A measure's uncertainty is its name + "_u".
READINGS = ("bars", "blur_edges", "cast_consensus_hue", "cast_gw_a", "cast_gw_b", "cast_wp_a",
            "cast_wp_b", "cast_lh_a", "cast_lh_b", "cast_hue", "cast_vs_reference_hue",
            "channel_clipped", "coarse_contrast", "cover_rest_detail", "edge_share",
            "flat_fraction", "mode_share", "scene_dx_px", "scene_dy_px", "scene_phase_response",
            "scene_shift_px", "screen_code_step", "screen_shading", "screen_shading_levels",
            "structure_kept", "stripe_amp", "stripe_period_px", "stripe_period_analysis_px",
            "stripes_fine_period_px", "veil_detail_all", "veil_floor", "veil_range")
# "calibration": judged only on a camera without a reference that has learned its normal
# range (probes.quality.calibration); such a camera skips the no_reference rules of the
# same fault, the learned normal replaces them
NEEDS = ("always", "reference", "no_reference", "calibration")
SEVERITIES = ("minor", "major", "critical")
OPS = ("below", "above")

# The repository's default profile, read as data (probes/ imports nothing of supervisor/).
DEFAULT_PROFILE = Path(__file__).resolve().parents[2] / "supervisor" / "profiles" / "default-v1.yaml"
# Rules a profile may not name yet (see the file's header): added unless the profile has them.
PACKAGE_RULES = Path(__file__).resolve().with_name("rules.yaml")
_PACKAGE_RULES_CACHE: Optional[dict[str, Any]] = None


def package_rules() -> dict[str, Any]:
    """The package's own rules (name -> rule mapping), read once."""
    global _PACKAGE_RULES_CACHE
    if _PACKAGE_RULES_CACHE is None:
        import yaml

        doc = yaml.safe_load(PACKAGE_RULES.read_text(encoding="utf-8")) or {}
        _PACKAGE_RULES_CACHE = dict(doc.get("rules") or {})
    return copy.deepcopy(_PACKAGE_RULES_CACHE)


@dataclass(frozen=True)
class Rule:
    name: str
    fault: str
    measure: str
    op: str
    day: float
    night: float
    severity: str
    critical: Optional[float]
    clause: str
    default: bool
    needs: str = "always"  # judge only with / without the acceptance reference

    def limit(self, night: bool) -> float:
        return self.night if night else self.day

    def crossed(self, value: float, limit: float, uncertainty: float = 0.0) -> bool:
        """Beyond ``limit`` by more than ``uncertainty`` (the value's standard uncertainty)."""
        if self.op == "below":
            return value + uncertainty < limit
        return value - uncertainty > limit

    def as_dict(self) -> dict[str, Any]:
        return {"measure": self.measure, "op": self.op, "day": self.day, "night": self.night,
                "severity": self.severity, "critical": self.critical, "clause": self.clause,
                "default": self.default, "fault": self.fault, "needs": self.needs}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _num(where: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}: must be a number, got {v!r}")
    return float(v)


def _clock(where: str, v: Any) -> time:
    if isinstance(v, int):  # YAML reads 19:00 unquoted as sexagesimal minutes
        return time(v // 60 % 24, v % 60)
    try:
        return time.fromisoformat(str(v))
    except ValueError:
        raise ValueError(f"{where}: must be a time HH:MM, got {v!r}") from None


@dataclass(frozen=True)
class Thresholds:
    rules: tuple[Rule, ...]
    analysis_width: int = 640
    night_start: time = time(19, 0)
    night_end: time = time(7, 0)
    timezone: Optional[str] = None

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any],
                     overrides: Optional[Mapping[str, Any]] = None) -> "Thresholds":
        """Validate a profile section (plus per-camera overrides). Unknown names are refused."""
        if not isinstance(section, Mapping):
            raise ValueError("image_quality must be a mapping")
        data = dict(section)
        if overrides:
            if not isinstance(overrides, Mapping):
                raise ValueError("overrides must be a mapping")
            over = {k: v for k, v in overrides.items() if k not in FAULTS and k not in data.get("rules", {})}
            rule_over = {k: v for k, v in overrides.items() if k not in over}
            if rule_over:
                over = _merge(over, {"rules": rule_over})
            data = _merge(data, over)
        # `calibration` holds when a camera learns its normal range (the supervisor's job,
        # read from the same profile section); the diagnosis itself has nothing to take from it.
        known = {"analysis_width", "timezone", "night", "rules", "clause", "default", "package_rules",
                 "calibration"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown keys {unknown}; known: {sorted(known)}")
        rules_raw = data.get("rules")
        if not isinstance(rules_raw, Mapping) or not rules_raw:
            raise ValueError("rules: a mapping of rule name -> rule is required")
        merged = dict(rules_raw)
        if data.get("package_rules", True):
            for name, spec in package_rules().items():
                # ``default: false``: a rule the package keeps but does not apply until a
                # profile names it (its figure did not hold on some clean views)
                if spec.get("default", True):
                    merged.setdefault(name, spec)
        rules = tuple(cls._rule(str(name), spec) for name, spec in merged.items())
        width = int(_num("analysis_width", data.get("analysis_width", 640)))
        if not 160 <= width <= 1920:
            raise ValueError("analysis_width: must be between 160 and 1920")
        night = data.get("night") or {}
        if not isinstance(night, Mapping):
            raise ValueError("night: must be a mapping with start and end")
        tz = data.get("timezone")
        if tz is not None:
            try:
                ZoneInfo(str(tz))
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezone: unknown zone {tz!r}") from None
        return cls(rules=rules, analysis_width=width,
                   night_start=_clock("night.start", night.get("start", "19:00")),
                   night_end=_clock("night.end", night.get("end", "07:00")),
                   timezone=str(tz) if tz is not None else None)

    @staticmethod
    def _rule(name: str, spec: Any) -> Rule:
        where = f"rules.{name}"
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where}: must be a mapping")
        allowed = {"fault", "measure", "op", "day", "night", "severity", "critical", "clause",
                   "default", "needs"}
        extra = sorted(set(spec) - allowed)
        if extra:
            raise ValueError(f"{where}: unknown keys {extra}")
        fault = str(spec.get("fault", name))
        if fault not in FAULTS:
            raise ValueError(f"{where}: unknown fault {fault!r}; known: {list(FAULTS)}")
        measure = str(spec.get("measure", ""))
        if measure not in MEASURES:
            raise ValueError(f"{where}: unknown measure {measure!r}; known: {list(MEASURES)}")
        op = str(spec.get("op", ""))
        if op not in OPS:
            raise ValueError(f"{where}: op must be one of {list(OPS)}")
        if "day" not in spec:
            raise ValueError(f"{where}: day threshold is required")
        day = _num(f"{where}.day", spec["day"])
        night = _num(f"{where}.night", spec.get("night", day))
        sev = str(spec.get("severity", "major"))
        if sev not in SEVERITIES:
            raise ValueError(f"{where}.severity: one of {list(SEVERITIES)}")
        crit = spec.get("critical")
        critical = None if crit is None else _num(f"{where}.critical", crit)
        clause = spec.get("clause")
        if not isinstance(clause, str) or len(clause.strip()) < 3:
            raise ValueError(f"{where}.clause: say where the figure comes from")
        needs = str(spec.get("needs", "always"))
        if needs not in NEEDS:
            raise ValueError(f"{where}.needs: one of {list(NEEDS)}")
        return Rule(name, fault, measure, op, day, night, sev, critical, clause.strip(),
                    bool(spec.get("default", False)), needs)

    @classmethod
    def from_yaml(cls, path: Path | str = DEFAULT_PROFILE,
                  overrides: Optional[Mapping[str, Any]] = None) -> "Thresholds":
        """Read the ``image_quality`` section of a profile file (or a file that is only it)."""
        import yaml

        p = Path(path)
        try:
            doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read profile {p}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{p}: not valid YAML: {exc}") from None
        if not isinstance(doc, Mapping):
            raise ValueError(f"{p}: not a mapping")
        section = doc.get("image_quality", doc)
        try:
            return cls.from_mapping(section, overrides)
        except ValueError as exc:
            raise ValueError(f"{p}: image_quality: {exc}") from None

    @classmethod
    def default(cls) -> "Thresholds":
        return cls.from_yaml(DEFAULT_PROFILE)

    def is_night(self, captured_at: Optional[datetime]) -> bool:
        """Night by the camera's local clock (the section's ``timezone``).

        Platform convention: a naive capture time is UTC (that is what sweeps store); it is
        moved to ``timezone`` before the clock is read. Without a ``timezone`` the time is
        read as it is.
        """
        if captured_at is None:
            return False
        t = captured_at
        if self.timezone:
            if t.tzinfo is None:
                t = t.replace(tzinfo=timezone.utc)
            t = t.astimezone(ZoneInfo(self.timezone))
        clock = t.time().replace(tzinfo=None)
        if self.night_start <= self.night_end:
            return self.night_start <= clock < self.night_end
        return clock >= self.night_start or clock < self.night_end

    def for_fault(self, fault: str) -> list[Rule]:
        return [r for r in self.rules if r.fault == fault]
