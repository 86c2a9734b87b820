"""Interference finer than the whole-view spectrum resolves (``stripes_fine``), and noise
read on an over-exposed frame."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import skimage.data as skd

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg


@pytest.fixture(scope="module")
def big_scene() -> np.ndarray:
    """A real photograph scaled up to a 1280x720 frame (sharp enough to have texture)."""
    bgr = cv2.cvtColor(skd.chelsea(), cv2.COLOR_RGB2BGR)
    bgr = cv2.resize(bgr, (1280, 720), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(3)
    return np.clip(bgr + rng.normal(0, 1.5, bgr.shape), 0, 255).astype(np.uint8)


def herringbone(img: np.ndarray, amp: float, period: float, angle: float) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = math.radians(angle)
    wave = np.sin(2 * math.pi * (yy * math.cos(t) + xx * math.sin(t)) / period)
    return np.clip(img.astype(np.float32) + amp * wave[:, :, None], 0, 255).astype(np.uint8)


def test_a_fine_herringbone_is_stripes_not_noise(big_scene, thresholds):
    # period 6 px on a 1280-wide frame: under the whole-view spectrum's finest period
    # (2.22 x 1280 / 256 = 11 px), so only the full-resolution crops see it
    d = diagnose(jpeg(herringbone(big_scene, 10.0, 6.0, 25.0)), thresholds=thresholds)
    assert any(f.rule == "stripes_fine" for f in d.faults), d.faults
    assert "noise" not in d.fault_names
    assert d.measures["stripes_fine_period_px"] == pytest.approx(6.0, rel=0.15)


def test_the_clean_frame_has_no_fine_tone(big_scene, thresholds):
    d = diagnose(jpeg(big_scene), thresholds=thresholds)
    assert d.measures["stripes_fine"] < 10.0
    assert not d.faults


def test_a_fine_pattern_in_one_part_of_the_view_is_scene(big_scene, thresholds):
    # a mesh or a tiled roof fills one quadrant: a tone in one crop of four is not a signal
    img = big_scene.copy()
    part = herringbone(img[:360, :640], 25.0, 6.0, 0.0)
    img[:360, :640] = part
    d = diagnose(jpeg(img), thresholds=thresholds)
    assert d.measures["stripes_fine"] < thresholds_limit(thresholds, "stripes_fine")
    assert not any(f.rule == "stripes_fine" for f in d.faults)


def test_the_jpeg_block_grid_is_not_a_tone(big_scene, thresholds):
    # heavy compression of a smooth picture: the 8x8 grid's harmonics in every crop
    smooth = cv2.GaussianBlur(big_scene, (0, 0), 3.0)
    d = diagnose(jpeg(smooth, q=15), thresholds=thresholds)
    assert not any(f.rule == "stripes_fine" for f in d.faults)


def test_a_small_frame_has_no_fine_reading():
    p = M.prepare(np.full((200, 200, 3), 90, np.uint8))
    assert M.stripes_fine(p)["stripes_fine"] is None


def thresholds_limit(th, rule_name: str) -> float:
    rule = next(r for r in th.rules if r.name == rule_name)
    return float(rule.day)


def test_an_over_exposed_frame_is_too_bright_not_noisier(big_scene, thresholds):
    # the same view exposed four times longer than at acceptance: the highlights clip and
    # the shot noise in gray levels grows with the light collected
    rng = np.random.default_rng(5)
    lin = (big_scene.astype(np.float32) / 255.0) ** 2.2 * 4.0
    lin = lin + rng.normal(0, 1.0, lin.shape).astype(np.float32) * np.sqrt(lin) * 0.15
    over = np.clip(255.0 * np.clip(lin, 0, 1) ** (1 / 2.2), 0, 255).astype(np.uint8)
    d = diagnose(jpeg(over), reference=jpeg(big_scene), thresholds=thresholds)
    assert "too_bright" in d.fault_names
    noise_gain = next(r for r in thresholds.rules if r.name == "noise_gain")
    # the noise read did rise past the rule's figure; it is the exposure's, not reported
    assert d.measures["noise_vs_reference"] > float(noise_gain.day)
    assert "noise" not in d.fault_names
