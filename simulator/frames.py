"""Snapshot frames: real photographs from scikit-image's bundled data, one scene per
camera (a crop window of a photograph, maybe mirrored), with mild natural variation
between captures (sensor noise, light, a moving object), and every picture fault.

A frozen camera returns the very same JPEG bytes; a healthy one never does twice.
"""
from __future__ import annotations

import random
import time
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 1280, 720
_PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
           "motorcycle_right.png", "camera.png", "brick.png", "grass.png", "gravel.png",
           "coins.png")       # outdoor-like, textured photographs only (no moon, no page)


@lru_cache(maxsize=1)
def _photos() -> list[np.ndarray]:
    import skimage.data
    root = Path(skimage.data.__file__).parent
    out = []
    for name in _PHOTOS:
        path = root / name
        if not path.exists():
            continue
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            continue
        out.append(img)       # scaled once, in _canvases
    if not out:
        raise RuntimeError("no scikit-image photographs found")
    return out


def _photo_of(scene_id: int, n: int) -> int:
    return random.Random(scene_id).randrange(n)


VIEW_SHARE = 0.8    # a camera's view spans this share of its photograph's width


@lru_cache(maxsize=1)
def _canvases() -> list[np.ndarray]:
    """Each photograph scaled once so a 1280x720 window covers VIEW_SHARE of it, and
    unsharp-masked (the photographs are small, so scaling softens them; the mask gives
    the crispness of a focused camera, so that only the blur fault reads as blurred).
    Views are then zero-copy windows: no per-camera image is ever stored."""
    out = []
    for img in _photos():
        h, w = img.shape[:2]
        scale = max(WIDTH / VIEW_SHARE / w, HEIGHT / VIEW_SHARE / h)
        big = cv2.resize(img, (int(w * scale) + 1, int(h * scale) + 1), interpolation=cv2.INTER_CUBIC)
        soft = cv2.GaussianBlur(big, (0, 0), 3)
        big = cv2.addWeighted(big, 1.8, soft, -0.8, 0)
        big.setflags(write=False)
        out.append(big)
    return out


def scene(scene_id: int) -> tuple[np.ndarray, bool]:
    """A camera's fixed view: (a 1280x720 window of one photograph, mirrored?)."""
    canvases = _canvases()
    rng = random.Random(scene_id)
    big = canvases[rng.randrange(len(canvases))]     # first draw: see _photo_of
    h, w = big.shape[:2]
    x = rng.randrange(0, w - WIDTH + 1)
    y = rng.randrange(0, h - HEIGHT + 1)
    return big[y:y + HEIGHT, x:x + WIDTH], rng.random() < 0.5


# PTZ: how far the view moves per generic unit. A dome pans 360 degrees over -1..1 and
# sees ~60 degrees, so 0.05 of pan is 9 degrees, 15 % of the width (192 px); tilt spans
# ~90 degrees, 0.05 = 2.25 degrees of a ~34 degree view (48 px).
PAN_PX_PER_UNIT = WIDTH * 3.0
TILT_PX_PER_UNIT = HEIGHT * 1.33


def _reflect(coords: np.ndarray, size: int) -> np.ndarray:
    """Indices into [0, size) for an endless mirror-tiled plane (seamless at the joins)."""
    c = np.mod(coords, 2 * size)
    return np.where(c >= size, 2 * size - 1 - c, c)


def ptz_view(scene_id: int, pan: float, tilt: float) -> tuple[np.ndarray, bool]:
    """A PTZ camera's view at (pan, tilt): the same 1280x720 window as `scene`, moved
    across its photograph mirror-tiled into an endless panorama (a copy, ~3 MB, where
    the window crosses the photograph's edge)."""
    canvases = _canvases()
    rng = random.Random(scene_id)
    big = canvases[rng.randrange(len(canvases))]
    h, w = big.shape[:2]
    x = rng.randrange(0, w - WIDTH + 1) + int(round(pan * PAN_PX_PER_UNIT))
    y = rng.randrange(0, h - HEIGHT + 1) - int(round(tilt * TILT_PX_PER_UNIT))
    # Never mirrored: panning right must move the picture the way a real lens does.
    if 0 <= y <= h - HEIGHT and 0 <= x <= w - WIDTH:
        # Inside the photograph (the home position): the same pixels as the mirror
        # tiling below, as a zero-copy window like `scene`'s.
        return big[y:y + HEIGHT, x:x + WIDTH], False
    rows = _reflect(np.arange(y, y + HEIGHT), h)
    cols = _reflect(np.arange(x, x + WIDTH), w)
    return np.ascontiguousarray(big[rows][:, cols]), False


@lru_cache(maxsize=1)
def _noise_fields() -> list[np.ndarray]:
    g = np.random.default_rng(12345)
    return [np.clip(8 + g.normal(0, 2.0, (HEIGHT, WIDTH, 3)), 0, 16).astype(np.uint8) for _ in range(8)]


