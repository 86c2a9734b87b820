"""Each detector on small generated images, including the hard clean cases."""
from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np
import pytest

from probes.quality import diagnose

from quality_helpers import jpeg


def names(d) -> set[str]:
    return set(d.fault_names)


def test_clean_scene_has_no_fault(scene, thresholds):
    d = diagnose(jpeg(scene), thresholds=thresholds)
    assert names(d) == set(), d.as_dict()["faults"]


def test_blur_detected_and_reported_with_evidence(scene, thresholds):
    d = diagnose(cv2.GaussianBlur(scene, (0, 0), 4.0), thresholds=thresholds)
    assert "blur" in names(d)
    f = next(f for f in d.faults if f.fault == "blur")
    assert f.value > f.threshold and f.measure == "blur" and f.clause


def test_plain_wall_is_not_blur(thresholds):
    rng = np.random.default_rng(3)
    h, w = 288, 512
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = 170 - 0.06 * x - 0.04 * y + cv2.GaussianBlur(rng.normal(0, 4, (h, w)).astype(np.float32), (0, 0), 1.0)
    img = cv2.cvtColor(np.clip(wall, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    d = diagnose(jpeg(img), thresholds=thresholds)
    assert "blur" not in names(d)
    # the focus measure declines to judge rather than calling a featureless view blurred
    assert d.measures["blur"] is None or d.measures["blur"] < thresholds.for_fault("blur")[0].day


def test_too_dark_by_day_but_not_a_night_scene_with_lights(scene, thresholds):
    rng = np.random.default_rng(4)
    dark = (scene.astype(np.float32) * 0.12)
    h, w = dark.shape[:2]
    glow = np.zeros((h, w), np.float32)
    for cx in (80, 250, 420):
        cv2.circle(glow, (cx, 40), 5, 1.0, -1)
    glow = np.clip(cv2.GaussianBlur(glow, (0, 0), 12) * 6, 0, 1)
    night = dark + 255 * glow[:, :, None] * np.array([0.55, 0.8, 1.0], np.float32)
    night = np.clip(night + rng.normal(0, 2, night.shape), 0, 255).astype(np.uint8)
    assert night.mean() < 30
    # naive times are UTC (platform convention): 03:00Z is 11:00 and 15:30Z 23:30 in Shanghai
    by_day = diagnose(night, thresholds=thresholds, captured_at=datetime(2026, 6, 1, 3, 0))
    at_night = diagnose(night, thresholds=thresholds, captured_at=datetime(2026, 6, 1, 15, 30))
    assert "too_dark" in names(by_day)
    assert at_night.night and "too_dark" not in names(at_night)


def test_too_bright(scene, thresholds):
    img = np.clip(scene.astype(np.float32) * 2.0 + 130, 0, 255).astype(np.uint8)
    assert "too_bright" in names(diagnose(img, thresholds=thresholds))


def test_low_contrast_fog(scene, thresholds):
    fog = (scene.astype(np.float32) * 0.15 + 185 * 0.85).astype(np.uint8)
    assert "low_contrast" in names(diagnose(fog, thresholds=thresholds))


def test_color_cast(scene, thresholds):
    cast = np.clip(scene.astype(np.float32) * np.array([1.7, 1.0, 0.6]), 0, 255).astype(np.uint8)
    # against the acceptance reference: the neutral point moved
    d = diagnose(cast, reference=scene, thresholds=thresholds)
    assert "color_cast" in names(d) and d.measures["color_shift"] > 8
    assert "color_cast" not in names(diagnose(scene, reference=scene, thresholds=thresholds))
    # without a reference only the absolute neutral-pixel chroma is there to judge, and
    # only a strong tint of a grey scene counts (a warm scene reads the same as a cast)
    rng = np.random.default_rng(9)
    h, w = 288, 512
    base = 120 + 30 * np.sin(np.arange(w) / 40)[None, :] + rng.normal(0, 3, (h, w))
    grey = cv2.cvtColor(np.clip(base, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    tinted = np.clip(grey.astype(np.float32) * np.array([1.6, 1.0, 0.6]), 0, 255).astype(np.uint8)
    assert "color_cast" in names(diagnose(tinted, thresholds=thresholds))
    assert "color_cast" not in names(diagnose(grey, thresholds=thresholds))
    assert "color_cast" not in names(diagnose(scene, thresholds=thresholds))


def test_noise(scene, thresholds):
    rng = np.random.default_rng(5)
    noisy = np.clip(scene + rng.normal(0, 12, scene.shape), 0, 255).astype(np.uint8)
    d = diagnose(jpeg(noisy, 90), reference=jpeg(scene), thresholds=thresholds)
    assert "noise" in names(d) and d.measures["noise_vs_reference"] > 0.7
    assert "noise" not in names(diagnose(jpeg(scene), reference=jpeg(scene), thresholds=thresholds))
    # alone, only strong noise counts (fine texture reads the same)
    snow = np.clip(scene + rng.normal(0, 45, scene.shape), 0, 255).astype(np.uint8)
    assert "noise" in names(diagnose(jpeg(snow, 90), thresholds=thresholds))


def _cover(img: np.ndarray, share: float, level: float = 40.0) -> np.ndarray:
    out = img.copy()
    rng = np.random.default_rng(6)
    w = int(img.shape[1] * share)
    cover = np.full((img.shape[0], w, 3), level, np.float32)
    out[:, :w] = np.clip(cover + rng.normal(0, 1.0, cover.shape), 0, 255).astype(np.uint8)
    return out


def test_occlusion_half_covered_against_reference(scene, thresholds):
    d = diagnose(_cover(scene, 0.5), reference=scene, thresholds=thresholds)
    assert "occlusion" in names(d)
    assert d.measures["occlusion_new"] >= 0.4
    # the covered half is left out of the view comparison: not a scene change
    assert "scene_change" not in names(d)


def test_plain_region_present_at_acceptance_is_not_occlusion(thresholds):
    rng = np.random.default_rng(8)
    h, w = 288, 512
    img = np.full((h, w, 3), 90, np.float32)  # a plain dim sky/wall over most of the view
    img[200:] = rng.uniform(0, 255, (h - 200, w, 3))  # busy ground
    ref = np.clip(img + rng.normal(0, 1, img.shape), 0, 255).astype(np.uint8)
    now = np.clip(img * 1.1 + rng.normal(0, 1, img.shape), 0, 255).astype(np.uint8)
    d = diagnose(now, reference=ref, thresholds=thresholds)
    assert d.measures["occlusion"] > 0.5  # blank, alone it would look covered...
    assert "occlusion" not in names(d)  # ...but it was blank at acceptance too


def test_full_cover_without_reference(scene, thresholds):
    d = diagnose(_cover(scene, 1.0), thresholds=thresholds)
    assert names(d) & {"occlusion", "signal_loss"}


def test_stripes_sinusoid(scene, thresholds):
    y = np.arange(scene.shape[0], dtype=np.float32)[:, None, None]
    striped = np.clip(scene + 20 * np.sin(2 * np.pi * y / 12), 0, 255).astype(np.uint8)
    d = diagnose(striped, thresholds=thresholds)
    assert "stripes" in names(d)
    assert 8 <= d.measures["stripe_period_px"] <= 18


def test_signal_loss_screens_mask_other_faults(thresholds):
    blue = np.zeros((288, 512, 3), np.uint8)
    blue[:] = (255, 0, 0)
    cv2.putText(blue, "NO SIGNAL", (170, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    d = diagnose(jpeg(blue), thresholds=thresholds)
    assert names(d) == {"signal_loss"}
    black = np.zeros((288, 512, 3), np.uint8)
    assert "signal_loss" in names(diagnose(black, thresholds=thresholds))


def test_colour_bars_are_signal_loss_but_a_side_cover_is_not(scene, thresholds):
    bars = np.zeros((288, 512, 3), np.uint8)
    for i, c in enumerate([(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0),
                           (192, 0, 192), (0, 0, 192), (192, 0, 0)]):
        bars[:, i * 512 // 7:(i + 1) * 512 // 7] = c
    d = diagnose(jpeg(bars), thresholds=thresholds)
    assert "signal_loss" in names(d) and d.measures["bars"] > 0.9
    covered = _cover(scene, 0.6)
    assert diagnose(covered, thresholds=thresholds).measures["bars"] < 0.5


def smpte_bars(w: int = 1280, h: int = 720) -> np.ndarray:
    """SMPTE ECR-1 colour bars: 75 % bars over reversed-blue castellations over the PLUGE
    row (-I, white, +Q, black, the three PLUGE steps), as many encoders send for a dead input."""
    img = np.zeros((h, w, 3), np.uint8)
    bars = [(191, 191, 191), (0, 191, 191), (191, 191, 0), (0, 191, 0), (191, 0, 191), (0, 0, 191), (191, 0, 0)]
    castellations = [(191, 0, 0), (19, 19, 19), (191, 0, 191), (19, 19, 19), (191, 191, 0), (19, 19, 19), (191, 191, 191)]
    for i, (top, mid) in enumerate(zip(bars, castellations)):
        img[: h * 2 // 3, i * w // 7:(i + 1) * w // 7] = top
        img[h * 2 // 3: h * 3 // 4, i * w // 7:(i + 1) * w // 7] = mid
    pluge = [((76, 33, 0), 5 / 28), ((255, 255, 255), 5 / 28), ((106, 0, 50), 5 / 28), ((19, 19, 19), 5 / 28),
             ((9, 9, 9), 1 / 21), ((19, 19, 19), 1 / 21), ((29, 29, 29), 1 / 21), ((19, 19, 19), 1 / 7)]
    x = 0.0
    for colour, width in pluge:
        img[h * 3 // 4:, int(x * w):int((x + width) * w) + 1] = colour
        x += width
    return img


def full_height_bars(w: int = 1280, h: int = 720) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    for i, c in enumerate([(191, 191, 191), (0, 191, 191), (191, 191, 0), (0, 191, 0),
                           (191, 0, 191), (0, 0, 191), (191, 0, 0)]):
        img[:, i * w // 7:(i + 1) * w // 7] = c
    return img


def hd_bars(w: int = 1280, h: int = 720) -> np.ndarray:
    """SMPTE RP 219 HD colour bars, four bands: 75 % bars between grey pillars; cyan, 100 %
    white, 75 % white, blue; yellow, a grey ramp, red; the PLUGE row."""
    img = np.zeros((h, w, 3), np.uint8)
    a, bw = w // 8, (w - 2 * (w // 8)) // 7
    b1, b2, b3 = h * 7 // 12, h * 8 // 12, h * 9 // 12
    img[:b1, :a] = img[:b1, w - a:] = (104, 104, 104)
    for i, c in enumerate([(180, 180, 180), (16, 180, 180), (180, 180, 16), (16, 180, 16),
                           (180, 16, 180), (16, 16, 180), (180, 16, 16)]):
        img[:b1, a + i * bw:a + (i + 1) * bw] = c
    img[b1:b2, :a], img[b1:b2, a:a + bw], img[b1:b2, a + bw:w - a], img[b1:b2, w - a:] = \
        (235, 235, 16), (235, 235, 235), (180, 180, 180), (235, 16, 16)
    img[b2:b3, :a], img[b2:b3, w - a:] = (16, 235, 235), (16, 16, 235)
    img[b2:b3, a:w - a] = np.linspace(16, 235, w - 2 * a).astype(np.uint8)[None, :, None]
    img[b3:] = (16, 16, 16)
    img[b3:, a:a + 2 * bw] = (235, 235, 235)
    img[b3:, a + 4 * bw:a + 4 * bw + bw // 3] = (12, 12, 12)
    img[b3:, a + 5 * bw:a + 5 * bw + bw // 3] = (20, 20, 20)
    return img


@pytest.mark.parametrize("pattern", [smpte_bars, hd_bars, full_height_bars])
@pytest.mark.parametrize("quality", [20, 50, 90])
def test_colour_bars_under_the_cameras_osd_are_signal_loss(thresholds, quality, pattern):
    # the encoder still burns in its clock and the camera's name; the pattern is read
    # around the text
    from probes.quality.fieldset.camera import draw_text

    frame = draw_text(pattern(), "2026年12月07日 星期一 10:00:00", (560, 12), 44)
    frame = draw_text(frame, "解放路3号 东门 IPC-0231", (16, 650), 44)
    d = diagnose(jpeg(frame, quality), thresholds=thresholds)
    assert names(d) == {"signal_loss"}
    assert d.measures["bars"] > 0.96


def test_rows_of_windows_on_a_flat_facade_are_no_pattern(thresholds):
    # a noiseless, level rendering of a facade: each row of windows (and each wall strip
    # between them) keeps its columns constant, as a pattern's band does; eleven bands are
    # rows of things, not a test pattern's three or four
    rng = np.random.default_rng(0)
    facade = np.full((720, 1280, 3), (120, 140, 170), np.float32)
    for r in range(6):
        for c in range(12):
            facade[40 + r * 115:110 + r * 115, 30 + c * 105:90 + c * 105] = (60, 50, 40)
    view = np.clip(facade + rng.normal(0, 1.0, facade.shape), 0, 255).astype(np.uint8)
    d = diagnose(jpeg(view), thresholds=thresholds)
    assert d.measures["bars"] == 0.0
    assert "signal_loss" not in names(d)


def test_a_view_half_clear_sky_is_not_bars(scene, thresholds):
    # the sky's rows repeat and its columns are constant: it counts as one band, the view
    # under it as none, and the whole stays far from a pattern
    view = scene.copy()
    view[: view.shape[0] // 2] = (235, 200, 160)
    rng = np.random.default_rng(3)
    view = np.clip(view + rng.normal(0, 1.0, view.shape), 0, 255).astype(np.uint8)
    d = diagnose(jpeg(view), thresholds=thresholds)
    assert 0.3 < d.measures["bars"] < 0.8
    assert "signal_loss" not in names(d)


def test_frozen_vs_moving_scene(scene, thresholds):
    frame = jpeg(scene)
    assert "frozen" in names(diagnose(frame, previous=frame, thresholds=thresholds))
    rng = np.random.default_rng(7)
    moved = scene.copy()
    moved[100:160, 200:300] = np.roll(moved[100:160, 200:300], 9, axis=1)
    live = np.clip(moved + rng.normal(0, 1.5, scene.shape), 0, 255).astype(np.uint8)
    d = diagnose(frame, previous=jpeg(live), thresholds=thresholds)
    assert "frozen" not in names(d) and d.measures["frozen"] < 0.95


def test_scene_change_robust_to_light_and_vibration(scene, thresholds):
    ref = jpeg(scene)
    shifted = np.roll(scene, (2, 3), axis=(0, 1))
    dimmer = np.clip(shifted.astype(np.float32) * 0.7, 0, 255).astype(np.uint8)
    same = diagnose(jpeg(dimmer), reference=ref, thresholds=thresholds)
    assert "scene_change" not in names(same)
    assert same.measures["scene_shift_px"] < 6
    other = cv2.cvtColor(cv2.resize(__import__("skimage.data", fromlist=["x"]).coffee(), (512, 288)),
                         cv2.COLOR_RGB2BGR)
    d = diagnose(jpeg(other), reference=ref, thresholds=thresholds)
    assert "scene_change" in names(d)


def test_scene_change_reports_how_far_the_view_moved(scene, thresholds):
    M = np.float32([[1, 0, 60], [0, 1, 0]])
    panned = cv2.warpAffine(scene, M, (scene.shape[1], scene.shape[0]), borderMode=cv2.BORDER_REFLECT)
    d = diagnose(panned, reference=scene, thresholds=thresholds)
    assert 50 <= d.measures["scene_shift_px"] <= 70
    assert "scene_change" in names(d)
