"""A cover at the lens found against the acceptance reference whatever its brightness
(``cover_new``), and the changes of light it must not be confused with."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg


def _soft_mask(h: int, w: int, centre: tuple[int, int], axes: tuple[int, int]) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, centre, axes, 20, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(m, (0, 0), w * 0.02)[:, :, None]


def glowing_bag(img: np.ndarray) -> np.ndarray:
    """A thin white bag over the left of the view, lit from behind: brighter than the scene
    and a faint, blurred trace of what is behind it."""
    h, w = img.shape[:2]
    a = _soft_mask(h, w, (int(w * 0.2), int(h * 0.5)), (int(w * 0.38), int(h * 0.75))) * 0.96
    body = np.full_like(img, 215, dtype=np.float32) + cv2.GaussianBlur(img, (0, 0), w * 0.05) * 0.1
    return np.clip(img * (1 - a) + body * a, 0, 255).astype(np.uint8)


def test_a_glowing_bag_is_found_against_the_reference(scene, thresholds):
    covered = glowing_bag(scene)
    d = diagnose(jpeg(covered), reference=jpeg(scene), thresholds=thresholds)
    assert any(f.rule == "occlusion_cover_new" for f in d.faults), d.faults
    assert d.measures["cover_new"] > 0.3


def test_the_same_view_darker_with_lamps_lit_is_no_cover(scene, thresholds):
    # dusk against a daylight reference: everything dimmer, a few windows lit since
    dusk = scene.astype(np.float32) * 0.55
    rng = np.random.default_rng(4)
    h, w = scene.shape[:2]
    for _ in range(12):
        y, x = int(rng.integers(0, h - 20)), int(rng.integers(0, w - 14))
        dusk[y:y + 18, x:x + 12] = 240
    d = diagnose(jpeg(np.clip(dusk, 0, 255).astype(np.uint8)), reference=jpeg(scene), thresholds=thresholds)
    assert not any(f.rule == "occlusion_cover_new" for f in d.faults), d.faults


def test_a_blurred_view_is_not_a_cover(scene):
    p = M.prepare(cv2.GaussianBlur(scene, (0, 0), 4.0))
    ref = M.prepare_like(scene, p)
    # the whole view lost its structure: a blur (another fault), not judged as a cover
    assert M.cover_new(p, ref, M.noise_sigma(ref))["cover_new"] is None


def test_the_unchanged_view_hides_nothing(scene):
    p = M.prepare(scene)
    ref = M.prepare_like(scene, p)
    assert M.cover_new(p, ref, M.noise_sigma(ref))["cover_new"] == pytest.approx(0.0)


def test_a_bag_over_most_of_the_view_is_found(scene, thresholds):
    # most of what had structure is hidden: the part still seen keeps the view's level
    h, w = scene.shape[:2]
    a = _soft_mask(h, w, (int(w * 0.4), int(h * 0.5)), (int(w * 0.42), int(h * 0.66))) * 0.97
    body = np.full_like(scene, 200, dtype=np.float32)
    covered = np.clip(scene * (1 - a) + body * a, 0, 255).astype(np.uint8)
    d = diagnose(jpeg(covered), reference=jpeg(scene), thresholds=thresholds)
    assert d.measures["cover_new"] is not None and d.measures["cover_new"] > 0.6
    assert "occlusion" in d.fault_names


def test_a_defocused_view_is_blur_not_a_cover(scene, thresholds):
    d = diagnose(jpeg(cv2.GaussianBlur(scene, (0, 0), 2.5)), reference=jpeg(scene), thresholds=thresholds)
    assert "blur" in d.fault_names
    assert not any(f.rule == "occlusion_cover_new" for f in d.faults), d.faults
