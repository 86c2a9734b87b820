"""An encoder's no-video screen is flat to the rounding of its codes; a lens image, however
dark or washed out, is lit unevenly across the view (vignetting, the scene's own light).
An even picture that shows that shading is a dark or squeezed view, not a lost signal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import skimage.data as skd

from probes.quality import diagnose
from probes.quality.measures import shading

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))


def _vignetted(scene: np.ndarray, corner: float = 0.7) -> np.ndarray:
    h, w = scene.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    gain = 1.0 - (1.0 - corner) * r2 / 2.0
    return scene.astype(np.float32) * gain[:, :, None]


def test_a_dark_lens_image_is_too_dark_not_a_lost_signal():
    # a brick wall filling the view (fine texture only), darkened to a mean of 14
    wall = cv2.cvtColor(cv2.resize(skd.brick(), (1024, 576)), cv2.COLOR_GRAY2BGR)
    rng = np.random.default_rng(3)
    dark = _vignetted(wall) * (14.0 / float(wall.mean()))
    dark = np.clip(dark + rng.normal(0, 0.6, dark.shape), 0, 255).astype(np.uint8)
    d = diagnose(dark, captured_at=NOON)
    faults = {f.fault for f in d.faults}
    assert d.measures["screen"] >= 0.91          # even enough to pass for a screen ...
    assert d.measures["screen_shading"] >= 0.015  # ... but lit the way a lens lights it
    assert "too_dark" in faults and "signal_loss" not in faults


def test_a_generated_screen_with_text_is_still_a_lost_signal():
    screen = np.zeros((576, 1024, 3), np.uint8)
    screen[:] = (160, 40, 20)                    # encoders' blue
    cv2.putText(screen, "NO VIDEO", (330, 300), cv2.FONT_HERSHEY_SIMPLEX, 2.5, (255, 255, 255), 5)
    rng = np.random.default_rng(5)
    noisy = np.clip(screen + rng.normal(0, 1.5, screen.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 70])
    d = diagnose(buf.tobytes(), captured_at=NOON)
    assert d.measures["screen_shading"] < 0.015
    assert "signal_loss" in {f.fault for f in d.faults}


def test_shading_reads_a_smooth_falloff_relative_to_the_level():
    flat = np.full((22, 40), 50.0)
    assert shading(flat) < 1e-6
    yy, xx = np.mgrid[0:22, 0:40]
    falloff = 50.0 * (1.0 - 0.05 * (((xx - 19.5) / 19.5) ** 2 + ((yy - 10.5) / 10.5) ** 2))
    assert 0.05 < shading(falloff) < 0.12
    # a bright logo over a fifth of the blocks is left out of the fit
    logo = flat.copy()
    logo[8:14, 12:28] = 200.0
    assert shading(logo) < 1e-6
