"""A veil over the lens read by the detail it leaves (``veil_detail``), and light fog told
from it by the detail its nearest objects keep: lamp-lit views under a misted dome keep a
wide tonal range (the lamps shine far above the veil) and were missed; fog over a view of
fine two-tone texture (foliage, paving) has a narrow range but its detail, and was taken
for a veil."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg, two_tone_texture
from test_veil_and_cover import _display, _linear, light_fog


def _interior_linear(h: int = 288, w: int = 512, seed: int = 2) -> np.ndarray:
    """A lit interior in linear light: wall and floor, furniture of many colours (some
    dark), a fine surface texture, two ceiling lamps far brighter than anything lit."""
    r = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (150, 160, 170)
    img[int(h * 0.6):] = (90, 100, 110)
    for _ in range(14):
        x, y = int(r.integers(0, w - 60)), int(r.integers(int(h * 0.3), h - 40))
        col = tuple(float(c) for c in r.integers(20, 200, 3))
        cv2.rectangle(img, (x, y), (x + int(r.integers(20, 80)), y + int(r.integers(15, 50))), col, -1)
    img += cv2.GaussianBlur(r.normal(0, 12, (h, w)).astype(np.float32), (0, 0), 1.5)[:, :, None]
    lin = _linear(np.clip(img, 0, 255).astype(np.uint8))
    for x in (int(w * 0.3), int(w * 0.7)):
        core = np.zeros((h, w), np.float32)
        cv2.circle(core, (x, int(h * 0.08)), 10, 1.0, -1)
        lin += (core * 30.0 + cv2.GaussianBlur(core, (0, 0), 15) * 3.0)[:, :, None]
    return lin


def _dome_veil_linear(lin: np.ndarray, strength: float) -> np.ndarray:
    """Scattered light of the dome (a wide glow of the scene plus its mean), before
    auto-exposure, as the field set lays it."""
    scatter = cv2.GaussianBlur(lin, (0, 0), lin.shape[1] * 0.08) * 0.5 + float(lin.mean()) * 0.7
    return _display(lin * (1 - strength) + scatter * strength)


def _foliage() -> np.ndarray:
    """Fine two-tone texture over the whole view (leaves, paving): a narrow tonal range
    for the detail it carries."""
    return two_tone_texture(70, 70)


@pytest.fixture(scope="module")
def interior() -> np.ndarray:
    return _interior_linear()


def test_a_lamp_lit_interior_under_a_dome_veil_is_found_by_its_detail(interior, thresholds):
    veiled = diagnose(jpeg(_dome_veil_linear(interior, 0.7)), thresholds=thresholds)
    m = veiled.measures
    # the lamps keep the tonal range wide: the range rule cannot find this veil
    assert m["veil_range"] > 0.5
    assert m["veil_floor"] >= M.VEIL_FLOOR
    assert m["veil_detail"] + m["veil_detail_u"] < 0.075
    assert "low_contrast" in veiled.fault_names
    assert any(f.rule == "low_contrast_detail" for f in veiled.faults)


def test_the_clean_interior_keeps_its_blacks_and_its_detail_is_not_judged(interior, thresholds):
    clean = diagnose(jpeg(_display(interior)), thresholds=thresholds)
    # dark furniture keeps some region's floor low: a veil would have lifted it
    assert clean.measures["veil_floor"] < M.VEIL_FLOOR
    assert clean.measures["veil_detail"] is None
    assert "low_contrast" not in clean.fault_names


def test_with_the_reference_only_detail_lost_since_acceptance_counts(interior, thresholds):
    clean = jpeg(_display(interior))
    veiled = jpeg(_dome_veil_linear(interior, 0.7))
    d = diagnose(veiled, reference=clean, thresholds=thresholds)
    assert any(f.rule == "low_contrast_detail" for f in d.faults)
    # a view as veiled at acceptance has lost nothing since: not judged
    same = diagnose(veiled, reference=veiled, thresholds=thresholds)
    assert same.measures["veil_detail"] is None and same.measures["veil_contrast"] is None
    assert not any(f.rule in ("low_contrast_detail", "low_contrast_veil") for f in same.faults)


def test_light_fog_over_fine_texture_keeps_its_detail_and_is_not_a_veil(thresholds):
    fog = diagnose(jpeg(light_fog(_foliage(), 0.23)), thresholds=thresholds)
    m = fog.measures
    # a narrow range that the range rule alone took for a veil ...
    assert m["veil_range"] < 0.5
    # ... but the detail kept where the view keeps most of it is a scene's, not a veil's
    assert m["veil_detail_all"] >= M.VEIL_DETAIL_KEPT
    assert m["veil_contrast"] is None
    assert "low_contrast" not in fog.fault_names

