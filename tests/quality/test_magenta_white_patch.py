"""A magenta cast over a lawn, without a reference: a green channel that lost gain turns the
lawn grey, so the grey world and the least coloured half no longer agree with the white
patch and the three-estimate magenta rule reads nothing. The brightest surfaces (path,
clouds, sills) still take the cast, and no light is magenta (color_cast_white_magenta)."""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from probes.quality import diagnose
from probes.quality.fieldset import camera as C

sys.path.insert(0, str(Path(__file__).parent))
from quality_helpers import FieldCamera  # noqa: E402

DEVSET = Path(__file__).resolve().parents[2] / "probes" / "quality" / "devset"
NOON = datetime(2026, 6, 1, 11, 0, tzinfo=timezone(timedelta(hours=8)))
GREEN_LOW = C.Faults(wb_gain=np.array([1.0, 0.57, 1.0], np.float32))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_magenta_cast_over_a_park_is_found_by_its_brightest_surfaces(seed):
    cam = FieldCamera("park", seed)
    clean = diagnose(cam.shot("day"), captured_at=NOON)
    cast = diagnose(cam.shot("day", GREEN_LOW), captured_at=NOON)
    assert not clean.faults
    assert cast.measures["cast_consensus_magenta"] < 4.0      # the three estimates disagree
    rules = {f.rule for f in cast.faults if f.fault == "color_cast"}
    assert rules == {"color_cast_white_magenta"}
    assert cast.measures["cast_white_magenta"] - cast.measures["cast_white_magenta_u"] > 10.0


@pytest.mark.parametrize("kind", ["street", "courtyard", "sky", "interior"])
def test_views_without_a_cast_have_no_magenta_white_patch(kind):
    cam = FieldCamera(kind, 5)
    for light in ("day", "overcast"):
        d = diagnose(cam.shot(light), captured_at=NOON)
        assert d.measures["cast_white_magenta"] < 5.0
        assert "color_cast" not in {f.fault for f in d.faults}


def test_a_portrait_in_pink_light_is_not_a_cast():
    # the devset's astronaut portrait as a camera sent it: a white suit under pinkish
    # light is the brightest surface of the view, and reads magenta
    frame = cv2.imread(str(DEVSET / "frames" / "dev_frozen_02.jpg"))
    d = diagnose(frame, captured_at=NOON)
    assert d.measures["cast_white_magenta"] > 5.0
    assert "color_cast" not in {f.fault for f in d.faults}
