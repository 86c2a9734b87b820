"""Fault models of the field set, each at the stage of the camera where it happens.

Written apart from the development set's generator (probes/quality/devset/make.py) and
sharing none of its fault code: covers are real shapes in front of the lens, out of focus
and lit by what is around them, that auto-exposure then reacts to; over-exposure happens in
the sensor's linear light, where highlights clip and bloom; casts are white-balance gains,
a stuck IR-cut filter, a failed colour channel; no-signal screens are what encoders send.
"""
from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

from probes.quality.fieldset.camera import Camera, Faults, draw_text, encode, stamp, text_width
from probes.quality.fieldset.scenes import _rgb, fractal

# --- covers in front of the lens --------------------------------------------------------


def _fit(make: Callable[[float], np.ndarray], share: float) -> np.ndarray:
    """The shape ``make(scale)`` scaled (bisection) to cover ``share`` of the view."""
    lo, hi = 0.02, 4.0
    m = make(1.0)
    for _ in range(18):
        mid = (lo + hi) / 2
        m = make(mid)
        if float(m.mean()) < share:
            lo = mid
        else:
            hi = mid
    return m


def _edge_point(rng, w, h):
    side = int(rng.integers(4))
    t = rng.uniform(0.1, 0.9)
    return [(t * w, -0.05 * h), (1.05 * w, t * h), (t * w, 1.05 * h), (-0.05 * w, t * h)][side], side


