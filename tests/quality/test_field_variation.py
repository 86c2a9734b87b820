"""Round-2 behaviours: what real city cameras add to every picture (burned-in OSD text, IR
night mode, glare) must not read as faults, and the faults they hid must still be found."""
from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np

from probes.quality import diagnose
from probes.quality import measures as M

from quality_helpers import jpeg

NIGHT = datetime(2026, 6, 1, 15, 30)  # naive = UTC: 23:30 in the profile's zone


def names(d) -> set[str]:
    return set(d.fault_names)


def osd(img: np.ndarray, stamp: str = "2026-06-01 11:00:27", name: str = "CAM-0412 NORTH GATE") -> np.ndarray:
    """A camera's clock top-left and its name bottom-left, white, as burned in by the encoder."""
    out = img.copy()
    h = out.shape[0]
    cv2.putText(out, stamp, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.putText(out, name, (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def noisy(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_osd_text_is_found_and_is_not_a_fault(scene, thresholds):
    framed = osd(scene)
    p = M.prepare(framed)
    assert p.osd is not None and 0.005 < float(p.osd.mean()) < 0.15
    # the text rows, not the picture: nothing found in the middle band of the frame
    h = p.osd.shape[0]
    assert not p.osd[int(0.3 * h):int(0.7 * h)].any()
    assert names(diagnose(jpeg(framed), thresholds=thresholds)) == set()


def test_black_screen_with_osd_is_signal_loss_not_occlusion(thresholds):
    black = osd(np.zeros((288, 512, 3), np.uint8))
    d = diagnose(jpeg(black, 80), thresholds=thresholds)
    assert "signal_loss" in names(d) and "occlusion" not in names(d)
    blue = np.full((288, 512, 3), (140, 30, 10), np.uint8)
    cv2.putText(blue, "NO VIDEO", (150, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2, cv2.LINE_AA)
    d = diagnose(jpeg(osd(blue), 70), thresholds=thresholds)
    assert "signal_loss" in names(d), d.measures


def test_osd_over_a_live_but_plain_view_is_not_signal_loss_or_occlusion(thresholds):
    # a dim, evenly lit car park at dusk with its clock: a sensor picture, not a screen
    rng = np.random.default_rng(11)
    h, w = 288, 512
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    view = 60 + 40 * (x / w) + 25 * np.sin(y / 23.0) + cv2.GaussianBlur(
        rng.normal(0, 6, (h, w)).astype(np.float32), (0, 0), 1.2)
    img = osd(cv2.cvtColor(np.clip(view, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR))
    found = names(diagnose(jpeg(img, 60), thresholds=thresholds))
    assert not found & {"signal_loss", "occlusion"}, found


def test_dark_jpeg_view_is_too_dark_not_signal_loss(scene, thresholds):
    # JPEG flattens a dark view almost everywhere; a no-video screen is ONE level
    dark = np.clip(((scene.astype(np.float32) / 255.0) ** 1.5) * 60.0, 0, 255).astype(np.uint8)
    d = diagnose(jpeg(dark, 60), thresholds=thresholds)
    assert d.measures["mode_share"] < 0.8
    assert "too_dark" in names(d) and "signal_loss" not in names(d)


def test_ir_grayscale_night_is_not_colour_cast(scene, thresholds):
    gray = cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY)
    ir = noisy(cv2.cvtColor((gray * 0.8).astype(np.uint8), cv2.COLOR_GRAY2BGR), 3.0, 5)
    ir = osd(ir)
    alone = diagnose(jpeg(ir), thresholds=thresholds, captured_at=NIGHT)
    assert "color_cast" not in names(alone) and alone.measures["color_cast"] < 2.0
    # against a colour daytime reference of the same view: IR took the colour, not a cast
    ref = jpeg(osd(scene, stamp="2026-05-20 10:12:00"))
    with_ref = diagnose(jpeg(ir), reference=ref, thresholds=thresholds, captured_at=NIGHT)
    assert "color_cast" not in names(with_ref), with_ref.measures["color_shift"]


def test_osd_does_not_hide_blur(scene, thresholds):
    # the text stays sharp on a defocused picture: the focus measure must look past it
    soft = osd(noisy(cv2.GaussianBlur(scene, (0, 0), 3.0), 1.5, 2))
    d = diagnose(jpeg(soft), reference=jpeg(osd(scene)), thresholds=thresholds)
    assert "blur" in names(d)
    assert "blur" in names(diagnose(jpeg(osd(cv2.GaussianBlur(scene, (0, 0), 5.0))), thresholds=thresholds))


def test_a_view_soft_at_acceptance_is_not_blur_but_softer_since_is(scene, thresholds):
    soft = cv2.GaussianBlur(scene, (0, 0), 1.2)
    ref = jpeg(noisy(soft, 1.5, 8))
    same = diagnose(jpeg(noisy(soft, 1.5, 9)), reference=ref, thresholds=thresholds)
    assert "blur" not in names(same) and abs(same.measures["blur_vs_reference"]) < 0.1
    softer = diagnose(jpeg(noisy(cv2.GaussianBlur(scene, (0, 0), 3.5), 1.5, 9)), reference=ref,
                      thresholds=thresholds)
    assert "blur" in names(softer)


def test_headlight_glare_at_night_is_not_blur(scene, thresholds):
    dark = scene.astype(np.float32) * 0.3
    h, w = dark.shape[:2]
    glow = np.zeros((h, w), np.float32)
    for cx in (200, 300):
        cv2.circle(glow, (cx, 220), 7, 1.0, -1)
    glow = np.clip(cv2.GaussianBlur(glow, (0, 0), 18) * 10, 0, 1)
    lit = dark * (1 - glow[:, :, None]) + 255 * glow[:, :, None]
    img = osd(noisy(lit, 2.5, 4))
    d = diagnose(jpeg(img), thresholds=thresholds, captured_at=NIGHT)
    assert "blur" not in names(d), d.measures["blur"]


def test_snow_impulses_are_noise_against_the_reference(scene, thresholds):
    rng = np.random.default_rng(12)
    snow = noisy(scene, 2.0, 3)
    mask = rng.random(scene.shape[:2]) < 0.03
    snow[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
    ref = jpeg(noisy(scene, 1.5, 6))
    d = diagnose(jpeg(snow, 85), reference=ref, thresholds=thresholds)
    assert "noise" in names(d) and d.measures["impulses_new"] > 0.012
    clean = diagnose(jpeg(noisy(scene, 2.0, 7)), reference=ref, thresholds=thresholds)
    assert "noise" not in names(clean) and clean.measures["impulses_new"] < 0.005


def test_low_frequency_bars_found_against_the_reference(scene, thresholds):
    h, w = scene.shape[:2]
    y = np.arange(h, dtype=np.float32)[:, None, None]
    bars = np.clip(scene + 12.0 * np.sin(2 * np.pi * y / 38.0), 0, 255).astype(np.uint8)
    ref = jpeg(noisy(scene, 1.5, 6))
    d = diagnose(jpeg(noisy(bars, 1.5, 2)), reference=ref, thresholds=thresholds)
    assert "stripes" in names(d) and d.measures["stripe_tone_new"] > 3.0
    assert diagnose(jpeg(noisy(scene, 1.5, 2)), reference=ref, thresholds=thresholds).measures["stripe_tone_new"] < 1.5


def test_cover_over_a_plain_area_is_found_by_its_change_in_brightness(thresholds):
    # a view that is mostly a bright plain wall: a dark cover over the wall hides no detail
    rng = np.random.default_rng(21)
    h, w = 288, 512
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = 185 - 0.03 * x + cv2.GaussianBlur(rng.normal(0, 2, (h, w)).astype(np.float32), (0, 0), 1.0)
    view = cv2.cvtColor(np.clip(wall, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    cv2.rectangle(view, (360, 40), (480, 250), (60, 70, 80), -1)  # a door: the only detail
    cover = view.copy().astype(np.float32)
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (170, 150), (150, 110), 0, 0, 360, 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), 6)[:, :, None]
    covered = noisy(cover * (1 - m) + 45.0 * m, 1.5, 3)
    d = diagnose(jpeg(covered), reference=jpeg(noisy(view, 1.5, 4)), thresholds=thresholds)
    assert "occlusion" in names(d), d.measures["occlusion_new"]
    live = diagnose(jpeg(noisy(view, 1.5, 5)), reference=jpeg(noisy(view, 1.5, 4)), thresholds=thresholds)
    assert "occlusion" not in names(live)


def test_plain_wall_is_not_low_contrast_against_its_own_reference(thresholds):
    rng = np.random.default_rng(31)
    h, w = 288, 512
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = 150 - 0.05 * x + cv2.GaussianBlur(rng.normal(0, 3, (h, w)).astype(np.float32), (0, 0), 1.0)
    img = cv2.cvtColor(np.clip(wall, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    d = diagnose(jpeg(noisy(img, 1.0, 1)), reference=jpeg(noisy(img, 1.0, 2)), thresholds=thresholds)
    assert "low_contrast" not in names(d) and d.measures["contrast_vs_reference"] > 0.8


def test_osd_found_at_1080p_where_the_analysis_copy_is_downscaled(thresholds):
    import skimage.data as skd

    img = cv2.resize(cv2.cvtColor(skd.astronaut(), cv2.COLOR_RGB2BGR), (1920, 1080), interpolation=cv2.INTER_AREA)

    def burn(x: np.ndarray) -> np.ndarray:
        x = x.copy()
        for y, text in ((64, "2026-06-01 11:00:27"), (1040, "CAM-0412 NORTH GATE")):
            cv2.putText(x, text, (24, y), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 3, cv2.LINE_AA)
        return x

    sharp, soft, black = burn(img), burn(cv2.GaussianBlur(img, (0, 0), 9)), burn(np.zeros_like(img))
    assert M.prepare(sharp).osd.any()
    assert "blur" not in names(diagnose(jpeg(sharp, 80), thresholds=thresholds))
    assert "blur" in names(diagnose(jpeg(soft, 80), thresholds=thresholds))
    assert names(diagnose(jpeg(black, 80), thresholds=thresholds)) == {"signal_loss"}
