"""A measured value carries its uncertainty: a rule fires only beyond the limit by more
than the value's own scatter, read from the frame; and the measures whose scatter or
scene content put clean views near their limits (stripes on a brick wall, blur of a
shaken camera) on generated frames."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M
from probes.quality.diagnose import judge

from quality_helpers import jpeg


def test_a_value_within_its_uncertainty_of_the_limit_is_not_beyond_it(thresholds):
    rule = next(r for r in thresholds.rules if r.name == "stripes")
    assert rule.crossed(14.4, 14.0) and not rule.crossed(14.4, 14.0, 1.0)
    assert rule.crossed(15.2, 14.0, 1.0)
    dark = next(r for r in thresholds.rules if r.name == "too_dark")
    assert dark.crossed(25.0, 27.0, 1.0) and not dark.crossed(25.0, 27.0, 2.5)


def test_judge_weighs_each_value_against_its_uncertainty(thresholds):
    base = {"stripes": 14.4, "stripe_period_analysis_px": 30.0, "brightness": 120.0}
    assert [f.fault for f in judge({**base, "stripes_u": 1.1}, thresholds, False)] == []
    faults = judge({**base, "stripes_u": 0.2}, thresholds, False)
    assert [f.fault for f in faults] == ["stripes"]
    assert faults[0].uncertainty == pytest.approx(0.2) and faults[0].as_dict()["uncertainty"] == 0.2


def test_batch_se_is_the_spread_of_the_parts_over_their_root():
    assert M.batch_se([5.0]) == 0.0
    assert M.batch_se([1.0, 1.0, 1.0, 1.0]) == 0.0
    assert M.batch_se([1.0, 2.0, 3.0, 4.0]) == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2.0)


def _bricks(h: int = 360, w: int = 640) -> np.ndarray:
    """scikit-image's brick wall photograph filling the view (its courses are thin light
    mortar lines: a harmonic series in the spectrum), under light falling across it and
    with the lens' fall-off toward the corners."""
    import skimage.data as skd

    img = cv2.resize(skd.brick(), (w, int(round(w * 512 / 512))), interpolation=cv2.INTER_AREA)[:h]
    img = img.astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    img = img * (1.0 - 0.18 * r2) * (0.85 + 0.3 * xx / w)
    return cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_a_brick_wall_filling_the_view_raises_nothing(thresholds):
    d = diagnose(jpeg(_bricks()), thresholds=thresholds)
    assert d.fault_names == [], (d.fault_names, d.measures["stripes"], d.measures["stripes_u"])


def test_interference_over_the_brick_wall_is_stripes(thresholds):
    wall = _bricks().astype(np.float32)
    y, x = np.mgrid[0:wall.shape[0], 0:wall.shape[1]].astype(np.float32)
    tone = 14.0 * np.sin(2 * np.pi * (x * np.cos(0.5) + y * np.sin(0.5)) / 9.0)
    d = diagnose(jpeg(np.clip(wall + tone[:, :, None], 0, 255).astype(np.uint8)), thresholds=thresholds)
    assert "stripes" in d.fault_names
    # a fine tone passes the noise residual too; it is reported once, as stripes
    assert "noise" not in d.fault_names


def test_a_shaken_camera_reads_as_blur_along_its_motion(scene, thresholds):
    kernel = np.zeros((1, 25), np.float32)
    kernel[0, :] = 1.0 / 25.0  # horizontal shake of 25 px: vertical edges smeared, horizontal kept
    shaken = cv2.filter2D(scene, -1, kernel, borderType=cv2.BORDER_REFLECT)
    d = diagnose(jpeg(shaken), thresholds=thresholds)
    assert "blur" in d.fault_names, (d.measures["blur"], d.measures["blur_u"])
    assert "blur" not in diagnose(jpeg(scene), thresholds=thresholds).fault_names


def test_a_clean_frame_reports_the_uncertainty_of_its_measures(scene, thresholds):
    m = diagnose(jpeg(scene), thresholds=thresholds).measures
    for name in ("noise", "blur", "color_cast", "cast_consensus"):
        assert m[name + "_u"] is not None and 0.0 <= m[name + "_u"] < abs(m[name]) + 1.0, name
