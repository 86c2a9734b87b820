"""A white-balance fault is a gain on the sensor's channels: each channel keeps its
structure (scaled by its gain). A tinted body at the lens (leaves, a bag, spray paint)
shifts the colour of what it covers by defocusing it. Against the acceptance reference a
colour shift that comes with the structure lost over part of the view is not a cast."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from probes.quality import diagnose

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))


def _gain(scene: np.ndarray, b: float, g: float, r: float) -> np.ndarray:
    return np.clip(scene.astype(np.float32) * np.array([b, g, r], np.float32), 0, 255).astype(np.uint8)


def _green_body(scene: np.ndarray, share: float, opacity: float) -> np.ndarray:
    """A green body a few centimetres from the lens over the left ``share`` of the view:
    what it covers is defocused and tinted; its outline is a wide ramp."""
    h, w = scene.shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[:, : int(share * w)] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), 12)[:, :, None]
    behind = cv2.GaussianBlur(scene, (0, 0), 9).astype(np.float32)
    tinted = (1 - opacity) * behind + opacity * np.array([40, 150, 50], np.float32)
    return np.clip(mask * tinted + (1 - mask) * scene, 0, 255).astype(np.uint8)


def test_a_white_balance_gain_keeps_the_structure_and_reads_as_a_cast(scene):
    d = diagnose(_gain(scene, 1.3, 1.0, 0.75), reference=scene, captured_at=NOON)
    assert d.measures["structure_kept"] >= 0.9
    assert "color_cast" in {f.fault for f in d.faults}


def test_a_tinted_body_over_part_of_the_lens_is_not_a_cast(scene):
    covered = _green_body(scene, 0.6, 0.55)
    d = diagnose(covered, reference=scene, captured_at=NOON)
    assert d.measures["structure_kept"] < 0.6
    # the colour moved far enough for a cast rule to read it ...
    assert d.measures["color_shift"] >= 16.0 or d.measures["cast_vs_reference"] >= 10.0
    # ... but the structure went with it: not reported as a white-balance fault
    assert "color_cast" not in {f.fault for f in d.faults}


def test_a_plain_view_is_not_judged(scene):
    plain = np.full_like(scene, 120)
    d = diagnose(_gain(plain, 1.2, 1.0, 0.8), reference=plain, captured_at=NOON)
    assert d.measures["structure_kept"] is None


def test_not_read_when_the_colour_did_not_move(scene):
    d = diagnose(scene, reference=scene, captured_at=NOON)
    assert d.measures["structure_kept"] is None
    assert not d.faults
