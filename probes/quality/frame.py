"""Turning whatever a caller hands us (array, JPEG/PNG bytes, a path) into a BGR uint8 frame.

Decoding is where bad input arrives (a truncated snapshot, an HTML error page saved as
.jpg), so every failure here becomes a ``FrameError`` with a message a person can act on.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import cv2
import numpy as np

FrameLike = Union[np.ndarray, bytes, bytearray, memoryview, str, os.PathLike]

# Frames smaller than this cannot carry a picture worth judging (and break the block grids).
MIN_SIDE = 32


class FrameError(ValueError):
    """The frame cannot be judged: unreadable, corrupt, truncated or of an unusable shape."""

    kind = "malformed"


def _check_jpeg_complete(data: bytes) -> None:
    # libjpeg decodes a truncated file with a grey bottom and only a warning on stderr;
    # a half picture must not be judged as if it were the camera's view.
    if data[:2] == b"\xff\xd8":
        tail = data[-64:].rstrip(b"\x00")
        if not tail.endswith(b"\xff\xd9"):
            raise FrameError("truncated JPEG: no end-of-image marker (incomplete snapshot)")


def decode_bytes(data: bytes) -> np.ndarray:
    """JPEG/PNG/BMP bytes -> BGR uint8. Raises FrameError on anything unusable."""
    if not data:
        raise FrameError("empty frame: 0 bytes")
    _check_jpeg_complete(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)  # 8-bit BGR whatever the file holds
    if img is None:
        head = bytes(data[:8])
        raise FrameError(f"cannot decode frame ({len(data)} bytes, starts {head!r}): "
                         "not a JPEG/PNG image or corrupt")
    return as_bgr(img)


def as_bgr(arr: np.ndarray) -> np.ndarray:
    """Array in OpenCV convention (gray, BGR or BGRA; uint8 or float 0..1) -> BGR uint8."""
    if not isinstance(arr, np.ndarray):
        raise FrameError(f"frame must be an array, bytes or a path, not {type(arr).__name__}")
    a = arr
    if a.dtype != np.uint8:
        if a.dtype.kind == "f":
            if not np.isfinite(a).all():
                raise FrameError("frame holds NaN or infinite values")
            scale = 255.0 if float(a.max(initial=0.0)) <= 1.0 else 1.0
            a = np.clip(a * scale, 0, 255).astype(np.uint8)
        elif a.dtype == np.uint16:  # 16-bit PNG/sensor dumps: keep the top 8 bits
            a = (a >> 8).astype(np.uint8)
        elif a.dtype.kind in "iub":
            a = np.clip(a, 0, 255).astype(np.uint8)
        else:
            raise FrameError(f"unsupported frame dtype {a.dtype}")
    if a.ndim == 2:
        a = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = cv2.cvtColor(a[:, :, 0], cv2.COLOR_GRAY2BGR)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = cv2.cvtColor(a, cv2.COLOR_BGRA2BGR)
    elif not (a.ndim == 3 and a.shape[2] == 3):
        raise FrameError(f"unsupported frame shape {arr.shape}")
    if min(a.shape[:2]) < MIN_SIDE:
        raise FrameError(f"frame too small to judge: {a.shape[1]}x{a.shape[0]}")
    return np.ascontiguousarray(a)


def read_frame_file(path: Path) -> bytes:
    """A frame file's bytes (raises FrameError for a file that cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FrameError(f"cannot read frame file {path}: {exc.strerror or exc}") from None


def load_frame(src: FrameLike) -> np.ndarray:
    """Any supported input -> BGR uint8 array (raises FrameError, never crashes)."""
    if isinstance(src, np.ndarray):
        return as_bgr(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return decode_bytes(bytes(src))
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        data = read_frame_file(path)
        try:
            return decode_bytes(data)
        except FrameError as exc:
            raise FrameError(f"{path}: {exc}") from None
    raise FrameError(f"frame must be an array, bytes or a path, not {type(src).__name__}")
