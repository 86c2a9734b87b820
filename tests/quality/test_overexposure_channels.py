"""Over-exposure counted as a sensor clips: per channel. A blue sky burns out in its blue and
green channels while its gray level stays under full scale, so an over-exposed view filled
with sky was missed by the gray share alone; a colour cast that clips two channels keeps the
third far below and is not over-exposure."""
from __future__ import annotations

import cv2
import numpy as np

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg


def _sky_view(exposure: float, h: int = 288, w: int = 512, seed: int = 3) -> np.ndarray:
    """A view under a blue sky (linear light, BGR), exposed ``exposure`` times too long,
    clipped the way a sensor clips (per channel), then the display gamma."""
    r = np.random.default_rng(seed)
    lin = np.zeros((h, w, 3), np.float32)
    horizon = int(h * 0.45)
    lin[:horizon] = (0.75, 0.35, 0.12)
    ground = 0.10 + 0.08 * cv2.GaussianBlur(r.random((h, w)).astype(np.float32), (0, 0), 2.0)
    lin[horizon:] = ground[horizon:, :, None] * np.array([0.8, 1.0, 1.1], np.float32)
    for _ in range(8):  # buildings against the sky
        x, top = int(r.integers(0, w - 60)), int(r.integers(int(h * 0.2), int(h * 0.4)))
        lin[top:horizon, x:x + int(r.integers(30, 70))] = float(r.uniform(0.08, 0.2))
    raw = np.clip(lin * exposure, 0, 1)
    return np.clip(255.0 * raw ** (1 / 2.2) + r.normal(0, 1.5, raw.shape), 0, 255).astype(np.uint8)


def test_a_burnt_out_blue_sky_is_over_exposure(thresholds):
    d = diagnose(jpeg(_sky_view(5.0)), thresholds=thresholds)
    m = d.measures
    # the gray level of the burnt sky stays under full scale ...
    assert m["clipped"] < 0.15
    # ... but two channels are clipped there and the third is close behind
    assert m["overexposure"] > 0.15
    assert any(f.rule == "too_bright_clipped" for f in d.faults)


def test_the_same_view_well_exposed_is_not(thresholds):
    d = diagnose(jpeg(_sky_view(1.0)), thresholds=thresholds)
    assert d.measures["overexposure"] == 0.0
    assert "too_bright" not in d.fault_names


def test_a_magenta_cast_clipping_two_channels_is_not_over_exposure():
    # a bright grey view with red and blue gains clipping them: green stays far below
    grey = np.full((288, 512, 3), 170, np.float32) + np.random.default_rng(2).normal(0, 3, (288, 512, 3))
    cast = np.clip(grey * np.array([2.0, 0.7, 2.0], np.float32), 0, 255).astype(np.uint8)
    c = M.clipping(M.prepare(cast))
    assert float(np.median(cv2.cvtColor(cast, cv2.COLOR_BGR2GRAY))) >= 150
    assert c["overexposure"] == 0.0
