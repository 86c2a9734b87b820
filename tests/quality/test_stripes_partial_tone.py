"""A tone that appeared since acceptance over part of the view only (a facade's windows lit
at dusk, a fence in new light) is the scene's; interference runs through the whole picture
and is found against the reference as before."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose


def _view(amp: float, facade_only: bool, seed: int) -> bytes:
    """A textured view with a horizontal tone of ``amp`` gray levels (period 11 px), over a
    facade (under a quarter of the view) or over the whole picture."""
    rng = np.random.default_rng(seed)
    h, w = 360, 640
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 120 + 30 * np.sin(xx / 97.0) + cv2.GaussianBlur(rng.normal(0, 30, (h, w)).astype(np.float32),
                                                           (0, 0), 2.5)
    tone = amp * np.sin(2 * np.pi * yy / 11.0)
    if facade_only:
        facade = np.zeros((h, w), np.float32)
        facade[40:220, 160:440] = 1
        tone = tone * facade
    img = np.clip(base + tone, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_new_tone_over_one_facade_is_not_stripes(seed, thresholds):
    d = diagnose(_view(14, True, seed), reference=_view(0, True, seed), thresholds=thresholds)
    assert "stripes" not in d.fault_names, d.measures["stripes_new"]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_tone_over_the_whole_view_is_stripes(seed, thresholds):
    d = diagnose(_view(14, False, seed), reference=_view(0, True, seed), thresholds=thresholds)
    assert any(f.rule == "stripes_new" for f in d.faults), d.measures["stripes_new"]
