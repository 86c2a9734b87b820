"""The measures behind each fault: pure numpy/OpenCV functions, no thresholds.

Everything that does not need full resolution works on a downscaled copy (~640 px wide,
what VQD systems judge on a camera's sub-stream): it is ~9x fewer pixels at 1080p and a
focus measure there is less fooled by sensor noise and JPEG blocking. Only the noise
estimate and the frozen comparison look at full resolution, because downscaling averages
exactly the pixel-level differences they measure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

import cv2
import numpy as np

# Immerkær (1996) fast noise estimation kernel: the difference of two Laplacians cancels
# image structure up to second order, leaving mostly the sensor noise.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
_NOISE_SCALE = math.sqrt(math.pi / 2.0) / 6.0


# --- uncertainty ------------------------------------------------------------------------
#
# A measured value carries its uncertainty: a frame whose value sits just past a limit by
# less than the measure's own scatter is not a fault. For measures that summarise the
# whole view (colour, sharpness, noise) the scatter that matters is the scene's: how much
# the value depends on which part of the view it is read from. It is estimated from the
# frame itself by batch means over the four quadrants: the measure is read on each
# quadrant and the standard error of the whole-view value is the spread of the four
# readings over the square root of four. A fault of the camera (a cast, a defocused lens,
# gain noise) is the same in every quadrant and gives four close readings; a coloured
# object or a soft patch in one quadrant gives one reading apart.

def quadrant_masks(shape: tuple[int, int]) -> list[np.ndarray]:
    """Four boolean masks, one per quadrant of an array of ``shape`` (rows, cols)."""
    h, w = shape
    yy = (np.arange(h) >= h // 2)[:, None]
    xx = (np.arange(w) >= w // 2)[None, :]
    return [(yy == a) & (xx == b) for a in (False, True) for b in (False, True)]


def batch_se(readings: list[float]) -> float:
    """Standard error of a whole-view value from its readings on disjoint parts (batch
    means); 0 when fewer than two parts could be read."""
    k = len(readings)
    if k < 2:
        return 0.0
    return float(np.std(readings, ddof=1) / math.sqrt(k))


def upper_percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (linear interpolation, the same value to the last bit) of
    finite values for a high ``q``: only the values near the top are ordered, not all of
    them. A sparse sample gives a first threshold; when it keeps too few values to hold the
    order statistics wanted, numpy's own percentile is taken instead."""
    flat = x.ravel()
    n = flat.size
    if n < 4096 or not 50.0 <= q < 100.0:
        return float(np.percentile(flat, q))
    vi = (n - 1) * (q / 100.0)
    lo = int(math.floor(vi))
    need = n - lo  # the values from order position ``lo`` up
    sample = flat[::16]
    k = sample.size - 1 - min(sample.size - 1, 2 * need // 16 + 8)
    t0 = np.partition(sample, k)[k]
    top = flat[flat >= t0]
    if top.size < need:
        return float(np.percentile(flat, q))
    i = lo - (n - top.size)
    top.partition((i, i + 1))
    a, b = top[i], top[i + 1]
    # numpy's _lerp, in the array's dtype, the weight a Python float (weak promotion)
    t = float(vi - math.floor(vi))
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


@dataclass
class Prepared:
    """One frame, decoded once, with the copies every measure shares."""

    # full resolution; None on a kept reference (``prepare_reference``), which keeps only
    # what its readings need
    bgr: Optional[np.ndarray]
    gray: Optional[np.ndarray]  # full resolution, uint8 (None as ``bgr``)
    small_bgr: np.ndarray    # analysis copy (~640 wide), on-screen text filled in
    small: np.ndarray        # analysis copy, gray float32, on-screen text filled in
    scale: float             # full width / analysis width
    osd: Optional[np.ndarray] = None  # analysis-size mask of burned-in text (uint8 0/1)
    # Its readings of itself alone (its histogram, its noise, its spectrum...) by key, made
    # once (see ``reading``): several measures of one judgement share them, and a kept
    # reference keeps them for every frame judged against it.
    readings: dict[Any, Any] = field(default_factory=dict)


_T = TypeVar("_T")


def reading(p: Prepared, key: Any, compute: Callable[[], _T]) -> _T:
    """``compute()``: a reading of ``p`` alone, made once and reused by every measure of
    ``p`` that asks for it (and, ``p`` being a kept reference, by every later frame judged
    against it). ``key`` names the reading and its parameters; callers never modify what it
    returns (it is shared)."""
    if key not in p.readings:
        p.readings[key] = compute()
    return p.readings[key]


_OSD_K = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
# bold captions: an encoder's "NO VIDEO" in a bold font 30-50 px tall (analysis size) has
# strokes 8-10 px wide, which the 7x7 top-hat keeps only the corners of
_OSD_K_BOLD = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
# (analysis pixels) the smallest such caption: bold strokes as wide as 7 px come with fonts
# over twice that tall
_CAPTION_HEIGHT = 16
_OSD_ROW = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 3))


def osd_mask(gray: np.ndarray) -> np.ndarray:
    """Burned-in on-screen text (clock, camera name, "NO VIDEO"): thin strokes much
    brighter (or, for outlined fonts, darker) than their surroundings, laid out in rows.

    Real cameras draw this after the lens, so it stays sharp on a blurred picture, stays
    when the lens is covered, and sits on a black "no signal" screen: every measure must
    look past it. Round bright spots (lamps, headlights) are not rows and are kept.
    """
    top = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, _OSD_K)
    # two passes: crisp white cores (big fonts, on busy scenes) and fainter thin strokes
    # (small fonts after JPEG), each kept only where its rows look like text
    text = _text_rows(gray, ((top > 60) & (gray >= 225)).astype(np.uint8))
    text |= _text_rows(gray, ((top > 50) & (gray >= 160)).astype(np.uint8))
    # a third for bold captions, kept only as an encoder draws them (see _text_rows)
    bold = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, _OSD_K_BOLD)
    text |= _text_rows(gray, ((bold > 50) & (gray >= 160)).astype(np.uint8), caption=True)
    if not text.any():
        return text
    # take in the glyphs' outline and anti-aliasing too
    return cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))


def _label_type(shape: tuple[int, int]) -> int:
    """16-bit labels where every possible 8-connected part fits (at most one per 2x2
    pixels): the same labels and stats as 32-bit ones, and OpenCV labels with stats ~3x
    faster in 16 bits (1.4 against 0.4 ms at 640x360, one thread)."""
    h, w = shape
    return cv2.CV_16U if ((h + 1) // 2) * ((w + 1) // 2) < 65535 else cv2.CV_32S


def _text_rows(gray: np.ndarray, strokes: np.ndarray, caption: bool = False) -> np.ndarray:
    """The lines of text among ``strokes``: in the top and bottom fifth of the view, where
    cameras put their clock and name, or elsewhere on a plain background. ``caption``: only
    a large line centred across the view on a plain background, as an encoder draws its
    message (the wider top-hat that finds bold strokes also lifts pairs of lit windows out
    of a facade at dusk: short lines, anywhere across it)."""
    if not strokes.any():
        return strokes
    rows = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, _OSD_ROW)
    n, lab = cv2.connectedComponents(rows, connectivity=8, ltype=_label_type(rows.shape))
    h, w = gray.shape
    keep = np.zeros(n, np.uint8)
    # each line's box, read over its few pixels (OpenCV's own stats cost more than the
    # labelling: they visit every pixel of the picture)
    at = np.flatnonzero(rows.astype(bool))  # (on a boolean mask ~8x faster than on uint8)
    ids = lab.ravel()[at]
    ys, xs = np.divmod(at, w)
    left, top = np.full(n, w), np.full(n, h)
    right, bottom = np.full(n, -1), np.full(n, -1)
    np.minimum.at(left, ids, xs)
    np.minimum.at(top, ids, ys)
    np.maximum.at(right, ids, xs)
    np.maximum.at(bottom, ids, ys)
    width, height = right - left + 1, bottom - top + 1
    # stroke pixels per line (counted over the strokes only: they are few)
    ink = np.bincount(lab[strokes.astype(bool)], minlength=n)
    fill = ink / np.maximum(width * height, 1)  # glyph strokes cover part of their box only
    # a line of text: wider than tall, no taller than a big caption
    line = (width >= 3 * height) & (height >= 4) & (height <= 0.12 * h) & (width >= 0.05 * w) & \
        (fill >= 0.08) & (fill <= 0.7)
    line[0] = False  # the background
    for k in np.flatnonzero(line):
        x0, y0, bw, bh = int(left[k]), int(top[k]), int(width[k]), int(height[k])
        cy = y0 + bh / 2.0
        if caption and (bh < _CAPTION_HEIGHT or abs(x0 + bw / 2.0 - w / 2.0) > 0.1 * w):
            continue
        if (cy < 0.2 * h or cy > 0.8 * h) and not caption:
            keep[k] = 1  # where cameras put the clock and the name
            continue
        # elsewhere only on a plain background (a "NO VIDEO" caption on a blank screen);
        # bright texture (grass blades, a fence in the sun) is not text
        # the background is read on a ring just outside the line's box
        ya, yb, xa, xb = max(0, y0 - 6), min(h, y0 + bh + 6), max(0, x0 - 6), min(w, x0 + bw + 6)
        ring = gray[ya:yb, xa:xb].astype(np.float32)
        inner = np.zeros(ring.shape, bool)
        inner[y0 - ya:y0 - ya + bh, x0 - xa:x0 - xa + bw] = True
        bg = ring[~inner]
        if caption:
            # an encoder's screen is blank across the view beside its message: the rows of
            # the line left and right of it are as plain (a facade's windows go on)
            side = np.concatenate([gray[y0:y0 + bh, :xa].ravel(), gray[y0:y0 + bh, xb:].ravel()])
            bg = np.concatenate([bg, side.astype(np.float32)])
        if bg.size and float(bg.std()) < 12.0 and float(np.median(bg)) < 150:
            keep[k] = 1
    if not keep.any():
        return np.zeros_like(strokes)
    return keep[lab]


# how many rows the fill's blur (sigma 6: OpenCV's float kernel has 49 taps, 24 on each
# side) reaches, with a margin
_FILL_REACH = 26


def _row_bands(m: np.ndarray, reach: int) -> list[tuple[int, int]]:
    """Bands of whole rows [start, end) holding every row within ``reach`` of a row of
    ``m`` with a pixel set, bands closer than that merged."""
    rows = np.flatnonzero(m.any(axis=1))
    bands: list[tuple[int, int]] = []
    for y in rows:
        a, b = max(0, int(y) - reach), min(m.shape[0], int(y) + reach + 1)
        if bands and a <= bands[-1][1]:
            bands[-1] = (bands[-1][0], b)
        else:
            bands.append((a, b))
    return bands


