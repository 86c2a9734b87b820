"""An over-exposed view has burnt out its brightest surfaces: the white patch then reads
the brightest of the coloured rest and the tone curve's shoulder bends what is left near
white, so its colour says nothing about the light (an orange flower burnt white on teal
leaves read as a teal cast). A white-balance fault clips one channel, not all three."""
from __future__ import annotations

import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.scenes import render


def _shoot(kind: str, light: str, seed: int, faults: C.Faults = C.Faults(), shot: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    scene = render(kind, rng, 640, 360)
    cam = C.Camera.random(rng)
    lt = C.light_for(light, scene, np.random.default_rng(500 + shot))
    return C.encode(C.shoot(scene, lt, cam, np.random.default_rng(1000 + shot), faults), 80)


@pytest.mark.parametrize("seed", [1, 4, 5])
@pytest.mark.parametrize("exposure", [5.0, 7.0])
def test_an_over_exposed_close_up_is_not_a_cast(seed, exposure, thresholds):
    frame = _shoot("photo_flower", "day", seed, C.Faults(exposure=exposure), shot=1)
    d = diagnose(frame, thresholds=thresholds)
    assert d.measures["clipped"] > M.WHITE_PATCH_SHARE
    assert "color_cast" not in d.fault_names, (d.measures["cast_consensus"], d.measures["cast_consensus_hue"])
    dr = diagnose(frame, reference=_shoot("photo_flower", "day", seed), thresholds=thresholds)
    assert "color_cast" not in dr.fault_names, dr.measures["cast_vs_reference"]


@pytest.mark.parametrize("gains", [(1.0, 0.55, 1.0), (0.6, 1.0, 1.8), (0.6, 1.3, 0.6)], ids=["green_low", "blue", "green"])
def test_a_strong_channel_gain_clips_one_channel_and_is_still_judged(gains, thresholds):
    frame = _shoot("street", "day", 1, C.Faults(wb_gain=np.array(gains, np.float32)), shot=1)
    d = diagnose(frame, thresholds=thresholds)
    assert d.measures["clipped"] <= M.WHITE_PATCH_SHARE
    assert "color_cast" in d.fault_names, d.measures
