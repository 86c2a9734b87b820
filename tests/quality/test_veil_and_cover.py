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
    assert fog.measures["veil_contrast"] > veiled.measures["veil_contrast"]


def test_a_clipped_channel_is_not_judged_as_a_veil(scene):
    # a strong magenta gain clips red and blue over much of the view: not scattered light
    cast = np.clip(scene.astype(np.float32) * np.array([2.2, 0.9, 2.2], np.float32), 0, 255).astype(np.uint8)
    v = M.veil(M.prepare(cast))
    assert v["channel_clipped"] > 0.05 and v["veil_contrast"] is None
    assert M.veil(M.prepare(scene))["veil_contrast"] is not None


def test_a_dark_scene_keeps_its_relative_range(scene, thresholds):
    # a night view is small in gray levels but not relative to its own brightness
    dark = (scene.astype(np.float32) * 0.2).astype(np.uint8)
    assert M.veil(M.prepare(dark))["veil_contrast"] > 1.0


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