def cover_mask(kind: str, rng: np.random.Generator, w: int, h: int, share: float) -> np.ndarray:
    """Where the object is (float 0/1 at full sharpness), covering about ``share``."""
    (ex, ey), side = _edge_point(rng, w, h)
    ang = rng.uniform(0, 180)
    if kind == "bag":
        def make(s):
            m = np.zeros((h, w), np.uint8)
            cv2.ellipse(m, (int(ex), int(ey)), (int(s * w * 0.6), int(s * h * 0.7)), ang, 0, 360, 1, -1)
            return m
    elif kind == "hand":
        fingers = rng.uniform(0.5, 0.9, 4)
        direction = np.array([[0, 1], [-1, 0], [0, -1], [1, 0]][side], np.float32)
        perp = np.array([-direction[1], direction[0]])

        def make(s):
            m = np.zeros((h, w), np.uint8)
            r = s * 0.35 * min(w, h)
            palm = np.array([ex, ey]) + direction * r * 0.6
            cv2.ellipse(m, (int(palm[0]), int(palm[1])), (int(r), int(r * 1.1)), ang, 0, 360, 1, -1)
            for i, f in enumerate(fingers):
                base = palm + perp * (i - 1.5) * r * 0.45 + direction * r * 0.6
                tip = base + direction * r * (0.8 + f)
                cv2.line(m, (int(base[0]), int(base[1])), (int(tip[0]), int(tip[1])), 1, max(2, int(r * 0.35)))
            return m
    elif kind == "leaves":
        n = int(rng.integers(4, 9))
        spots = [(_edge_point(rng, w, h)[0] if i < 2 else (rng.uniform(0, w), rng.uniform(0, h)),
                  rng.uniform(0, 180), rng.uniform(0.6, 1.3)) for i in range(n)]

        def make(s):
            m = np.zeros((h, w), np.uint8)
            for (x, y), a, k in spots:
                cv2.ellipse(m, (int(x), int(y)), (int(s * k * w * 0.22), int(s * k * w * 0.09)), a, 0, 360, 1, -1)
            return m
    elif kind == "spray":
        field = fractal(rng, h, w, 4, 3)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        d = np.sqrt(((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2)

        def make(s):
            return ((field * 0.5 + (1 - d / max(s, 1e-3)) * 0.8) > 0.6).astype(np.uint8)
    elif kind == "sticker":
        cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
        round_ = rng.random() < 0.4

        def make(s):
            m = np.zeros((h, w), np.uint8)
            if round_:
                cv2.circle(m, (int(cx), int(cy)), int(s * 0.5 * min(w, h)), 1, -1)
            else:
                box = ((cx, cy), (s * 0.6 * w, s * 0.45 * w), ang)
                cv2.fillPoly(m, [cv2.boxPoints(box).astype(np.int32)], 1)
            return m
    else:
        raise ValueError(kind)
    return _fit(make, share).astype(np.float32)


COVER_KINDS = ("bag", "hand", "leaves", "spray", "sticker")


def cover(kind: str, share: float, seed: int) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """An object a few centimetres from the lens: far out of focus (its outline spreads
    over tens of pixels), lit by the light around it (its own shadow side faces the lens,
    a translucent bag glows), so the camera's auto-exposure sees its brightness."""

    def apply(rad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        r2 = np.random.default_rng(seed)
        h, w = rad.shape[:2]
        m = cover_mask(kind, r2, w, h, share)
        soft = cv2.GaussianBlur(m, (0, 0), w * r2.uniform(0.012, 0.035))
        ambient = float(rad.mean())
        folds = 0.75 + 0.5 * cv2.GaussianBlur(fractal(r2, h, w, 3, 2), (0, 0), w * 0.02)
        if kind == "bag":
            col = [(235, 235, 230), (40, 40, 45), (60, 90, 160), (200, 60, 50)][int(r2.integers(4))]
            glow = r2.uniform(0.3, 1.1)
            body = _rgb(col)[None, None, :] * ambient * glow * 2.0 * folds[:, :, None]
            through = cv2.GaussianBlur(rad, (0, 0), w * 0.05) * r2.uniform(0.0, 0.25)
            body = body + through
        elif kind == "hand":
            col = [(200, 150, 120), (160, 110, 80), (120, 80, 60)][int(r2.integers(3))]
            body = _rgb(col)[None, None, :] * ambient * r2.uniform(0.2, 0.8) * 2.0 * folds[:, :, None]
        elif kind == "leaves":
            col = [(70, 120, 40), (120, 160, 60), (40, 80, 30)][int(r2.integers(3))]
            backlit = r2.uniform(0.3, 1.5)
            body = _rgb(col)[None, None, :] * ambient * backlit * 2.0 * folds[:, :, None]
        elif kind == "spray":
            col = [(20, 20, 20), (170, 30, 30), (30, 50, 150), (160, 160, 165)][int(r2.integers(4))]
            body = _rgb(col)[None, None, :] * ambient * r2.uniform(0.2, 0.7) * 2.0 * folds[:, :, None]
            through = cv2.GaussianBlur(rad, (0, 0), w * 0.02) * r2.uniform(0.05, 0.2)
            body = body + through
        else:  # sticker: its back seen through the dome, lit from outside through the paper
            col = [(230, 230, 225), (200, 190, 60), (30, 30, 30)][int(r2.integers(3))]
            body = _rgb(col)[None, None, :] * ambient * r2.uniform(0.1, 0.5) * 2.0
            body = np.broadcast_to(body, rad.shape).astype(np.float32)
        a = soft[:, :, None] * r2.uniform(0.93, 1.0)
        return (rad * (1 - a) + body * a).astype(np.float32)

    return apply


def veil(seed: int, strength: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """A dirty or misted dome: scattered light laid over the picture (plus smudges)."""

    def apply(rad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        r2 = np.random.default_rng(seed)
        h, w = rad.shape[:2]
        smudge = 0.7 + 0.6 * fractal(r2, h, w, 3, 2)
        v = np.clip(strength * smudge, 0, 0.95)[:, :, None]
        scatter = cv2.GaussianBlur(rad, (0, 0), w * 0.08) * 0.5 + float(rad.mean()) * 0.7
        return (rad * (1 - v) + scatter * v).astype(np.float32)

    return apply


# --- signal after the tone curve --------------------------------------------------------

def interference(kind: str, amp: float, period: float, angle: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Interference on the analogue video (ground loop, a nearby power cable): a tone laid
    over the picture; ``hum`` is slow rolling bars, ``herringbone`` a slanted fine pattern."""

    def apply(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = img.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = math.radians(angle)
        phase = rng.uniform(0, 2 * math.pi)
        coord = yy * math.cos(t) + xx * math.sin(t)
        wave = np.sin(2 * math.pi * coord / period + phase)
        if kind == "hum":
            wave = np.clip(wave * 1.5, -1, 1)  # soft-edged bars
        return img + amp * wave[:, :, None]

    return apply


def snow(amount: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """A weak analogue signal: white and dark specks ("snow") plus grainy noise."""

    def apply(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = img.shape[:2]
        out = img + rng.normal(0, 12 * amount, (h, w, 1)).astype(np.float32)
        specks = rng.random((h, w)) < 0.04 * amount
        out[specks] = rng.choice([0.0, 255.0], size=int(specks.sum()))[:, None]
        return out

    return apply


# --- the encoder's own screens ----------------------------------------------------------

SCREEN_COLOURS = {  # BGR as encoders send them (video-range black, the common blues, grey,
    # the green of an all-zero YUV buffer)
    "black": (16, 16, 16), "black0": (0, 0, 0), "blue": (160, 32, 16), "blue2": (255, 0, 0),
    "blue3": (120, 60, 20), "grey": (128, 128, 128), "green": (0, 135, 0), "green2": (20, 120, 40),
}
SCREEN_TEXTS = ("NO VIDEO", "无视频信号", "VIDEO LOSS", "视频丢失", "NO SIGNAL", "", "无视频信号")


def no_signal_screen(rng: np.random.Generator, w: int, h: int, cam: Camera, when: str) -> tuple[bytes, str]:
    """A DVR/encoder "no video" screen: flat colour, the analogue front end's noise, the
    camera's OSD still burned in, often a centred message; encoded at low quality."""
    colour = list(SCREEN_COLOURS)[int(rng.integers(len(SCREEN_COLOURS)))]
    img = np.empty((h, w, 3), np.float32)
    img[:] = SCREEN_COLOURS[colour]
    sigma = float(rng.uniform(0.0, 4.0))
    if sigma > 0.3:
        img += rng.normal(0, sigma, (h, w, 1)).astype(np.float32)
        img += rng.normal(0, sigma * 0.4, (h, w, 3)).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    text = SCREEN_TEXTS[int(rng.integers(len(SCREEN_TEXTS)))]
    if text:
        size = max(16, int(w / 640 * rng.uniform(24, 48)))
        tw = text_width(text, size)
        out = draw_text(out, text, ((w - tw) // 2, (h - size) // 2), size, outline=False)
    if cam.osd != "none" and rng.random() < 0.8:
        size = max(12, int(w / 640 * rng.uniform(14, 22)))
        out = draw_text(out, stamp(when, cam.osd == "cjk", rng), (10, 8), size)
        out = draw_text(out, cam.name, (10, h - size - 12), size)
    q = int(rng.integers(15, 70))
    return encode(out, q), f"{colour}:{text or 'plain'}:q{q}"


def fault_for(name: str, rng: np.random.Generator, w: int) -> tuple[Faults, str]:
    """The camera-stage hooks of one fault, with a description of what was applied."""
    seed = int(rng.integers(1 << 30))
    if name == "blur":
        if rng.random() < 0.65:
            r = float(rng.uniform(2.5, 7.0)) * w / 640
            return Faults(defocus=r), f"defocus{r:.1f}"
        m = float(rng.uniform(10, 24)) * w / 640
        return Faults(motion=m), f"shake{m:.0f}"
    if name == "too_dark":
        e = float(rng.uniform(0.012, 0.045))  # an iris stuck nearly shut, AE at its limit
        return Faults(exposure=e), f"iris{e:.3f}"
    if name == "too_bright":
        e = float(rng.uniform(4.0, 12.0))  # 2-3.5 stops over: an iris stuck open, AE lost
        return Faults(exposure=e), f"overexposed{e:.1f}"
    if name == "low_contrast":
        s = float(rng.uniform(0.6, 0.85))
        return Faults(in_front=veil(seed, s)), f"dome_veil{s:.2f}"
    if name == "color_cast":
        # white balance off by one to two stops between channels: a preset left on the
        # wrong light, a weak channel, a stuck IR-cut filter by day
        k = int(rng.integers(5))
        s = float(rng.uniform(0.6, 1.0))
        if k == 0:  # tungsten preset in daylight: blue
            g = np.array([1 - 0.4 * s, 1.0, 1 + 0.8 * s], np.float32)
            return Faults(wb_gain=g), f"wb_blue{s:.2f}"
        if k == 1:  # daylight preset under warm light / AWB stuck warm: orange
            g = np.array([1 + 0.8 * s, 1.0, 1 - 0.45 * s], np.float32)
            return Faults(wb_gain=g), f"wb_orange{s:.2f}"
        if k == 2:  # a weak blue channel (connector, sensor): green-yellow
            g = np.array([1 - 0.3 * s, 1.0 + 0.1 * s, 1 - 0.55 * s], np.float32)
            return Faults(wb_gain=g), f"green{s:.2f}"
        if k == 3:  # green channel low: magenta
            g = np.array([1.0, 1 - 0.45 * s, 1.0], np.float32)
            return Faults(wb_gain=g), f"magenta{s:.2f}"
        return Faults(ir_cut_stuck=1.2 + 1.2 * s), f"ir_cut_stuck{s:.2f}"
    if name == "noise":
        if rng.random() < 0.6:
            g = float(rng.uniform(10, 30))
            return Faults(gain=g, exposure=1 / g, dnr=False), f"gain{g:.0f}"
        a = float(rng.uniform(0.8, 1.5))
        return Faults(analog=snow(a)), f"snow{a:.1f}"
    if name == "stripes":
        if rng.random() < 0.7:
            amp, per, ang = float(rng.uniform(7, 18)), float(rng.uniform(5, 16)), float(rng.uniform(-40, 40))
            return Faults(analog=interference("herringbone", amp, per, ang)), f"herringbone{amp:.0f}/{per:.0f}"
        amp, per = float(rng.uniform(12, 25)), float(rng.uniform(18, 40))
        return Faults(analog=interference("hum", amp, per, 0.0)), f"bars{amp:.0f}/{per:.0f}"
    if name == "occlusion":
        kind = COVER_KINDS[int(rng.integers(len(COVER_KINDS)))]
        share = float(rng.uniform(0.33, 0.9))
        return Faults(in_front=cover(kind, share, seed)), f"{kind}{share:.2f}"
    raise ValueError(name)
