"""A dirty dome read against the acceptance reference (``veil_detail_kept``): a smudge is
thick in parts of the view and thin in others, so the picture keeps a wider range and more
detail than the no-reference veil figures allow (they are held down by plain walls), but
the view lost most of the detail it had at acceptance. Light fog, read the same way, keeps
about half of it and is not a veil even where its range is narrow."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M
from probes.quality.diagnose import judge

from quality_helpers import jpeg, two_tone_texture
from test_veil_and_cover import _display, _linear, light_fog


def smudged_veil(img: np.ndarray, strength: float) -> np.ndarray:
    """Scattered light of a dirty dome whose smudge thins from left (1.3 x strength) to
    right (0.7 x strength), laid in linear light before auto-exposure, as the field set's
    dome veil does."""
    lin = _linear(img)
    h, w = lin.shape[:2]
    smudge = np.linspace(1.3, 0.7, w, dtype=np.float32)[None, :, None]
    v = np.clip(strength * smudge, 0, 0.95)
    scatter = cv2.GaussianBlur(lin, (0, 0), w * 0.08) * 0.5 + float(lin.mean()) * 0.7
    return _display(lin * (1 - v) + scatter * v)


def bright_foliage() -> np.ndarray:
    """Light two-tone texture over the whole view (pale paving, a hedge in sun): a narrow
    tonal range of its own."""
    return two_tone_texture(120, 60)


def test_a_smudged_veil_is_found_by_the_detail_it_lost_since_acceptance(scene, thresholds):
    veiled = jpeg(smudged_veil(scene, 0.65))
    d = diagnose(veiled, reference=jpeg(scene), thresholds=thresholds)
    m = d.measures
    # range and detail stay clear of the no-reference figures: those rules cannot find it
    assert m["veil_range"] > 0.5 and m["veil_detail_all"] > 0.11
    assert m["veil_detail_kept"] is not None and m["veil_detail_kept"] < 0.35
    assert any(f.rule == "low_contrast_kept" for f in d.faults)
    # without the reference nothing says what the view had
    alone = diagnose(veiled, thresholds=thresholds)
    assert alone.measures["veil_detail_kept"] is None
    assert "low_contrast" not in alone.fault_names


def test_light_fog_over_a_narrow_range_view_is_not_a_veil_with_a_reference(thresholds):
    clean = bright_foliage()
    fog = light_fog(clean, 0.35)
    d = diagnose(jpeg(fog), reference=jpeg(clean), thresholds=thresholds)
    then = M.veil(M.prepare(cv2.imdecode(np.frombuffer(jpeg(clean), np.uint8), cv2.IMREAD_COLOR), 640))
    # a narrow range and little detail of its own, taken for a veil on the range alone ...
    assert d.measures["veil_range"] < 0.5 and d.measures["veil_detail_all"] < M.VEIL_DETAIL_KEPT
    # ... but it kept over 0.4 of the detail it had at acceptance: fog, not a veil
    assert d.measures["veil_detail_all"] >= 0.4 * then["veil_detail_all"]
    assert d.measures["veil_contrast"] is None and d.measures["veil_detail"] is None
    assert "low_contrast" not in d.fault_names


def _reading(detail: float, floor: float) -> dict[str, float]:
    return {"veil_detail_all": detail, "veil_floor": floor}


def test_detail_kept_is_judged_only_under_lifted_blacks_and_without_readable_detail():
    then = _reading(0.40, 0.05)
    assert M.veil_kept(_reading(0.08, 0.60), then) == pytest.approx(0.2)
    # the blacks did not rise (a blur, a compression fault): not a veil's doing
    assert M.veil_kept(_reading(0.08, 0.05 + M.VEIL_RISE - 0.01), then) is None
    # the best-kept tenth still shows readable detail (fog over a dark scene)
    assert M.veil_kept(_reading(M.VEIL_READABLE, 0.60), then) is None
    # a reading not taken (a clipped channel) or a reference without detail
    assert M.veil_kept({"veil_detail_all": None, "veil_floor": 0.6}, then) is None
    assert M.veil_kept(_reading(0.08, 0.60), _reading(0.0, 0.05)) is None


def test_detail_kept_is_not_judged_at_night(thresholds):
    measures = {"veil_detail_kept": 0.1, "scene_phase_response": 1.0, "scene_shift_pct": 0.0}
    assert any(f.rule == "low_contrast_kept" for f in judge(measures, thresholds, night=False))
    assert not any(f.rule == "low_contrast_kept" for f in judge(measures, thresholds, night=True))
