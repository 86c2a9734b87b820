"""A shaken camera (motion during the exposure, the fieldset's fault model) smears its view
along one direction: the edges across the motion read softer than those along it and
fewer of them reach the edge floor. ``blur_directional`` (rule ``blur_shake``) reads that,
where the overall edge-spread ratio stays under the isotropic blur rule's figure. A clean
view whose edges mostly run one way (an interior of verticals) is not read as shaken."""
from __future__ import annotations

import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality import measures as M
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.scenes import render


def _frame(kind: str, seed: int, motion: float, size=(640, 360)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scene = render(kind, rng, *size)
    light = C.light_for("day", scene, rng)
    return C.shoot(scene, light, C.Camera(osd="none"), np.random.default_rng(100 + seed),
                   C.Faults(motion=motion))


def test_shaken_view_under_the_isotropic_figure_is_blur():
    # a 19 px shake over a photograph: overall ratio about 0.61 less its uncertainty, under
    # the profile's 0.60 plus uncertainty; the softest direction stands out from the others
    d = diagnose(_frame("photo_china", 1, 19.0))
    assert d.measures["blur_directional"] is not None
    rules = {f.rule for f in d.faults if f.fault == "blur"}
    assert "blur_shake" in rules
    assert "blur" not in rules  # the isotropic rule alone missed it


def test_same_view_unshaken_is_not_blur():
    d = diagnose(_frame("photo_china", 1, 0.0))
    assert d.measures["blur_directional"] is None
    assert not [f for f in d.faults if f.fault == "blur"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_interior_of_verticals_is_not_shaken(seed: int):
    d = diagnose(_frame("interior", seed, 0.0))
    assert d.measures["blur_directional"] is None
    assert not [f for f in d.faults if f.fault == "blur"]


def test_directional_needs_spread_and_thinned_edges():
    # softest direction 0.60 on 100 edge pixels against 2000 in the best one: a shake
    assert M._directional(0.60, [(0.60, 100), (0.40, 2000)], [100, 2000, 1800, 1900]) == 0.60
    # same spread, but the soft direction keeps most of its edges: scene content
    assert M._directional(0.60, [(0.60, 1500), (0.40, 2000)], [1500, 2000, 1800, 1900]) is None
    # thinned edges without a spread: not directional
    assert M._directional(0.60, [(0.60, 100), (0.55, 2000)], [100, 2000, 1800, 1900]) is None
    # one direction read: nothing to compare it with
    assert M._directional(0.60, [(0.60, 100)], [100, 0, 0, 0]) is None
