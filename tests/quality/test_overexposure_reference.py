"""Over-exposure judged against the acceptance reference (``overexposure_new``): a bright
subject before a dark background stays under the no-reference rule's lifted median however
far it is over-exposed; against the reference, the whole picture lifted and new areas burnt
out is found, while a low sun burning the sky and forced gain are not."""
from __future__ import annotations

import cv2
import numpy as np

from probes.quality import diagnose
from probes.quality.fieldset import camera as C

from quality_helpers import FieldCamera, jpeg, two_tone_texture


def _subject_before_dark_background() -> np.ndarray:
    """A pale, finely textured disc (a flower, a lit sign) over a dark leafy background."""
    img = two_tone_texture(25.0, 30.0, seed=6).astype(np.float32)
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    disc = ((xx - w * 0.5) ** 2 + (yy - h * 0.5) ** 2) < (0.3 * h) ** 2
    petals = 170.0 + 40.0 * np.sin(xx / 3.0) * np.cos(yy / 4.0)
    img[disc] = np.stack([petals * 0.8, petals * 0.9, petals], axis=2)[disc]
    return np.clip(img, 0, 255).astype(np.uint8)


def _exposed(img: np.ndarray, stops: float) -> np.ndarray:
    """The same view ``stops`` brighter in the sensor's linear light, clipped at full scale."""
    linear = (img.astype(np.float32) / 255.0) ** 2.2 * (2.0 ** stops)
    return (np.clip(linear, 0, 1) ** (1 / 2.2) * 255.0).astype(np.uint8)


def _too_bright_rules(d) -> set[str]:
    return {f.rule for f in d.faults if f.fault == "too_bright"}


def test_an_overexposed_subject_before_a_dark_background_is_found_against_the_reference(thresholds):
    ref = _subject_before_dark_background()
    over = _exposed(ref, 2.5)
    assert float(np.median(cv2.cvtColor(over, cv2.COLOR_BGR2GRAY))) < 150  # not a lifted median
    d = diagnose(jpeg(over), reference=jpeg(ref), thresholds=thresholds)
    assert "too_bright_clipped_vs_reference" in _too_bright_rules(d)
    assert d.measures["overexposure_new"] > 0.10
    # the same frame against itself: nothing burnt anew
    same = diagnose(jpeg(over), reference=jpeg(over), thresholds=thresholds)
    assert same.measures["overexposure_new"] == 0.0 and not _too_bright_rules(same)


def test_a_low_sun_burning_the_sky_is_not_over_exposure(thresholds):
    ref = _subject_before_dark_background()
    backlit = (ref.astype(np.float32) * 0.7).astype(np.uint8)  # the exposure follows the sun
    backlit[: ref.shape[0] // 3] = 255  # the sky above the view burnt out
    d = diagnose(jpeg(backlit), reference=jpeg(ref), thresholds=thresholds)
    assert d.measures["overexposure_new"] == 0.0
    assert not _too_bright_rules(d)


def test_forced_gain_lifts_the_picture_without_burning_it(thresholds):
    ref = _subject_before_dark_background()
    rng = np.random.default_rng(2)
    gained = np.clip(ref.astype(np.float32) * 1.6 * (ref < 150) + ref * (ref >= 150)
                     + rng.normal(0, 6, ref.shape), 0, 249).astype(np.uint8)
    d = diagnose(jpeg(gained), reference=jpeg(ref), thresholds=thresholds)
    assert d.measures["overexposure_new"] < 0.02
    assert not _too_bright_rules(d)


def test_the_field_cameras_overexposed_flower_is_found_against_its_reference(thresholds):
    cam = FieldCamera("photo_flower", 11)
    ref = cam.shot("day")
    over = cam.shot("day", C.Faults(exposure=7.0))
    d = diagnose(over, reference=ref, thresholds=thresholds)
    assert "too_bright" in d.fault_names
    assert d.measures["overexposure_new"] > 0.10
    assert diagnose(cam.shot("day"), reference=ref, thresholds=thresholds).ok
