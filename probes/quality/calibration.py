"""Per-camera calibration: a camera's own normal range, learned from its first clean days.

A camera accepted with a reference frame is judged against that frame. One without (put in
before the platform existed, or never accepted) is judged by fixed figures, and a view that
is warm by nature (a lobby under tungsten light), sits under a blue sky or is grainy every
night reads as a fault forever. ``learn()`` takes the measures of that camera's frames over
its first clean days (``Diagnosis.measures`` of frames nobody flagged or confirmed faulty)
and keeps, for day and night apart, where its colour, noise, sharpness and brightness
normally sit; ``diagnose(..., calibration=cal)`` then judges colour, noise and blur against
that normal instead of the fixed no-reference figures. By day it also keeps where the
view's fine structure normally is (``StructureNormal``, the per-block medians of the
frames' ``structure_map``): a body at the lens is then found as structure hidden since,
as against an acceptance reference (``cover_vs_normal``).

Pure data: ``Calibration.as_dict()`` / ``Calibration.from_dict()`` round-trip through JSON
for storage beside the camera (see docs/quality.md).
"""
from __future__ import annotations

import base64
import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

import numpy as np

from probes.quality import measures as M

# Colour-illuminant estimates the cast measures are built from (CIELab a, b pairs).
_CAST_KEYS = (("cast_gw_a", "cast_gw_b"), ("cast_wp_a", "cast_wp_b"), ("cast_lh_a", "cast_lh_b"))
_RANGE_KEYS = ("brightness", "noise", "blur", "contrast_ratio")
MIN_FRAMES = 12  # fewer clean frames than this (per day or night) teach nothing reliable
VERSION = 1
# Where a learning camera's frame keeps its packed structure map (``pack_structure``) among
# its measures; ``diagnose(..., keep_structure=True)`` puts it in ``Diagnosis.extra``.
STRUCTURE_KEY = "structure_map"
# structure is kept as 32 * log2(1 + gray levels) in a byte: 2.2 % steps, up to 250 levels
_LOG_STEPS = 32.0


def pack_structure(detail: np.ndarray, mean: np.ndarray) -> dict[str, Any]:
    """A frame's ``measures.structure_map`` in a byte a block, JSON-ready (a 1080p frame's
    80 x 45 blocks: under 10 kB). Fine structure on a log scale (what is judged is a
    ratio), block means in gray levels."""
    code = np.clip(np.round(_LOG_STEPS * np.log2(1.0 + np.maximum(detail, 0.0))), 0, 255).astype(np.uint8)
    mean8 = np.clip(np.round(mean), 0, 255).astype(np.uint8)
    return {"shape": [int(detail.shape[0]), int(detail.shape[1])],
            "detail": base64.b64encode(code.tobytes()).decode("ascii"),
            "mean": base64.b64encode(mean8.tobytes()).decode("ascii")}


def unpack_structure(d: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(fine structure, block means) as float32 arrays; ValueError when malformed."""
    try:
        h, w = (int(v) for v in d["shape"])
        code = np.frombuffer(base64.b64decode(d["detail"], validate=True), np.uint8)
        mean8 = np.frombuffer(base64.b64decode(d["mean"], validate=True), np.uint8)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"structure map unreadable: {exc}") from exc
    if h <= 0 or w <= 0 or code.size != h * w or mean8.size != h * w:
        raise ValueError("structure map: size does not match its shape")
    detail = np.exp2(code.astype(np.float32) / _LOG_STEPS) - 1.0
    return detail.reshape(h, w), mean8.astype(np.float32).reshape(h, w)


@dataclass(frozen=True)
class StructureNormal:
    """Where a camera's view normally has fine structure by day: per-block medians of its
    clean frames' structure maps (a passing car or a person in one frame does not move a
    median), and the median noise they were read at."""

    detail: np.ndarray
    mean: np.ndarray
    noise: float

    def as_dict(self) -> dict[str, Any]:
        return {**pack_structure(self.detail, self.mean), "noise": self.noise}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StructureNormal":
        detail, mean = unpack_structure(d)
        return cls(detail, mean, float(d.get("noise", 0.0)))


def _structure(frames: list[Mapping[str, Any]]) -> Optional[StructureNormal]:
    maps, noise = [], []
    for m in frames:
        packed = m.get(STRUCTURE_KEY)
        if not isinstance(packed, Mapping):
            continue
        try:
            maps.append(unpack_structure(packed))
        except ValueError:
            continue  # a damaged row teaches nothing; the others still do
        if m.get("noise") is not None:
            noise.append(float(m["noise"]))
    if not maps:
        return None
    # the frame size of most frames (a camera set to another resolution meanwhile: its
    # older frames are of another view of the sensor)
    shapes = [d.shape for d, _ in maps]
    shape = max(set(shapes), key=shapes.count)
    same = [(d, mm) for d, mm in maps if d.shape == shape]
    if len(same) < MIN_FRAMES:
        return None
    return StructureNormal(np.median(np.stack([d for d, _ in same]), axis=0).astype(np.float32),
                           np.median(np.stack([mm for _, mm in same]), axis=0).astype(np.float32),
                           statistics.median(noise) if noise else 0.0)


@dataclass(frozen=True)
class Normal:
    """Where one camera's measures sit in clean frames, for day or for night."""

    frames: int
    cast: tuple[tuple[float, float], ...]          # median (a, b) of each colour estimate
    cast_spread: float                             # how far the colour wanders (Lab, p90)
    ranges: dict[str, tuple[float, float, float]]  # measure -> (p10, median, p90)
    structure: Optional[StructureNormal] = None     # learned by day only (see cover_vs_normal)

    def as_dict(self) -> dict[str, Any]:
        out = {"frames": self.frames, "cast": [list(c) for c in self.cast],
               "cast_spread": self.cast_spread, "ranges": {k: list(v) for k, v in self.ranges.items()}}
        if self.structure is not None:
            out["structure"] = self.structure.as_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Normal":
        # a calibration learned without the structure (an older one) judges no cover
        return cls(int(d["frames"]), tuple((float(a), float(b)) for a, b in d["cast"]),
                   float(d["cast_spread"]), {k: (float(v[0]), float(v[1]), float(v[2]))
                                             for k, v in d["ranges"].items()},
                   StructureNormal.from_dict(d["structure"]) if d.get("structure") else None)


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


def _normal(frames: list[Mapping[str, Any]], with_structure: bool = False) -> Optional[Normal]:
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
    return Normal(len(usable), cast, _pct(wander, 0.9), ranges,
                  _structure(frames) if with_structure else None)


def learn(frames: Iterable[tuple[Mapping[str, Any], bool]]) -> Calibration:
    """``frames``: (measures of a clean frame, taken at night?) pairs from the camera's first
    days. Day and night are learned apart; a half with too few frames stays unlearned
    (``None``) and that half is judged by the fixed figures."""
    day, night = [], []
    for measures, is_night in frames:
        (night if is_night else day).append(measures)
    # at night most of a view is unlit and shows no structure whatever is in front of the
    # lens: covers are judged by day only, so only the day half keeps the structure
    return Calibration(_normal(day, with_structure=True), _normal(night))


def relative_measures(measures: Mapping[str, Any], cal: Calibration, night: bool) -> dict[str, Optional[float]]:
    """The measures against the camera's normal: colour moved, noise and blur beyond it."""
    n = cal.normal(night)
    out: dict[str, Optional[float]] = {"cast_vs_normal": None, "noise_vs_normal": None, "blur_vs_normal": None}
    # (cover_vs_normal is read on the frame itself: probes.quality.diagnose.measure_all)
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
