"""A white balance stuck on an indoor preset by day tints the whole picture blue. The blue
end of the line of lights is judged on its own figure (``cast_consensus_blue``,
``cast_vs_reference_blue``; rules ``color_cast_blue``, ``color_cast_vs_reference_blue``):
by day the white balance takes the daylight's range out, so a clean view's agreed shift
toward blue stays small, whatever the sky fills of it. Frames from the field set's camera
model, fixed seeds."""
from __future__ import annotations

import datetime as dt

import numpy as np

from probes.quality import Thresholds, diagnose
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.scenes import render

DAY = dt.datetime.fromisoformat("2026-06-01T11:00:00+08:00")


def _camera(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    scene = render(kind, rng, 640, 360)
    cam = C.Camera.random(rng)

    def shot(light: str = "day", faults: C.Faults = C.Faults()) -> bytes:
        return C.encode(C.shoot(scene, C.light_for(light, scene, rng), cam, rng, faults), 80)
    return shot


def _tungsten_preset(strength: float) -> C.Faults:
    return C.Faults(wb_gain=np.array([1 - 0.4 * strength, 1.0, 1 + 0.8 * strength], np.float32))


def test_a_blue_white_balance_is_a_cast_without_a_reference_where_the_cool_figure_misses_it():
    th = Thresholds.default()
    shot = _camera("street", 906)
    d = diagnose(shot(faults=_tungsten_preset(0.55)), thresholds=th, captured_at=DAY)
    rules = {f.rule for f in d.faults}
    assert "color_cast_blue" in rules and "color_cast_cool" not in rules, d.faults
    assert 225.0 <= d.measures["cast_consensus_hue"] < 300.0


def test_clean_daylight_and_blue_skies_are_not_blue_casts():
    th = Thresholds.default()
    for kind, seed in (("street", 906), ("sky", 906), ("sky", 907), ("courtyard", 907)):
        shot = _camera(kind, seed)
        for light in ("day", "overcast"):
            d = diagnose(shot(light), thresholds=th, captured_at=DAY)
            assert "color_cast" not in d.fault_names, (kind, light, d.faults)
            assert d.measures["cast_consensus_blue"] - d.measures["cast_consensus_blue_u"] < 3.0


def test_a_blue_white_balance_since_acceptance_is_a_cast_and_overcast_light_is_not():
    th = Thresholds.default()
    shot = _camera("street", 906)
    reference = shot("day")
    # overcast light is bluer than the sun the reference was taken in: the white balance
    # takes it out
    overcast = diagnose(shot("overcast"), reference=reference, thresholds=th, captured_at=DAY)
    assert overcast.fault_names == [], overcast.faults
    assert overcast.measures["cast_vs_reference_blue"] < 3.0
    d = diagnose(shot(faults=_tungsten_preset(0.55)), reference=reference, thresholds=th, captured_at=DAY)
    rules = {f.rule for f in d.faults}
    # under the figure of the whole line of lights, over the blue end's
    assert rules == {"color_cast_vs_reference_blue"}, d.faults
