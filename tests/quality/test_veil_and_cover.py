"""Faults the field set showed the first measures missed: a misted or dirty dome (a veil of
scattered light) told from light fog, and covers of real shapes in front of the lens."""
from __future__ import annotations

import cv2
import numpy as np

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg


def _linear(img: np.ndarray) -> np.ndarray:
    return (img.astype(np.float32) / 255.0) ** 2.2


def _display(lin: np.ndarray, target_mean: float = 0.18) -> np.ndarray:
    # auto-exposure brings the mean back, then the display gamma
    lin = lin * (target_mean / max(float(lin.mean()), 1e-6))
    return np.clip(255.0 * np.clip(lin, 0, 1) ** (1 / 2.2), 0, 255).astype(np.uint8)


def dome_veil(img: np.ndarray, strength: float) -> np.ndarray:
    """Scattered light over the whole view, in linear light, before auto-exposure."""
    lin = _linear(img)
    scatter = cv2.GaussianBlur(lin, (0, 0), img.shape[1] * 0.08) * 0.5 + float(lin.mean()) * 0.7
    return _display(lin * (1 - strength) + scatter * strength)


def light_fog(img: np.ndarray, amount: float) -> np.ndarray:
    """Light fog laid over a finished picture: a bright veil of a third."""
    out = img.astype(np.float32) * (1 - amount) + 190.0 * amount
    return np.clip(out, 0, 255).astype(np.uint8)


def test_dome_veil_is_low_contrast_and_light_fog_is_not(scene, thresholds):
    veiled = diagnose(jpeg(dome_veil(scene, 0.75)), thresholds=thresholds)
    assert "low_contrast" in veiled.fault_names
    assert any(f.rule == "low_contrast_veil" for f in veiled.faults)
    fog = diagnose(jpeg(light_fog(scene, 0.35)), thresholds=thresholds)
    assert "low_contrast" not in fog.fault_names
    assert fog.measures["veil_range"] > veiled.measures["veil_range"]


def test_a_clipped_channel_is_not_judged_as_a_veil(scene):
    # a strong magenta gain clips red and blue over much of the view: not scattered light
    cast = np.clip(scene.astype(np.float32) * np.array([2.2, 0.9, 2.2], np.float32), 0, 255).astype(np.uint8)
    v = M.veil(M.prepare(cast))
    assert v["channel_clipped"] > 0.05 and v["veil_contrast"] is None and v["veil_detail"] is None
    assert v["veil_range"] is None
    assert M.veil(M.prepare(scene))["veil_range"] is not None


def test_a_dark_scene_keeps_its_relative_range(scene, thresholds):
    # a night view is small in gray levels but not relative to its own brightness
    dark = (scene.astype(np.float32) * 0.2).astype(np.uint8)
    assert M.veil(M.prepare(dark))["veil_range"] > 1.0


def test_a_weak_blue_channel_tints_yellow_green_and_is_a_cast(scene, thresholds):
    # a weak blue channel (green a little up, red down): the three estimates agree on a
    # yellow-green shift (~107 deg in CIELab), beyond every lamp's colour, too small for
    # the warm-hue figure but a cast all the same
    s = 0.25
    tinted = np.clip(scene.astype(np.float32) * np.array([1 - 0.55 * s, 1 + 0.1 * s, 1 - 0.3 * s], np.float32),
                     0, 255).astype(np.uint8)
    d = diagnose(jpeg(tinted), thresholds=thresholds)
    assert M.WARM_HUES[1] < d.measures["cast_consensus_hue"] < 120.0
    assert d.measures["cast_consensus"] < 25.0  # the warm-hue rule's figure: not what finds it
    assert any(f.rule == "color_cast_cool" for f in d.faults)


def near_lens_cover(img: np.ndarray, share_x: float, seed: int = 3) -> np.ndarray:
    """An object a few centimetres from the lens entering from the left: its outline spread
    over tens of pixels, folds of low-frequency shading, a few per cent of the scene
    through, laid in linear light before auto-exposure."""
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (0, h // 2), (int(share_x * w * 1.15), int(h * 1.4)), 0, 0, 360, 1.0, -1)
    soft = cv2.GaussianBlur(mask, (0, 0), w * 0.025)[:, :, None] * 0.96
    folds = 0.75 + 0.5 * cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), w * 0.03)
    folds = (folds - folds.mean()) * 6.0 + 1.0  # bring the blurred folds back to +-25 %
    lin = _linear(img)
    body = np.array([0.05, 0.06, 0.09], np.float32)[None, None, :] * folds[:, :, None]
    return _display(lin * (1 - soft) + body * soft)


def test_a_cover_at_the_lens_leaves_a_large_region_without_structure(scene, thresholds):
    clean = diagnose(jpeg(scene), thresholds=thresholds).measures["cover_share"]
    covered = diagnose(jpeg(near_lens_cover(scene, 0.75)), thresholds=thresholds).measures
    assert clean is not None and clean < 0.3
    # the region ends where the outline's wide ramp lets the scene show: under the cover's
    # own extent, far over the clean view's, and the uncovered part keeps its detail
    assert covered["cover_share"] > 0.65 and covered["cover_rest_detail"] >= 15.0


def test_a_sky_a_plain_wall_and_a_night_view_are_not_covers(scene, thresholds):
    h, w = scene.shape[:2]
    rng = np.random.default_rng(5)
    # the upper half a clear sky (smooth gradient, bright, sensor noise) over a sharp street
    sky = scene.copy()
    grad = np.linspace(215, 175, h // 2, dtype=np.float32)[:, None, None] * np.array([1.0, 0.85, 0.7])[None, None, :]
    sky[: h // 2] = np.clip(grad + rng.normal(0, 1.5, (h // 2, w, 1)), 0, 255).astype(np.uint8)
    # a plain painted wall filling the view
    wall = np.clip(np.full((h, w, 3), (120, 135, 150), np.float32) + rng.normal(0, 1.5, (h, w, 1)), 0, 255).astype(np.uint8)
    # a lamp-lit night: the scene dark, gain noise, two lamps
    night = np.clip(scene.astype(np.float32) * 0.25 + rng.normal(0, 4.0, scene.shape), 0, 255).astype(np.uint8)
    for x in (120, 400):
        cv2.circle(night, (x, 40), 6, (255, 255, 255), -1)
    for view in (sky, wall, night):
        d = diagnose(jpeg(view), thresholds=thresholds)
        assert not any(f.rule == "occlusion_cover" for f in d.faults)
        assert d.measures["cover_share"] is None or d.measures["cover_share"] < 0.75
    # a plain wall shows no edge to judge focus on: the measure is not taken at all
    assert diagnose(jpeg(wall), thresholds=thresholds).measures["cover_share"] is None


def test_a_defocused_view_is_not_read_as_a_cover(scene):
    soft = cv2.GaussianBlur(scene, (0, 0), 6.0)
    p = M.prepare(soft)
    v = M.cover_region(p, M.noise_sigma(p))
    assert v["cover_share"] is None and v["cover_rest_detail"] < 15.0
