"""A camera with neither an acceptance reference nor a learned normal: a body over most of
its view is read on the frame alone (``cover_share``, rule ``occlusion_cover``, 0.85 by
day), an under-exposed view is not also a cover, and once the camera has learned where its
own view has structure the single-frame figure stands aside for that judgement."""
from __future__ import annotations

import datetime as dt
import json

import cv2
import numpy as np
import pytest
import skimage.data as skd

from probes.quality import Thresholds, diagnose, learn
from probes.quality.calibration import STRUCTURE_KEY, Calibration
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.faults import cover

from quality_helpers import FieldCamera, jpeg

DAY = dt.datetime.fromisoformat("2026-06-01T11:00:00+08:00")
NIGHT = dt.datetime.fromisoformat("2026-06-01T23:00:00+08:00")


def test_a_body_over_most_of_the_view_is_a_cover_without_a_reference():
    th = Thresholds.default()
    shot = FieldCamera("street", 908).shot
    clean = diagnose(shot(), thresholds=th, captured_at=DAY)
    assert clean.fault_names == [] and clean.measures["cover_share"] < 0.5
    for kind in ("hand", "bag", "sticker"):
        d = diagnose(shot(faults=C.Faults(in_front=cover(kind, 0.9, 11))), thresholds=th, captured_at=DAY)
        assert d.measures["cover_share"] >= 0.85, kind
        assert any(f.rule == "occlusion_cover" for f in d.faults), (kind, d.faults)
        # at night the unlit parts of a view lack structure whatever is in front of them:
        # the single-frame figure is not judged
        n = diagnose(shot(faults=C.Faults(in_front=cover(kind, 0.9, 11))), thresholds=th, captured_at=NIGHT)
        assert not any(f.rule == "occlusion_cover" for f in n.faults), (kind, n.faults)


def _dark_view(bgr: np.ndarray, k: float, rng: np.random.Generator) -> np.ndarray:
    """An iris stuck nearly shut: the view in the noise but for one lit window."""
    dark = bgr.astype(np.float32) * k + 6.0
    dark[10:70, 400:500] = bgr[10:70, 400:500] * 0.9
    return np.clip(dark + rng.normal(0, 1.0, dark.shape), 0, 255).astype(np.uint8)


def test_an_under_exposed_view_is_too_dark_and_not_also_a_cover():
    th = Thresholds.default()
    bgr = cv2.cvtColor(skd.astronaut(), cv2.COLOR_RGB2BGR)[100:388, :]
    d = diagnose(jpeg(_dark_view(bgr, 0.04, np.random.default_rng(1))), thresholds=th, captured_at=DAY)
    # flat where its light fell into the noise, sharp where the window still shows: the
    # cover's reading, which the exposure fault explains
    assert d.measures["cover_share"] >= 0.85 and d.measures["cover_rest_detail"] >= 15.0
    assert d.fault_names == ["too_dark"], d.faults


def _sky_view(bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Nine tenths a clear sky (a smooth gradient with sensor noise) over a sharp strip."""
    h, w = bgr.shape[:2]
    out = bgr.copy()
    top = int(h * 0.9)
    grad = np.linspace(200, 170, top, dtype=np.float32)[:, None, None] * np.array([1.0, 0.85, 0.7])[None, None, :]
    out[:top] = np.clip(grad + rng.normal(0, 1.5, (top, w, 1)), 0, 255).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def sky_camera():
    th = Thresholds.default()
    bgr = cv2.cvtColor(skd.astronaut(), cv2.COLOR_RGB2BGR)[100:388, :]
    rng = np.random.default_rng(2)
    frames = []
    for _ in range(14):
        d = diagnose(jpeg(_sky_view(bgr, rng)), thresholds=th, captured_at=DAY, keep_structure=True)
        frames.append(({**d.measures, STRUCTURE_KEY: d.extra[STRUCTURE_KEY]}, d.night))
    cal = Calibration.from_dict(json.loads(json.dumps(learn(frames).as_dict())))
    return bgr, rng, cal, th


def test_a_camera_that_learned_its_sky_filled_view_is_not_read_as_covered(sky_camera):
    bgr, rng, cal, th = sky_camera
    frame = jpeg(_sky_view(bgr, rng))
    # on the frame alone, nine tenths of plain sky over a sharp strip is what a cover over
    # nine tenths of the lens looks like (a known limit of the single-frame figure)
    alone = diagnose(frame, thresholds=th, captured_at=DAY)
    assert alone.measures["cover_share"] >= 0.85
    assert any(f.rule == "occlusion_cover" for f in alone.faults)
    # the camera learned that its view is mostly plain: judged against that instead
    d = diagnose(frame, thresholds=th, captured_at=DAY, calibration=cal)
    assert d.measures["cover_vs_normal"] is not None and d.measures["cover_vs_normal"] < 0.25
    assert d.fault_names == [], d.faults


def test_the_learned_view_still_finds_a_cover_over_the_strip_it_knows(sky_camera):
    bgr, rng, cal, th = sky_camera
    view = _sky_view(bgr, rng)
    h, w = view.shape[:2]
    # a dark body entering from the left over three quarters of the view, out of focus: most of the strip
    # the camera knows as structured is gone, its last quarter still shows
    mask = np.zeros((h, w), np.float32)
    mask[:, : w * 3 // 4] = 1.0
    soft = cv2.GaussianBlur(mask, (0, 0), w * 0.03)[:, :, None]
    body = np.full(view.shape, 35.0, np.float32)
    covered = np.clip(view * (1 - soft) + body * soft + rng.normal(0, 1.0, view.shape), 0, 255).astype(np.uint8)
    d = diagnose(jpeg(covered), thresholds=th, captured_at=DAY, calibration=cal)
    assert any(f.rule == "occlusion_cover_vs_normal" for f in d.faults), (d.measures["cover_vs_normal"], d.faults)
