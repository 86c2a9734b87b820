"""Snapshots over HTTP Digest (httpx), natural variation, and every picture fault,
each judged by the measure a quality check would use."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from sim_helpers import pick, snapshot


def _img(resp) -> np.ndarray:
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(resp.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def _gray(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _sharp(img) -> float:
    return float(cv2.Laplacian(_gray(img), cv2.CV_64F).var())


def _diff(a, b) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture
def cam(fleet):
    return pick(fleet, "camera", role="road")


def test_digest_auth_required_and_checked(cam):
    import httpx
    url = f"http://{cam['ip']}:{cam['onvif_port']}/onvif/snapshot?profile=Profile_1"
    r = httpx.get(url, timeout=10)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Digest ")
    assert snapshot(cam, password="nope").status_code == 401
    img = _img(snapshot(cam))
    assert img.shape == (720, 1280, 3)


def test_healthy_frames_vary_mildly_and_cameras_differ(fleet, cam):
    a, b = _img(snapshot(cam)), _img(snapshot(cam))
    other = _img(snapshot(pick(fleet, "camera", role="perimeter")))
    assert 0 < _diff(a, b) < 8              # never identical, but the same scene
    assert _diff(a, other) > 20             # one scene per camera


def test_frozen_returns_identical_bytes(fleet, cam):
    fleet.set_faults(cam["serial"], ["frozen"])
    r1, r2 = snapshot(cam), snapshot(cam)
    assert r1.status_code == 200 and r1.content == r2.content
    fleet.clear_faults(cam["serial"])
    assert snapshot(cam).content != r1.content


def test_scene_change_looks_elsewhere(fleet, cam):
    ref = _img(snapshot(cam))
    fleet.set_faults(cam["serial"], ["scene_change"])
    moved = _img(snapshot(cam))
    assert _diff(ref, moved) > 20


@pytest.mark.parametrize("fault", ["signal_loss", "blur", "too_dark", "too_bright", "low_contrast",
                                   "color_cast", "noise", "occlusion", "stripes"])
def test_picture_fault_is_measurable(fleet, cam, fault):
    ref = _img(snapshot(cam))
    fleet.set_faults(cam["serial"], [fault])
    img = _img(snapshot(cam))
    g, rg = _gray(img), _gray(ref)
    if fault == "signal_loss":
        assert float(np.median(g)) < 60 and float((np.abs(g.astype(int) - int(np.median(g))) < 8).mean()) > 0.9
    elif fault == "blur":
        assert _sharp(img) < 0.2 * _sharp(ref)
    elif fault == "too_dark":
        assert g.mean() < 40 < rg.mean()
    elif fault == "too_bright":
        assert g.mean() > 200 > rg.mean()
    elif fault == "low_contrast":
        assert g.std() < 0.3 * rg.std()
    elif fault == "color_cast":
        b, gr, r = (img[..., i].mean() for i in range(3))
        assert gr > 1.4 * b and gr > 1.4 * r
    elif fault == "noise":
        hi = lambda x: float(np.abs(x.astype(np.float32) - cv2.medianBlur(x, 3)).mean())  # noqa: E731
        assert hi(g) > 3 * hi(rg)
    elif fault == "occlusion":
        dark_ref, dark = (rg < 50).mean(), (g < 50).mean()
        assert dark - dark_ref > 0.3
    elif fault == "stripes":
        rows = g.mean(axis=1) - cv2.GaussianBlur(g, (0, 0), 25).mean(axis=1)
        rows_ref = rg.mean(axis=1) - cv2.GaussianBlur(rg, (0, 0), 25).mean(axis=1)
        assert rows.std() > 3 * rows_ref.std()
    fleet.clear_faults(cam["serial"])
    assert _diff(_img(snapshot(cam)), ref) < 8


def test_nvr_serves_snapshots_but_switch_does_not(fleet):
    assert _img(snapshot(pick(fleet, "nvr"))).shape == (720, 1280, 3)
    assert snapshot(pick(fleet, "switch")).status_code == 404
