"""Per-camera calibration: a camera's own normal range, learned from its first clean days.

A camera accepted with a reference frame is judged against that frame. One without (put in
before the platform existed, or never accepted) is judged by fixed figures, and a view that
is warm by nature (a lobby under tungsten light), sits under a blue sky or is grainy every
night reads as a fault forever. ``learn()`` takes the measures of that camera's frames over
its first clean days (``Diagnosis.measures`` of frames nobody flagged or confirmed faulty)
and keeps, for day and night apart, where its colour, noise, sharpness and brightness
normally sit; ``diagnose(..., calibration=cal)`` then judges colour, noise and blur against
that normal instead of the fixed no-reference figures.

Pure data: ``Calibration.as_dict()`` / ``Calibration.from_dict()`` round-trip through JSON
for storage beside the camera (see docs/quality.md).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from probes.quality import measures as M

# Colour-illuminant estimates the cast measures are built from (CIELab a, b pairs).
_CAST_KEYS = (("cast_gw_a", "cast_gw_b"), ("cast_wp_a", "cast_wp_b"), ("cast_lh_a", "cast_lh_b"))
_RANGE_KEYS = ("brightness", "noise", "blur", "contrast_ratio")
MIN_FRAMES = 12  # fewer clean frames than this (per day or night) teach nothing reliable
VERSION = 1


@dataclass(frozen=True)
class Normal:
    """Where one camera's measures sit in clean frames, for day or for night."""

    frames: int
    cast: tuple[tuple[float, float], ...]          # median (a, b) of each colour estimate
    cast_spread: float                             # how far the colour wanders (Lab, p90)
    ranges: dict[str, tuple[float, float, float]]  # measure -> (p10, median, p90)

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "cast": [list(c) for c in self.cast],
                "cast_spread": self.cast_spread, "ranges": {k: list(v) for k, v in self.ranges.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Normal":
        return cls(int(d["frames"]), tuple((float(a), float(b)) for a, b in d["cast"]),
                   float(d["cast_spread"]), {k: (float(v[0]), float(v[1]), float(v[2]))
                                             for k, v in d["ranges"].items()})


@dataclass(frozen=True)
class Calibration:
    day: Optional[Normal] = None
    night: Optional[Normal] = None
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def normal(self, night: bool) -> Optional[Normal]:
        return self.night if night else self.day

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "day": self.day.as_dict() if self.day else None,
                "night": self.night.as_dict() if self.night else None, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Calibration":
        if int(d.get("version", 0)) != VERSION:
            raise ValueError(f"calibration version {d.get('version')!r} is not {VERSION}: learn it again")
        return cls(Normal.from_dict(d["day"]) if d.get("day") else None,
                   Normal.from_dict(d["night"]) if d.get("night") else None)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    i = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[i]


def _normal(frames: list[Mapping[str, Any]]) -> Optional[Normal]:
    usable = [m for m in frames if all(m.get(k) is not None for pair in _CAST_KEYS for k in pair)]
    if len(usable) < MIN_FRAMES:
        return None
    cast = tuple((statistics.median(float(m[a]) for m in usable), statistics.median(float(m[b]) for m in usable))
                 for a, b in _CAST_KEYS)
    wander = [M.consensus([(float(m[a]) - ca, float(m[b]) - cb) for (a, b), (ca, cb) in zip(_CAST_KEYS, cast)])
              for m in usable]
    ranges = {}
    for k in _RANGE_KEYS:
        vals = [float(m[k]) for m in frames if m.get(k) is not None]
        if len(vals) >= MIN_FRAMES:
            ranges[k] = (_pct(vals, 0.1), statistics.median(vals), _pct(vals, 0.9))
    return Normal(len(usable), cast, _pct(wander, 0.9), ranges)


def learn(frames: Iterable[tuple[Mapping[str, Any], bool]]) -> Calibration:
    """``frames``: (measures of a clean frame, taken at night?) pairs from the camera's first
    days. Day and night are learned apart; a half with too few frames stays unlearned
    (``None``) and that half is judged by the fixed figures."""
    day, night = [], []
    for measures, is_night in frames:
        (night if is_night else day).append(measures)
    return Calibration(_normal(day), _normal(night))


def relative_measures(measures: Mapping[str, Any], cal: Calibration, night: bool) -> dict[str, Optional[float]]:
    """The measures against the camera's normal: colour moved, noise and blur beyond it."""
    n = cal.normal(night)
    out: dict[str, Optional[float]] = {"cast_vs_normal": None, "noise_vs_normal": None, "blur_vs_normal": None}
    if n is None:
        return out
    # each carries the uncertainty of the frame's own reading (the learned normal is a
    # median of many frames, its own scatter is small beside it)
    out.update({"cast_vs_normal_u": measures.get("cast_consensus_u"),
                "noise_vs_normal_u": measures.get("noise_u"),
                "blur_vs_normal_u": measures.get("blur_u")})
    if all(measures.get(k) is not None for pair in _CAST_KEYS for k in pair):
        out["cast_vs_normal"] = M.consensus([(float(measures[a]) - ca, float(measures[b]) - cb)
                                             for (a, b), (ca, cb) in zip(_CAST_KEYS, n.cast)])
    if measures.get("noise") is not None and "noise" in n.ranges:
        out["noise_vs_normal"] = float(measures["noise"]) - n.ranges["noise"][2]
    if measures.get("blur") is not None and "blur" in n.ranges:
        out["blur_vs_normal"] = float(measures["blur"]) - n.ranges["blur"][1]
    return out
