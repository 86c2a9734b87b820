"""A camera in front of a scene: light, optics, sensor, image pipeline, OSD, encoder.

Faults enter at the stage where they happen in the field: a cover or a dirty dome in
front of the lens (before auto-exposure, which then reacts to it), a defocused lens (a
disc-shaped blur), a wrong exposure or white balance in the sensor's linear light (so
highlights clip the way a sensor clips), interference on the analogue signal after the
tone curve, and the encoder's own screens instead of a picture.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np

from probes.quality.fieldset.scenes import Scene, fractal

CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

LIGHTS = ("day", "overcast", "dusk", "night", "ir", "indoor")


@dataclass
class Light:
    level: float            # scene illuminance relative to a sunny day
    colour: np.ndarray      # illuminant RGB (linear), before white balance
    lamps: bool = False     # street / ceiling lamps lit
    ir: bool = False        # IR-cut filter out, IR illuminator on


def light_for(kind: str, scene: Scene, rng: np.random.Generator) -> Light:
    if scene.indoor and kind not in ("night", "ir"):
        col = np.array([1.0, 0.78, 0.52] if scene.indoor == "warm" else [0.92, 1.0, 0.9], np.float32)
        return Light(float(rng.uniform(0.04, 0.12)), col, lamps=True)
    if kind == "day":
        return Light(float(rng.uniform(0.8, 1.2)), np.array([1.0, 0.98, 0.95], np.float32))
    if kind == "overcast":
        return Light(float(rng.uniform(0.25, 0.45)), np.array([0.92, 0.97, 1.0], np.float32))
    if kind == "dusk":
        return Light(float(rng.uniform(0.01, 0.04)), np.array([1.0, 0.85, 0.75], np.float32), lamps=True)
    if kind == "night":
        return Light(float(rng.uniform(0.0005, 0.002)), np.array([0.8, 0.85, 1.0], np.float32), lamps=True)
    if kind == "ir":
        return Light(float(rng.uniform(0.0005, 0.002)), np.array([1.0, 1.0, 1.0], np.float32), lamps=True, ir=True)
    raise ValueError(kind)


def radiance(scene: Scene, light: Light, rng: np.random.Generator) -> np.ndarray:
    """Scene radiance in linear light: reflectance x light, the sky's own light, lamps."""
    h, w = scene.albedo.shape[:2]
    rad = scene.albedo * (light.level * light.colour)[None, None, :]
    if scene.sky.any():
        # the sky is a light source: a fixed ratio to the daylight level, dark at night
        rad[scene.sky] = scene.albedo[scene.sky] * max(light.level, 0.0008) * 1.1 * light.colour
    if light.lamps and scene.lamps:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        pool = np.zeros((h, w), np.float32)
        for (lx, ly, r, col) in scene.lamps:
            d2 = ((xx - lx) ** 2 + ((yy - ly) * 0.6) ** 2) / (w * 0.12) ** 2
            pool_l = 0.05 / (1.0 + d2)  # the lamp's light pool on what is around it
            rad += scene.albedo * pool_l[:, :, None] * col[None, None, :]
            pool += pool_l
            core = np.zeros((h, w), np.float32)
            cv2.circle(core, (int(lx), int(ly)), int(r), 1.0, -1)
            glow = cv2.GaussianBlur(core, (0, 0), r * 1.5)
            rad += (core * 3.0 + glow * 0.4)[:, :, None] * col[None, None, :]
    if light.lamps and scene.windows is not None and scene.windows.any() and light.level < 0.05:
        rad[scene.windows] += np.array([0.12, 0.09, 0.05], np.float32)
    if light.ir:
        # IR: the illuminator lights the near middle; the picture is monochrome
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h * 0.6) / (h / 2)) ** 2
        spot = 0.01 / (1.0 + 1.5 * d)
        grey = scene.albedo.mean(axis=2, keepdims=True) * spot[:, :, None]
        rad = rad.mean(axis=2, keepdims=True) + grey
        rad = np.repeat(rad, 3, axis=2)
    return rad.astype(np.float32)


