"""Helpers shared by the image-quality tests."""
from __future__ import annotations

import cv2
import numpy as np


def jpeg(img: np.ndarray, q: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return buf.tobytes()
