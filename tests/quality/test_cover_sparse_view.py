"""A body at the lens in a view whose structure is sparse (a facade against the sky, a
garage): it hides little structure for the share of the view it covers, and a dark one sits
in its own shadow. Against the acceptance reference it is still a cover (``cover_new``);
what compression or rain takes off such a view, or the few marks of a plain wall, is not."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg


@pytest.fixture(scope="module")
def skyline(scene: np.ndarray) -> np.ndarray:
    """The photograph's lower fifth under a plain sky: structure over about a fifth of the view."""
    h, w = scene.shape[:2]
    rows = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    sky = np.array([225, 190, 150], np.float32) * (1 - 0.25 * rows) * np.ones((h, w, 3), np.float32)
    out = sky.copy()
    cut = int(h * 0.78)
    out[cut:] = scene[cut:]
    rng = np.random.default_rng(7)
    return np.clip(out + rng.normal(0, 1.5, out.shape), 0, 255).astype(np.uint8)


def dark_body(img: np.ndarray, share: float, transmission: float) -> np.ndarray:
    """A dark body a few millimetres from the lens over the left ``share`` of the view: it
    stops part of the aperture, so what it covers shows through dimmed, outline a wide ramp."""
    h, w = img.shape[:2]
    m = np.zeros((h, w), np.float32)
    m[:, : int(share * w)] = 1.0
    a = cv2.GaussianBlur(m, (0, 0), w * 0.03)[:, :, None] * (1 - transmission)
    return np.clip(img * (1 - a) + 12.0 * a, 0, 255).astype(np.uint8)


def _structured_share(img: np.ndarray) -> float:
    ref = M.prepare(img)
    return float(M.structured(M.structure_map(ref)[0], M.noise_sigma(ref)).mean())


def test_the_view_is_sparse(skyline):
    # the case this file is about: a cover could not hide 0.15 of the view's structure
    assert 0.08 < _structured_share(skyline) < 0.25


def test_a_dark_body_over_a_sparse_view_is_a_cover(skyline, thresholds):
    covered = dark_body(skyline, 0.5, 0.3)
    d = diagnose(jpeg(covered), reference=jpeg(skyline), thresholds=thresholds)
    assert d.measures["cover_new"] is not None and d.measures["cover_new"] >= 0.3
    assert any(f.rule == "occlusion_cover_new" for f in d.faults), d.faults


def test_heavy_compression_of_a_sparse_view_is_no_cover(skyline, thresholds):
    d = diagnose(jpeg(skyline, 25), reference=jpeg(skyline), thresholds=thresholds)
    assert not any(f.fault == "occlusion" for f in d.faults), d.faults


def _decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _wall_with_marks(sign: bool) -> np.ndarray:
    """A plain wall with a clock and, if ``sign``, a painted sign: marks over a few
    hundredths of the view."""
    rng = np.random.default_rng(3)
    wall = np.full((288, 512, 3), 160, np.uint8)
    cv2.circle(wall, (150, 120), 40, (40, 40, 40), 2)
    for k in range(12):
        t = k * np.pi / 6
        cv2.line(wall, (int(150 + 32 * np.cos(t)), int(120 + 32 * np.sin(t))),
                 (int(150 + 38 * np.cos(t)), int(120 + 38 * np.sin(t))), (30, 30, 30), 2)
    if sign:
        cv2.putText(wall, "EXIT 3", (300, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (30, 30, 160), 2)
    return np.clip(wall.astype(np.float32) + rng.normal(0, 1.5, wall.shape), 0, 255).astype(np.uint8)


def test_a_plain_wall_whose_sign_was_painted_over_is_no_cover(thresholds):
    # most of the little structure the wall had is gone, and the plain wall around it
    # joins it into one region over the view; but what went is under a sixteenth of it
    then, now = _wall_with_marks(sign=True), _wall_with_marks(sign=False)
    p = M.prepare(_decoded(jpeg(now)))
    ref = M.prepare_like(_decoded(jpeg(then)), p)
    noise = M.noise_sigma(ref)
    # the floor is what keeps it out: read without it, the wall is "covered"
    assert M.cover_new(p, ref, noise, min_hidden=0.0)["cover_new"] > 0.5
    assert M.cover_new(p, ref, noise)["cover_new"] == pytest.approx(0.0)
    d = diagnose(jpeg(now), reference=jpeg(then), thresholds=thresholds)
    assert not any(f.fault == "occlusion" for f in d.faults), d.faults


def test_a_burnt_out_part_of_a_sparse_view_is_not_a_cover(skyline):
    # a gain on the sensor burns most of the view out at full scale: no structure left
    # there, for the exposure's sake, not a body's (should the exposure fault be missed)
    h, w = skyline.shape[:2]
    burnt = skyline.astype(np.float32)
    burnt[:, : int(w * 0.7)] = burnt[:, : int(w * 0.7)] * 8.0
    burnt = np.clip(burnt, 0, 255).astype(np.uint8)
    p = M.prepare(burnt)
    ref = M.prepare_like(skyline, p)
    noise = M.noise_sigma(ref)
    assert M.cover_new(p, ref, noise)["cover_new"] == pytest.approx(0.0)