def _fill(small_bgr: np.ndarray, small_gray: np.ndarray,
          mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The colour copy (8-bit, rounded) and the gray copy (float32) with their masked pixels
    replaced by a normalised blur of the unmasked ones around them.

    Only the bands of whole rows within the blur's reach of a masked pixel are blurred
    (burned-in text sits in a few rows): at a masked pixel the blur of such a band is the
    blur of the whole picture (the same rows, whole, and the same kernel), at a fraction
    of the cost; the two copies share each band's blurred weights."""
    m = mask.astype(bool)
    bgr = small_bgr.copy()
    gray = small_gray.astype(np.float32)
    for a, b in _row_bands(m, _FILL_REACH):
        keep = (1 - mask[a:b]).astype(np.float32)
        den = np.maximum(cv2.GaussianBlur(keep, (0, 0), 6.0), 1e-3)
        mm = m[a:b]
        num = cv2.GaussianBlur(small_bgr[a:b].astype(np.float32) * keep[:, :, None], (0, 0), 6.0)
        bgr[a:b][mm] = np.clip(num[mm] / den[mm][:, None] + 0.5, 0, 255).astype(np.uint8)
        # (the bands do not overlap: this band's blur reads no pixel filled in another)
        num = cv2.GaussianBlur(gray[a:b] * keep, (0, 0), 6.0)
        gray[a:b][mm] = num[mm] / den[mm]
    return bgr, gray


def _clean_osd(small_bgr: np.ndarray, small_gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mask = osd_mask(small_gray)
    if not mask.any():
        return small_bgr, small_gray.astype(np.float32), mask
    bgr, gray = _fill(small_bgr, small_gray, mask)
    return bgr, gray, mask


def prepare(bgr: np.ndarray, analysis_width: int = 640) -> Prepared:
    h, w = bgr.shape[:2]
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if w > analysis_width * 1.15:
        sh = max(16, int(round(h * analysis_width / w)))
        small_bgr = cv2.resize(bgr, (analysis_width, sh), interpolation=cv2.INTER_AREA)
        small_gray = cv2.resize(gray, (analysis_width, sh), interpolation=cv2.INTER_AREA)
        scale = w / analysis_width
    else:
        small_bgr, small_gray, scale = bgr, gray, 1.0
    small_bgr, small, mask = _clean_osd(small_bgr, small_gray)
    return Prepared(bgr, gray, small_bgr, small, scale, mask)


def prepare_like(bgr: np.ndarray, like: Prepared) -> Prepared:
    """Another frame (the acceptance reference) brought to ``like``'s analysis size."""
    sh, sw = like.small.shape
    small_bgr = cv2.resize(bgr, (sw, sh), interpolation=cv2.INTER_AREA)
    small_gray = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
    small_bgr, small, mask = _clean_osd(small_bgr, small_gray)
    return Prepared(bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), small_bgr, small, like.scale, mask)


def prepare_reference(bgr: np.ndarray, like: Prepared) -> Prepared:
    """The acceptance reference prepared to be kept (``probes.quality.reference``): as
    ``prepare_like``, with its readings kept, the one taken at full resolution (impulses)
    made now, and the full-resolution copies let go (a kept reference holds only
    analysis-size data)."""
    r = prepare_like(bgr, like)
    reading(r, "impulse_share", lambda: _impulse_share(r))
    r.bgr = r.gray = None
    return r


# --- exposure ---------------------------------------------------------------------------

def gray_hist(p: Prepared) -> np.ndarray:
    """256-bin histogram of the analysis gray image (float, 0..255): counted on its integer
    part, the same bins as on the floats and ~6x faster; made once per frame."""
    return reading(p, "gray_hist", lambda: cv2.calcHist([p.small.astype(np.uint8)], [0], None,
                                                         [256], [0, 256]).ravel())


def gray_quantile(p: Prepared, q: float) -> float:
    """The gray level below which a share ``q`` of the analysis gray image lies (from its
    histogram: a full sort of the picture costs more than all the exposure work together)."""
    hist = gray_hist(p)
    return float(np.searchsorted(np.cumsum(hist) / max(float(hist.sum()), 1.0), q))


def white_share(p: Prepared, level: int = 250) -> float:
    """Share of the analysis gray image at or above ``level`` (burnt out at full white)."""
    hist = gray_hist(p)
    return float(hist[level:].sum() / max(float(hist.sum()), 1.0))


def exposure(p: Prepared) -> dict[str, float]:
    """Mean brightness and contrast (standard deviation) of the gray image, 0..255."""
    mean, std = cv2.meanStdDev(p.small)
    lo, hi = gray_quantile(p, 0.02), gray_quantile(p, 0.98)
    # Michelson contrast on robust percentiles: fog or a washed-out picture squeezes the
    # range away from black; a dark (night, dusk) picture keeps its black and is not "low".
    michelson = (hi - lo) / max(hi + lo, 1.0)
    return {"brightness": float(mean[0, 0]), "contrast": float(std[0, 0]),
            "contrast_range": float(hi - lo), "contrast_ratio": float(michelson)}


# A veil over the lens dims the detail of every part of the view alike; light fog leaves
# the nearest objects their texture. Where the best-kept tenth of the view still has this
# detail contrast (RMS over the block mean, blocks of 32 analysis pixels), the low tonal
# range is the scene's (fog, distance), not a veil: figure chosen on the fieldset default
# draw (its veils with a range under 0.5 keep at most 0.105; its clean frames in light fog
# from 0.112), reported on its seeds 7 and 11 and the devset.
VEIL_DETAIL_KEPT = 0.11
# A veil lifts the blacks of the whole view: the darkest patch of every region of a 4x4 grid
# is far from black. Fog leaves near objects dark, and any dark object, shadow or lamp-less
# corner keeps a region's floor low (the fieldset default draw's clean frames without fog:
# at most 0.40 of their region's mean, seeds 7 and 11: 0.44 and 0.38; its veils mostly from
# 0.55, its fog 0.42-0.59). Figure chosen on the fieldset default draw.
VEIL_FLOOR = 0.5
# detail is read in blocks of 32 analysis pixels (a twentieth of a 640-wide sub-stream)
VEIL_BLOCK = 32


def _block_average(x: np.ndarray, bh: int, bw: int, block: int) -> np.ndarray:
    """Mean of ``x`` over each of ``bh`` x ``bw`` blocks of ``block`` pixels from its top left
    (the rows and columns beyond them left out)."""
    return cv2.resize(x[: bh * block, : bw * block], (bw, bh), interpolation=cv2.INTER_AREA)


def _block_weber(g: np.ndarray, block: int) -> np.ndarray:
    """RMS contrast of each ``block`` x ``block`` block over its mean (a Weber contrast: a
    dark block is not low for being dark; means under 8 gray levels count as 8)."""
    h, w = g.shape
    bh, bw = max(1, h // block), max(1, w // block)
    m = _block_average(g, bh, bw, block)
    m2 = _block_average(g * g, bh, bw, block)
    return np.sqrt(np.maximum(m2 - m * m, 0.0)) / np.maximum(m, 8.0)


def veil_floor(p: Prepared, grid: int = 4) -> float:
    """How far the blacks are lifted where the view keeps them best: over a ``grid`` x
    ``grid`` partition, the lowest ratio of a region's dark floor (5th percentile of the
    darkest channel after a minimum over patches ~1/43 of the width, the dark channel of He
    et al.) to the region's mean gray. Near 0 when any region holds something black."""
    b = p.small_bgr
    dark = cv2.min(cv2.min(b[:, :, 0], b[:, :, 1]), b[:, :, 2])
    k = max(3, (b.shape[1] // 43) | 1)
    dark = cv2.erode(dark, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    h, w = dark.shape
    g = p.small
    lowest = float("inf")
    for i in range(grid):
        for j in range(grid):
            ys, xs = slice(i * h // grid, (i + 1) * h // grid), slice(j * w // grid, (j + 1) * w // grid)
            region = dark[ys, xs].ravel()
            if region.size == 0:
                continue
            n = int(0.05 * region.size)
            floor = float(np.partition(region, n)[n])
            lowest = min(lowest, floor / max(8.0, float(cv2.mean(g[ys, xs])[0])))
    return 0.0 if lowest == float("inf") else lowest


def veil(p: Prepared, level: int = 250, max_clipped: float = 0.05) -> dict[str, Optional[float]]:
    """A veil of scattered light over the view (a misted or dirty dome), read two ways.

    ``veil_contrast``: tonal range left (``veil_range``), (p98 - p2) / mean of the gray image. A misted or
    dirty dome lays scattered light over the whole picture: the blacks are lifted, the
    whites pulled down toward the mean, and auto-exposure then brings the mean back to
    mid-grey; what is left is a range that is small relative to the picture's own
    brightness (a Weber contrast: a dark night scene has a small range in gray levels but
    not relative to its mean). Not judged (None) where the view keeps full detail in its
    best-kept tenth (``veil_detail_all`` at least ``VEIL_DETAIL_KEPT``): light fog leaves
    the nearest objects their texture, a veil over the lens dims every part alike.

    ``veil_detail``: the detail contrast left, the 90th percentile over the view of the RMS
    contrast of blocks of ``VEIL_BLOCK`` analysis pixels over their mean (``veil_detail_all``),
    judged only when the blacks are lifted over the whole view (``veil_floor`` at least
    ``VEIL_FLOOR``). A lamp or a bright sky under the veil still shines far above it and
    keeps the tonal range wide (lit interiors under a misted dome: 0.6-0.9), but the detail
    of the surfaces it lights is dimmed everywhere.

    Scattered light never drives a channel to full scale, so a picture with a channel
    clipped over more than ``max_clipped`` of the view is not judged by either (None): a
    strong channel gain (a magenta cast) or over-exposure squeezes the range by clipping.
    """
    hist = gray_hist(p)
    lo, hi = gray_quantile(p, 0.02), gray_quantile(p, 0.98)
    mean = float((hist * np.arange(256)).sum() / max(float(hist.sum()), 1.0))
    clipped = float(np.count_nonzero(full_scale(p, level))) / max(1, p.small.size)
    out: dict[str, Optional[float]] = {"veil_contrast": None, "veil_range": None, "veil_detail": None,
                                       "veil_detail_u": None,
                                       "veil_detail_all": None, "veil_floor": None,
                                       "channel_clipped": clipped}
    if clipped > max_clipped:
        return out
    out["veil_range"] = (hi - lo) / max(mean, 1.0)
    blocks = _block_weber(p.small, VEIL_BLOCK)
    detail = float(np.percentile(blocks, 90))
    parts = [float(np.percentile(blocks[q], 90)) for q in quadrant_masks(blocks.shape) if q.sum() >= 4]
    floor = veil_floor(p)
    out["veil_detail_all"], out["veil_floor"] = detail, floor
    if detail < VEIL_DETAIL_KEPT:
        out["veil_contrast"] = out["veil_range"]
    if floor >= VEIL_FLOOR:
        out["veil_detail"], out["veil_detail_u"] = detail, batch_se(parts)
    return out


# With the acceptance reference a veil is read by what the view lost since then. Scattered
# light lifts the blacks: the view's darkest region floor (``veil_floor``) must have risen
# by a fifth of its mean since acceptance (the field set's veils with a reference rose by
# 0.40 or more; a blur, a compression or a colour fault takes detail without lifting them).
# Light fog over a dark scene lifts its mean several-fold, so its Weber detail falls far
# although the scene stays readable: where the best-kept tenth of the view still has a
# detail contrast of 0.15 the view is not judged (devset clean fog over dark scenes: 0.160
# and 0.264; the field set's veils with a reference keep at most 0.129). Figures chosen on
# the devset (0.15) and the fieldset seed 20261206 (0.2), reported on seeds 7 and 11.
VEIL_RISE = 0.2
VEIL_READABLE = 0.15


def veil_kept(now: dict[str, Optional[float]], then: dict[str, Optional[float]]) -> Optional[float]:
    """Share of the detail contrast of the acceptance reference the view keeps now, read from
    two ``veil`` readings: ``veil_detail_all`` now over then.

    A dirty dome scatters light over the part of the view where the dirt is and dims the
    detail there, strongly where the smudge is thick, less elsewhere; the 90th percentile of
    the block detail follows the whole view down even where a clear patch of the dome keeps
    its blacks (so ``veil_floor`` stays under ``VEIL_FLOOR`` and the no-reference rules do
    not judge). Judged (not None) only when the blacks rose by ``VEIL_RISE`` of the mean
    since acceptance and the best-kept tenth of the view is under ``VEIL_READABLE``; None
    when either reading was not taken (a channel clipped) or the reference had no detail.
    """
    d_now, d_then = now.get("veil_detail_all"), then.get("veil_detail_all")
    f_now, f_then = now.get("veil_floor"), then.get("veil_floor")
    if d_now is None or d_then is None or f_now is None or f_then is None or d_then <= 0.0:
        return None
    if f_now - f_then < VEIL_RISE or d_now >= VEIL_READABLE:
        return None
    return float(d_now) / float(d_then)


# --- noise ------------------------------------------------------------------------------

def noise_sigma(p: Prepared, block: int = 16, with_u: bool = False):
    """Noise level in gray levels as seen at the analysis scale (the sub-stream).

    The residual |I - Gaussian(I, 1.5)| is averaged per block and divided by the local
    structure gradient, so edges count less; the 20th percentile of the blocks is taken,
    because the flattest fifth of a picture shows noise, not texture. (A full-resolution
    Immerkær estimate was tried first: JPEG removes exactly the finest noise it measures.)
    Clipped black/white blocks carry no noise and are skipped. ``with_u``: return
    ``(sigma, its standard error from the quadrants, see batch_se)``.
    """
    g = p.small
    b = cv2.GaussianBlur(g, (0, 0), 1.5)
    r = np.abs(g - b)
    gx = cv2.Sobel(b, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(b, cv2.CV_32F, 0, 1, ksize=3)
    gm = cv2.magnitude(gx, gy) * 0.125
    h, w = g.shape
    bh, bw = max(1, h // block), max(1, w // block)
    def pool(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x[: bh * block, : bw * block], (bw, bh), interpolation=cv2.INTER_AREA)
    rb, gb, mb = pool(r), pool(gm), pool(g)
    ok = (mb > 6) & (mb < 249)
    score = rb / (1.0 + 0.5 * gb)
    if ok.sum() < 4:
        ok = np.ones_like(ok)
    sigma = float(np.percentile(score[ok], 20))
    if not with_u:
        return sigma
    parts = []
    for q in quadrant_masks(ok.shape):
        part = ok & q
        if part.sum() >= 4:
            parts.append(float(np.percentile(score[part], 20)))
    return sigma, batch_se(parts)


def impulses(p: Prepared, ref: Optional[Prepared] = None) -> dict[str, Optional[float]]:
    """Share of pixels that are isolated spikes ("snow", salt-and-pepper dropouts).

    A pixel far (> 50 gray levels) from the median of its 3x3 neighbourhood: sensor noise
    and JPEG never go that far, and the smoothing noise measure above averages such sparse
    spikes away. Taken at full resolution (the sub-stream copy would average them out
    too), burned-in text left out. ``impulses_new``: the rise since acceptance.
    """
    now = _impulse_share(p)
    then = reading(ref, "impulse_share", lambda: _impulse_share(ref)) if ref is not None else None
    return {"impulses": now, "impulses_new": (now - then) if then is not None else None}


def _impulse_share(q: Prepared) -> float:
    g = q.gray
    med = cv2.medianBlur(g, 3)
    sh, sw = q.small.shape
    h, w = g.shape
    if (h, w) != (sh, sw) and h % sh == 0 and w % sw == 0 and (h // sh) * (w // sw) < 255:
        # the analysis copy is a whole-block reduction (INTER_AREA then averages whole
        # blocks): the share of the analysis pixels is the count of spikes over the full
        # picture's pixels, or over the blocks kept; counted on 8-bit masks, without the
        # float copy of the full picture
        area = (h // sh) * (w // sw)
        # 0/255 per pixel: a block's 8-bit average is 255 k / area rounded, k recoverable
        spikes8 = cv2.bitwise_and(cv2.compare(cv2.absdiff(g, med), 50, cv2.CMP_GT),
                                  cv2.compare(med, 230, cv2.CMP_LT))
        if q.osd is not None and q.osd.any():
            keep = q.osd == 0
            if not keep.any():
                return 0.0
            blocks = cv2.resize(spikes8, (sw, sh), interpolation=cv2.INTER_AREA)
            counts = np.rint(blocks[keep].astype(np.float32) * (area / 255.0))
            return float(counts.sum()) / (area * float(np.count_nonzero(keep)))
        return float(cv2.countNonZero(spikes8)) / float(h * w)
    # not where the picture is clipped: a shadow speck in burnt-out white is scene
    spikes = ((cv2.absdiff(g, med) > 50) & (med < 230)).astype(np.float32)
    if spikes.shape != (sh, sw):
        spikes = cv2.resize(spikes, (sw, sh), interpolation=cv2.INTER_AREA)
    if q.osd is not None and q.osd.any():
        keep = q.osd == 0
        return float(spikes[keep].mean()) if keep.any() else 0.0
    return float(spikes.mean())


# --- signal loss ------------------------------------------------------------------------

def signal_loss(p: Prepared) -> dict[str, float]:
    """How much of the frame is a digitally generated screen rather than a sensor picture.

    ``flat_fraction``: share of pixels whose 3x3 neighbourhood is exactly flat (within
    JPEG rounding) – a black/blue/grey "no video" screen or colour bars are flat almost
    everywhere, a real sensor never is (noise). Clipped white is left out, it is exposure.
    ``bars``: how well every column is constant within each band of colour bars (``_bars``).
    """
    s = p.small
    blur = cv2.blur(s, (3, 3))
    flat = (np.abs(s - blur) < 0.75) & (s < 245)
    keep = np.ones(s.shape, bool)
    if p.osd is not None and p.osd.any():
        # burned-in text is no evidence of a sensor picture: judge the rest, leaving out
        # the JPEG ringing of the text's 8x8 blocks as well
        keep = cv2.dilate(p.osd, np.ones((9, 9), np.uint8)) == 0
        if keep.mean() < 0.5:
            keep[:] = True
    flat_fraction = np.count_nonzero(flat & keep) / np.count_nonzero(keep)  # (its mean, by counting)
    # A generated screen is ONE level (or a few bars); a dark plain view that JPEG has
    # flattened still spreads over many levels: share of pixels near the commonest level
    hist = cv2.calcHist([np.clip(s, 0, 255).astype(np.uint8)], [0], keep.astype(np.uint8), [256], [0, 256]).ravel()
    mode = int(np.argmax(hist))
    mode_share = float(hist[max(0, mode - 3):mode + 4].sum() / max(1.0, float(hist.sum())))
    total = _small_std(p)
    # Colour bars: each column constant AND several distinct levels across the frame.
    bars_score = _bars(s, total, keep) if total > 30 else 0.0
    return {"flat_fraction": flat_fraction, "bars": bars_score, "mode_share": mode_share,
            "signal_loss": max(min(flat_fraction, mode_share), bars_score)}


def _bars(s: np.ndarray, total: float, keep: np.ndarray, tol: float = 4.0, least: float = 0.04,
          most: int = 4) -> float:
    """How well every column is constant within each horizontal band of a test pattern:
    1 - the 90th percentile of the column standard deviations over ``total``, the bands'
    results weighted by their height.

    Full-height colour bars are one band. A SMPTE pattern (ECR-1) stacks three: the bars,
    a strip of reversed-blue castellations and the PLUGE row. A band is a run of rows each
    the same as the one above it (90 % of the columns within ``tol`` gray levels); the few
    rows between two bands, under ``least`` of the height, are the edge's JPEG ringing and
    count at the lower of their neighbours' results; any other row, and a run shorter than
    ``least`` of the height, counts 0. A lens sees no row twice: its view changes down the
    frame, and its noise moves every row. Every column constant (90th percentile), not just
    most: a cover from one side also makes its own columns constant. Burned-in text (the
    pixels out of ``keep``) is left out of both: the encoder draws its OSD over the pattern.
    A pattern stacks at most ``most`` different bands (SMPTE ECR-1 three, RP 219 four): more
    is a picture of rows of things (a noiseless rendering of a facade's rows of windows,
    each row of columns constant), read 0.
    """
    # every other row and column: a pattern's bands are tens of rows high and its bars
    # tens of columns wide (the reading costs a quarter)
    s, keep = s[::2, ::2], keep[::2, ::2]
    h = s.shape[0]
    diff = np.abs(np.diff(s, axis=0))
    diff[~(keep[1:] & keep[:-1])] = 0.0
    k90 = int(0.9 * (diff.shape[1] - 1))
    same = np.partition(diff, k90, axis=1)[:, k90] <= tol
    bands: list[tuple[int, int, float]] = []
    r = 0
    while r < h - 1:
        if not same[r]:
            r += 1
            continue
        end = r
        while end < h - 1 and same[end]:
            end += 1
        if end + 1 - r >= least * h:  # a few like rows are a lens's plain strip, not a band
            # rows r..end, each the same as the one above it: each column's spread over
            # its rows clear of text, for the columns mostly clear
            band, kept = s[r:end + 1], keep[r:end + 1].astype(np.float32)
            n = kept.sum(axis=0)
            mean = (band * kept).sum(axis=0) / np.maximum(n, 1.0)
            spread = np.sqrt((((band - mean) ** 2) * kept).sum(axis=0) / np.maximum(n, 1.0))
            mostly = n >= 0.5 * band.shape[0]
            if mostly.mean() >= 0.5:
                spread = spread[mostly]
            bands.append((r, end + 1, max(0.0, 1.0 - float(np.percentile(spread, 90)) / total)))
        r = end + 1
    # bands whose rows differ from the next band's (a run split by a stray row is one band)
    rows = [np.median(s[b:e], axis=0) for b, e, _ in bands]
    distinct = 1 + sum(float(np.percentile(np.abs(a - b), 90)) > tol for a, b in zip(rows, rows[1:]))
    if distinct > most:
        return 0.0
    score = sum((e - b) * c for b, e, c in bands)
    for (_, e0, c0), (b1, _, c1) in zip(bands, bands[1:]):
        if b1 - e0 < least * h:
            score += (b1 - e0) * min(c0, c1)
    return score / h


def screen(p: Prepared, block: int = 16, tol: float = 2.0) -> dict[str, Optional[float]]:
    """Share of the view that is one colour to within a few levels: a generated screen.

    An encoder with no input sends a flat black, blue, grey or green picture; its analogue
    front end adds a little noise, the JPEG adds blocking, the OSD and often a centred
    "NO VIDEO" / "无视频信号" sit on top. A lens only ever sees light that varies across the
    view: lens fall-off (vignetting) alone darkens the corners of the plainest wall or the
    darkest covered lens by more than a few gray levels, and any scene has structure. So:
    thin strokes (text, of whatever script or size, and the noise) are removed by a grey
    opening and closing, then each 16x16 block's mean colour is compared with the frame's
    median colour, within 1.5 levels plus ``tol`` levels per 128 of its brightest channel
    (a dark scene is a scene compressed toward black, judged by its relative variation).
    A bright even picture (median >= 150) is a white-out, not a screen: 0.
    ``screen_shading``: for a view at least half that even, how far its level varies
    smoothly across it (``shading``); a dark lens image is compressed within the tolerance
    but keeps the lens's fall-off. ``screen_shading_levels``: the same variation in gray
    levels: near black, a tenth of a level is already a few percent
    of the level, and a caption's JPEG ringing leaves that much on a generated screen.
    ``screen_code_step``: the rounding step of a picture at two codes of its compression
    (``code_step``), added to the tolerance; 0 for any other picture.
    """
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    img = p.small_bgr
    flat = cv2.morphologyEx(cv2.morphologyEx(img, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k)
    h, w = flat.shape[:2]
    bh, bw = max(2, h // block), max(2, w // block)
    means = cv2.resize(flat[: bh * block, : bw * block].astype(np.float32), (bw, bh),
                       interpolation=cv2.INTER_AREA)
    med = np.median(means.reshape(-1, 3), axis=0)
    if float(med.mean()) >= 150.0:
        # encoders draw black, blue, mid grey or green; a bright even picture is a
        # white-out (fog, a veiled dome, over-exposure), the exposure measures' business
        return {"screen": 0.0, "screen_shading": None, "screen_shading_levels": None,
                "screen_code_step": 0.0}
    # (one tolerance for the three channels, from the brightest: JPEG quantises the chroma
    # of a saturated blue or green coarsely, which moves its dim channels by a few levels)
    dev = np.abs(means - med[None, None, :]).max(axis=2)
    limit = 1.5 + tol * float(med.max()) / 128.0
    share = float((dev <= limit).mean())
    step = 0.0
    if share >= 0.5:
        # a picture at two neighbouring codes of its compression's rounding (``code_step``)
        # is flat to that rounding: each block's level may sit at either code
        step = reading(p, "code_step", lambda: code_step(p))
        if step > 0.0:
            share = float((dev <= limit + step).mean())
    # on two codes the picture's smooth variation is under one rounding step, which a lens's
    # fall-off over a dark view may be too: not read (the screen stands)
    rel, levels = _shading(means.mean(axis=2)) if share >= 0.5 and step == 0.0 else (None, None)
    return {"screen": share, "screen_shading": rel, "screen_shading_levels": levels,
            "screen_code_step": step}


def code_step(p: Prepared, cover: float = 0.9, most: float = 8.0, interleaved: float = 0.5) -> float:
    """The rounding step of a flat picture's compression, in gray levels, or 0.

    JPEG rounds the mean level of each 8x8 block to a multiple of its DC quantiser (at
    quality 20-35, 3-5 gray levels). An encoder's flat picture sits between two of those
    codes and its noise tips each block to one or the other, so almost every block (text
    aside) takes one of two neighbouring codes, and the blocks of the analysis image, each
    averaging several, scatter over that step. A lens image varies across its view (its
    shading, any structure): it spreads over more codes, or, dark and plain, over two codes
    in regions, not interleaved block by block. Read on the full resolution frame, whose
    8x8 grid is the encoder's; 0 when two codes do not cover ``cover`` of the blocks, when
    one of them holds under a twentieth (a picture at one code), when they are under 2
    levels apart (no coarser than the tolerance) or over ``most`` (not one
    rounding step), or when neighbouring blocks differ less than ``interleaved`` of what
    codes placed at random would."""
    g = p.gray
    if g is None:
        return 0.0
    h, w = (g.shape[0] // 8) * 8, (g.shape[1] // 8) * 8
    if h == 0 or w == 0:
        return 0.0
    # (an area resize by exactly 8 is each block's mean, rounded to a level)
    levels = cv2.resize(np.ascontiguousarray(g[:h, :w]), (w // 8, h // 8), interpolation=cv2.INTER_AREA)
    counts = np.bincount(levels.ravel(), minlength=256)
    two = np.argsort(counts)[-2:]
    gap = abs(int(two[1]) - int(two[0]))
    if counts[two].sum() < cover * levels.size or not 2 <= gap <= most or \
            counts[two].min() < 0.05 * levels.size:
        return 0.0  # (a picture at one code has nothing to scatter over)
    # the noise tips each block to either code at random; a lens image at two codes (a dark
    # view whose shading spans under two steps) has them in regions: neighbouring blocks
    # must differ at least half as often as codes placed at random would
    upper = levels == int(two.max())
    at_two = upper | (levels == int(two.min()))
    pairs = at_two[:, 1:] & at_two[:, :-1]
    if not pairs.any():
        return 0.0
    differ = float((upper[:, 1:] != upper[:, :-1])[pairs].mean())
    share = float(upper[at_two].mean())
    return float(gap) if differ >= interleaved * 2.0 * share * (1.0 - share) else 0.0


def shading(block_means: np.ndarray) -> float:
    """How much the view's level varies smoothly across it, relative to that level.

    A lens lights the middle of the sensor more than its corners (vignetting, a few percent
    even after the camera's shading correction), and any scene's light varies smoothly
    across the view; a picture an encoder generates is flat to the rounding of its codes.
    The spread of the fitted surface (``_shading``) is divided by the median level (plus 4
    levels: black is never exactly 0 on a real sensor)."""
    return _shading(block_means)[0]


def _shading(block_means: np.ndarray) -> tuple[float, float]:
    """(relative, in gray levels) spread between the 3rd and 97th percentile of a quadratic
    surface fitted to the block means, the fifth of the blocks farthest from the median
    left out (text, a logo); relative to the median level plus 4."""
    bh, bw = block_means.shape
    med = float(np.median(block_means))
    off = np.abs(block_means - med)
    keep = off <= float(np.percentile(off, 80))
    yy, xx = np.mgrid[0:bh, 0:bw]
    x, y = xx / max(1, bw - 1) - 0.5, yy / max(1, bh - 1) - 0.5
    basis = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=-1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(basis[keep], block_means[keep].astype(np.float64), rcond=None)
    fit = basis @ coef
    spread = float(np.percentile(fit, 97) - np.percentile(fit, 3))
    return spread / (med + 4.0), spread


def clipping(p: Prepared, ref: Optional[Prepared] = None, level: int = 250, near: int = 200,
             lift: float = 1.5) -> dict[str, Optional[float]]:
    """Over-exposure as the sensor shows it: the share of the view burnt out.

    ``clipped``: share of the analysis pixels (OSD filled in) whose gray level is at or
    above ``level``.
    ``overexposure``: share of the pixels burnt out (``burnt_out``), when the picture's
    median is lifted too (>= 150): an over-exposed sensor pushes the whole picture up and
    burns large areas out, while a correctly exposed bright scene (snow, a white facade)
    keeps its highlights below the ceiling and a backlit view with a burnt-out sky keeps a
    dark foreground.
    ``overexposure_new`` (with the acceptance reference): the share of the view burnt out
    now beyond the reference's, when the picture's median rose to at least ``lift`` times
    the reference's. A view of a bright subject before a dark background (a white flower,
    a lit sign at dusk) stays under a median of 150 however far it is over-exposed; against
    the reference, the whole picture lifted and new areas burnt out is the iris or the
    auto-exposure failing: a change of light that the auto-exposure follows keeps the
    median, a low sun behind the view burns the sky with the median falling, and forced
    gain lifts the median without burning. 0.0 when the median did not rise that far.
    """
    def burnt(q: Prepared) -> float:  # read once per frame (and per kept reference)
        return reading(q, ("burnt_out", level, near), lambda: burnt_out(q, level, near))

    median = gray_quantile(p, 0.5)
    out: dict[str, Optional[float]] = {"clipped": white_share(p, level), "overexposure": 0.0,
                                       "overexposure_new": None}
    if median >= 150.0:
        out["overexposure"] = burnt(p)
    if ref is not None:
        out["overexposure_new"] = 0.0
        if median >= lift * max(gray_quantile(ref, 0.5), 1.0):
            out["overexposure_new"] = max(0.0, burnt(p) - burnt(ref))
    return out


def burnt_out(p: Prepared, level: int = 250, near: int = 200) -> float:
    """Share of the view burnt out. A sensor clips per channel: the brightest channel of a
    coloured highlight (a blue sky, a wall under warm light) reaches full scale while the
    gray level is still under it, so a pixel counts as burnt out when at least two of its
    channels are at ``level`` and the third is close behind (at least ``near``):
    over-exposure lifts all three together, whereas a channel gain (a colour cast) clips
    its own channel alone or, for magenta, two of them with the third far below."""
    b = p.small_bgr
    at = [(b[:, :, k] >= level).view(np.uint8) for k in range(3)]
    two = (at[0] + at[1] + at[2]) >= 2
    burnt = two & (cv2.min(cv2.min(b[:, :, 0], b[:, :, 1]), b[:, :, 2]) >= near)
    return float(np.count_nonzero(burnt)) / max(1, burnt.size)


# --- blur -------------------------------------------------------------------------------

def blur(p: Prepared, noise: float) -> dict[str, Optional[float]]:
    """Edge-spread ratio at the strongest edges (content-normalised focus measure), read
    per direction; the softest direction counts.

    Re-blurring a sharp edge lowers its gradient peak a lot; re-blurring an already
    blurred edge hardly changes it (Crete et al. 2007 idea, taken at edges only). The
    ratio is independent of edge contrast, so a plain wall is not "blurred": where there
    is no edge at all to judge, ``blur`` is None (not judged) unless the coarse picture
    still has strong structure, which is what a heavily defocused busy scene looks like.
    A view with few edges (a clean low-texture scene) is read on the edges it has, with
    the spread of their readings in ``blur_u`` (``blur_edges``: how many were read), so
    that the value moves smoothly as the edges thin out instead of jumping to 1.0.

    A shaken or vibrating camera smears the picture along one direction only: edges along
    the motion stay sharp and would dominate the strongest gradients of the picture. So
    the ratio is taken for the derivative along each of four directions (0, 45, 90, 135
    degrees) at that derivative's own strongest edges, and the largest (the softest
    direction) is the measure. A defocused lens softens every direction alike.
    """
    s = cv2.GaussianBlur(p.small, (0, 0), 0.6)  # takes the edge off pixel noise and JPEG blocks
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    sb = cv2.GaussianBlur(s, (0, 0), 2.0)
    bx = cv2.Sobel(sb, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    by = cv2.Sobel(sb, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    g = cv2.magnitude(gx, gy)
    k = np.ones((3, 3), np.uint8)
    floor = 6.0 + 3.0 * noise
    # glare (lamps, headlights, their bloom and lens streaks) is soft by physics, not by
    # focus: edges near bright light sources are left out unless light fills the view
    # (a coloured lamp saturates one channel before the gray level gets there; its bloom
    # reaches a few tens of pixels around the core)
    b_, g_, r_ = cv2.split(p.small_bgr)
    glare = (cv2.max(cv2.max(b_, g_), r_) >= 235).astype(np.uint8)
    keep = None
    if glare.any():
        near = cv2.dilate(glare, np.ones((41, 41), np.uint8)).astype(bool)
        if np.count_nonzero(near) / near.size < 0.3:  # (its mean, by counting)
            keep = ~near
    sel_all = g >= max(floor, upper_percentile(g[::2, ::2], 97))
    if keep is not None:
        sel_all &= keep
    n = int(np.count_nonzero(sel_all))
    edge_share = n / g.size
    # coarse structure: contrast that survives a strong blur (scene content, not noise)
    coarse = float(cv2.resize(p.small, (32, 18), interpolation=cv2.INTER_AREA).std())
    none = {"blur": None, "blur_u": 0.0, "edge_share": float(edge_share), "coarse_contrast": coarse,
            "blur_edges": None, "blur_directional": None, "blur_directional_u": 0.0}
    least = _MIN_EDGE_SHARE * g.size
    if n < least:
        if coarse >= 22.0:
            none["blur"] = 1.0  # strong scene structure but no edge at all
        return none  # else a plain scene: blur cannot be judged
    value, best = -1.0, None
    counts: list[int] = []  # edge pixels of each direction
    read: list[tuple[float, int]] = []  # (ratio, edge pixels) of each direction read
    for c, sn in ((1.0, 0.0), (0.7071, 0.7071), (0.0, 1.0), (0.7071, -0.7071)):
        gd = cv2.absdiff(cv2.addWeighted(gx, c, gy, sn, 0.0), 0.0) if sn else cv2.absdiff(gx if c else gy, 0.0)
        sel = gd >= max(floor, upper_percentile(gd[::2, ::2], 97))
        if keep is not None:
            sel &= keep
        count = np.count_nonzero(sel)
        counts.append(int(count))
        if count < least:
            continue  # no edge across this direction to judge it
        gbd = cv2.absdiff(cv2.addWeighted(bx, c, by, sn, 0.0), 0.0) if sn else cv2.absdiff(bx if c else by, 0.0)
        at = np.flatnonzero(sel)  # (row-major, as the mask picks them)
        ratio = cv2.dilate(gbd, k).ravel()[at] / np.maximum(cv2.dilate(gd, k).ravel()[at], 1e-3)
        edges = None
        if count < _FEW_EDGE_SHARE * g.size:
            edges = _edge_readings(ratio, sel)
            if edges.size < _MIN_EDGES:
                continue  # one or two edges say nothing about the view's focus
        v = float(np.median(ratio))
        read.append((v, int(count)))
        if v > value:
            value, best = v, (ratio, at, edges)
    if best is None:
        return none
    ratio, at, edges = best
    # its uncertainty from the same direction read on each quadrant (batch_se)
    h, w = g.shape
    ys, xs = np.divmod(at, w)
    quadrant = (ys >= h // 2).astype(np.int8) * 2 + (xs >= w // 2)
    parts = [float(np.median(ratio[quadrant == q])) for q in range(4)
             if np.count_nonzero(quadrant == q) >= 0.001 * g.size]
    u = batch_se(parts)
    if edges is not None:
        # few edges: the quadrants may hold too few to be read, and the edges they hold
        # are few; each edge is a reading of its own, the median's standard error from
        # their spread (1.2533: a median's error over a mean's, for normal scatter)
        u = max(u, 1.2533 * batch_se(list(edges)))
    return {"blur": value, "blur_u": u, "edge_share": float(edge_share), "coarse_contrast": coarse,
            "blur_edges": float(edges.size) if edges is not None else None,
            "blur_directional": _directional(value, read, counts), "blur_directional_u": u}


# A shake smears the edges across its motion and leaves those along it sharp: the softest
# direction then reads at least _SHAKE_SPREAD above the sharpest, AND it holds under
# _SHAKE_SHARE of the edge pixels of the best-populated direction (a smeared edge's
# gradient is spread thin and falls under the edge floor). A scene whose edges run mostly
# one way (an interior of verticals) has the spread but not the thinning: its softest
# direction keeps 0.44 or more of the best one's edges (fieldset 20261206, clean frames),
# its shakes 0.02-0.25. Figures chosen on the fieldset draw 20261206.
_SHAKE_SPREAD = 0.10
_SHAKE_SHARE = 0.30


def _directional(value: float, read: list[tuple[float, int]], counts: list[int]) -> Optional[float]:
    """The softest direction's ratio when the view is blurred along one direction only
    (see _SHAKE_SPREAD), else None: the measure a shaken camera is judged on."""
    if len(read) < 2 or not counts or max(counts) <= 0:
        return None
    soft_count = max(read)[1]
    if value - min(v for v, _ in read) < _SHAKE_SPREAD or soft_count >= _SHAKE_SHARE * max(counts):
        return None
    return value


# Below this share of the view at its strongest gradients there is no edge at all, only a
# few pixels above the floor (~115 analysis pixels at 640x360: a short edge or two): blur
# is then 1.0 on a view with strong coarse structure (a heavy defocus), else not judged.
# Below _FEW_EDGE_SHARE in a direction the ratio is read all the same, if it runs along
# at least _MIN_EDGES separate edges (the fewest whose spread says something), and its
# uncertainty then includes that spread: a clean view with little texture sits there.
# Neither figure moves a scored blur decision of either labelled set between 0.02 % and
# 0.1 % and between 2 and 5 edges (at 0.1 % two covered frames, where blur is allowed, read
# 1.0); 0.4 % is the share under which the measure used to be 1.0 or not judged at all.
_MIN_EDGE_SHARE = 0.0005
_FEW_EDGE_SHARE = 0.004
_MIN_EDGES = 3
_CLOSE3 = np.ones((3, 3), np.uint8)


def _edge_readings(ratio: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """The median of ``ratio`` (read at the pixels of ``sel``, row-major) along each
    separate edge of ``sel``: its 8-connected parts once one-pixel gaps are closed."""
    _, lab = cv2.connectedComponents(cv2.dilate(sel.astype(np.uint8), _CLOSE3), connectivity=8)
    ids = lab[sel]
    order = np.argsort(ids, kind="stable")
    ids, vals = ids[order], ratio[order]
    cuts = np.flatnonzero(np.diff(ids)) + 1
    return np.array([float(np.median(part)) for part in np.split(vals, cuts)])


# --- colour cast ------------------------------------------------------------------------

def _lab_half(p: Prepared) -> np.ndarray:
    sb = p.small_bgr
    # colour needs no detail: a quarter of the analysis pixels is plenty
    sb = cv2.resize(sb, (max(8, sb.shape[1] // 2), max(8, sb.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(sb, cv2.COLOR_BGR2Lab)
    # A channel at full scale no longer measures the light's colour: an over-exposed
    # surface clips its strongest channel first and reads tinted toward the others. Such
    # pixels get L = 255, above every colour measure's usable range.
    lab[:, :, 0][cv2.inRange(sb, (0, 0, 0), (249, 249, 249)) == 0] = 255
    return lab


def _usable(lab: np.ndarray) -> np.ndarray:
    L = lab[:, :, 0]
    return (L > 25) & (L < 240)  # chroma of very dark / very bright pixels means nothing


def _int_quantile(values: np.ndarray, q: float) -> int:
    """The smallest value at or below which a share ``q`` of ``values`` (non-negative
    integers) lies: a quantile by counting, far cheaper than sorting floats."""
    cum = np.cumsum(np.bincount(values.ravel()))
    return int(np.searchsorted(cum, q * float(cum[-1])))


def neutral_offset(lab: np.ndarray, within: Optional[np.ndarray] = None,
                   share: float = 0.05) -> Optional[tuple[float, float, float]]:
    """(mean a, mean b, mean chroma) of the least coloured fifth of the pixels, CIELab
    (of those in the boolean mask ``within`` when given)."""
    ok = _usable(lab)
    if within is not None:
        ok &= within
    return _neutral_offset(lab[:, :, 1], lab[:, :, 2], ok, share)


def _neutral_offset(a_plane: np.ndarray, b_plane: np.ndarray, ok: np.ndarray,
                    share: float) -> Optional[tuple[float, float, float]]:
    """``neutral_offset`` over the pixels ``ok`` of the 8-bit a and b planes."""
    if ok.sum() < share * ok.size:
        return None
    a = a_plane[ok].astype(np.int32) - 128
    b = b_plane[ok].astype(np.int32) - 128
    ch2 = a * a + b * b
    sel = ch2 <= _int_quantile(ch2, 0.2)
    return float(a[sel].mean()), float(b[sel].mean()), float(np.sqrt(ch2[sel]).mean())


# Warm hues (CIELab hue angle, degrees): where scenes lit by lamps, brown brick, wood and
# lawns in low sun sit. A white balance fault or a failed channel can push anywhere.
# The band ends at yellow (100): no lamp is yellow-green (sodium, the yellowest, sits below
# it), while a weak blue channel tints a scene yellow-green (the fieldset's green casts at
# 108-118, the devset's yellow cast at 107; clean frames by day between 100 and 120 agree
# on at most 8.8 less its uncertainty, on walls and a white-balance variation of the devset).
WARM_HUES = (20.0, 100.0)

# Magenta hues (CIELab hue angle, degrees): off the line along which lights differ (orange
# lamps through white daylight to blue skylight and shade) on the side no light source
# sits (fluorescent and LED lamps stray to green, not magenta). A green channel losing
# gain and an IR-cut filter stuck out by day (IR leaking into red and blue) tint the
# whole picture this way; a magenta object (flowers, clothing) moves the mean colour but
# not the white patch and the least coloured half, so the three estimates disagree. The
# band starts at 300: bluish skies and shade sit at 270-295.
MAGENTA_HUES = (300.0, 360.0)


# the white patch: the brightest share of the usable pixels (see _illuminant_agreement)
WHITE_PATCH_SHARE = 0.05


def cast_consensus(lab: np.ndarray) -> dict[str, float]:
    """A cast as the colour shift three independent estimates of the illuminant agree on.

    A cast (white balance stuck on the wrong preset, a weak channel, a stuck IR-cut filter)
    is a gain on the sensor's channels: it moves every pixel, so the mean colour (grey
    world), the colour of the brightest surfaces (white patch: road marks, sills, clouds)
    and the median colour of the less coloured half all move the same way. A colourful
    scene moves them apart: a lawn pulls the mean green, while its path and clouds stay
    white. ``cast_consensus`` is the smallest of the three estimates projected on their
    common direction (Lab units, 0 when they disagree); ``cast_consensus_cool`` is the same
    when the direction is not a warm hue (``WARM_HUES``), where scenes are rarely tinted
    by nature, so a smaller figure means a fault; ``cast_consensus_magenta`` the same when
    the direction is magenta (``MAGENTA_HUES``), where no light source sits at all.
    ``cast_white_magenta``: the white patch's own chroma when it is magenta. The brightest
    surfaces of a view take the colour of its light, and no light is magenta; a lawn or
    a green wall can pull the other two estimates away from a magenta cast (a green
    channel low makes a lawn grey), but not its clouds, road marks and sills.
    """
    lab = lab[::2, ::2]  # a sixteenth of the analysis pixels: the illuminant has no detail
    L, a, b = lab[:, :, 0], lab[:, :, 1], lab[:, :, 2]
    ok = (L > 25) & (L < 245)
    none = {"cast_consensus": 0.0, "cast_consensus_cool": 0.0, "cast_consensus_magenta": 0.0,
            "cast_consensus_hue": 0.0, "cast_consensus_u": 0.0, "cast_white_magenta": 0.0,
            "cast_white_magenta_u": 0.0}
    if ok.sum() < 0.05 * ok.size:
        return none
    full = _illuminant_agreement(a[ok], b[ok], L[ok])
    if full is None:
        return none
    value, (ux, uy), ests = full
    grey_world, white_patch, low_half = ests
    wp_chroma = math.hypot(*white_patch)
    wx, wy = (white_patch[0] / wp_chroma, white_patch[1] / wp_chroma) if wp_chroma > 1e-6 else (0.0, 0.0)
    # the same agreement read on each quadrant of the view (see batch_se), projected on the
    # whole view's direction, so that a quadrant that turns the direction counts as the
    # disagreement it is; and each quadrant's white patch projected on the view's
    parts, white_parts = [], []
    for q in quadrant_masks(ok.shape):
        part_ok = ok & q
        if part_ok.sum() >= 0.02 * ok.size:
            part = _illuminant_agreement(a[part_ok], b[part_ok], L[part_ok])
            parts.append(0.0 if part is None else max(0.0, min(x * ux + y * uy for x, y in part[2])))
            if part is not None:
                white_parts.append(max(0.0, part[2][1][0] * wx + part[2][1][1] * wy))
    estimates = {"cast_gw_a": grey_world[0], "cast_gw_b": grey_world[1], "cast_wp_a": white_patch[0],
                 "cast_wp_b": white_patch[1], "cast_lh_a": low_half[0], "cast_lh_b": low_half[1]}
    hue = math.degrees(math.atan2(uy, ux)) % 360.0
    warm = WARM_HUES[0] <= hue <= WARM_HUES[1]
    magenta = MAGENTA_HUES[0] <= hue <= MAGENTA_HUES[1]
    white_magenta = MAGENTA_HUES[0] <= math.degrees(math.atan2(wy, wx)) % 360.0 <= MAGENTA_HUES[1]
    return {"cast_consensus": value, "cast_consensus_cool": 0.0 if warm else value,
            "cast_consensus_magenta": value if magenta else 0.0,
            "cast_consensus_hue": hue, "cast_consensus_u": batch_se(parts),
            "cast_white_magenta": wp_chroma if white_magenta else 0.0,
            "cast_white_magenta_u": batch_se(white_parts) if white_magenta else 0.0, **estimates}


def _illuminant_agreement(au: np.ndarray, bu: np.ndarray, Lu: np.ndarray):
    """(agreed shift, common direction, the three estimates) of grey world, white patch and
    the low-chroma half's median, or None when they have no common direction. Inputs are
    OpenCV's 8-bit Lab channels (a and b offset by 128) of the pixels to use."""
    ak = au.astype(np.int32) - 128
    bk = bu.astype(np.int32) - 128
    grey_world = (float(ak.mean()), float(bk.mean()))
    top = Lu >= _int_quantile(Lu, 1.0 - WHITE_PATCH_SHARE)
    white_patch = (float(ak[top].mean()), float(bk[top].mean()))
    ch2 = ak * ak + bk * bk
    low = ch2 <= _int_quantile(ch2, 0.5)
    low_half = (float(_int_quantile(au[low], 0.5) - 128), float(_int_quantile(bu[low], 0.5) - 128))
    ests = (grey_world, white_patch, low_half)
    ux = sum(x / max(math.hypot(x, y), 1e-3) for x, y in ests)
    uy = sum(y / max(math.hypot(x, y), 1e-3) for x, y in ests)
    n = math.hypot(ux, uy)
    if n < 1e-6:
        return None
    ux, uy = ux / n, uy / n
    return max(0.0, min(x * ux + y * uy for x, y in ests)), (ux, uy), ests


def agreement(ests: list[tuple[float, float]]) -> tuple[float, float]:
    """(smallest projection of the estimates on their common direction, that direction's
    CIELab hue angle in degrees); (0, 0) when they have no common direction."""
    ux = sum(x / max(math.hypot(x, y), 1e-3) for x, y in ests)
    uy = sum(y / max(math.hypot(x, y), 1e-3) for x, y in ests)
    n = math.hypot(ux, uy)
    if n < 1e-6:
        return 0.0, 0.0
    return (max(0.0, min((x * ux + y * uy) / n for x, y in ests)),
            math.degrees(math.atan2(uy, ux)) % 360.0)


def consensus(ests: list[tuple[float, float]]) -> float:
    """Smallest projection of the estimates on their common direction (0 if they disagree)."""
    return agreement(ests)[0]


def color_cast(p: Prepared, ref: Optional[Prepared] = None,
               blank: Optional[np.ndarray] = None) -> dict[str, Optional[float]]:
    """How far the picture's most neutral pixels sit from grey, in CIELab units.

    A colourful scene still has near-grey things in it (road, walls, clouds); a cast tints
    everything, so even the least coloured fifth of the pixels is off grey. This avoids the
    gray-world trap (a brown room or a lawn is not a cast). With the acceptance reference,
    ``color_shift`` is how far the mean (a, b) of the same view moved since acceptance:
    a scene that is warm by nature (a brick street under sodium light) was warm then too.
    """
    lab = _lab_half(p)
    # (the usable pixels and the a and b planes, dense, read once for the five readings)
    usable = _usable(lab)
    a_plane, b_plane = np.ascontiguousarray(lab[:, :, 1]), np.ascontiguousarray(lab[:, :, 2])
    now = _neutral_offset(a_plane, b_plane, usable, 0.05)
    out: dict[str, Optional[float]] = {"color_cast": 0.0, "cast_hue": 0.0, "color_shift": None,
                                       "color_cast_u": 0.0, "cast_vs_reference": None,
                                       "cast_vs_reference_magenta": None}
    if now is not None:
        da, db, chroma = now
        out["color_cast"] = chroma
        out["cast_hue"] = math.degrees(math.atan2(db, da)) % 360.0
        parts = []
        for q in quadrant_masks(lab.shape[:2]):
            part = _neutral_offset(a_plane, b_plane, usable & q, 0.02)
            if part is not None:
                parts.append(part[2])
        out["color_cast_u"] = batch_se(parts)
    out.update(cast_consensus(lab))
    if ref is not None:
        rlab = reading(ref, "lab_half", lambda: _lab_half(ref))
        ok = usable & _usable(rlab)
        if blank is not None and blank.any():  # a cover's own colour is occlusion's business
            ok &= cv2.resize(blank, (ok.shape[1], ok.shape[0]), interpolation=cv2.INTER_NEAREST) == 0
        if ok.sum() >= 0.05 * ok.size:
            # (a and b each read on its own: contiguous runs, several times faster than pairs)
            a1, b1 = (lab[:, :, c][ok].astype(np.float32) - 128.0 for c in (1, 2))
            a0, b0 = (rlab[:, :, c][ok].astype(np.float32) - 128.0 for c in (1, 2))
            # fog, glare or a washed-out picture desaturate everything toward grey; a cast
            # tints. Scale the reference's colour by the change in saturation first, so
            # only a move in a direction counts.
            sat = _median_chroma(a1, b1) / max(1.0, _median_chroma(a0, b0))
            k = min(1.5, max(0.2, sat))
            out["color_shift"] = float(math.hypot(float(a1.mean() - k * a0.mean()),
                                                  float(b1.mean() - k * b0.mean())))
        else:
            out["color_shift"] = 0.0
        out.update(_cast_vs_reference(lab, rlab, ok))
    # A view burnt out at full white over more than the white patch's own share (the
    # brightest 5 % of the usable pixels) has lost its brightest surfaces: the white patch
    # then reads the brightest of the coloured rest (the teal leaves beside a burnt-out
    # flower), not the light, and the tone curve's shoulder bends the hue of what is left
    # near white. The three estimates no longer measure the light's colour: not judged.
    # (A white-balance fault clips one channel, not all three: the field set's and the
    # devset's casts burn out at most 3.5 % of the view, its clean frames by day 6.8 %.)
    if white_share(p) > WHITE_PATCH_SHARE:
        for k in ("cast_consensus", "cast_consensus_cool", "cast_consensus_magenta", "cast_white_magenta"):
            out[k] = 0.0
        if out.get("cast_vs_reference") is not None:
            out["cast_vs_reference"] = out["cast_vs_reference_magenta"] = 0.0
    return out


def _median_chroma(a: np.ndarray, b: np.ndarray) -> float:
    """``np.median(np.hypot(a, b))``, the same value, for float32 Lab offsets that are whole
    numbers (8-bit Lab less 128): the hypot of such a pair is exactly the float32 square root
    of the whole number a² + b², so the middle values are found by counting those."""
    ch2 = (a * a + b * b).astype(np.int32)  # whole numbers under 2^24: exact in float32
    n = ch2.size
    cum = np.cumsum(np.bincount(ch2))
    lo = np.sqrt(np.float32(np.searchsorted(cum, (n - 1) // 2, side="right")))
    hi = np.sqrt(np.float32(np.searchsorted(cum, n // 2, side="right")))
    # np.median: the middle value, or the float32 mean of the two middle values
    return float(hi) if n % 2 else float((lo + hi) / np.float32(2))


def _moved_since(lab: np.ndarray, rlab: np.ndarray, mask: np.ndarray, sat: float) -> tuple[float, float]:
    """``agreement`` of the moves of the three illuminant estimates since acceptance, each
    read on the same pixels in both frames: all of ``mask`` (grey world), the brightest
    ``WHITE_PATCH_SHARE`` of the reference (white patch) and the reference's least
    coloured half (the grey road, the white wall). The view is the same, so its neutral
    surfaces are known from the reference; chosen again on the frame, the least coloured
    half would be other surfaces (under a blue cast, the lawn turned less green and joined
    it while the road left), and the three moves would no longer agree. ``sat`` scales the
    reference's colour (see ``_cast_vs_reference``)."""
    au1, bu1 = lab[:, :, 1][mask], lab[:, :, 2][mask]
    au0, bu0 = rlab[:, :, 1][mask], rlab[:, :, 2][mask]
    if au0.size == 0:
        return 0.0, 0.0
    a1, b1, a0, b0 = (x.astype(np.int32) - 128 for x in (au1, bu1, au0, bu0))
    L0 = rlab[:, :, 0][mask]
    top = L0 >= _int_quantile(L0, 1.0 - WHITE_PATCH_SHARE)
    ch2 = a0 * a0 + b0 * b0
    low = ch2 <= _int_quantile(ch2, 0.5)

    def median(x: np.ndarray) -> float:  # of 8-bit Lab values, less the offset
        return float(_int_quantile(x, 0.5) - 128)

    now = ((float(a1.mean()), float(b1.mean())), (float(a1[top].mean()), float(b1[top].mean())),
           (median(au1[low]), median(bu1[low])))
    then = ((float(a0.mean()), float(b0.mean())), (float(a0[top].mean()), float(b0[top].mean())),
            (median(au0[low]), median(bu0[low])))
    return agreement([(x1 - sat * x0, y1 - sat * y0) for (x1, y1), (x0, y0) in zip(now, then)])


def _cast_vs_reference(lab: np.ndarray, rlab: np.ndarray, ok: np.ndarray) -> dict[str, Optional[float]]:
    """The colour shift since acceptance that the three illuminant estimates agree on.

    The reference is this camera's normal, as a learned calibration is for a camera without
    one: each estimate (grey world, white patch, low-chroma median) is read on the same
    pixels of both frames (usable in both, not covered; ``_moved_since``) and the consensus
    of their moves is taken. A white balance fault moves all three; a passing red bus moves
    the grey world alone, a lamp switched on moves the white patch alone. With its
    uncertainty read on the quadrants (``batch_se``)."""
    # (copied dense: the estimates below pick their pixels out of them ten times)
    lab, rlab, ok = (np.ascontiguousarray(x[::2, ::2]) for x in (lab, rlab, ok))
    if ok.sum() < 0.05 * ok.size:
        return {"cast_vs_reference": 0.0, "cast_vs_reference_u": 0.0, "cast_vs_reference_hue": 0.0,
                "cast_vs_reference_magenta": 0.0, "cast_vs_reference_magenta_u": 0.0}

    def chroma(x: np.ndarray) -> float:
        a = x[:, :, 1][ok].astype(np.int32) - 128
        b = x[:, :, 2][ok].astype(np.int32) - 128
        return math.sqrt(_int_quantile(a * a + b * b, 0.5))

    def tonal_range(x: np.ndarray) -> float:
        L = x[:, :, 0][ok].astype(np.int32)
        return float(_int_quantile(L, 0.95) - _int_quantile(L, 0.05))

    # fog, glare or a washed-out picture desaturate everything toward grey, which moves
    # every estimate toward neutral; a cast tints. The reference's colour is first scaled
    # down by the loss of saturation, so only a move in a direction counts. (Scattered
    # light never adds saturation: a gain in it is the cast's own doing, not compensated.)
    # Scattered light (I = J t + A (1 - t)) shrinks the tonal range by the same factor t as
    # the saturation; a channel gain leaves the tonal range and desaturates only surfaces of
    # the opposite colour (an orange gain greys a teal background). So the saturation lost
    # counts only as far as the tonal range shrank with it.
    sat = min(1.0, max(0.2, chroma(lab) / max(1.0, chroma(rlab)),
                       tonal_range(lab) / max(1.0, tonal_range(rlab))))

    value, hue = _moved_since(lab, rlab, ok, sat)
    parts = []
    for q in quadrant_masks(ok.shape):
        part = ok & q
        if part.sum() >= 0.02 * ok.size:
            parts.append(_moved_since(lab, rlab, part, sat)[0])
    u = batch_se(parts)
    # off the line along which lights differ (see MAGENTA_HUES): no change of light since
    # acceptance moves the view's colour toward magenta
    magenta = MAGENTA_HUES[0] <= hue <= MAGENTA_HUES[1]
    return {"cast_vs_reference": value, "cast_vs_reference_u": u, "cast_vs_reference_hue": hue,
            "cast_vs_reference_magenta": value if magenta else 0.0, "cast_vs_reference_magenta_u": u}


# --- occlusion --------------------------------------------------------------------------

def block_stats(p: Prepared, block: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Per-block mean and std of the analysis gray image."""
    s = p.small
    h, w = s.shape
    bh, bw = max(2, h // block), max(2, w // block)
    m = _block_average(s, bh, bw, block)
    m2 = _block_average(s * s, bh, bw, block)
    return m, np.sqrt(np.maximum(m2 - m * m, 0.0))


def blank_blocks(p: Prepared, noise: float, stats=None) -> np.ndarray:
    """Blocks with no detail above the noise that are not lit brighter than the scene."""
    m, std = stats if stats is not None else block_stats(p)
    # an object at the lens sits in its own shadow: not a bright sky or a lit wall
    dim = (m < 150) & (m <= float(np.median(m)) + 10.0)
    return ((std < 1.5 + 1.2 * noise) & dim).astype(np.uint8)


def _largest_share(mask: np.ndarray) -> float:
    if not mask.any():
        return 0.0
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return float(stats[1:, cv2.CC_STAT_AREA].max() / mask.size) if n > 1 else 0.0


def _largest_new_blob(blank: np.ndarray, detail_then: np.ndarray, min_new: float = 0.4) -> float:
    """Largest blank blob of which at least ``min_new`` had detail at acceptance.

    A cover that also hides a patch of plain sky is still one cover: the blob is measured
    whole, but only if most of it used to show something.
    """
    if not blank.any():
        return 0.0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(blank, connectivity=8)
    best = 0
    for k in range(1, n):
        area = int(stats[k, cv2.CC_STAT_AREA])
        if area <= best:
            continue
        if float(detail_then[labels == k].mean()) >= min_new:
            best = area
    return float(best / blank.size)


def occlusion(p: Prepared, noise: float, ref: Optional[Prepared] = None,
              ref_noise: float = 0.0) -> dict[str, Optional[float]]:
    """Share of the view covered by the largest connected blank region.

    A lens covered by a bag, a hand or a leaf is out of focus and so shows no detail above
    the sensor noise. On one frame alone a clear sky or a plain wall looks the same, so
    ``occlusion`` (no reference) needs a near-total cover to mean anything; with the
    acceptance reference, ``occlusion_new`` counts only blocks that had detail at
    acceptance (dilated by one block to forgive a little vibration).
    """
    stats = block_stats(p)
    blank = blank_blocks(p, noise, stats)
    out: dict[str, Any] = {"occlusion": _largest_share(blank), "occlusion_new": None,
                           "_blank": blank}
    if ref is not None:
        rstats = reading(ref, "block_stats", lambda: block_stats(ref))
        if rstats[1].shape == blank.shape:
            # newly blank = blank now where the reference showed detail well above its own
            # noise; a plain wall or sky was plain then too, whatever the noise of each day
            detail_then = rstats[1] > 3.0 + 2.0 * ref_noise
            # a cover over what was plain (sky, a wall) hides no detail, but it changes
            # that part's brightness far more than the light changed the rest of the view
            lr = np.log((stats[0] + 4.0) / (rstats[0] + 4.0))
            changed = np.abs(lr - float(np.median(lr))) > math.log(1.6)
            out["occlusion_new"] = _largest_new_blob(blank, detail_then | changed)
    return out


def band_detail(q: Prepared, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Per ``block`` x ``block`` block, the RMS of two difference-of-Gaussians bands of the
    analysis gray image (sigma 0-1 and 1-3 px): the two finest scales of structure. Read
    once per frame (the cover measures share it)."""
    return reading(q, ("band_detail", block), lambda: _band_detail(q, block))


def _band_detail(q: Prepared, block: int) -> tuple[np.ndarray, np.ndarray]:
    g = q.small
    bh, bw = g.shape[0] // block, g.shape[1] // block
    g1 = cv2.GaussianBlur(g, (0, 0), 1.0)
    g3 = cv2.GaussianBlur(g1, (0, 0), 2.83)  # 1.0 then 2.83: sigma 3 in all
    return (np.sqrt(_block_average((g - g1) ** 2, bh, bw, block)),
            np.sqrt(_block_average((g1 - g3) ** 2, bh, bw, block)))


def _block_mean(q: Prepared, block: int) -> np.ndarray:
    g = q.small
    return reading(q, ("block_mean", block),
                   lambda: _block_average(g, g.shape[0] // block, g.shape[1] // block, block))


def structure_map(q: Prepared, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per ``block`` x ``block`` block of the analysis image: its fine structure (the RMS of
    the two finest difference-of-Gaussians bands, summed) and its mean gray level. What a
    cover hides is judged on it, against the reference's or the camera's learned one."""
    d1, d2 = band_detail(q, block)
    return d1 + d2, _block_mean(q, block)


def structured_floor(noise: float, floor: float = 1.2) -> float:
    """The fine structure (``structure_map``) a block has to reach to count as having
    structure: twice the flat floor that noise and compression leave on a plain surface
    (``floor`` gray levels a band, two bands, plus the noise)."""
    return 2.0 * (2.0 * floor + 2.5 * noise)


def structured(then: np.ndarray, noise_then: float, floor: float = 1.2) -> np.ndarray:
    """The blocks of a ``structure_map`` that had structure (``structured_floor``)."""
    return then >= structured_floor(noise_then, floor)


def cover_new(p: Prepared, ref: Prepared, ref_noise: float, block: int = 8, floor: float = 1.2,
              lost: float = 0.35, min_gone: float = 0.15, lit_floor: float = 40.0,
              of_structure: float = 1.0 / 3.0, min_hidden: float = 1.0 / 16.0) -> dict[str, Optional[float]]:
    """Share of the view hidden since the acceptance reference by one body at the lens,
    dark, glowing or translucent (``cover_new``): ``hidden_share`` against the reference's
    structure map.

    A dark body sits in its own shadow: a block lit at acceptance that darkened far more
    than the view is read as lit (``dark_too``), since a translucent dark body (a sticker,
    a hand, a film) leaves a trace of the structure and so is not blank for
    ``occlusion_new``. In a view whose structure is sparse (a garage, a facade against the
    sky), a cover hides little structure for the share of the view it covers: it counts
    when it hides ``of_structure`` of the blocks that had structure and at least
    ``min_hidden`` of the view (a quarter of the smallest cover the rules report, a
    quarter of the view; the rest of it plain blocks between)."""
    then, m_then = structure_map(ref, block)
    return {"cover_new": hidden_share(p, then, m_then, ref_noise, block, floor, lost, min_gone, lit_floor,
                                      dark_too=True, of_structure=of_structure, min_hidden=min_hidden)}


def structure_kept(p: Prepared, ref: Prepared, ref_noise: float, block: int = 8,
                   floor: float = 1.2, kept: float = 0.6) -> dict[str, Optional[float]]:
    """Share of the blocks that had structure in the acceptance reference that still show
    at least ``kept`` of it in one colour channel at least (``structure_kept``;
    None when under a twentieth of the view had structure).

    A white-balance fault is a gain on the sensor's channels: it scales each channel's
    structure by its own gain, so one channel at least keeps its structure where it was.
    A strong gain pushes its channel to full scale, where no structure shows and the
    picture's compression blurs the others: blocks a quarter clipped are left out. A tinted
    body at the lens (leaves, a bag, spray paint) shifts the colour too, but by defocusing
    what it covers, in every channel: its colour shift comes with the structure lost over
    that part of the view."""
    then = structure_map(ref, block)[0]
    now_c = _channel_structure(p, block)
    if then.shape != now_c.shape[:2]:
        return {"structure_kept": None}
    had = structured(then, ref_noise, floor) & (at_full_share(p, block) < 0.25)
    if had.mean() < 0.05:
        return {"structure_kept": None}  # a view too plain to show what a body hides
    then_c = reading(ref, ("channel_structure", block), lambda: _channel_structure(ref, block))
    ratio = (now_c / np.maximum(then_c, 1e-6)).max(axis=2)
    return {"structure_kept": float(np.count_nonzero(ratio[had] >= kept)) / float(had.sum())}


def at_full_share(q: Prepared, block: int) -> np.ndarray:
    """Per ``block`` x ``block`` block of the analysis image (the grid of ``structure_map``),
    the share of its pixels with a channel at full scale (250 and over): burnt out, where
    no structure shows whatever is in front of the lens."""
    def share() -> np.ndarray:
        sb = q.small_bgr
        at_full = full_scale(q).astype(np.float32)
        return _block_average(at_full, sb.shape[0] // block, sb.shape[1] // block, block)
    return reading(q, ("at_full_share", block), share)


def full_scale(q: Prepared, level: int = 250) -> np.ndarray:
    """The analysis pixels with a channel at ``level`` or over (uint8, 1 there): read once
    per frame, by the veil's clipping test and the burnt-out share of the cover measures."""
    def mask() -> np.ndarray:
        # (inRange marks the pixels with every channel under the level, at a twentieth of
        # the cost of a max over the channels)
        under = cv2.inRange(q.small_bgr, (0, 0, 0), (level - 1, level - 1, level - 1))
        return (under == 0).view(np.uint8)
    return reading(q, ("full_scale", level), mask)


def _channel_structure(q: Prepared, block: int) -> np.ndarray:
    """Fine structure of each colour channel on the ``block`` grid of ``structure_map``
    (blocks x 3): the RMS of the finest difference-of-Gaussians band of the half-size
    colour image (a quarter of the pixels: colour needs no more, as in ``_lab_half``)."""
    sb = q.small_bgr
    half = max(1, block // 2)
    h, w = sb.shape[0] // 2, sb.shape[1] // 2
    bh, bw = sb.shape[0] // block, sb.shape[1] // block
    c = cv2.resize(sb, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    d = cv2.subtract(c, cv2.GaussianBlur(c, (0, 0), 1.0))
    return np.sqrt(cv2.resize(cv2.multiply(d, d)[: bh * half, : bw * half], (bw, bh),
                              interpolation=cv2.INTER_AREA))


def hidden_share(p: Prepared, then: np.ndarray, m_then: np.ndarray, noise_then: float,
                 block: int = 8, floor: float = 1.2, lost: float = 0.35, min_gone: float = 0.15,
                 lit_floor: float = 40.0, dark_too: bool = False,
                 of_structure: Optional[float] = None, min_hidden: float = 0.0) -> Optional[float]:
    """Share of the view hidden by one body at the lens since the view had the structure
    ``then`` and block means ``m_then`` (``structure_map`` of the acceptance reference, or
    the medians a camera without one learned over its first clean days).

    Per 8x8 block, structure is the RMS of the two finest difference-of-Gaussians bands.
    A block had structure when it was well above the flat floor then. Light,
    exposure and compression change the structure of every block alike; a cover hides
    only what is behind it, leaving nothing or a faint trace (a thin bag, a sticker lit
    through): a block is hidden when its structure fell under ``lost`` of the level the
    view as a whole kept (the upper quartile of now/then over the structured blocks; when a
    cover hides most of them, the 95th percentile over the blocks whose light did not rise
    since then) and it is lit (``lit_floor``; with ``dark_too``, also a block lit then that
    darkened far more than the view did: a dark body in its own shadow). The
    hidden blocks, with the plain blocks between them (a cover over some sky is one
    cover), form the candidate; it counts only when the hidden blocks themselves are at
    least ``min_gone`` of the view (a plain wall whose few marks changed is not hidden), or,
    with ``of_structure``, that share of the blocks that had structure when it is less (a
    view whose structure is sparse: a dusk sky crossed by a few towers), though never less
    than ``min_hidden`` of the view.
    None when the view had too little structure then, or lost it everywhere (a blur, a
    veil: other faults).
    """
    d1, d2 = band_detail(p, block)
    if then.shape != d1.shape:
        return None
    now = d1 + d2
    detail_then = structured(then, noise_then, floor)
    if detail_then.sum() < 16:
        return None
    q = now / np.maximum(then, 1e-6)
    # the level the uncovered view kept: read at the upper quartile, so that a cover over
    # up to three quarters of the structured view does not set it, and lamps or windows
    # lit since (new structure in a few blocks) do not raise it
    scale = float(np.percentile(q[detail_then], 75))
    m_now = _block_mean(p, block)
    lr = np.log((m_now + 4.0) / (m_then + 4.0))  # each block's change of light since then
    # (dark_too) the view's own change of light, read at the upper quartile so that a body
    # over up to three quarters of the view does not set it
    view_lr = float(np.percentile(lr[detail_then], 75)) if dark_too else 0.0
    if scale < 0.6:
        # a cover over most of what had structure: the part still seen keeps its level.
        # Read where the light did not rise more than the view's: lamps and windows lit
        # since then gain structure that a view merely darker than then does not
        steady = detail_then & (lr <= float(np.median(lr[detail_then])) + math.log(1.5))
        if dark_too:
            # a dark body over most of the view sets the median itself: read around the
            # view's light change instead (the part still seen)
            steady = detail_then & (lr <= view_lr + math.log(1.5)) & (lr >= view_lr - math.log(2.5))
        if steady.sum() >= 8:
            scale = float(np.percentile(q[steady], 95))
    if scale < 0.6:
        return None  # the whole view lost its structure: a blur or a veil, not a cover
    # a dark block shows little structure whatever is in front of it (dusk against a
    # daylight reference): a dark cover is the business of ``occlusion_new``
    lit = m_now >= lit_floor
    if dark_too:
        # without ``occlusion_new`` (no reference), a dark body is read here: a block that
        # was lit and darkened 1.6 times more than the view is in shadow now
        lit = lit | ((m_then >= lit_floor) & (lr < view_lr - math.log(1.6)))
    # a block burnt out at full scale shows no structure for the exposure's sake, not a
    # body's (an over-exposed view; a body lit from behind glows short of full scale)
    hidden = detail_then & (q < lost * scale) & lit & (at_full_share(p, block) < 0.25)
    if of_structure is not None:
        min_gone = max(min_hidden, min(min_gone, of_structure * float(detail_then.mean())))
    if float(hidden.mean()) < min_gone:
        return 0.0
    flat = (d1 < floor + 1.5 * noise_then + 1.0) & (d2 < floor + noise_then + 1.0)
    candidate = (hidden | (flat & ~detail_then)).astype(np.uint8)
    n, lab, st, _ = cv2.connectedComponentsWithStats(candidate, connectivity=8)
    hidden_in = np.bincount(lab[hidden], minlength=n)  # hidden blocks per region
    areas = [int(st[k, cv2.CC_STAT_AREA]) for k in range(1, n) if hidden_in[k] >= min_gone * lab.size]
    return max(areas, default=0) / lab.size


def cover_region(p: Prepared, noise: float, block: int = 8, floor: float = 1.2,
                 detail: float = 15.0) -> dict[str, Optional[float]]:
    """Share of the view in the largest region without fine structure that reaches the
    frame's border, judged only when the rest of the view shows in-focus detail.

    An object a few centimetres from the lens is defocused far more than anything in the
    scene: over its area the picture keeps at most low-frequency shading (folds, its own
    shadow), no structure at the two finest scales beyond the noise. Per 8x8 block the RMS
    of two difference-of-Gaussians bands (sigma 0-1 and 1-3 px) is compared with a floor
    of ``floor`` gray levels plus the measured noise; the largest 4-connected region of
    blocks under it that touches the border (a cover enters from the edge or fills the
    view) is the candidate. A defocused lens, shake, a veiled dome or a plain wall lack the
    detail everywhere, a cover only behind it: so the region is judged (``cover_share``)
    only when the rest of the view still has in-focus detail at full contrast (90th
    percentile of the band RMS >= ``detail`` gray levels: the devset's motion-blurred clock
    on a plain wall reaches 14.4, the fieldset's veiled domes 10.2, its covered views' rest
    10.7-40.7); otherwise None. ``cover_rest_detail`` is that percentile.
    """
    g = p.small
    h, w = g.shape
    bh, bw = h // block, w // block
    none: dict[str, Optional[float]] = {"cover_share": None, "cover_rest_detail": 0.0}
    if bh < 4 or bw < 4:
        return none
    d1, d2 = band_detail(p, block)
    flat = ((d1 < floor + 1.5 * noise) & (d2 < floor + noise)).astype(np.uint8)
    n, lab, st, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    best, area = 0, 0
    for k in range(1, n):
        x, y, cw, ch, a = (int(v) for v in st[k])
        if a > area and (x == 0 or y == 0 or x + cw == bw or y + ch == bh):
            best, area = k, a
    if best == 0:
        return {"cover_share": 0.0, "cover_rest_detail": 0.0}
    rest = lab != best
    if rest.sum() < 4:
        return none  # nothing left to show that the scene is in focus: not judged
    rest_detail = float(np.percentile((d1 + d2)[rest], 90))
    if rest_detail < detail:
        return {"cover_share": None, "cover_rest_detail": rest_detail}
    return {"cover_share": float(area) / float(bh * bw), "cover_rest_detail": rest_detail}


# --- stripes ----------------------------------------------------------------------------

_RING = None


def _ring_kernel(r: int = 3) -> np.ndarray:
    global _RING
    if _RING is None:
        y, x = np.mgrid[-r:r + 1, -r:r + 1]
        d = np.sqrt(x * x + y * y)
        _RING = ((d >= r - 0.5) & (d <= r + 0.5)).astype(np.uint8)
    return _RING


def _spectrum(small: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    return _log_spectrum(cv2.resize(small, (size, size), interpolation=cv2.INTER_AREA))


def _log_spectrum(square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log power spectrum (dB) of a square image, windowed, its mean out, and the highest
    value on the ring of radius 3 around each bin."""
    s = square.astype(np.float32) - float(square.mean())
    f = np.fft.rfft2(s * _hann2(square.shape[0]))
    power = (f.real ** 2 + f.imag ** 2).astype(np.float32)
    # rfft2 keeps columns 0..size/2; shift rows so that the DC sits in the middle row
    L = 10.0 * np.log10(np.fft.fftshift(power, axes=0) + 1e-3)
    return L, cv2.dilate(L, _ring_kernel(), borderType=cv2.BORDER_REFLECT)


def _prominence(ref: Prepared, size: int) -> np.ndarray:
    """Each spectrum bin's rise over its ring, dilated by one bin (vibration, resampling)."""
    rL, rring = _spectrum(ref.small, size)
    return cv2.dilate(rL - rring, np.ones((3, 3), np.uint8))


def stripes(p: Prepared, ref: Optional[Prepared] = None, size: int = 256) -> dict[str, Optional[float]]:
    """``stripes`` on the frame alone, and ``stripes_new`` ignoring peaks the reference has."""
    spec = _spectrum(p.small, size)  # read once, judged twice
    out: dict[str, Optional[float]] = dict(_stripes(p, None, size, spec))
    out["stripes_new"] = out["stripes_new_u"] = None
    if ref is not None:
        new = _stripes(p, ref, size, spec)
        out["stripes_new"], out["stripes_new_u"] = new["stripes"], new["stripes_u"]
    return out


_FINE_CROP = 128  # full-resolution crops for tones finer than the whole-view spectrum sees
_FINE_CENTRES = ((0.3, 0.3), (0.3, 0.7), (0.7, 0.3), (0.7, 0.7))
_FINE_MIN_PERIOD = 3.0  # full-resolution px: finer is demosaicing and compression, not a tone


def stripes_fine(p: Prepared, size: int = 256, crop: int = _FINE_CROP) -> dict[str, Optional[float]]:
    """Prominence (dB) of an interference tone too fine for the whole-view spectrum.

    ``stripes`` reads the analysis copy resized to ``size`` x ``size``: a tone whose period
    is under about 2.2 x (frame width / ``size``) full-resolution pixels (17 px on a 1080p
    frame) is averaged away before the spectrum is taken. Fine herringbone from RF pickup
    sits there. So the full-resolution picture is read in four ``crop`` x ``crop`` crops,
    one per quadrant: interference is added to the whole video signal, so its tone is an
    isolated peak at the same frequency in every crop, while a fine pattern of the scene (a
    tiled roof, a mesh) fills only part of the view. The value is the third-highest of the
    four crops' prominences at the strongest such bin (a tone in at least three crops),
    read over the band the whole-view spectrum cannot see and periods of at least 3 px;
    the JPEG block grid's harmonics (both frequencies multiples of 1/8 cycle per pixel)
    are left out, every encoded frame has them. None on a frame too small for the crops.
    """
    none: dict[str, Optional[float]] = {"stripes_fine": None, "stripes_fine_period_px": None}
    g = p.gray
    if g is None:
        return none
    h, w = g.shape
    if h < 2 * crop or w < 2 * crop:
        return none
    proms = []
    for fy, fx in _FINE_CENTRES:
        y0, x0 = int(fy * h) - crop // 2, int(fx * w) - crop // 2
        L, ring = _log_spectrum(g[y0:y0 + crop, x0:x0 + crop])
        # (a tone's energy leaks into the next bin, and the crops' bins fall a little apart)
        proms.append(cv2.dilate(L - ring, np.ones((3, 3), np.uint8)))
    # the second lowest of the four: at least this high in three crops of four
    lo1, hi1 = np.minimum(proms[0], proms[1]), np.maximum(proms[0], proms[1])
    lo2, hi2 = np.minimum(proms[2], proms[3]), np.maximum(proms[2], proms[3])
    third = np.minimum(np.maximum(lo1, lo2), np.minimum(hi1, hi2))
    band = _fine_band(crop, max(w, h) / float(size))
    third = np.where(band, third, 0.0)
    iy, ix = np.unravel_index(int(np.argmax(third)), third.shape)
    value = float(third[iy, ix])
    fy_, fx_ = (iy - crop // 2) / crop, ix / crop
    return {"stripes_fine": max(0.0, value), "stripes_fine_period_px": 1.0 / math.hypot(fy_, fx_)}


_HANN: dict[int, np.ndarray] = {}
_BANDS: dict[tuple[int, int], np.ndarray] = {}


def _hann2(n: int) -> np.ndarray:
    if n not in _HANN:
        _HANN[n] = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    return _HANN[n]


def _fine_band(crop: int, px_per_bin: float) -> np.ndarray:
    """Bins of a ``crop`` rfft2 (DC in the middle row) with periods from 3 px up to what the
    whole-view spectrum resolves (2.22 of its bins, ``px_per_bin`` full-resolution pixels
    each), the JPEG block grid's harmonics left out."""
    key = (crop, int(round(px_per_bin * 100)))
    if key not in _BANDS:
        cy = crop // 2
        yy, xx = np.mgrid[0:crop, 0:crop // 2 + 1]
        fy, fx = (yy - cy) / crop, xx / crop
        f = np.hypot(fy, fx)
        coarsest = 2.22 * px_per_bin  # the whole-view spectrum's finest period (r <= 0.45 size)
        band = (f > 1.0 / coarsest) & (f <= 1.0 / _FINE_MIN_PERIOD)
        # the 8x8 block grid: energy where both frequencies are multiples of 1/8 cycle/px
        grid = (np.abs(fy * 8 - np.round(fy * 8)) * crop / 8 <= 1.0) & \
               (np.abs(fx * 8 - np.round(fx * 8)) * crop / 8 <= 1.0)
        _BANDS[key] = band & ~grid
    return _BANDS[key]


_MIN_JUDGED_DB = 8.0  # below every stripes rule's figure (9 dB with a reference, 14 without)
_MIN_STRIPE_AMP = 1.0  # below: a bump in an empty spectrum (blank cover 0.05, plain wall 0.1-0.2; stripes of 5 levels >= 6)


def _tone_coverage(small: np.ndarray, fy: float, fx: float, tiles: int = 4) -> float:
    """Share of the view's tiles (4x4) in which the tone at (fy, fx) cycles/pixel is
    present at no less than 40 % of its strongest tile's amplitude.

    Interference is added to the video signal, so it runs through the whole picture at
    one strength; a periodic part of the scene (the window grid of one facade, a fence, a
    tiled roof) fills only part of it."""
    h, w = small.shape
    th, tw = h // tiles, w // tiles
    t = small[: th * tiles, : tw * tiles].astype(np.float32)
    # each tile's own mean out, so that only the tone is demodulated
    means = cv2.resize(t, (tiles, tiles), interpolation=cv2.INTER_AREA)
    t = t - cv2.resize(means, (tw * tiles, th * tiles), interpolation=cv2.INTER_NEAREST)
    phase = (2.0 * math.pi) * (fy * np.arange(th * tiles, dtype=np.float32)[:, None]
                                + fx * np.arange(tw * tiles, dtype=np.float32)[None, :])
    re = cv2.resize(t * np.cos(phase), (tiles, tiles), interpolation=cv2.INTER_AREA)
    im = cv2.resize(t * np.sin(phase), (tiles, tiles), interpolation=cv2.INTER_AREA)
    amps = list(np.hypot(re, im).ravel())
    top = max(amps)
    if top <= 0:
        return 0.0
    return float(sum(a >= 0.4 * top for a in amps) / len(amps))


def _stripes(p: Prepared, ref: Optional[Prepared] = None, size: int = 256,
             spec: Optional[tuple[np.ndarray, np.ndarray]] = None) -> dict[str, float]:
    """Strength of an isolated peak in the frequency domain (interference bars, rolling).

    The spectrum of a scene falls off smoothly with frequency and concentrates along lines
    (edges); an additive periodic pattern puts energy into a point. The measure is how far
    (in dB) the strongest point of the log power spectrum rises above the highest point of
    a ring of radius 3 around it – a line through the point keeps the ring high, an
    isolated peak does not. With the acceptance reference, a peak the reference also has
    (a fence, blinds, a tiled facade) belongs to the scene and is skipped; with or without
    it, a tone that does not run through the whole view is skipped too (``_tone_coverage``).
    """
    L, ring_max = spec if spec is not None else _spectrum(p.small, size)
    prom = L - ring_max
    ref_prom = None  # the reference's peaks, read at the first candidate that needs them
    cy = size // 2
    yy, xx = np.mgrid[0:L.shape[0], 0:L.shape[1]]
    r = np.sqrt((yy - cy) ** 2 + xx ** 2)
    # skip the lowest frequencies (scene layout, vignetting) and the edge of the band
    valid = (r >= 6) & (r <= size * 0.45)
    # the peak must also carry real energy, not be a bump in an empty spectrum
    energetic = L > upper_percentile(L[valid], 99.0)
    cand = valid & energetic
    if not cand.any():
        return {"stripes": 0.0, "stripe_period_px": 0.0, "stripes_u": 0.0}
    # A tone's energy leaks into the bins next to it (the window's main lobe): only the
    # local maximum is the tone, its neighbours are not tones of their own.
    cand &= L >= cv2.dilate(L, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_REFLECT)
    # Interference is one tone; a periodic scene (brick courses, fences, blinds) is made of
    # thin lines, a harmonic series: each member has a strong neighbour at twice its
    # frequency or at a half or a third of it (the series' fundamental).
    # (only the candidates are ranked: a few hundred bins, not the whole spectrum)
    cand_idx = np.flatnonzero(cand)
    cand_prom = prom.ravel()[cand_idx]
    order = cand_idx[np.argsort(cand_prom)[::-1][:8]]
    scores = prom.ravel()
    value, py, px = 0.0, cy, 0

    def in_series(y: int, x: int) -> bool:
        # (a fundamental below the tone must be a peak of its own, 6 dB over its ring: low
        # frequencies carry the scene's layout, strong but spread, and are no series)
        for k, distinct in ((2.0, 0.0), (0.5, 6.0), (1.0 / 3.0, 6.0)):
            hy, hx = cy + int(round(k * (y - cy))), int(round(k * x))
            if (hy, hx) == (y, x) or math.hypot(hy - cy, hx) < 2 or not (
                    0 <= hy < L.shape[0] and hx < L.shape[1]):
                continue
            h = float(L[max(0, hy - 1):hy + 2, max(0, hx - 1):hx + 2].max())
            if h > float(L[y, x]) - 12.0 and h > float(ring_max[hy, hx]) + distinct:
                return True
        return False

    for idx in order:
        if scores[idx] <= 0:
            break
        y, x = divmod(int(idx), L.shape[1])
        if ref is not None:
            if ref_prom is None:
                ref_prom = reading(ref, ("spectrum_prominence", size), lambda: _prominence(ref, size))
            if float(ref_prom[y, x]) > 0.5 * float(scores[idx]):
                continue
        if in_series(y, x):
            continue
        sh_, sw_ = p.small.shape
        # (only a peak strong enough to be judged is worth the look)
        # (with a reference too: a facade's windows lit at dusk rise far above the
        # reference's daylit grid, but still fill that facade only)
        if float(scores[idx]) >= _MIN_JUDGED_DB and \
                _tone_coverage(p.small, (y - cy) / sh_, x / sw_) < 0.6:
            continue  # a pattern in part of the view (a facade's windows, a fence): scene
        value, py, px = float(scores[idx]), y, x
        break
    # the tone's amplitude in gray levels (windowed FFT: A = 2 sqrt(P) / sum(window)),
    # from the peak and its leakage into the neighbouring bins
    amp = 0.0
    if value > 0:
        pk = 10.0 ** (L[max(0, py - 1):py + 2, max(0, px - 1):px + 2] / 10.0)
        amp = 2.0 * math.sqrt(float(pk.sum())) / (float(np.hanning(size).sum()) ** 2)
        if amp < _MIN_STRIPE_AMP:  # a bump in an empty spectrum (a blank cover, a wall)
            value = 0.0
    # The prominence is read against the highest bin of the ring around the peak. Bins of
    # a periodogram scatter about the true spectrum (a log-periodogram bin by ~5.6 dB), so
    # that maximum scatters too: by about half the spread of the ring's values (the spread
    # of the largest of ~20 draws). The spread is taken about a plane fitted to the ring,
    # so that the scene spectrum's own slope (steep at low frequencies) is not counted as
    # scatter. That is the measure's own uncertainty, read from the frame's spectrum.
    u = 0.0
    if value > 0:
        ry, rx = np.nonzero(_ring_kernel())
        dy, dx = ry - _ring_kernel().shape[0] // 2, rx - _ring_kernel().shape[1] // 2
        ry, rx = dy + py, dx + px
        inside = (ry >= 0) & (ry < L.shape[0]) & (rx >= 0) & (rx < L.shape[1])
        if inside.sum() >= 6:
            vals = L[ry[inside], rx[inside]].astype(np.float64)
            design = np.stack([np.ones(int(inside.sum())), dy[inside], dx[inside]], axis=1).astype(np.float64)
            coef, *_ = np.linalg.lstsq(design, vals, rcond=None)
            u = 0.5 * float((vals - design @ coef).std())
    # bins of the square resized spectrum -> cycles per analysis pixel along y and x
    sh, sw = p.small.shape
    fy, fx = (py - cy) / sh, px / sw
    f = math.hypot(fy, fx)
    period = (1.0 / f) * p.scale if f > 0 else 0.0
    return {"stripes": max(0.0, value), "stripe_period_px": float(period), "stripe_amp": amp,
            "stripes_u": u, "stripe_period_analysis_px": float(1.0 / f) if f > 0 else 0.0}


def _profile_spectra(g: np.ndarray, strips: int) -> np.ndarray:
    """Complex spectra of the row-mean profile of ``strips`` vertical strips of ``g``."""
    h, w = g.shape
    sw = w // strips
    prof = g[:, : sw * strips].reshape(h, strips, sw).mean(axis=2).T  # (strips, h)
    # remove the scene's slow layout (sky above road) before looking for a tone
    prof = prof - cv2.GaussianBlur(prof.astype(np.float32), (0, 0), sigmaX=12.0, sigmaY=0.01)
    win = np.hanning(h).astype(np.float32)
    return np.fft.rfft(prof * win, axis=1) * (2.0 / float(win.sum()))


def _coherent_tone(g: np.ndarray, strips: int = 8) -> tuple[float, float, np.ndarray]:
    """Strongest tone shared, in phase, by the row profiles of every vertical strip.

    An interference bar runs across the whole width: every strip's row profile carries the
    same tone with the same phase, so the mean of their complex spectra keeps its full
    amplitude. Scene rows (a horizon, a car) differ from strip to strip and average away.
    Returns (amplitude in gray levels, frequency in cycles/pixel, the per-frequency
    coherent amplitudes for comparison with the reference).
    """
    h = g.shape[0]
    C = _profile_spectra(g, strips)
    coh = np.abs(C.mean(axis=0))
    power = np.sqrt((np.abs(C) ** 2).mean(axis=0)) + 1e-6
    freqs = np.fft.rfftfreq(h)
    # a tone, not the layout: periods from 3 px to a quarter of the frame
    ok = (freqs >= 4.0 / h) & (freqs <= 0.33)
    # JPEG/H.264 block edges repeat every 8 (or 16) pixels in step across the frame
    for k in range(1, 9):
        ok &= np.abs(freqs - k / 16.0) > 1.5 / h
    # in phase across strips (coherence near 1), and a strong 2nd harmonic means thin
    # periodic lines of the scene (brick courses, blinds), not a tone
    score = np.where(ok & (coh >= 0.8 * power), coh, 0.0)
    n = len(coh)
    for i in np.argsort(score)[::-1][:6]:
        if score[i] <= 0:
            break
        # a tone stands above the neighbouring frequencies; a single line or edge across
        # the frame (a kerb, a lens streak) is coherent too, but broadband
        side = np.concatenate([coh[max(0, i - 8):max(0, i - 1)], coh[i + 2:i + 9]])
        if side.size and coh[i] < 2.5 * float(np.median(side)):
            continue
        # thin periodic lines of the scene (brick courses, blinds) bring a strong 2nd
        # harmonic; an interference tone does not
        i2 = 2 * i
        if i2 < n and coh[max(0, i2 - 1):i2 + 2].max() > 0.5 * coh[i]:
            continue
        return float(score[i]), float(freqs[i]), coh
    return 0.0, 0.0, coh


def _small_std(q: Prepared) -> float:
    """Standard deviation of the analysis gray image (read once per frame)."""
    return reading(q, "small_std", lambda: float(q.small.std()))


def stripe_tone(p: Prepared, ref: Optional[Prepared] = None) -> dict[str, Optional[float]]:
    """Axis-aligned interference bars (horizontal and vertical): the amplitude, in gray
    levels, of the strongest tone coherent across the frame (see ``_coherent_tone``);
    ``stripe_tone_new`` subtracts what the reference has at that frequency (a fence was there
    then too). The spectral-peak measure catches slanted patterns; this one catches
    low-frequency bars the scene's own spectrum hides."""
    out: dict[str, Optional[float]] = {"stripe_tone": 0.0, "stripe_tone_new": None}
    best, best_new = 0.0, 0.0
    gain: Optional[float] = None
    for axis in (0, 1):
        g = p.small if axis == 0 else p.small.T
        amp, f, _ = _coherent_tone(np.ascontiguousarray(g))
        best = max(best, amp)
        # the reference's tones are read only against a tone found now (no tone, nothing
        # to take from it)
        if ref is not None and amp > 0:
            if gain is None:
                # the reference was taken under other light: scale its tones by the change
                # in contrast
                gain = min(2.0, max(0.5, _small_std(p) / max(1.0, _small_std(ref))))
            rcoh = reading(ref, ("coherent_tone", axis), lambda: _coherent_tone(
                np.ascontiguousarray(ref.small if axis == 0 else ref.small.T))[2])
            i = int(round(f * g.shape[0]))
            then = float(rcoh[max(0, i - 1):i + 2].max())
            best_new = max(best_new, amp - 1.25 * gain * then)
    out["stripe_tone"] = best
    if ref is not None:
        out["stripe_tone_new"] = max(0.0, best_new)
    return out


# --- frozen -----------------------------------------------------------------------------

def frozen(p: Prepared, prev_bgr: np.ndarray, tol: int = 0) -> float:
    """Share of pixels equal to the previous frame within ``tol`` gray levels (full res).

    A live sensor never repeats itself: even a static scene differs everywhere by the
    noise. A frozen encoder re-sends the same picture, equal everywhere except a ticking
    on-screen clock; re-encoding that same picture at the same quality leaves every JPEG
    block the clock did not touch bit-identical, so equality is exact (``tol`` 0): a live
    but very clean, flat view can still come within a gray level of its predecessor.
    """
    prev = cv2.cvtColor(prev_bgr, cv2.COLOR_BGR2GRAY)
    if prev.shape != p.gray.shape:
        prev = cv2.resize(prev, (p.gray.shape[1], p.gray.shape[0]), interpolation=cv2.INTER_AREA)
    d = cv2.absdiff(p.gray, prev)
    return float(np.count_nonzero(d <= tol) / d.size)


# --- scene change -----------------------------------------------------------------------

def _gradients(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = cv2.GaussianBlur(gray, (0, 0), 1.2)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    m = cv2.magnitude(gx, gy)
    # local contrast normalisation: a lighting change scales gradients, it does not move them
    local = cv2.GaussianBlur(m, (0, 0), 8.0) + 1.0 + 0.05 * float(m.mean())
    return gx / local, gy / local, np.sqrt(m / local)


def scene_change(p: Prepared, ref: Prepared, width: int = 320,
                 blank: Optional[np.ndarray] = None) -> dict[str, Optional[float]]:
    """Similarity with the acceptance reference after undoing a translation, and that shift.

    Both pictures become lighting-normalised edge maps; phase correlation finds the
    translation (small vibration or a nudged mount), then the normalised cross-correlation
    of the aligned edge maps says whether it is still the same view.
    """
    # both with their burned-in text filled in: the same clock in the same place on two
    # different views would otherwise look like agreement
    h = max(16, int(round(p.small.shape[0] * width / p.small.shape[1])))
    a = cv2.resize(p.small, (width, h), interpolation=cv2.INTER_AREA)
    ax, ay, ea = _gradients(a)
    bx, by, eb = reading(ref, ("gradients", width, h), lambda: _gradients(
        cv2.resize(ref.small, (width, h), interpolation=cv2.INTER_AREA)))
    win = cv2.createHanningWindow((width, h), cv2.CV_32F)
    cover = None
    if blank is not None and blank.any():
        # a covered part of the view is occlusion's business, not evidence of a moved view:
        # it takes no part in the alignment nor in the comparison
        cover = cv2.resize(blank, (width, h), interpolation=cv2.INTER_NEAREST) > 0
        win = win * (~cover).astype(np.float32)
    (dx, dy), response = cv2.phaseCorrelate(eb, ea, win)
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    bxs = cv2.warpAffine(bx, M, (width, h), borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    bys = cv2.warpAffine(by, M, (width, h), borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    valid = cv2.warpAffine(np.ones_like(bx), M, (width, h), borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0) > 0.99
    valid[:4, :] = valid[-4:, :] = False
    valid[:, :4] = valid[:, -4:] = False
    if cover is not None:
        valid &= ~cover
    # gradient-vector correlation: unrelated views score ~0 (directions don't agree), the
    # same view under other light scores high; coarse blur forgives sub-pixel residue
    if valid.sum() < 0.1 * valid.size:
        sim: Optional[float] = None  # nothing left to compare: not judged
        by_axis: Optional[float] = None
    else:
        sim, by_axis = _edge_agreement(ax[valid], ay[valid], bxs[valid], bys[valid])
    full_w = p.bgr.shape[1]
    k = full_w / width
    if sim is None:  # nothing to align on either: the shift would be noise
        return {"scene_similarity": None, "scene_similarity_axis": None, "scene_shift_px": None,
                "scene_shift_pct": None, "scene_dx_px": None, "scene_dy_px": None,
                "scene_phase_response": float(response)}
    shift_px = math.hypot(dx, dy) * k
    return {"scene_similarity": max(0.0, sim), "scene_similarity_axis": by_axis,
            "scene_shift_px": float(shift_px),
            "scene_shift_pct": float(100.0 * shift_px / full_w),
            "scene_dx_px": float(dx * k), "scene_dy_px": float(dy * k),
            "scene_phase_response": float(response)}


# an axis's gradients are compared on their own only when they carry this share of the
# reference's gradient energy: a plain wall with a few horizontal joints has no vertical
# structure to agree or disagree
_AXIS_ENERGY = 0.15


def _edge_agreement(ux: np.ndarray, uy: np.ndarray, vx: np.ndarray,
                    vy: np.ndarray) -> tuple[float, Optional[float]]:
    """(joint, per axis) correlation of the frame's gradients (``ux``, ``uy``) with the
    reference's (``vx``, ``vy``), from the six sums both read.

    Joint: of the gradient vectors. Per axis: the lower of the correlations of the x
    gradients (vertical edges) and of the y gradients (horizontal edges), each axis read
    when it carries ``_AXIS_ENERGY`` of the reference's gradient energy (None when neither
    does). A camera panned along a street keeps the horizon, the rooflines and the road's
    lines at their heights while every vertical edge moves: the horizontal edges agree, and
    as they carry most of a street's gradient energy the joint correlation stays high (the
    field set's cameras turned to the sky read 0.32-0.48 against its 0.30) while the
    vertical edges' falls to zero. The same view under other light keeps both."""
    u = [x.astype(np.float64) for x in (ux, uy)]
    v = [x.astype(np.float64) for x in (vx, vy)]
    dot = [float(np.dot(a, b)) for a, b in zip(u, v)]
    uu = [float(np.dot(a, a)) for a in u]
    vv = [float(np.dot(b, b)) for b in v]

    def ratio(num: float, den2: float) -> float:
        return num / math.sqrt(den2) if den2 > 0 else 0.0

    joint = ratio(dot[0] + dot[1], (uu[0] + uu[1]) * (vv[0] + vv[1]))
    axes = [ratio(dot[k], uu[k] * vv[k]) for k in (0, 1)
            if vv[k] > 0 and vv[k] >= _AXIS_ENERGY * (vv[0] + vv[1])]
    return joint, (max(0.0, min(axes)) if axes else None)
