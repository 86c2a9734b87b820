"""What the lens looks at, as scene radiance in linear light (float32 RGB, 0..~1).

Procedurally rendered city views (a street with facades, sky and cars; a residential
courtyard with trees and lawn; a warm interior corridor; an underground car park; a view
that is mostly blue sky; a park) and the two photographs scikit-learn ships (a temple in
China, a flower close-up). None of them is a scikit-image photograph: the development set
and the simulator are built from those.

Everything is drawn at the camera's resolution from a seeded generator, so a scene can be
re-rendered with the light changed (day, dusk, night with lamps) and the objects moved a
little (a live camera's next frame).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

KINDS = ("street", "courtyard", "interior", "garage", "sky", "park", "photo_china", "photo_flower")


def srgb_to_linear(u8: np.ndarray) -> np.ndarray:
    x = u8.astype(np.float32) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def fractal(rng: np.random.Generator, h: int, w: int, octaves: int = 5, base: int = 4) -> np.ndarray:
    """Smooth value noise in 0..1 (sum of upsampled random grids)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        gh, gw = base * 2 ** o, max(2, int(base * 2 ** o * w / max(h, 1)))
        g = rng.random((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.55
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _rgb(c) -> np.ndarray:
    """An sRGB 0..255 colour -> linear reflectance."""
    return srgb_to_linear(np.array(c, np.uint8).reshape(1, 1, 3)).reshape(3)


def _fill(img: np.ndarray, mask: np.ndarray, colour, tex: np.ndarray | None = None, amount: float = 0.25) -> None:
    col = _rgb(colour)
    if tex is None:
        img[mask] = col
    else:
        img[mask] = col[None, :] * (1.0 - amount + 2 * amount * tex[mask][:, None])


@dataclass
class Scene:
    """A rendered view: reflectance (linear RGB), which pixels are sky (lit by the sky,
    not by the scene's lamps), where the lamps are (their own light, for night), and
    whether the light inside is warm (tungsten) or fluorescent."""

    kind: str
    albedo: np.ndarray
    sky: np.ndarray
    lamps: list = field(default_factory=list)  # (x, y, radius, colour rgb linear)
    windows: np.ndarray | None = None  # mask of windows that glow at night
    indoor: str = ""  # "" outdoors, "warm" or "fluorescent"


def _sky(rng, h, w, horizon: int, overcast: bool) -> np.ndarray:
    y = np.linspace(0, 1, max(horizon, 1), dtype=np.float32)[:, None]
    if overcast:
        top, bottom = _rgb((175, 180, 188)), _rgb((210, 212, 215))
    else:
        top, bottom = _rgb((70, 120, 200)), _rgb((160, 190, 225))
    sky = top[None, None, :] * (1 - y[:, :, None]) + bottom[None, None, :] * y[:, :, None]
    sky = np.repeat(sky, w, axis=1)
    clouds = fractal(rng, max(horizon, 1), w, 5, 3)
    c = np.clip((clouds - float(rng.uniform(0.45, 0.7))) * 3.0, 0, 1)[:, :, None]
    white = _rgb((235, 236, 238))
    return (sky * (1 - c) + white[None, None, :] * c).astype(np.float32)


def _facade(rng, img, x0, x1, y0, y1, windows_mask):
    h, w = img.shape[:2]
    base = [(200, 190, 170), (170, 170, 165), (150, 80, 60), (215, 210, 200), (120, 130, 140),
            (185, 160, 130)][int(rng.integers(6))]
    tex = fractal(rng, h, w, 4, 8)
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    _fill(img, m, base, tex, 0.15)
    ww, wh = int(rng.integers(10, 26)), int(rng.integers(14, 30))
    gx, gy = ww + int(rng.integers(8, 24)), wh + int(rng.integers(12, 30))
    glass = [(60, 70, 80), (40, 50, 60), (90, 100, 110)][int(rng.integers(3))]
    for yy in range(y0 + 10, y1 - wh - 4, gy):
        for xx in range(x0 + 8, x1 - ww - 4, gx):
            img[yy:yy + wh, xx:xx + ww] = _rgb(glass)
            img[yy - 2:yy, xx - 2:xx + ww + 2] = _rgb((230, 230, 225))  # sill
            if windows_mask is not None and rng.random() < 0.35:
                windows_mask[yy:yy + wh, xx:xx + ww] = True
    # a shop front / door at the bottom
    if y1 - y0 > 60:
        dw = int(rng.integers(20, 50))
        dx = int(rng.integers(x0, max(x0 + 1, x1 - dw)))
        img[y1 - 50:y1, dx:dx + dw] = _rgb((50, 45, 40))


def _trees(rng, img, n, y_lo, y_hi, size):
    h, w = img.shape[:2]
    leaf = fractal(rng, h, w, 5, 16)
    for _ in range(n):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(y_lo, max(y_lo + 1, y_hi)))
        r = int(size * rng.uniform(0.6, 1.4))
        trunk = (int(cx - r * 0.08), cy, int(cx + r * 0.08), cy + int(r * 1.6))
        cv2.rectangle(img, trunk[:2], trunk[2:], tuple(float(v) for v in _rgb((70, 55, 40))), -1)
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(m, (cx, cy), (r, int(r * 0.85)), 0, 0, 360, 1, -1)
        m = m.astype(bool) & (leaf > 0.25)
        green = [(60, 110, 45), (80, 120, 50), (50, 90, 40)][int(rng.integers(3))]
        _fill(img, m, green, leaf, 0.45)


def _cars(rng, img, n, y, scale):
    h, w = img.shape[:2]
    for _ in range(n):
        cw, ch = int(scale * rng.uniform(60, 110)), int(scale * rng.uniform(26, 40))
        x = int(rng.integers(-cw // 2, w - cw // 2))
        col = [(200, 30, 30), (230, 230, 230), (30, 30, 35), (40, 70, 150), (150, 150, 155), (210, 180, 40)][
            int(rng.integers(6))]
        cv2.rectangle(img, (x, y - ch), (x + cw, y), tuple(float(v) for v in _rgb(col)), -1)
        cv2.rectangle(img, (x + cw // 5, y - ch - ch // 2), (x + 4 * cw // 5, y - ch),
                      tuple(float(v) for v in _rgb(col)), -1)
        cv2.rectangle(img, (x + cw // 4, y - ch - ch // 2 + 3), (x + 3 * cw // 4, y - ch - 1),
                      tuple(float(v) for v in _rgb((40, 50, 60))), -1)
        for wx in (x + cw // 5, x + 4 * cw // 5):
            cv2.circle(img, (wx, y), max(3, ch // 3), tuple(float(v) for v in _rgb((20, 20, 20))), -1)


def _people(rng, img, n, y_lo, y_hi, scale):
    h, w = img.shape[:2]
    for _ in range(n):
        x, y = int(rng.integers(0, w)), int(rng.integers(y_lo, max(y_lo + 1, y_hi)))
        s = scale * rng.uniform(0.8, 1.2)
        col = tuple(float(v) for v in _rgb(tuple(int(c) for c in rng.integers(20, 220, 3))))
        cv2.rectangle(img, (x - int(6 * s), y - int(34 * s)), (x + int(6 * s), y), col, -1)
        cv2.circle(img, (x, y - int(40 * s)), max(2, int(6 * s)), tuple(float(v) for v in _rgb((190, 150, 120))), -1)


def _ground(rng, img, y0, colour, amount=0.3, lines=True):
    h, w = img.shape[:2]
    tex = fractal(rng, h, w, 6, 24)
    grain = rng.random((h, w)).astype(np.float32)
    tex = 0.6 * tex + 0.4 * grain
    m = np.zeros((h, w), bool)
    m[y0:] = True
    _fill(img, m, colour, tex, amount)
    if lines:
        for k in range(int(rng.integers(1, 4))):
            yy = int(y0 + (h - y0) * rng.uniform(0.3, 0.9))
            for xx in range(int(rng.integers(0, 40)), w, 80):
                cv2.rectangle(img, (xx, yy), (xx + 40, yy + 3), tuple(float(v) for v in _rgb((220, 220, 210))), -1)


def render(kind: str, rng: np.random.Generator, w: int, h: int) -> Scene:
    """One view of ``kind`` at w x h (reflectance in linear light)."""
    img = np.zeros((h, w, 3), np.float32)
    sky = np.zeros((h, w), bool)
    win = np.zeros((h, w), bool)
    lamps: list = []
    if kind in ("street", "sky", "courtyard"):
        horizon = int(h * {"street": rng.uniform(0.2, 0.4), "sky": rng.uniform(0.5, 0.65),
                           "courtyard": rng.uniform(0.1, 0.3)}[kind])
        img[:horizon] = _sky(rng, h, w, horizon, overcast=rng.random() < 0.3)
        sky[:horizon] = True
        # far behind the facades: a hazy tree line and low roofs
        _fill(img, ~sky, (110, 118, 105), fractal(rng, h, w, 5, 12), 0.3)
        ground_y = int(h * rng.uniform(0.62, 0.75)) if kind != "sky" else int(h * rng.uniform(0.8, 0.9))
        x = 0
        while x < w:
            bw = int(rng.integers(w // 6, w // 2))
            top = int(rng.integers(max(0, horizon - h // 6), horizon + 5)) if kind != "sky" else \
                int(rng.integers(horizon, max(horizon + 1, ground_y - 20)))
            _facade(rng, img, x, min(w, x + bw), top, ground_y, win)
            sky[top:ground_y, x:min(w, x + bw)] = False
            x += bw + int(rng.integers(0, 20))
        _ground(rng, img, ground_y, (95, 95, 98) if kind != "courtyard" else (120, 115, 105))
        if kind == "courtyard":
            lawn = np.zeros((h, w), bool)
            lawn[ground_y + (h - ground_y) // 3:, : w // 2] = True
            _fill(img, lawn, (70, 120, 50), fractal(rng, h, w, 6, 32), 0.5)
            _trees(rng, img, int(rng.integers(2, 5)), ground_y - h // 5, ground_y, h // 6)
        elif kind == "street":
            _trees(rng, img, int(rng.integers(0, 3)), ground_y - h // 6, ground_y, h // 7)
        _cars(rng, img, int(rng.integers(1, 5)), int(ground_y + (h - ground_y) * rng.uniform(0.3, 0.8)), h / 360)
        _people(rng, img, int(rng.integers(0, 5)), ground_y + 10, h - 5, h / 360)
        for _ in range(int(rng.integers(1, 4))):  # street lamps: lit at night
            lx = int(rng.integers(0, w))
            ly = int(ground_y - h * rng.uniform(0.15, 0.35))
            cv2.line(img, (lx, ly), (lx, ground_y), tuple(float(v) for v in _rgb((60, 60, 60))), max(2, w // 300))
            sodium = rng.random() < 0.5
            lamps.append((lx, ly, max(3, w // 120), np.array([1.0, 0.55, 0.15] if sodium else [1.0, 0.97, 0.9],
                                                            np.float32)))
        sky &= True
        return Scene(kind, img, sky, lamps, win)
    if kind == "park":
        horizon = int(h * rng.uniform(0.05, 0.25))
        img[:horizon] = _sky(rng, h, w, horizon, overcast=rng.random() < 0.3)
        sky[:horizon] = True
        lawn = np.zeros((h, w), bool)
        lawn[horizon:] = True
        _fill(img, lawn, (75, 125, 55), fractal(rng, h, w, 6, 40), 0.55)
        path = np.zeros((h, w), np.uint8)
        pts = np.array([[int(w * rng.uniform(0.3, 0.5)), h], [int(w * rng.uniform(0.45, 0.6)), horizon + 20],
                        [int(w * rng.uniform(0.5, 0.65)), horizon + 20], [int(w * rng.uniform(0.6, 0.9)), h]])
        cv2.fillPoly(path, [pts.astype(np.int32)], 1)
        _fill(img, path.astype(bool), (165, 160, 150), fractal(rng, h, w, 6, 32), 0.3)
        _trees(rng, img, int(rng.integers(3, 8)), horizon, horizon + h // 3, h // 5)
        _people(rng, img, int(rng.integers(0, 4)), horizon + h // 3, h - 5, h / 300)
        lamps.append((int(w * 0.7), horizon + h // 6, max(3, w // 120), np.array([1.0, 0.97, 0.9], np.float32)))
        return Scene(kind, img, sky, lamps, win)
    if kind in ("interior", "garage"):
        # a corridor in one-point perspective: floor, ceiling, two walls, a far wall
        cx, cy = int(w * rng.uniform(0.4, 0.6)), int(h * rng.uniform(0.4, 0.55))
        fw, fh = int(w * rng.uniform(0.15, 0.3)), int(h * rng.uniform(0.2, 0.35))
        far = np.array([[cx - fw // 2, cy - fh // 2], [cx + fw // 2, cy - fh // 2], [cx + fw // 2, cy + fh // 2],
                        [cx - fw // 2, cy + fh // 2]])
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]])
        if kind == "interior":
            wall = [(225, 205, 170), (235, 225, 205), (200, 175, 140), (215, 215, 210)][int(rng.integers(4))]
            floor = [(150, 100, 60), (190, 170, 140), (120, 80, 50)][int(rng.integers(3))]
            ceil = (240, 235, 225)
        else:
            wall, floor, ceil = (165, 165, 160), (110, 110, 112), (140, 140, 138)
        tex = fractal(rng, h, w, 5, 16)
        polys = [(np.array([corners[0], corners[1], far[1], far[0]]), ceil, 0.05),
                 (np.array([corners[3], corners[2], far[2], far[3]]), floor, 0.3),
                 (np.array([corners[0], far[0], far[3], corners[3]]), wall, 0.1),
                 (np.array([corners[1], far[1], far[2], corners[2]]), wall, 0.1),
                 (far, wall, 0.1)]
        for poly, col, amt in polys:
            m = np.zeros((h, w), np.uint8)
            cv2.fillPoly(m, [poly.astype(np.int32)], 1)
            _fill(img, m.astype(bool), col, tex, amt)
        # floor tiles / parking bay lines converging to the vanishing point
        for k in range(-6, 7):
            x_near = cx + k * w // 6
            cv2.line(img, (x_near, h), (cx + k * fw // 12, cy + fh // 2),
                     tuple(float(v) for v in _rgb((90, 70, 50) if kind == "interior" else (220, 210, 90))), 1)
        # doors / pillars on the side walls, lights on the ceiling
        for k in range(int(rng.integers(2, 5))):
            t = rng.uniform(0.1, 0.8)
            x = int(t * (cx - fw // 2))
            top = int(t * (cy - fh // 2))
            bot = int(h - t * (h - cy - fh // 2))
            col = (110, 70, 40) if kind == "interior" else (190, 190, 185)
            cv2.rectangle(img, (x, top + (bot - top) // 4), (x + max(4, int((1 - t) * w * 0.06)), bot),
                          tuple(float(v) for v in _rgb(col)), -1)
            lx, ly = int(cx + (0 - cx) * t * 0.3 + (w - cx) * t * 0.3), int(t * (cy - fh // 2) * 0.6)
            lamps.append((lx, max(2, ly), max(2, int(w / 100 * (1 - t) + 2)),
                          np.array([1.0, 0.8, 0.55] if kind == "interior" else [0.9, 1.0, 0.92], np.float32)))
        if kind == "garage":
            _cars(rng, img, int(rng.integers(1, 4)), int(h * rng.uniform(0.8, 0.95)), h / 300)
        else:
            _people(rng, img, int(rng.integers(0, 3)), cy + fh // 2, h - 5, h / 250)
        return Scene(kind, img, sky, lamps, win, "warm" if kind == "interior" else "fluorescent")
    if kind.startswith("photo_"):
        from sklearn.datasets import load_sample_image

        name = {"photo_china": "china.jpg", "photo_flower": "flower.jpg"}[kind]
        rgb = load_sample_image(name)
        ph, pw = rgb.shape[:2]
        s = min(pw / w, ph / h)
        cw, ch = int(w * s * rng.uniform(0.75, 1.0)), int(h * s * rng.uniform(0.75, 1.0))
        x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
        crop = rgb[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crop = cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_AREA if cw > w else cv2.INTER_CUBIC)
        lin = srgb_to_linear(crop)
        # the photographs are already exposed: bring them back to reflectance-like values
        return Scene(kind, np.clip(lin / max(float(np.percentile(lin, 99.5)), 1e-3) * 0.85, 0, 1), sky, [], win)
    raise ValueError(f"unknown scene kind {kind!r}")