def disc_kernel(radius: float) -> np.ndarray:
    r = max(1, int(math.ceil(radius)))
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    k = np.clip(radius + 0.5 - np.sqrt(x * x + y * y), 0, 1)
    return (k / k.sum()).astype(np.float32)


@dataclass
class Camera:
    """One camera's fixed character (chosen per camera, kept across its frames)."""

    target: float = 0.18        # auto-exposure's mid-grey aim (linear)
    max_gain: float = 60.0      # AE cannot amplify beyond this (relative to daylight)
    awb: float = 0.85           # how much of the illuminant's colour the white balance removes
    read_noise: float = 0.0015  # sensor read noise (linear units at unity gain)
    shot: float = 0.0006        # photon noise scale
    vignette: float = 0.2       # light lost in the corners
    optics: float = 0.7         # lens softness (Gaussian sigma, px)
    sharpen: float = 0.5
    gamma: float = 1 / 2.2
    quality: int = 75
    osd: str = "latin"          # "latin", "cjk", "none"
    name: str = "CAM-01"
    osd_size: float = 18.0      # text height at 640 px wide
    clock_right: bool = False   # where this camera draws its clock and name (fixed)
    name_right: bool = False

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Camera":
        names_latin = ["IPC-0231 GATE E", "CH07 LOBBY", "B2 PARKING 14", "Jiefang Rd No.3", "CAM 112"]
        names_cjk = ["幸福小区 东门", "3号楼 大厅", "地下车库 B2-07", "文化路口 北向南", "花园 西侧"]
        osd = ["latin", "cjk", "cjk", "none"][int(rng.integers(4))]
        return cls(target=float(rng.uniform(0.14, 0.22)), max_gain=float(rng.uniform(30, 120)),
                   awb=float(rng.uniform(0.75, 0.95)), read_noise=float(rng.uniform(0.0008, 0.003)),
                   shot=float(rng.uniform(0.0003, 0.0012)), vignette=float(rng.uniform(0.1, 0.35)),
                   optics=float(rng.uniform(0.5, 1.0)), sharpen=float(rng.uniform(0.2, 0.8)),
                   gamma=float(rng.uniform(1 / 2.4, 1 / 2.0)), quality=int(rng.integers(45, 92)), osd=osd,
                   name=(names_cjk if osd == "cjk" else names_latin)[int(rng.integers(5))],
                   osd_size=float(rng.uniform(14, 22)), clock_right=bool(rng.random() < 0.5),
                   name_right=bool(rng.random() < 0.4))


@dataclass
class Faults:
    """Fault hooks, each applied at its own stage (all optional)."""

    in_front: Optional[Callable[[np.ndarray, np.random.Generator], np.ndarray]] = None  # cover, veil
    defocus: float = 0.0          # disc radius, px
    motion: float = 0.0           # shake during the exposure, px
    exposure: float = 1.0         # multiplies what auto-exposure chose
    wb_gain: Optional[np.ndarray] = None  # RGB gains after the white balance (a cast)
    ir_cut_stuck: float = 0.0     # IR light leaking into the colour picture (0..1)
    gain: float = 1.0             # analogue gain forced up (noise)
    analog: Optional[Callable[[np.ndarray, np.random.Generator], np.ndarray]] = None  # after the tone curve
    dnr: bool = True              # the camera's noise reduction works


