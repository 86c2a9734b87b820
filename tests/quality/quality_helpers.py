"""Helpers shared by the image-quality tests."""
from __future__ import annotations

import cv2
import numpy as np

from probes.quality.fieldset import camera as C
from probes.quality.fieldset.scenes import render


def jpeg(img: np.ndarray, q: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return buf.tobytes()


def two_tone_texture(base: float, span: float, h: int = 288, w: int = 512, seed: int = 4) -> np.ndarray:
    """Fine two-tone texture over the whole view (leaves, paving) between gray ``base`` and
    ``base + span``, slightly green, with sensor noise: a narrow tonal range of its own."""
    r = np.random.default_rng(seed)
    cells = (r.random((h // 6 + 1, w // 6 + 1)) < 0.5).astype(np.float32)
    leaf = cv2.GaussianBlur(cv2.resize(cells, (w, h), interpolation=cv2.INTER_NEAREST)[:h, :w], (0, 0), 1.0)
    g = base + span * leaf
    img = np.stack([g * 0.92, g, g * 0.9], axis=2) + r.normal(0, 2, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


class FieldCamera:
    """One fixed camera of the field set's camera model on one view (fixed seed); each
    shot under the named light, with the given faults."""

    def __init__(self, kind: str, seed: int):
        self.rng = np.random.default_rng(seed)
        self.scene = render(kind, self.rng, 640, 360)
        self.cam = C.Camera.random(self.rng)

    def shot(self, light: str = "day", faults: C.Faults = C.Faults()) -> bytes:
        lit = C.light_for(light, self.scene, self.rng)
        return C.encode(C.shoot(self.scene, lit, self.cam, self.rng, faults), 80)
