"""Build the labelled development set: ``python -m probes.quality.devset.make [OUT_DIR]``.

Real photographs that ship inside scikit-image, cropped (never upscaled) to camera
resolutions, made into "clean" camera frames with realistic variation (sensor noise,
JPEG, dusk, night with lights, rain, plain walls, busy scenes) and into faulty frames
with each fault at several severities, the mildest ones borderline. Deterministic (seeded).

Two splits: ``dev`` (thresholds were chosen looking at it) and ``heldout``: other source
photographs AND other variation types of each fault (motion blur instead of Gaussian
blur, colour bars instead of blank screens, impulse noise, diagonal stripes, rotated
views, ...), to show how the figures hold on what the thresholds never saw.

Writes ``cases.jsonl`` (one case a line: id, frame, previous, reference, captured_at,
labels, allow, split, variant) beside the JPEG files.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import cv2
import numpy as np
import skimage.data as skd

HERE = Path(__file__).resolve().parent
DAY = "2026-06-01T11:00:00+08:00"
NIGHT = "2026-06-01T23:30:00+08:00"

# Sources: (name, loader, split). Gray photographs become 3-channel gray frames (IR mode).
DEV_SOURCES = ["astronaut", "coffee", "rocket", "camera", "motorcycle_left", "hubble", "brick", "grass"]
HELDOUT_SOURCES = ["chelsea", "clock", "coins", "gravel", "motorcycle_right"]
# Camera resolutions the crops take (w, h), chosen to fit each source without upscaling.
SIZES = [(640, 360), (640, 480), (512, 288), (352, 288), (704, 396)]


def _load(name: str) -> np.ndarray:
    if name == "motorcycle_left":
        rgb = skd.stereo_motorcycle()[0]
    elif name == "motorcycle_right":
        rgb = skd.stereo_motorcycle()[1]
    elif name == "hubble":
        rgb = skd.hubble_deep_field()
    else:
        rgb = getattr(skd, name)()
    if rgb.ndim == 2:
        return cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(rgb[:, :, :3], cv2.COLOR_RGB2BGR)


def _crop(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    fits = [(cw, ch) for cw, ch in SIZES if cw <= w and ch <= h]
    cw, ch = fits[rng.integers(len(fits))]
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    out = img[y:y + ch, x:x + cw].copy()
    if rng.random() < 0.5:
        out = out[:, ::-1].copy()
    return out


# --- realistic camera effects -----------------------------------------------------------

def sensor_noise(rng, img, sigma):
    n = rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(img.astype(np.float32) + n, 0, 255).astype(np.uint8)


def jpeg(img, q) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(q)])
    assert ok
    return buf.tobytes()


def gain_gamma(img, gain, gamma=1.0):
    f = (img.astype(np.float32) / 255.0) ** gamma * gain
    return np.clip(f * 255.0, 0, 255).astype(np.uint8)


def tint(img, b, g, r):
    f = img.astype(np.float32) * np.array([b, g, r], np.float32)
    return np.clip(f, 0, 255).astype(np.uint8)


def vignette(img, strength):
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
    m = 1.0 - strength * d / 2.0
    return np.clip(img.astype(np.float32) * m[:, :, None], 0, 255).astype(np.uint8)


def night_lights(rng, img):
    """A night street: the scene at 10-25% light, a few lamps with glow, amplified noise."""
    # the camera's AGC keeps a night picture at a mean of roughly 15-45
    dark = gain_gamma(img, float(rng.uniform(0.25, 0.45)), float(rng.uniform(1.2, 1.6)))
    h, w = img.shape[:2]
    glow = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h // 2 + 1))
        cv2.circle(glow, (cx, cy), int(rng.integers(3, 8)), 1.0, -1)
    glow = cv2.GaussianBlur(glow, (0, 0), float(rng.uniform(8, 20))) * float(rng.uniform(3, 8))
    hard = np.zeros_like(glow)
    glow = np.clip(glow, 0, 1.0)
    lamp = np.array([0.55, 0.8, 1.0], np.float32)  # sodium-ish warm light
    out = dark.astype(np.float32) + 255.0 * glow[:, :, None] * lamp + hard[:, :, None]
    out = np.clip(out, 0, 255).astype(np.uint8)
    return sensor_noise(rng, out, float(rng.uniform(2.0, 4.0)))


def rain(rng, img, held=True):
    """Rain streaks over a greyer, lifted picture. Held-out: long slanted streaks; dev: a
    finer, shorter vertical drizzle."""
    h, w = img.shape[:2]
    layer = np.zeros((h, w), np.float32)
    n = int(h * w / (400 if held else 300))
    xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
    for x, y in zip(xs, ys):
        ln = int(rng.integers(6, 16)) if held else int(rng.integers(3, 8))
        cv2.line(layer, (int(x), int(y)), (int(x) + (ln // 4 if held else 0), int(y) + ln), 1.0, 1)
    layer = cv2.GaussianBlur(layer, (0, 0), 0.7)
    if held:
        out = img.astype(np.float32) * 0.85 + 40 + 60 * layer[:, :, None]
    else:
        out = img.astype(np.float32) * 0.9 + 20 + 45 * layer[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def plain_wall(rng, size):
    """A painted wall in focus: smooth light fall-off, fine plaster grain, maybe a pipe."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = float(rng.uniform(110, 200))
    light = base * (1.0 - 0.25 * ((x - rng.uniform(0, w)) ** 2 + (y - rng.uniform(0, h)) ** 2) / (w * w))
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.0) * float(rng.uniform(3, 6))
    g = light + grain
    col = np.array(rng.uniform(0.85, 1.0, 3), np.float32)
    img = np.clip(g[:, :, None] * col, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:  # a pipe or cable across the wall
        x0 = int(rng.integers(w // 5, 4 * w // 5))
        cv2.line(img, (x0, 0), (x0 + int(rng.integers(-20, 20)), h), (60, 60, 60), int(rng.integers(3, 8)))
    return img


# --- what real city cameras add to every picture ------------------------------------------

_CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
_PLACES_DEV = ["CAM-0412 NORTH GATE", "IPC 17 Jiefang Rd", "CH03 PARKING B2", "Camera 21"]
_PLACES_HELD = ["人民路与解放路交叉口 东向西", "滨江公园 3号门", "地铁站B出口", "CH12 学府路"]


def _stamp(when: str, held: bool, rng) -> str:
    d, t = when[:10], when[11:19]
    s = int(rng.integers(0, 60))
    t = f"{t[:6]}{s:02d}"
    if held:
        y, m, dd = d.split("-")
        return f"{y}年{m}月{dd}日 星期一 {t}"
    return f"{d} {t}"


def osd_overlay(rng, img, when: str, held: bool) -> np.ndarray:
    """Burn in the date/time and the camera name, as real cameras do on every frame.

    Dev: OpenCV's Hershey font, white, top-left clock and bottom-left name. Held-out: a
    CJK TrueType font with a black outline, clock top-right, name bottom-left or right,
    another size (what Chinese city cameras show)."""
    h, w = img.shape[:2]
    if not held:
        out = img.copy()
        sc = float(rng.uniform(0.45, 0.75)) * w / 640
        th = 1 if sc < 0.6 else 2
        cv2.putText(out, _stamp(when, False, rng), (int(8 * sc), int(28 * sc)), cv2.FONT_HERSHEY_SIMPLEX,
                    sc, (255, 255, 255), th, cv2.LINE_AA)
        name = _PLACES_DEV[int(rng.integers(len(_PLACES_DEV)))]
        cv2.putText(out, name, (int(8 * sc), h - int(12 * sc)), cv2.FONT_HERSHEY_SIMPLEX, sc,
                    (255, 255, 255), th, cv2.LINE_AA)
        return out
    from PIL import Image, ImageDraw, ImageFont

    size = int(rng.integers(14, 24) * w / 640)
    font = ImageFont.truetype(_CJK_FONT, max(10, size))
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    dr = ImageDraw.Draw(pil)
    stamp = _stamp(when, True, rng)
    tw = dr.textlength(stamp, font=font)
    dr.text((w - tw - 10, 8), stamp, font=font, fill=(255, 255, 255), stroke_width=1, stroke_fill=(0, 0, 0))
    name = _PLACES_HELD[int(rng.integers(len(_PLACES_HELD)))]
    nw = dr.textlength(name, font=font)
    x = 10 if rng.random() < 0.5 else int(w - nw - 10)
    dr.text((x, h - size - 14), name, font=font, fill=(255, 255, 255), stroke_width=1, stroke_fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def ir_night(rng, img, held: bool) -> np.ndarray:
    """IR night mode: the IR-cut filter is out, the picture is monochrome, lit by the
    camera's own IR (bright centre, fall-off). Held-out: a faint residual tint some
    sensors keep in IR mode, and stronger IR hot-spot."""
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = g.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
    spot = 1.0 - (0.45 if held else 0.3) * np.clip(d, 0, 2) / 2
    g = g * float(rng.uniform(0.6, 0.9)) * spot
    out = cv2.cvtColor(np.clip(g, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if held:
        out = tint(out, *rng.uniform(0.97, 1.03, 3))
    return sensor_noise(rng, out, float(rng.uniform(2.0, 4.0)))


def low_bitrate(rng, img, held: bool) -> np.ndarray:
    """H.264-like blocking at low bitrate: flat 8x8 (dev) or 16x16 (held-out, macroblock)
    areas lose their fine detail and show block steps; the JPEG quality is also low."""
    b = 16 if held else 8
    h, w = img.shape[:2]
    f = img.astype(np.float32)
    hh, ww = h // b * b, w // b * b
    blocks = cv2.resize(cv2.resize(f[:hh, :ww], (ww // b, hh // b), interpolation=cv2.INTER_AREA),
                        (ww, hh), interpolation=cv2.INTER_NEAREST)
    std = cv2.resize(cv2.resize(cv2.cvtColor(np.abs(f[:hh, :ww] - blocks), cv2.COLOR_BGR2GRAY),
                                (ww // b, hh // b), interpolation=cv2.INTER_AREA), (ww, hh),
                     interpolation=cv2.INTER_NEAREST)
    keep = np.clip(std / 12.0, 0.0, 1.0)[:, :, None]  # flat blocks collapse to their mean
    out = f.copy()
    out[:hh, :ww] = f[:hh, :ww] * keep + blocks * (1 - keep)
    return np.clip(out, 0, 255).astype(np.uint8)


def fisheye(img, held: bool) -> np.ndarray:
    """A wide/fisheye lens: barrel distortion; a full fisheye (held-out) also shows the
    black corners outside its image circle."""
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    nx, ny = (x - w / 2) / (w / 2), (y - h / 2) / (w / 2)
    r2 = nx * nx + ny * ny
    k = 0.35 if held else 0.2
    f = 1.0 + k * r2
    mx, my = (nx / f) * (w / 2) + w / 2, (ny / f) * (w / 2) + h / 2
    mx = w / 2 + (mx - w / 2) / (1 / (1 + k * 0.6))  # fill the frame after compression
    my = h / 2 + (my - h / 2) / (1 / (1 + k * 0.6))
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if held:
        circle = np.sqrt(((x - w / 2) / (w * 0.56)) ** 2 + ((y - h / 2) / (h * 0.75)) ** 2) > 1.0
        out[circle] = 0
    return out


def sodium_night(rng, img, held: bool) -> np.ndarray:
    """A street under high-pressure sodium lamps: dark, strongly orange, noisy."""
    dark = gain_gamma(img, float(rng.uniform(0.45, 0.7)), float(rng.uniform(1.1, 1.4)))
    out = tint(dark, float(rng.uniform(0.35, 0.5)), float(rng.uniform(0.75, 0.85)), 1.25)
    if held:  # lamp heads in the frame with their glow
        h, w = img.shape[:2]
        glow = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(2, 5))):
            cv2.circle(glow, (int(rng.integers(0, w)), int(rng.integers(0, h // 3 + 1))), 4, 1.0, -1)
        glow = np.clip(cv2.GaussianBlur(glow, (0, 0), 12) * 6, 0, 1)
        out = np.clip(out + 255 * glow[:, :, None] * np.array([0.45, 0.8, 1.0], np.float32), 0, 255).astype(np.uint8)
    return sensor_noise(rng, out, float(rng.uniform(2.0, 3.5)))


def fog(rng, img, held: bool) -> np.ndarray:
    """Light fog or haze (clean: the scene is still readable). Held-out: denser far away
    (top of the frame) than near."""
    h, w = img.shape[:2]
    a = float(rng.uniform(0.2, 0.4))
    veil = float(rng.uniform(170, 210))
    if held:
        depth = np.linspace(1.3, 0.5, h, dtype=np.float32)[:, None, None]
        a_map = np.clip(a * depth, 0, 0.55)
    else:
        a_map = a
    out = img.astype(np.float32) * (1 - a_map) + veil * a_map
    return np.clip(out, 0, 255).astype(np.uint8)


def headlights(rng, img, held: bool) -> np.ndarray:
    """Night traffic: a dark street with a pair of headlights glaring into the lens (dev:
    round blooms; held-out: blooms with a horizontal lens streak)."""
    dark = gain_gamma(img, float(rng.uniform(0.3, 0.5)), float(rng.uniform(1.2, 1.5)))
    h, w = img.shape[:2]
    glow = np.zeros((h, w), np.float32)
    cx, cy = int(rng.uniform(0.25, 0.75) * w), int(rng.uniform(0.55, 0.85) * h)
    gap = int(w * rng.uniform(0.06, 0.12))
    for x in (cx - gap, cx + gap):
        cv2.circle(glow, (x, cy), int(rng.integers(4, 9)), 1.0, -1)
    glow = cv2.GaussianBlur(glow, (0, 0), float(rng.uniform(10, 25))) * float(rng.uniform(6, 12))
    if held:
        streak = np.zeros_like(glow)
        cv2.line(streak, (0, cy), (w, cy), 1.0, 2)
        glow += cv2.GaussianBlur(streak, (0, 0), 3.0) * 0.8
    glow = np.clip(glow, 0, 1)
    out = dark.astype(np.float32) * (1 - glow[:, :, None]) + 255.0 * glow[:, :, None] * np.array([0.9, 0.95, 1.0], np.float32)
    return sensor_noise(rng, np.clip(out, 0, 255).astype(np.uint8), float(rng.uniform(2.0, 3.5)))


def clean_variant(rng, base, kind, held=False):
    """Apply one realistic (not faulty) variation; returns (frame, captured_at)."""
    img = base
    when = DAY
    own_noise = {"night_lights", "ir", "sodium", "headlights"}
    if kind == "plain":
        img = img
    elif kind == "dusk":
        img = tint(gain_gamma(img, float(rng.uniform(0.5, 0.7)), float(rng.uniform(1.2, 1.5))), 0.9, 1.0, 1.08)
    elif kind == "night_lights":
        img, when = night_lights(rng, img), NIGHT
    elif kind == "rain":
        img = rain(rng, img, held)
    elif kind == "vignette":
        img = vignette(img, float(rng.uniform(0.2, 0.45)))
    elif kind == "wb":
        img = tint(img, *rng.uniform(0.92, 1.08, 3))
    elif kind == "ir":
        img, when = ir_night(rng, img, held), NIGHT
    elif kind == "blocking":
        img = low_bitrate(rng, img, held)
    elif kind == "fisheye":
        img = img  # the caller distorts the base view (the reference shares the lens)
    elif kind == "sodium":
        img, when = sodium_night(rng, img, held), NIGHT
    elif kind == "fog":
        img = fog(rng, img, held)
    elif kind == "headlights":
        img, when = headlights(rng, img, held), NIGHT
    if kind not in own_noise:
        img = sensor_noise(rng, img, float(rng.uniform(0.8, 3.0)))
    return img, when


# --- faults (each at several severities; the first one listed is borderline) ----------------

def _with_noise(rng, img, lo=0.8, hi=2.5):
    return sensor_noise(rng, img, float(rng.uniform(lo, hi)))


def f_blur(rng, img, sev, held):
    if held:  # motion blur (shake) or a defocus disk
        if rng.random() < 0.5:
            ln = [7, 11, 17, 25][sev]
            k = np.zeros((ln, ln), np.float32)
            k[ln // 2, :] = 1.0
            rot = cv2.getRotationMatrix2D((ln / 2 - 0.5, ln / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
            k = cv2.warpAffine(k, rot, (ln, ln))
            k /= k.sum()
            out = cv2.filter2D(img, -1, k)
            return _with_noise(rng, out), f"motion{ln}"
        r = [2, 3, 5, 8][sev]
        k = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
        cv2.circle(k, (r, r), r, 1.0, -1)
        k /= k.sum()
        return _with_noise(rng, cv2.filter2D(img, -1, k)), f"disk{r}"
    s = [1.5, 2.5, 4.0, 7.0][sev]
    return _with_noise(rng, cv2.GaussianBlur(img, (0, 0), s)), f"gauss{s}"


def f_too_dark(rng, img, sev, held):
    target = [24, 17, 10, 5][sev]
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).mean()
    gamma = float(rng.uniform(1.0, 1.6)) if held else 1.0
    tmp = gain_gamma(img, 1.0, gamma)
    gain = target / max(1.0, cv2.cvtColor(tmp, cv2.COLOR_BGR2GRAY).mean())
    out = gain_gamma(tmp, gain)
    return _with_noise(rng, out, 1.0, 3.0), f"mean{target}" + ("_gamma" if held else "")


def f_too_bright(rng, img, sev, held):
    target = [226, 234, 242, 250][sev]
    out = img.astype(np.float32)
    for _ in range(30):  # raise exposure until the clipped mean reaches the target
        cur = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).mean()
        if cur >= target:
            break
        out = out * 1.08 + (12 if held else 4)
    return _with_noise(rng, np.clip(out, 0, 255).astype(np.uint8)), f"mean{target}"


def f_low_contrast(rng, img, sev, held):
    a = [0.68, 0.76, 0.84, 0.92][sev]
    f = img.astype(np.float32)
    if held:  # washed out: range squeezed around the picture's own mean (no veil colour)
        m = f.mean()
        out = m + (f - m) * (1 - a)
        kind = "squeeze"
    elif rng.random() < 0.6:  # fog / dirty dome: a bright veil over the picture
        veil = float(rng.uniform(170, 210))
        out = f * (1 - a) + veil * a
        kind = "fog"
    else:  # a grey veil (dirty dome at dusk, misadjusted gain): no bright haze
        veil = float(rng.uniform(90, 130))
        out = f * (1 - a) + veil * a
        kind = "greyveil"
    return _with_noise(rng, np.clip(out, 0, 255).astype(np.uint8)), f"{kind}{a}"


def f_color_cast(rng, img, sev, held):
    r = [1.3, 1.45, 1.65, 1.9][sev]
    if held:
        gains = [(1 / r, r, 1 / r), (r, 1 / r, r)][int(rng.integers(2))]  # green / magenta
        kind = "green" if gains[1] > 1 else "magenta"
    else:
        gains = [(r, 1.0, 1 / r), (1 / r, 1.0, r), (1 / r, r ** 0.5, r ** 0.5)][int(rng.integers(3))]
        kind = {0: "blue", 1: "red", 2: "yellow"}[[(r, 1.0, 1 / r), (1 / r, 1.0, r), (1 / r, r ** 0.5, r ** 0.5)].index(gains)]
    return _with_noise(rng, tint(img, *gains)), f"{kind}{r}"


def f_noise(rng, img, sev, held):
    if held:  # "snow": impulse noise plus chroma noise
        p = [0.03, 0.06, 0.12, 0.2][sev]
        out = sensor_noise(rng, img, 4.0)
        mask = rng.random(img.shape[:2]) < p
        out[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
        return out, f"snow{p}"
    if rng.random() < 0.35:  # salt-and-pepper dropouts (bad cable, failing sensor)
        p = [0.02, 0.04, 0.08, 0.15][sev]
        out = sensor_noise(rng, img, 2.0)
        mask = rng.random(img.shape[:2])
        out[mask < p / 2] = 0
        out[(mask >= p / 2) & (mask < p)] = 255
        return out, f"saltpepper{p}"
    s = [8.0, 12.0, 20.0, 32.0][sev]
    return sensor_noise(rng, img, s), f"gauss{s}"


def f_occlusion(rng, img, sev, held):
    h, w = img.shape[:2]
    share = [0.38, 0.5, 0.7, 1.0][sev]
    mask = np.zeros((h, w), np.float32)
    if held:  # a blob (leaf, hand, bag) somewhere in the view
        cx, cy = int(rng.uniform(0.3, 0.7) * w), int(rng.uniform(0.3, 0.7) * h)
        ax = int(np.sqrt(share * w * h / np.pi * (w / h)))
        ay = int(np.sqrt(share * w * h / np.pi * (h / w)))
        cv2.ellipse(mask, (cx, cy), (max(ax, 4), max(ay, 4)), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        if share >= 1.0:
            mask[:] = 1.0
    else:  # something covering the lens from one side
        side = int(rng.integers(4))
        if side == 0:
            mask[:, : int(w * share)] = 1
        elif side == 1:
            mask[:, w - int(w * share):] = 1
        elif side == 2:
            mask[: int(h * share), :] = 1
        else:
            mask[h - int(h * share):, :] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), 6.0)[:, :, None]
    # the occluder is out of focus: a smooth shaded dark surface
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    level = float(rng.uniform(25, 90))
    shade = level * (1 + 0.25 * (x / w - 0.5) + 0.15 * (y / h - 0.5))
    colour = np.array(rng.uniform(0.8, 1.1, 3), np.float32)
    occ = shade[:, :, None] * colour
    out = img.astype(np.float32) * (1 - mask) + occ * mask
    return _with_noise(rng, np.clip(out, 0, 255).astype(np.uint8)), f"{'blob' if held else 'side'}{share}"


def f_stripes(rng, img, sev, held):
    h, w = img.shape[:2]
    amp = [5.0, 8.0, 14.0, 24.0][sev]
    period = float(rng.uniform(6, 40))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    if held:  # slanted square-ish bars (rolling interference)
        ang = np.deg2rad(float(rng.uniform(15, 70)))
        t = (x * np.cos(ang) + y * np.sin(ang)) * 2 * np.pi / period
        pattern = np.tanh(3 * np.sin(t)) * amp
        kind = "slant"
    else:
        t = (y if rng.random() < 0.7 else x) * 2 * np.pi / period
        pattern = np.sin(t) * amp
        kind = "sine"
    out = img.astype(np.float32) + pattern[:, :, None]
    return _with_noise(rng, np.clip(out, 0, 255).astype(np.uint8)), f"{kind}{amp}_p{period:.0f}"


def f_signal_loss(rng, size, sev, held):
    """A DVR/encoder's "no video" screen; real ones still burn in the OSD clock and name."""
    w, h = size
    if held:
        kind = ["bars", "black_cjk", "bars_osd", "blue_cjk"][sev]
        if kind.startswith("bars"):  # colour bars (SMPTE-like), as a DVR shows for a dead input
            cols = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0),
                    (192, 0, 192), (0, 0, 192), (192, 0, 0)]
            img = np.zeros((h, w, 3), np.uint8)
            for i, c in enumerate(cols):
                img[:, i * w // 7:(i + 1) * w // 7] = c
        else:
            img = np.full((h, w, 3), (0, 0, 0) if kind == "black_cjk" else (140, 30, 10), np.uint8)
        if kind != "bars":
            img = osd_overlay(rng, img, DAY, True)
        if kind == "blue_cjk":
            from PIL import Image, ImageDraw, ImageFont
            pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            ImageDraw.Draw(pil).text((w // 3, h // 2 - 16), "视频丢失", font=ImageFont.truetype(_CJK_FONT, 32),
                                     fill=(255, 255, 255))
            img = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
        return img, kind
    kind = ["blue", "black_osd", "gray", "blue_text"][sev]
    colour = {"blue": (255, 0, 0), "black_osd": (0, 0, 0), "gray": (128, 128, 128), "blue_text": (200, 60, 20)}[kind]
    img = np.full((h, w, 3), colour, np.uint8)
    if kind == "blue_text":
        cv2.putText(img, "NO SIGNAL", (w // 3, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    if kind == "black_osd":
        img = osd_overlay(rng, img, DAY, False)
    return img, kind


def reference_of(rng, base):
    """The acceptance reference of a view: other light, a few pixels of vibration, own noise."""
    sh = rng.integers(-3, 4, 2)
    r = np.roll(base, (int(sh[0]), int(sh[1])), axis=(0, 1))
    r = gain_gamma(r, float(rng.uniform(0.75, 1.2)), float(rng.uniform(0.85, 1.2)))
    return sensor_noise(rng, r, float(rng.uniform(0.8, 2.0)))


def osd(img, text):
    out = img.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    return out


# Faults a primary fault physically brings with it: neither required nor a false alarm.
ALLOW = {
    # a lens covered all over gives a flat, featureless picture: a no-signal screen to look at
    "occlusion": ["too_dark", "low_contrast", "blur", "signal_loss"],
    # a picture too dark to show detail is blank wherever the scene was dark: occlusion
    "too_dark": ["low_contrast", "noise", "blur", "occlusion"],
    "too_bright": ["low_contrast", "blur", "signal_loss"],
    "low_contrast": ["too_bright", "blur"],
    "blur": ["low_contrast"],
    "noise": [],
    "stripes": [],
    "color_cast": [],
    "signal_loss": [],
    "frozen": [],
    "scene_change": [],
}


class Writer:
    def __init__(self, out: Path):
        self.out = out
        self.cases: list[dict[str, Any]] = []
        self.n = 0

    def save(self, name: str, img: np.ndarray, q: int) -> str:
        p = self.out / "frames" / f"{name}.jpg"
        p.write_bytes(jpeg(img, q))
        return f"frames/{p.name}"

    def case(self, split, variant, frame, labels, when=DAY, previous=None, reference=None, allow=()):
        self.n += 1
        if ":hubble" in variant:  # the deep-field photograph is a night sky: judged at night
            when = NIGHT
        self.cases.append({"id": f"{split}-{self.n:04d}", "frame": frame, "previous": previous,
                           "reference": reference, "captured_at": when, "labels": sorted(labels),
                           "allow": sorted(set(allow)), "split": split, "variant": variant})


def build(out: Path, seed: int = 20261126) -> int:
    (out / "frames").mkdir(parents=True, exist_ok=True)
    for old in (out / "frames").glob("*.jpg"):
        old.unlink()
    rng = np.random.default_rng(seed)
    wr = Writer(out)
    photos = {n: _load(n) for n in DEV_SOURCES + HELDOUT_SOURCES}
    plan = [("dev", DEV_SOURCES, 50, 2), ("heldout", HELDOUT_SOURCES, 35, 2)]
    for split, sources, n_clean_per_kind, reps in plan:
        held = split == "heldout"
        clean_kinds = ["plain", "dusk", "night_lights", "vignette", "wb", "wall", "rain", "ir", "blocking",
                       "fisheye", "sodium", "fog", "headlights"]

        def burn(img, when, on):  # real cameras burn in a clock and a name (most do)
            return osd_overlay(rng, img, when, held) if on else img
        bases = []
        for i in range(n_clean_per_kind * 2):
            src = sources[i % len(sources)]
            bases.append((src, _crop(rng, photos[src])))
        # clean frames: each with a live previous (new noise, a moved patch) and often the reference
        for i, (src, base) in enumerate(bases):
            kind = clean_kinds[i % len(clean_kinds)]
            if kind == "wall":
                base = plain_wall(rng, (base.shape[1], base.shape[0]))
                src = "wall"
            if kind == "fisheye":  # the lens is part of the view: the reference has it too
                base = fisheye(base, held)
            img, when = clean_variant(rng, base, kind, held)
            on = rng.random() < 0.85
            img = burn(img, when, on)
            q = int(rng.integers(20, 36)) if kind == "blocking" else int(rng.integers(45, 95))
            tag = f"{split}_clean_{i:03d}"
            frame = wr.save(tag, img, q)
            prev = ref = None
            if rng.random() < 0.6:  # a live camera: same view, new noise, something moved
                moved = base.copy()
                ph, pw = moved.shape[0] // 6, moved.shape[1] // 8
                y0, x0 = int(rng.integers(0, moved.shape[0] - ph)), int(rng.integers(0, moved.shape[1] - pw))
                moved[y0:y0 + ph, x0:x0 + pw] = np.roll(moved[y0:y0 + ph, x0:x0 + pw], 7, axis=1)
                pimg, _ = clean_variant(rng, moved, kind, held)
                prev = wr.save(tag + "_prev", burn(pimg, when, on), q)
            if rng.random() < 0.8:  # most cameras in service have an acceptance reference
                ref = wr.save(tag + "_ref", burn(reference_of(rng, base), DAY, on), 85)
            # A view of nothing but an evenly lit wall has, physically, a low contrast: that
            # verdict is tolerated there (not counted as a false alarm); blur, occlusion or
            # noise on a wall are false alarms.
            wr.case(split, f"clean:{kind}:{src}", frame, [], when, prev, ref,
                    ["low_contrast"] if kind == "wall" else ())
        # faults
        fault_fns: dict[str, Callable] = {"blur": f_blur, "too_dark": f_too_dark, "too_bright": f_too_bright,
                                          "low_contrast": f_low_contrast, "color_cast": f_color_cast,
                                          "noise": f_noise, "occlusion": f_occlusion, "stripes": f_stripes}
        j = 0
        for fault, fn in fault_fns.items():
            for r in range(reps):
                for sev in range(4):
                    src, base = bases[(j * 7 + 3) % len(bases)]
                    j += 1
                    if src == "hubble" and fault in ("too_dark", "low_contrast", "too_bright"):
                        src, base = bases[(j * 7 + 4) % len(bases)]  # a night sky is dark by nature
                    img, variant = fn(rng, base, sev, held)
                    on = rng.random() < 0.85
                    q = int(rng.integers(55, 95))
                    tag = f"{split}_{fault}_{r}{sev}"
                    frame = wr.save(tag, burn(img, DAY, on), q)
                    ref = None
                    if rng.random() < 0.8:
                        ref = wr.save(tag + "_ref", burn(reference_of(rng, base), DAY, on), 85)
                    allow = list(ALLOW[fault]) + (["scene_change"] if ref else [])
                    wr.case(split, f"{fault}:{variant}:{src}", frame, [fault], DAY, None, ref, allow)
        for r in range(reps):
            for sev in range(4):
                src, base = bases[(j * 5 + 1) % len(bases)]
                j += 1
                img, variant = f_signal_loss(rng, (base.shape[1], base.shape[0]), sev, held)
                tag = f"{split}_signal_loss_{r}{sev}"
                frame = wr.save(tag, img, int(rng.integers(60, 95)))
                wr.case(split, f"signal_loss:{variant}", frame, ["signal_loss"], DAY, None, None,
                        ["frozen"])
        # frozen: the previous frame is the very same picture (stuck encoder)
        for r in range(reps):
            for sev in range(4):
                src, base = bases[(j * 3 + 2) % len(bases)]
                j += 1
                img, when = clean_variant(rng, base, ["plain", "dusk", "wb", "night_lights"][sev], held)
                q = int(rng.integers(55, 95))
                tag = f"{split}_frozen_{r}{sev}"
                if held:  # re-encoded with a ticking on-screen clock
                    prev = wr.save(tag + "_prev", osd(img, "2026-06-01 11:00:00"), q)
                    frame = wr.save(tag, osd(img, "2026-06-01 11:00:07"), q)
                    variant = "osd_clock"
                else:
                    frame = wr.save(tag, burn(img, when, True), q)
                    prev = frame
                    variant = "same_jpeg"
                wr.case(split, f"frozen:{variant}:{src}", frame, ["frozen"], when, prev, None)
        # scene change: the reference is the accepted view; the camera now sees another one
        for r in range(reps):
            for sev in range(4):
                k = (j * 11 + 5) % len(bases)
                j += 1
                src, base = bases[k]
                on = rng.random() < 0.85
                ref = wr.save(f"{split}_scene_{r}{sev}_ref", burn(reference_of(rng, base), DAY, on), 85)
                if held:  # rotated and zoomed (mount knocked)
                    hh, ww = base.shape[:2]
                    ang = [8, 12, 20, 35][sev]
                    M = cv2.getRotationMatrix2D((ww / 2, hh / 2), ang, [1.15, 1.25, 1.4, 1.6][sev])
                    img = cv2.warpAffine(base, M, (ww, hh), borderMode=cv2.BORDER_REFLECT)
                    variant = f"rot{ang}"
                elif sev >= 2:  # facing somewhere else entirely
                    other = bases[(k + 5 + sev) % len(bases)][1]
                    img = cv2.resize(other, (base.shape[1], base.shape[0]), interpolation=cv2.INTER_AREA)
                    variant = "other_view"
                else:  # panned by 15-30 % of the width (same photograph, other crop)
                    hh, ww = base.shape[:2]
                    dx = int(ww * [0.18, 0.3][sev])
                    M = np.float32([[1, 0, dx if rng.random() < 0.5 else -dx], [0, 1, 0]])
                    img = cv2.warpAffine(base, M, (ww, hh), borderMode=cv2.BORDER_REFLECT)
                    variant = f"pan{sev}"
                img = burn(_with_noise(rng, img), DAY, on)
                frame = wr.save(f"{split}_scene_{r}{sev}", img, int(rng.integers(55, 95)))
                wr.case(split, f"scene_change:{variant}:{src}", frame, ["scene_change"], DAY, None, ref)
    with open(out / "cases.jsonl", "w", encoding="utf-8") as fh:
        for c in wr.cases:
            fh.write(json.dumps(c) + "\n")
    return len(wr.cases)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else HERE
    n = build(out)
    size = sum(p.stat().st_size for p in (out / "frames").glob("*.jpg"))
    print(f"{n} cases written to {out / 'cases.jsonl'} ({size / 1e6:.1f} MB of frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