def shoot(scene: Scene, light: Light, cam: Camera, rng: np.random.Generator, faults: Faults = Faults(),
          when: str = "2026-06-01T11:00:00+08:00") -> np.ndarray:
    """A BGR uint8 frame (with OSD), before the encoder."""
    rad = radiance(scene, light, rng)
    h, w = rad.shape[:2]
    if faults.ir_cut_stuck > 0:
        # without the IR-cut filter by day, near-IR adds to all three channels, mostly red
        # and blue (the Bayer dyes pass IR): a pink/purple, washed-out picture
        lum = rad.mean(axis=2, keepdims=True)
        rad = rad + faults.ir_cut_stuck * lum * np.array([1.0, 0.55, 0.9], np.float32)[None, None, :]
    if faults.in_front is not None:
        rad = faults.in_front(rad, rng)
    # white balance: the camera removes most of the illuminant's colour (not by night in IR)
    if not light.ir:
        wb = (1.0 / light.colour) ** cam.awb
        wb = wb / wb[1]
        rad = rad * wb[None, None, :]
    if faults.wb_gain is not None:
        rad = rad * faults.wb_gain[None, None, :]
    # auto-exposure on the centre-weighted mean, within the sensor's gain range
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    weight = np.exp(-(((xx - w / 2) / (0.6 * w)) ** 2 + ((yy - h / 2) / (0.6 * h)) ** 2))
    lum = rad.mean(axis=2)
    meas = float((lum * weight).sum() / weight.sum())
    k = cam.target / max(meas, 1e-6)
    k = min(k, cam.max_gain)
    # the sensor's gain is what auto-exposure chose; an iris stuck open or shut changes the
    # light that reaches the sensor, not the gain (nor, so, the read noise)
    gain = max(1.0, k) * faults.gain
    k *= faults.exposure
    raw = rad * k * faults.gain
    # optics: defocus disc, shake, lens softness, vignetting
    if faults.defocus > 0:
        raw = cv2.filter2D(raw, -1, disc_kernel(faults.defocus), borderType=cv2.BORDER_REFLECT)
    if faults.motion > 0:
        n = max(3, int(faults.motion) | 1)
        ker = np.zeros((n, n), np.float32)
        ang = rng.uniform(0, math.pi)
        c = n // 2
        for t in np.linspace(-c, c, 4 * n):
            ker[int(round(c + t * math.sin(ang))), int(round(c + t * math.cos(ang)))] = 1
        raw = cv2.filter2D(raw, -1, ker / ker.sum(), borderType=cv2.BORDER_REFLECT)
    raw = cv2.GaussianBlur(raw, (0, 0), cam.optics)
    d2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    raw = raw * (1.0 - cam.vignette * np.clip(d2 / 2.0, 0, 1))[:, :, None]
    # bloom: light beyond full well spills into the neighbours before clipping
    over = np.clip(raw - 1.0, 0, None)
    if float(over.max()) > 0:
        raw = raw + cv2.GaussianBlur(over, (0, 0), max(2.0, w / 150)) * 0.6
    # sensor noise: photon noise grows with the signal, read noise with the gain
    sig = np.sqrt(cam.shot * np.clip(raw, 0, 1) * min(gain, 200) / 4 + (cam.read_noise * gain) ** 2)
    if faults.dnr and gain > 1.0:
        # temporal noise reduction (3D-DNR) averages several frames where nothing moves
        sig = sig / (1.0 + 2.0 * min(1.0, (gain - 1.0) / 8.0))
    raw = raw + rng.standard_normal(raw.shape).astype(np.float32) * sig
    if light.ir or faults.ir_cut_stuck < 0:
        raw = np.repeat(raw.mean(axis=2, keepdims=True), 3, axis=2)
    raw = np.clip(raw, 0, 1)
    # tone curve, noise reduction (every IP camera has one; its strength follows the noise
    # it sees, up to what it can remove without smearing the picture), sharpening
    out = 255.0 * raw ** cam.gamma
    if faults.dnr:
        g8 = out.mean(axis=2)
        est = 1.4826 * float(np.median(np.abs(g8 - cv2.GaussianBlur(g8, (0, 0), 1.0)))) * 1.6
        if est > 1.0:
            out = cv2.bilateralFilter(out.astype(np.float32), 7, min(3.0 * est, 40.0), 3.0)
    if cam.sharpen > 0:
        out = out + cam.sharpen * (out - cv2.GaussianBlur(out, (0, 0), 1.2))
    if faults.analog is not None:
        out = faults.analog(out, rng)
    bgr = np.clip(out[:, :, ::-1], 0, 255).astype(np.uint8)
    return burn_osd(bgr, cam, when, rng)


