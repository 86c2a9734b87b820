"""``diagnose()``: one frame (plus optionally the previous one and the acceptance
reference) -> the faults that cross the profile's thresholds, each with its evidence."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

import numpy as np

from probes.quality import measures as M
from probes.quality.calibration import (STRUCTURE_KEY, Calibration, StructureNormal, pack_structure,
                                        relative_measures)
from probes.quality.frame import FrameLike, load_frame
from probes.quality.reference import reference_cache
from probes.quality.thresholds import FAULTS, Rule, Thresholds

# A "no video" screen explains every other symptom of the frame: report only that.
# (occlusion stays: a fully covered lens gives a flat picture too, and the cover is the news)
_MASKED_BY_SIGNAL_LOSS = set(FAULTS) - {"signal_loss", "scene_change", "frozen", "occlusion"}


@dataclass(frozen=True)
class Fault:
    fault: str
    measure: str
    value: float
    threshold: float
    op: str
    severity: str
    rule: str
    clause: str
    uncertainty: float = 0.0  # the value's standard uncertainty, read from the frame

    def as_dict(self) -> dict[str, Any]:
        return {"fault": self.fault, "measure": self.measure, "value": round(self.value, 4),
                "uncertainty": round(self.uncertainty, 4),
                "threshold": self.threshold, "op": self.op, "severity": self.severity,
                "rule": self.rule, "clause": self.clause}


@dataclass
class Diagnosis:
    faults: list[Fault]
    measures: dict[str, Optional[float]]
    night: bool
    size: tuple[int, int]  # (width, height) of the judged frame
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.faults

    @property
    def fault_names(self) -> list[str]:
        out: list[str] = []
        for f in self.faults:
            if f.fault not in out:
                out.append(f.fault)
        return out

    def as_dict(self) -> dict[str, Any]:
        out = {"ok": self.ok, "faults": [f.as_dict() for f in self.faults],
               "measures": {k: (None if v is None else round(float(v), 4))
                            for k, v in self.measures.items()},
               "night": self.night, "width": self.size[0], "height": self.size[1]}
        if STRUCTURE_KEY in self.extra:
            out[STRUCTURE_KEY] = self.extra[STRUCTURE_KEY]
        return out


# with the reference, a veil must have taken at least a quarter of the view's relative
# range (or of its detail contrast) since acceptance (the fieldset's veils with a reference
# kept at most 0.56 of their contrast, the devset's low-contrast faults at most 0.37; a
# plain wall keeps all of it)
_VEIL_KEPT = 0.75
# with the reference, a view that kept 0.4 of its detail contrast (``veil_detail_all`` now
# over then) is in light fog, not behind a veil, whatever its range: the fieldset's clean
# fog keeps 0.42-0.58 on seed 20261206 (figure chosen there; seeds 7 and 11: from 0.41 and
# 0.45), its veils with a reference at most 0.32 on all three draws; the devset's
# low-contrast faults with a reference at most 0.35
_FOG_DETAIL_KEPT = 0.4


def measure_all(frame: np.ndarray, previous: Optional[np.ndarray], reference: Optional[FrameLike],
                analysis_width: int = 640, structure: Optional[StructureNormal] = None,
                keep_structure: bool = False) -> dict[str, Any]:
    """Every measure for one frame (BGR arrays in; the reference may also be encoded bytes
    or a path), no thresholds applied. The reference is prepared once per process and
    kept (``probes.quality.reference``): judging the next frame against it reuses it.
    ``structure``: where a camera without a reference normally has fine structure (its
    learned calibration), read as ``cover_vs_normal``. ``keep_structure``: the frame's own
    packed structure map is returned under ``_structure`` (for a camera still learning)."""
    p = M.prepare(frame, analysis_width)
    r = reference_cache().prepared(reference, p) if reference is not None else None
    out: dict[str, Optional[float]] = {}
    out.update(M.exposure(p))
    out.update(M.veil(p))
    out["veil_detail_kept"] = None
    if r is not None:
        # a view that had no more range or detail at acceptance (a plain wall) is not veiled
        # now: with the reference, only a range or a detail that shrank since then counts
        then = M.reading(r, "veil", lambda: M.veil(r))
        out["veil_detail_kept"] = M.veil_kept(out, then)
        for now_key, kept_key in (("veil_contrast", "veil_range"), ("veil_detail", "veil_detail_all")):
            now_raw, ref_raw = out[kept_key], then[kept_key]
            if out[now_key] is not None and now_raw is not None and ref_raw is not None and \
                    now_raw > _VEIL_KEPT * ref_raw:
                out[now_key] = None
        d_now, d_then = out["veil_detail_all"], then["veil_detail_all"]
        if d_now is not None and d_then is not None and d_now >= _FOG_DETAIL_KEPT * d_then:
            out["veil_contrast"] = out["veil_detail"] = None
    # contrast kept since acceptance: a plain wall was low in contrast then too
    out["contrast_vs_reference"] = (
        out["contrast_ratio"] / max(0.05, M.reading(r, "exposure", lambda: M.exposure(r))["contrast_ratio"])
        if r is not None else None)
    sigma, sigma_u = M.noise_sigma(p, with_u=True)
    out["noise"], out["noise_u"] = sigma, sigma_u
    ref_sigma, ref_sigma_u = M.reading(r, "noise", lambda: M.noise_sigma(r, with_u=True)) \
        if r is not None else (0.0, 0.0)
    # noise added since acceptance: texture (foliage, gravel) was there then too
    out["noise_vs_reference"] = sigma - ref_sigma if r is not None else None
    out["noise_vs_reference_u"] = math.hypot(sigma_u, ref_sigma_u) if r is not None else None
    out.update(M.impulses(p, r))
    out.update(M.signal_loss(p))
    out.update(M.screen(p))
    out.update(M.clipping(p, r))
    out.update(M.blur(p, sigma))
    # how much softer than at acceptance: some views (and lenses) are never crisp
    # (read on the reference only when the frame's own sharpness is judged)
    ref_b = M.reading(r, "blur", lambda: M.blur(r, ref_sigma)) if r is not None and out["blur"] is not None \
        else {"blur": None, "blur_u": 0.0}
    # a reference read on few edges is no yardstick: which few edges it shows (the glare of
    # that day, a crisp overlay) moves it more than their spread says
    ref_blur = ref_b["blur"] if ref_b.get("blur_edges") is None else None
    out["blur_vs_reference"] = (out["blur"] - ref_blur) if (
        out["blur"] is not None and ref_blur is not None) else None
    out["blur_vs_reference_u"] = math.hypot(out["blur_u"] or 0.0, ref_b["blur_u"] or 0.0) \
        if out["blur_vs_reference"] is not None else None
    occ = M.occlusion(p, sigma, r, ref_sigma)
    blank = occ.pop("_blank")
    out.update(M.color_cast(p, r, blank))
    out["cast_consensus_cool_u"] = out.get("cast_consensus_u")
    out["cast_consensus_magenta_u"] = out.get("cast_consensus_u")
    out.update(occ)
    out.update(M.cover_region(p, sigma))
    out.update(M.cover_new(p, r, ref_sigma) if r is not None else {"cover_new": None})
    # read only when the colour moved (its cost is that of the frame's structure again)
    moved = r is not None and any((out.get(k) or 0.0) >= v for k, v in _CAST_READ_FROM.items())
    out.update(M.structure_kept(p, r, ref_sigma) if moved else {"structure_kept": None})
    out["cover_vs_normal"] = _cover_vs_normal(p, structure) if structure is not None and r is None else None
    if keep_structure:
        out["_structure"] = pack_structure(*M.structure_map(p))
    if out["blur"] is None:
        # no edges to judge focus on outside the region: a plain view, not a cover in front
        # of a sharp one
        out["cover_share"] = None
    out.update(M.stripes(p, r))
    out.update(M.stripes_fine(p))
    out.update(M.stripe_tone(p, r))
    if previous is not None:
        out["frozen"] = M.frozen(p, previous)
    if reference is not None:
        out.update(M.scene_change(p, r, blank=blank))
    return out


# A view that gained fine structure since the learned normal over this share of it where
# it had none is another view (the camera was turned), not the same view behind a cover.
_OTHER_VIEW_GAINED = 0.10
# Against a learned normal, a cover must hide at least 0.15 of the view (as against a
# reference) or, in a view whose structure is sparse, this share of its structured blocks
_OF_STRUCTURE = 0.6


def _cover_vs_normal(p: M.Prepared, normal: StructureNormal) -> Optional[float]:
    """``hidden_share`` against the camera's learned structure, unless the view changed.

    Against an acceptance reference, a turned camera is found as a scene change before any
    cover is judged; against a learned normal there is no such judgement, so a view that
    shows structure in blocks that never had any (a turned camera now on a facade) is not
    read as covered. A cover adds none: it is defocused."""
    detail, mean = normal.detail, normal.mean
    now, _ = M.structure_map(p)
    if now.shape != detail.shape:
        return None
    plain_then = ~M.structured(detail, normal.noise)
    # (three times what the block had, and at least 1.5 times the structured floor)
    gained = plain_then & (now >= 3.0 * np.maximum(detail, M.structured_floor(normal.noise) / 2.0))
    if float(gained.mean()) >= _OTHER_VIEW_GAINED:
        return None
    return M.hidden_share(p, detail, mean, normal.noise, dark_too=True, of_structure=_OF_STRUCTURE)


def _severity(rule: Rule, value: float) -> str:
    if rule.critical is not None and rule.crossed(value, rule.critical):
        return "critical"
    return rule.severity


# the measures of a cover as structure hidden since the view was known (against the
# acceptance reference, against the learned normal)
_COVER_SINCE = ("cover_new", "cover_vs_normal")
# the rules that read a veil of scattered light (a misted or dirty dome) as low contrast
_VEIL_RULES = ("low_contrast_veil", "low_contrast_detail", "low_contrast_kept")
# blank share beyond which a region is a body at the lens even beside a veil: veils and
# contrast squeezes read 0.26-0.67 (devset heldout, fieldset seed 11), whole-lens covers
# 0.91-0.99 (devset); midway, chosen on the devset, reported on the field set
_VEIL_BLANK_MAX = 0.80

# the colour-shift measures read since acceptance
_CAST_SINCE = ("color_shift", "cast_vs_reference", "cast_vs_reference_magenta")
# share of the reference's structured blocks a white-balance fault leaves in place
# (``structure_kept``) below which a colour shift since acceptance is a tinted body at the
# lens: the casts with a reference keep 0.96 and more on the three field draws, 0.76 and
# more on the devset; the field draws' tinted covers (leaves, bags, spray paint) that read
# as casts keep 0.13-0.44; midway, seen on all four sets
_CAST_STRUCTURE_KEPT = 0.60
# ``structure_kept`` is read only when the colour moved at least half the lowest day figure
# the shipped profiles and package rules give these measures (judged less their
# uncertainty, a smaller move is never a cast); under a profile with lower figures the
# shift is judged without it, as a cast
_CAST_READ_FROM = {"color_shift": 8.0, "cast_vs_reference": 5.0, "cast_vs_reference_magenta": 3.0}

# smooth variation across the view (``screen_shading``, relative to its level) from which an
# even picture is a lens image, not a generated screen: the no-video screens of all four
# sets (102) reach 0.0095; the devset's pictures darkened to a mean of 5-17 that read as
# screens 0.024 and 0.063; chosen between them, seeing all four sets
_LENS_SHADING = 0.015
# ... and in gray levels (``screen_shading_levels``), from which that variation is a lens's
# at all: near black the relative figure is a tenth of a level, which a large centred
# caption's JPEG ringing leaves on a black screen (the field generator's black screens at
# level 1-2 with one: 0.08-0.10 levels, 0.016-0.018 relative), while the devset's lens
# pictures darkened to a mean of 3-14 that read as even span 0.26-3.2 levels; between them
_LENS_SHADING_LEVELS = 0.15

# a tone finer than this (analysis pixels) shows in the noise residual (see judge)
_FINE_TONE_PX = 16.0

# The same view under other light (lamps at night against a daylight reference) keeps the
# geometry of its edges while their brightness and even their sign change, so the edge
# similarity can fall low; but the phase correlation still finds it with a clear peak at
# (almost) no shift. A turned, tilted or other view gives no clear peak (changed views of
# both labelled sets: responses up to 0.35; the fieldset's lamp-lit courtyards read
# against a daylight reference: 0.44 to 0.62). Figures chosen on the fieldset, reported on
# the devset (no clean frame there falls below the similarity limit).
_ALIGNED_RESPONSE = 0.40
_ALIGNED_SHIFT_PCT = 1.0


def _same_view_other_light(rule: Rule, measures: dict[str, Optional[float]]) -> bool:
    if rule.fault != "scene_change" or rule.measure not in ("scene_similarity", "scene_similarity_axis"):
        return False
    response, shift = measures.get("scene_phase_response"), measures.get("scene_shift_pct")
    return response is not None and shift is not None and \
        float(response) >= _ALIGNED_RESPONSE and float(shift) < _ALIGNED_SHIFT_PCT


# fault -> the measure that judges it against a camera's learned normal; while that measure
# is taken, the fault's no-reference rules stand aside
_CALIBRATED = {"color_cast": "cast_vs_normal", "noise": "noise_vs_normal", "blur": "blur_vs_normal"}
# no-reference measure -> the learned judgement that replaces it while taken: a camera that
# looks at mostly sky learned that its view is mostly plain, and the single-frame cover
# figure is for a camera that has not (the near-total blank rule, ``occlusion``, still
# applies: a learned map misses a few whole-lens covers it finds)
_LEARNED_INSTEAD = {"cover_share": "cover_vs_normal"}


def judge(measures: dict[str, Optional[float]], thresholds: Thresholds, night: bool) -> list[Fault]:
    """Apply the rules to measured values. A measure that was not taken (None) never fires."""
    faults: list[Fault] = []
    calibrated = {f for f, m in _CALIBRATED.items() if measures.get(m) is not None}
    learned = bool(calibrated) or measures.get("cover_vs_normal") is not None
    has_ref = "scene_phase_response" in measures
    # a blank body found since acceptance (occlusion_new) explains the edges that no longer
    # agree along its outline: the per-axis comparison is then not judged (the joint one
    # still is). Not cover_new: a camera turned to the sky hides structure the same way.
    covered = any(measures.get(r.measure) is not None and r.crossed(float(measures[r.measure]), r.limit(night))
                  for r in thresholds.for_fault("occlusion") if r.measure == "occlusion_new")
    rules = [r for r in thresholds.rules if not (covered and r.measure == "scene_similarity_axis")]
    if has_ref:
        # a reference of another view says nothing about this one's colour, noise or cover
        for rule in (r for r in rules if r.fault == "scene_change"):
            v = measures.get(rule.measure)
            if v is not None and rule.crossed(float(v), rule.limit(night)) and \
                    not _same_view_other_light(rule, measures):
                has_ref = False
    for rule in rules:
        if (rule.needs == "reference" and not has_ref) or (rule.needs == "no_reference" and has_ref):
            continue
        if rule.needs == "calibration" and (has_ref or not learned):
            continue
        if rule.needs == "no_reference" and rule.fault in calibrated:
            continue  # the camera's own normal replaces the fixed figure
        instead = _LEARNED_INSTEAD.get(rule.measure)
        if instead is not None and measures.get(instead) is not None:
            continue  # judged against where the camera's view normally has structure
        value = measures.get(rule.measure)
        if value is None:
            continue
        limit = rule.limit(night)
        # a measured value carries its uncertainty: beyond the limit only when it is beyond
        # it by more than its own standard uncertainty (measures without one: 0)
        u = float(measures.get(rule.measure + "_u") or 0.0)
        if rule.crossed(float(value), limit, u) and not _same_view_other_light(rule, measures):
            faults.append(Fault(rule.fault, rule.measure, float(value), limit, rule.op,
                                _severity(rule, float(value)), rule.name, rule.clause, u))
    stripes = {f.measure for f in faults if f.fault == "stripes"}
    fine_tone = "stripes_fine" in stripes or (
        bool(stripes & {"stripes", "stripes_new"})
        and 0 < float(measures.get("stripe_period_analysis_px") or 0.0) < _FINE_TONE_PX)
    if fine_tone:
        # a fine interference tone passes the noise measure's high-pass (the residual of a
        # 1.5 px blur keeps over a sixth of a tone finer than 16 px) and reads as noise: it is
        # one tone, already reported as stripes, not random noise
        faults = [f for f in faults if f.fault != "noise"]
    if any(f.fault == "too_bright" for f in faults):
        # an over-exposed frame collected more light than at acceptance: its shot noise in
        # gray levels grows with the signal (and the sensor's knee stretches it), so the
        # noise read is the exposure's, reported as too bright, not a noisier camera
        faults = [f for f in faults if f.fault != "noise"]
    if any(f.fault == "blur" and f.measure in ("blur", "blur_vs_reference", "blur_directional") for f in faults):
        # a defocused or shaken view loses structure unevenly (plain parts keep what little
        # they had, textured parts lose most): not a body at the lens
        faults = [f for f in faults if f.measure not in _COVER_SINCE]
    if any(f.fault == "too_dark" for f in faults):
        # an under-exposed view (an iris stuck shut) is flat everywhere its light fell into
        # the noise: a region without fine structure is then the exposure's, not a body's
        faults = [f for f in faults if f.measure != "cover_share"]
    if any(f.fault in ("too_bright", "low_contrast") for f in faults):
        # a burnt-out or veiled view is flat over large parts for that reason: a region
        # without fine structure (or that lost it since acceptance) is then the exposure's
        # or the veil's doing, not a cover's
        faults = [f for f in faults if f.measure not in ("cover_share",) + _COVER_SINCE]
    if any(f.fault == "low_contrast" and f.rule in _VEIL_RULES for f in faults):
        # blocks a veil flattened read as blank where the reference had detail: a dark
        # blank region beside a veil of scattered light is the veil's, as above, unless it
        # fills most of the view (scattered light lifts the blacks, the view's brighter
        # structure still shows through it; a body over the whole lens shows none)
        faults = [f for f in faults if f.measure != "occlusion_new" or f.value >= _VEIL_BLANK_MAX]
    shading, spread = measures.get("screen_shading"), measures.get("screen_shading_levels")
    if shading is not None and shading >= _LENS_SHADING and spread >= _LENS_SHADING_LEVELS:
        # an even picture lit unevenly the way a lens and a scene light it: a dark or
        # squeezed view, not a generated screen (see _LENS_SHADING)
        faults = [f for f in faults if f.measure != "screen"]
    kept = measures.get("structure_kept")
    if kept is not None and kept < _CAST_STRUCTURE_KEPT:
        # a white balance moves the colour and leaves the structure; a tinted body at the
        # lens moves the colour of what it defocuses: not a cast (see _CAST_STRUCTURE_KEPT)
        faults = [f for f in faults if not (f.fault == "color_cast" and f.measure in _CAST_SINCE)]
    if any(f.fault in ("too_dark", "too_bright", "low_contrast") for f in faults):
        # an exposure fault leaves the channels in the noise or clipped: the colour is not
        # measurable, and the shift read is the exposure's, not the white balance's; a veil
        # of scattered light (low contrast) lays the scene's mean colour over every pixel and
        # pulls the brightest and the least coloured pixels toward it
        faults = [f for f in faults if f.fault != "color_cast"]
    if any(f.fault == "signal_loss" for f in faults):
        # a whole-frame blank without a reference IS the no-signal screen; occlusion is kept
        # only when the reference shows the cover is new, and not when the picture is one
        # colour to within a few levels (``screen``): a lens behind a cover still sees its
        # own fall-off, a generated screen has none
        screen = any(f.fault == "signal_loss" and f.measure == "screen" for f in faults)
        faults = [f for f in faults if f.fault not in _MASKED_BY_SIGNAL_LOSS
                  and not (f.fault == "occlusion" and (f.measure in ("occlusion", "cover_share") or screen))]
    order = {name: i for i, name in enumerate(FAULTS)}
    faults.sort(key=lambda f: order[f.fault])
    return faults


_DEFAULT: Optional[Thresholds] = None


def default_thresholds() -> Thresholds:
    """The repository profile's thresholds, read once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Thresholds.default()
    return _DEFAULT


