"""A magenta cast without a reference: a green channel losing gain or an IR-cut filter stuck
out by day tints the whole picture toward magenta, where no light source sits; warm lamps,
blue skies and lamp-lit nights stay off that side."""
from __future__ import annotations

import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.scenes import render


def _shoot(kind: str, light: str, seed: int, faults: C.Faults = C.Faults(), awb: float | None = None) -> bytes:
    rng = np.random.default_rng(seed)
    scene = render(kind, rng, 640, 360)
    cam = C.Camera.random(rng)
    if awb is not None:
        cam.awb = awb
    return C.encode(C.shoot(scene, C.light_for(light, scene, rng), cam, rng, faults), 80)


@pytest.mark.parametrize("kind,light", [("street", "day"), ("garage", "indoor")])
@pytest.mark.parametrize("faults", [C.Faults(wb_gain=np.array([1.0, 0.7, 1.0], np.float32)),
                                    C.Faults(ir_cut_stuck=1.5)], ids=["green_low", "ir_cut_stuck"])
def test_a_magenta_cast_is_found_without_a_reference(kind, light, faults, thresholds):
    d = diagnose(_shoot(kind, light, 1, faults), thresholds=thresholds)
    hue = d.measures["cast_consensus_hue"]
    assert M.MAGENTA_HUES[0] <= hue <= M.MAGENTA_HUES[1]
    assert any(f.rule == "color_cast_magenta" for f in d.faults), d.measures["cast_consensus"]


def test_the_same_views_untinted_raise_no_cast(thresholds):
    for kind, light in (("street", "day"), ("garage", "indoor")):
        d = diagnose(_shoot(kind, light, 1), thresholds=thresholds)
        assert "color_cast" not in d.fault_names, d.measures["cast_consensus"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_warm_interior_a_blue_sky_and_a_lamp_lit_night_are_not_magenta(seed, thresholds):
    # judged by the day figures on purpose: even a night view must not read magenta
    views = {
        # a tungsten-lit lobby whose white balance leaves most of the warmth (16-17 Lab units
        # toward orange: warm, far from magenta)
        "interior": _shoot("interior", "indoor", seed, awb=0.3),
        "sky": _shoot("sky", "day", seed),
        "overcast sky": _shoot("sky", "overcast", seed),
        "lamp-lit street": _shoot("street", "night", seed),
        "lamp-lit courtyard": _shoot("courtyard", "night", seed),
    }
    for name, frame in views.items():
        d = diagnose(frame, thresholds=thresholds)
        assert not any(f.rule == "color_cast_magenta" for f in d.faults), name
        assert d.measures["cast_consensus_magenta"] == 0.0, (name, d.measures["cast_consensus_hue"])