def _natural(view: tuple[np.ndarray, bool], rng: np.random.Generator, now: float) -> np.ndarray:
    """Mild capture-to-capture variation: light level, sensor noise, a passer-by."""
    frame = cv2.flip(view[0], 1) if view[1] else view[0]
    out = cv2.convertScaleAbs(frame, alpha=1.0 + rng.uniform(-0.015, 0.015), beta=rng.uniform(-2, 2))
    # Sensor noise: one of a few precomputed fields (centred on 8), in uint8 arithmetic
    # because float conversions of a 1280x720 frame cost more than the JPEG encoding.
    out = cv2.subtract(cv2.add(out, _noise_fields()[int(rng.integers(0, 8))]), (8, 8, 8, 0))
    # A small object crossing the scene, position from the wall clock.
    phase = (now / 7.0) % 1.0
    cx, cy = int(phase * WIDTH), int(HEIGHT * 0.78)
    cv2.rectangle(out, (cx - 18, cy - 40), (cx + 18, cy + 40), (40, 40, 60), -1)
    return out


def apply_fault(img: np.ndarray, fault: str, rng: np.random.Generator) -> np.ndarray:
    """Degrade a frame the way the named picture fault looks on a real camera."""
    if fault == "signal_loss":
        out = np.zeros_like(img)
        out[:] = (90, 20, 0)   # the blue "no video" screen of many encoders (BGR)
        cv2.putText(out, "NO SIGNAL", (WIDTH // 2 - 210, HEIGHT // 2), cv2.FONT_HERSHEY_SIMPLEX,
                    2.5, (255, 255, 255), 5)
        return out
    if fault == "blur":
        return cv2.GaussianBlur(img, (0, 0), sigmaX=9)
    if fault == "too_dark":
        return cv2.convertScaleAbs(img, alpha=0.12, beta=0)
    if fault == "too_bright":
        return cv2.convertScaleAbs(img, alpha=0.25, beta=200)
    if fault == "low_contrast":
        mean = float(img.mean())
        return cv2.convertScaleAbs(img, alpha=0.15, beta=mean * 0.85)
    if fault == "color_cast":
        out = img.astype(np.float32)
        out[..., 0] *= 0.45          # blue down
        out[..., 1] *= 1.15          # green up: the typical failed IR-cut filter cast
        out[..., 2] *= 0.55
        return np.clip(out, 0, 255).astype(np.uint8)
    if fault == "noise":
        n = np.empty(img.shape, np.int16)
        cv2.randn(n, (0, 0, 0), (45, 45, 45))    # cheaper than numpy floats at 1280x720x3
        return cv2.add(img.astype(np.int16), n).clip(0, 255).astype(np.uint8)
    if fault == "occlusion":
        out = img.copy()
        # A branch / bag over more than half of the lens.
        cv2.ellipse(out, (int(WIDTH * 0.35), int(HEIGHT * 0.5)), (int(WIDTH * 0.45), int(HEIGHT * 0.6)),
                    20, 0, 360, (25, 35, 30), -1)
        return out
    if fault == "stripes":
        rows = np.arange(HEIGHT, dtype=np.float32)
        band = (np.sin(rows / 6.0) * 70).astype(np.float32)[:, None, None]
        return np.clip(img.astype(np.float32) + band, 0, 255).astype(np.uint8)
    return img


# A camera's scene lit by a coloured light its white balance does not remove (not a fault:
# a healthy camera looking at a warm interior or a view full of blue sky), as BGR gains.
TINTS = {"warm": (0.45, 0.80, 1.15),     # sodium-lit yard or tungsten lobby, white balance left most of it in
         "blue": (1.12, 0.95, 0.68)}     # sky-filled view / shade under a blue sky


def apply_tint(img: np.ndarray, tint: str | None) -> np.ndarray:
    if not tint:
        return img
    gains = np.array(TINTS[tint], np.float32)
    return np.clip(img.astype(np.float32) * gains, 0, 255).astype(np.uint8)


PICTURE_ORDER = ("scene_change", "occlusion", "blur", "too_dark", "too_bright", "low_contrast",
                 "color_cast", "stripes", "noise", "signal_loss")


def render_jpeg(scene_id: int, alt_scene_id: int, faults: set[str], now: float | None = None,
                quality: int = 85, pan_tilt: tuple[float, float] | None = None,
                tint: str | None = None) -> bytes:
    """One capture from this camera now, with its picture faults (not frozen: the caller
    keeps the bytes for that). ``pan_tilt`` points a PTZ camera's lens; ``tint`` (a key of
    ``TINTS``) colours its scene's light before any fault."""
    now = time.time() if now is None else now
    rng = np.random.default_rng()
    sid = scene_id
    if "scene_change" in faults:
        # Knocked: looking at something else entirely (another photograph, not a crop of
        # the same one).
        sid = alt_scene_id
        n = len(_photos())
        while n > 1 and _photo_of(sid, n) == _photo_of(scene_id, n):
            sid += 1
    view = scene(sid) if pan_tilt is None else ptz_view(sid, *pan_tilt)
    img = apply_tint(_natural(view, rng, now), tint)
    for fault in PICTURE_ORDER:
        if fault in faults and fault != "scene_change":
            img = apply_fault(img, fault, rng)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
