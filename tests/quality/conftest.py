"""Small generated frames for the image-quality tests (seeded, built in memory)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data as skd

from probes.quality import Thresholds


@pytest.fixture(scope="session")
def thresholds() -> Thresholds:
    return Thresholds.default()


@pytest.fixture(scope="session")
def scene() -> np.ndarray:
    """A real photograph cropped (not scaled) to a 512x288 camera frame, with sensor noise."""
    bgr = cv2.cvtColor(skd.astronaut(), cv2.COLOR_RGB2BGR)[100:388, :]
    rng = np.random.default_rng(1)
    return np.clip(bgr + rng.normal(0, 1.5, bgr.shape), 0, 255).astype(np.uint8)
