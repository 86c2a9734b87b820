"""A camera without an acceptance reference learns by day where its view shows fine
structure (``probes.quality.calibration``) and a cover at the lens is then found against
that (``cover_vs_normal``, rule ``occlusion_cover_vs_normal``), as against a reference.
Frames come from the field set's camera model (probes/quality/fieldset), fixed seeds."""
from __future__ import annotations

import json

import numpy as np
import pytest

from probes.quality import Thresholds, diagnose, learn
from probes.quality.calibration import (STRUCTURE_KEY, Calibration, pack_structure,
                                        unpack_structure)
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.faults import cover

from quality_helpers import FieldCamera

DAY = "2026-06-01T11:00:00+08:00"
NIGHT = "2026-06-01T23:00:00+08:00"


def _learned(camera: FieldCamera, th: Thresholds, n: int = 14) -> Calibration:
    frames = []
    for i in range(n):
        d = diagnose(camera.shot(("day", "overcast")[i % 2]), thresholds=th, captured_at=_at(DAY),
                     keep_structure=True)
        assert d.ok, d.faults
        frames.append(({**d.measures, STRUCTURE_KEY: d.extra[STRUCTURE_KEY]}, d.night))
    # stored as JSON beside the camera
    return Calibration.from_dict(json.loads(json.dumps(learn(frames).as_dict())))


def _at(iso: str):
    import datetime as dt
    return dt.datetime.fromisoformat(iso)


@pytest.fixture(scope="module")
def courtyard():
    th = Thresholds.default()
    cam = FieldCamera("courtyard", 906)
    return cam, _learned(cam, th), th


def test_a_cover_is_found_against_the_learned_view_and_the_clean_view_raises_nothing(courtyard):
    cam, cal, th = courtyard
    assert cal.day is not None and cal.day.structure is not None and cal.night is None
    for light in ("day", "overcast", "dusk"):
        d = diagnose(cam.shot(light), thresholds=th, captured_at=_at(DAY), calibration=cal)
        assert d.fault_names == [], (light, d.faults)
        assert d.measures["cover_vs_normal"] == pytest.approx(0.0)
    covered = cam.shot("day", C.Faults(in_front=cover("hand", 0.6, 11)))
    d = diagnose(covered, thresholds=th, captured_at=_at(DAY), calibration=cal)
    assert any(f.rule == "occlusion_cover_vs_normal" for f in d.faults), (d.measures["cover_vs_normal"], d.faults)
    # without the learned view, the fixed no-reference figures do not see this cover
    assert "occlusion" not in diagnose(covered, thresholds=th, captured_at=_at(DAY)).fault_names


def test_a_dark_cover_in_its_own_shadow_is_found(courtyard):
    cam, cal, th = courtyard
    rng = np.random.default_rng(3)
    clean = C.shoot(cam.scene, C.light_for("day", cam.scene, rng), cam.cam, rng)
    dark = clean.copy()
    h, w = dark.shape[:2]
    dark[:, : int(w * 0.55)] = (dark[:, : int(w * 0.55)] * 0.12).astype(np.uint8)  # a black bag
    d = diagnose(C.encode(dark, 80), thresholds=th, captured_at=_at(DAY), calibration=cal)
    assert d.measures["cover_vs_normal"] is not None and d.measures["cover_vs_normal"] > 0.4
    assert "occlusion" in d.fault_names


def test_a_turned_camera_is_not_read_as_covered(courtyard):
    _, cal, th = courtyard
    other = FieldCamera("street", 77)   # the same camera now looking at another view
    d = diagnose(other.shot("day"), thresholds=th, captured_at=_at(DAY), calibration=cal)
    assert d.measures["cover_vs_normal"] is None
    assert not any(f.rule == "occlusion_cover_vs_normal" for f in d.faults)


def test_covers_are_not_judged_at_night(courtyard):
    cam, cal, th = courtyard
    covered = cam.shot("day", C.Faults(in_front=cover("hand", 0.6, 11)))
    d = diagnose(covered, thresholds=th, captured_at=_at(NIGHT), calibration=cal)
    # the structure is learned by day only: the night half has none to judge against,
    # and a night frame keeps no map to learn from
    assert d.measures["cover_vs_normal"] is None
    assert STRUCTURE_KEY not in diagnose(covered, thresholds=th, captured_at=_at(NIGHT), keep_structure=True).extra


def test_a_calibration_learned_without_the_structure_still_loads_and_judges_no_cover(courtyard):
    cam, cal, th = courtyard
    data = cal.as_dict()
    del data["day"]["structure"]
    older = Calibration.from_dict(data)
    assert older.day is not None and older.day.structure is None
    covered = cam.shot("day", C.Faults(in_front=cover("hand", 0.6, 11)))
    d = diagnose(covered, thresholds=th, captured_at=_at(DAY), calibration=older)
    assert d.measures["cover_vs_normal"] is None
    assert d.measures["cast_vs_normal"] is not None   # the rest of the calibration still applies


def test_the_packed_map_keeps_structure_within_its_step_and_refuses_damage():
    rng = np.random.default_rng(0)
    detail = rng.uniform(0, 120, (45, 80)).astype(np.float32)
    mean = rng.uniform(0, 255, (45, 80)).astype(np.float32)
    packed = json.loads(json.dumps(pack_structure(detail, mean)))
    d2, m2 = unpack_structure(packed)
    assert d2.shape == (45, 80)
    # 32 steps per doubling of (1 + level): within 1.1 % of (1 + level) either way
    assert np.all(np.abs((1 + d2) / (1 + detail) - 1) <= 0.0111)
    assert np.all(np.abs(m2 - mean) <= 0.5)
    with pytest.raises(ValueError):
        unpack_structure({**packed, "shape": [44, 80]})
    with pytest.raises(ValueError):
        unpack_structure({**packed, "detail": "not base64!"})
    with pytest.raises(ValueError):
        unpack_structure({"shape": [45, 80]})


def test_damaged_or_missing_maps_teach_nothing_but_do_not_stop_learning(courtyard):
    cam, _, th = courtyard
    frames = []
    for i in range(14):
        d = diagnose(cam.shot("day"), thresholds=th, captured_at=_at(DAY), keep_structure=True)
        m = {**d.measures, STRUCTURE_KEY: d.extra[STRUCTURE_KEY]}
        if i < 3:
            m[STRUCTURE_KEY] = {"shape": [1, 1], "detail": "", "mean": ""}   # damaged row
        frames.append((m, False))
    cal = learn(frames)
    assert cal.day is not None and cal.day.structure is None   # 11 usable maps: under 12
    cal = learn(frames + [(frames[-1][0], False)] * 2)
    assert cal.day.structure is not None