def diagnose(frame: FrameLike, previous: Optional[FrameLike] = None,
             reference: Optional[FrameLike] = None, thresholds: Optional[Thresholds] = None,
             captured_at: Optional[datetime] = None,
             calibration: Optional[Calibration] = None, keep_structure: bool = False) -> Diagnosis:
    """Diagnose one frame.

    ``frame``/``previous``/``reference``: BGR arrays (OpenCV convention), encoded bytes or
    paths. ``previous`` enables ``frozen``, ``reference`` (kept at acceptance) enables
    ``scene_change``. ``captured_at`` picks the day or night thresholds. Raises
    ``FrameError`` (a ValueError) for an unreadable/corrupt/truncated frame.
    ``calibration`` (``probes.quality.calibration.learn``): a camera without a reference is
    judged on colour, noise and blur against its own learned normal range, and by day on a
    cover against where its view normally has structure. ``keep_structure``: the frame's
    packed structure map goes to ``Diagnosis.extra["structure_map"]`` (a camera still
    learning keeps it with its measures); by day only, as it is learned by day.
    """
    th = thresholds or default_thresholds()
    img = load_frame(frame)
    prev = load_frame(previous) if previous is not None else None
    night = th.is_night(captured_at)
    # the reference as handed in: decoded only when this process has not prepared it yet
    normal = calibration.normal(night) if calibration is not None and reference is None else None
    values = measure_all(img, prev, reference, th.analysis_width,
                         structure=normal.structure if normal is not None else None,
                         keep_structure=keep_structure and not night)
    extra: dict[str, Any] = {}
    packed = values.pop("_structure", None)
    if packed is not None:
        extra[STRUCTURE_KEY] = packed
    if calibration is not None and reference is None:
        values.update(relative_measures(values, calibration, night))
    faults = judge(values, th, night)
    return Diagnosis(faults=faults, measures=values, night=night,
                     size=(int(img.shape[1]), int(img.shape[0])), extra=extra)
