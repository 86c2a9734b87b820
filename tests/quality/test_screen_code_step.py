"""An encoder's flat no-video picture, heavily compressed, sits at two neighbouring codes of
the JPEG's rounding of each 8x8 block's level; a lens image spreads over more codes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg


def _decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def black_screen(quality: int, sigma: float = 3.0, seed: int = 5) -> bytes:
    """Video black (level 16), the analogue front end's noise (mostly in the luma), a
    centred NO VIDEO and an OSD clock, as a JPEG of ``quality``."""
    rng = np.random.default_rng(seed)
    img = 16.0 + rng.normal(0, sigma, (540, 960, 1)) + rng.normal(0, 0.4 * sigma, (540, 960, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    cv2.putText(img, "NO VIDEO", (330, 285), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (235, 235, 235), 3)
    cv2.putText(img, "2026-06-01 11:00:05", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (235, 235, 235), 2)
    return jpeg(img, quality)


def shaded_wall(quality: int) -> bytes:
    """A plain dark wall as a lens sees it: brighter in the middle (vignetting), noisy."""
    h, w = 540, 960
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    level = 40.0 * (1 - 0.12 * r2)
    rng = np.random.default_rng(6)
    img = np.clip(level[:, :, None] + rng.normal(0, 0.8, (h, w, 3)), 0, 255).astype(np.uint8)
    return jpeg(img, quality)


@pytest.mark.parametrize("quality", [20, 33])
def test_a_heavily_compressed_black_screen_is_signal_loss(quality, thresholds):
    data = black_screen(quality)
    p = M.prepare(_decoded(data))
    step = M.code_step(p)
    assert 3.0 <= step <= 6.0
    # the blocks scatter over the step: under the screen figure without it
    assert M.screen(p)["screen"] >= 0.91
    d = diagnose(data, thresholds=thresholds)
    assert "signal_loss" in d.fault_names, d.faults


def test_without_the_step_the_scatter_hides_the_screen(monkeypatch):
    p = M.prepare(_decoded(black_screen(20)))
    monkeypatch.setattr(M, "code_step", lambda q: 0.0)
    assert M.screen(p)["screen"] < 0.91


def test_a_lens_image_spreads_over_more_codes(thresholds):
    data = shaded_wall(20)
    p = M.prepare(_decoded(data))
    assert M.code_step(p) == 0.0
    assert "signal_loss" not in diagnose(data, thresholds=thresholds).fault_names


def test_a_picture_at_one_code_has_no_step():
    # every block at level 250, the commonest code after it 5 levels off with no block there
    assert M.code_step(M.prepare(np.full((540, 960, 3), 250, np.uint8))) == 0.0
