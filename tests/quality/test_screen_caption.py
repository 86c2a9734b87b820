"""An encoder's no-video screen with its message in a large, heavy font: the caption is
burned-in text to look past, and a black screen whose caption's JPEG ringing leaves a tenth
of a gray level of smooth variation is still a generated screen, not a dark lens."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality.fieldset import faults as F
from probes.quality.fieldset.camera import Camera, draw_text, encode, text_width
from probes.quality.measures import osd_mask, prepare

sys.path.insert(0, str(Path(__file__).parent))
from quality_helpers import FieldCamera  # noqa: E402

SIZES = [(640, 360), (704, 576), (800, 450), (960, 540), (640, 480), (1280, 720), (1920, 1080)]


def _generated_screen(i: int) -> np.ndarray:
    """The i-th of a stream of screens drawn from the field generator (seed 1000 + i)."""
    rng = np.random.default_rng(1000 + i)
    cam = Camera.random(rng)
    w, h = SIZES[int(rng.integers(len(SIZES)))]
    jpg, _desc = F.no_signal_screen(rng, w, h, cam, "2026-06-01T11:00:00+08:00")
    return cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)


def test_a_heavy_caption_on_a_blue_screen_is_found_as_text():
    w, h, size, text = 640, 360, 48, "NO VIDEO"
    rng = np.random.default_rng(1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (255, 0, 0)                                  # the saturated blue some DVRs send
    img += rng.normal(0, 1.0, (h, w, 1))
    out = np.clip(img, 0, 255).astype(np.uint8)
    x, y = (w - text_width(text, size)) // 2, (h - size) // 2
    out = draw_text(out, text, (x, y), size, outline=False)
    frame = cv2.imdecode(np.frombuffer(encode(out, 47), np.uint8), cv2.IMREAD_COLOR)
    mask = osd_mask(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    # the caption's middle third is covered (the 7x7 top-hat alone found none of it)
    band = mask[y + size // 3:y + 2 * size // 3, w // 3:2 * w // 3]
    assert band.mean() > 0.9
    assert prepare(frame).osd is not None


@pytest.mark.parametrize("i", [110, 360])
def test_screens_the_caption_misled_are_lost_signals(i):
    # 110: blue, its caption's strokes too wide for the 7x7 top-hat (screen 0.907 before);
    # 360: black at level 1.6, its caption's ringing a 0.08-level slope (0.016 relative)
    d = diagnose(_generated_screen(i))
    assert "signal_loss" in {f.fault for f in d.faults}
    if i == 360:
        assert d.measures["screen_shading"] >= 0.015
        assert d.measures["screen_shading_levels"] < 0.15


def test_lit_windows_across_a_facade_are_not_a_caption():
    # an IR view of a courtyard whose facade's lit windows, two by two, are heavy bright
    # strokes on a plain wall; the rows they sit in go on with more windows
    cam = FieldCamera("courtyard", 9)
    cam.shot("dusk")
    frame = cv2.imdecode(np.frombuffer(cam.shot("ir"), np.uint8), cv2.IMREAD_COLOR)
    mask = osd_mask(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    h = mask.shape[0]
    assert int(mask[int(0.2 * h):int(0.8 * h)].sum()) == 0


def test_a_dark_lens_image_keeps_its_shading_in_levels():
    # a brick wall darkened to a mean of 4: even enough to pass for a screen, its fall-off
    # spans well over the floor in gray levels
    import skimage.data as skd
    wall = cv2.cvtColor(cv2.resize(skd.brick(), (1024, 576)), cv2.COLOR_GRAY2BGR).astype(np.float32)
    yy, xx = np.mgrid[0:576, 0:1024]
    r2 = ((xx - 512) / 512.0) ** 2 + ((yy - 288) / 288.0) ** 2
    dark = wall * (1.0 - 0.15 * r2)[:, :, None] * (4.0 / float(wall.mean()))
    rng = np.random.default_rng(7)
    dark = np.clip(dark + rng.normal(0, 0.5, dark.shape), 0, 255).astype(np.uint8)
    d = diagnose(dark)
    assert d.measures["screen_shading_levels"] is not None
    assert d.measures["screen_shading_levels"] >= 0.15
    assert "signal_loss" not in {f.fault for f in d.faults}