def stamp(when: str, cjk: bool, rng: np.random.Generator) -> str:
    d, t = when[:10], when[11:19]
    t = f"{t[:6]}{int(rng.integers(0, 60)):02d}"
    if cjk:
        y, m, dd = d.split("-")
        return f"{y}-{m}-{dd} 星期{'一二三四五六日'[int(rng.integers(7))]} {t}"
    return f"{d[5:7]}/{d[8:10]}/{d[:4]} {t}"


def cjk_font() -> Optional[str]:
    import os

    for f in CJK_FONTS:
        if os.path.exists(f):
            return f
    return None


def draw_text(img: np.ndarray, text: str, xy: tuple[int, int], size: int, colour=(255, 255, 255),
              outline: bool = True) -> np.ndarray:
    """Text in a TrueType CJK font (PIL) when the text needs it, else OpenCV's Hershey."""
    if all(ord(ch) < 128 for ch in text) or cjk_font() is None:
        if not all(ord(ch) < 128 for ch in text):
            text = text.encode("ascii", "ignore").decode() or "NO VIDEO"
        sc = size / 30.0
        th = max(1, int(round(size / 14)))
        if outline:
            cv2.putText(img, text, (xy[0], xy[1] + size), cv2.FONT_HERSHEY_DUPLEX, sc, (0, 0, 0), th + 2, cv2.LINE_AA)
        cv2.putText(img, text, (xy[0], xy[1] + size), cv2.FONT_HERSHEY_DUPLEX, sc, colour[::-1], th, cv2.LINE_AA)
        return img
    from PIL import Image, ImageDraw, ImageFont

    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    font = ImageFont.truetype(cjk_font(), size)
    ImageDraw.Draw(pil).text(xy, text, font=font, fill=tuple(colour), stroke_width=1 if outline else 0,
                             stroke_fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def text_width(text: str, size: int) -> int:
    if all(ord(ch) < 128 for ch in text) or cjk_font() is None:
        (tw, _), _ = cv2.getTextSize(text.encode("ascii", "ignore").decode() or "NO VIDEO",
                                     cv2.FONT_HERSHEY_DUPLEX, size / 30.0, max(1, int(round(size / 14))))
        return tw
    from PIL import ImageFont

    return int(ImageFont.truetype(cjk_font(), size).getlength(text))


def burn_osd(bgr: np.ndarray, cam: Camera, when: str, rng: np.random.Generator) -> np.ndarray:
    if cam.osd == "none":
        return bgr
    h, w = bgr.shape[:2]
    size = max(12, int(w / 640 * cam.osd_size))
    cjk = cam.osd == "cjk"
    out = bgr.copy()
    st = stamp(when, cjk, rng)
    x = w - text_width(st, size) - 10 if cam.clock_right else 10
    out = draw_text(out, st, (x, 8), size)
    x = max(10, w - text_width(cam.name, size) - 10) if cam.name_right else 10
    return draw_text(out, cam.name, (x, h - size - 12), size)


def encode(bgr: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def weather(kind: str, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rain streaks or falling snow over a finished frame (a clean, not faulty, variation)."""
    h, w = frame.shape[:2]
    f = frame.astype(np.float32)
    if kind == "rain":
        layer = np.zeros((h, w), np.float32)
        n = int(w * h / 900)
        xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
        ln = int(h / 25)
        for x, y in zip(xs, ys):
            cv2.line(layer, (int(x), int(y)), (int(x) + ln // 5, int(y) + ln), 1.0, 1)
        layer = cv2.GaussianBlur(layer, (0, 0), 0.8)
        f = f * 0.85 + 25 + layer[:, :, None] * 40
    elif kind == "snow":
        layer = np.zeros((h, w), np.float32)
        for _ in range(int(w * h / 1500)):
            cv2.circle(layer, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(1, 3)), 1.0, -1)
        layer = cv2.GaussianBlur(layer, (0, 0), 0.8)
        f = f * 0.9 + 20 + layer[:, :, None] * 90
    elif kind == "fog":
        veil = 0.25 + 0.2 * fractal(rng, h, w, 3, 2)
        f = f * (1 - veil[:, :, None]) + 190 * veil[:, :, None]
    return np.clip(f, 0, 255).astype(np.uint8)
