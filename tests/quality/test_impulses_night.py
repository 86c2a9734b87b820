"""Isolated spikes since acceptance at night: the camera's own gain throws them over fine
texture (a lawn) against a daylight reference, so the night figure stands above that;
interference (snow) strong enough still crosses it."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.faults import snow
from probes.quality.fieldset.scenes import render

NIGHT = datetime.fromisoformat("2026-06-01T23:30:00+08:00")


def _shoot(light: str, faults: C.Faults = C.Faults(), shot: int = 0, seed: int = 6) -> bytes:
    rng = np.random.default_rng(seed)
    scene = render("park", rng, 640, 360)
    cam = C.Camera.random(rng)
    lt = C.light_for(light, scene, np.random.default_rng(500 + shot))
    return C.encode(C.shoot(scene, lt, cam, np.random.default_rng(1000 + shot), faults), 80)


def _rule(thresholds, name):
    return next(r for r in thresholds.rules if r.name == name)


@pytest.mark.parametrize("light", ["night", "ir"])
def test_gain_spikes_over_a_lawn_at_night_are_not_noise(light, thresholds):
    rule = _rule(thresholds, "noise_impulses_new")
    d = diagnose(_shoot(light, shot=1), reference=_shoot("day"), thresholds=thresholds, captured_at=NIGHT)
    # more spikes than the day figure allows: judged by day, this clean view would be raised
    assert d.measures["impulses_new"] > rule.day, d.measures["impulses_new"]
    assert not any(f.rule == "noise_impulses_new" for f in d.faults), d.measures["impulses_new"]


def test_strong_snow_at_night_is_still_found(thresholds):
    d = diagnose(_shoot("night", C.Faults(analog=snow(1.5)), shot=1), reference=_shoot("day"),
                 thresholds=thresholds, captured_at=NIGHT)
    assert d.measures["impulses_new"] > _rule(thresholds, "noise_impulses_new").night
    assert any(f.rule == "noise_impulses_new" for f in d.faults), d.measures["impulses_new"]
