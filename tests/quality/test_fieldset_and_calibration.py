"""The field set (a generator independent of the development set) at reduced scale, the
measures added for it (encoder screens, clipped highlights, colour consensus), and
per-camera calibration. Everything is generated from fixed seeds."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from probes.quality import Thresholds, diagnose, learn, load_frame
from probes.quality.devset.score import load_cases, score
from probes.quality.fieldset import camera as C
from probes.quality.fieldset import faults as F
from probes.quality.fieldset.make import build
from probes.quality.fieldset.scenes import render

DAY = datetime.fromisoformat("2026-06-01T11:00:00+08:00")


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("fieldset"), seed=7, scale=0.08, small=True)


def _one_frame(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    scene = render("street", rng, 320, 180)
    cam = C.Camera.random(rng)
    return C.encode(C.shoot(scene, C.light_for("day", scene, rng), cam, rng), cam.quality)


def test_field_set_is_deterministic_and_labelled(small_set):
    assert _one_frame(11) == _one_frame(11) and _one_frame(11) != _one_frame(12)
    cases = load_cases(small_set)
    labels = {lab for c in cases for lab in c["labels"]}
    assert labels == {"signal_loss", "blur", "too_dark", "too_bright", "low_contrast", "color_cast",
                      "noise", "occlusion", "stripes", "frozen", "scene_change"}
    assert sum(not c["labels"] for c in cases) >= 12


def _predict(cases_path: Path, th: Thresholds) -> dict[str, set[str]]:
    out = {}
    for c in load_cases(cases_path):
        def opt(k):
            return load_frame(cases_path.parent / c[k]) if c.get(k) else None
        d = diagnose(load_frame(cases_path.parent / c["frame"]), opt("previous"), opt("reference"), th,
                     datetime.fromisoformat(c["captured_at"]))
        out[c["id"]] = set(d.fault_names)
    return out


def test_small_field_set_finds_screens_and_overexposure_without_false_alarms(small_set):
    th = Thresholds.default()
    cases = load_cases(small_set)
    s = score(cases, _predict(small_set, th))
    per = s["per_fault"]
    assert per["signal_loss"]["recall"] == 1.0 and per["signal_loss"]["precision"] == 1.0, s["failures"]
    # an over-exposed flower on a dark background keeps a dark median: missed (see docs/quality.md)
    assert per["too_bright"]["recall"] >= 0.5 and per["too_dark"]["recall"] == 1.0, s["failures"]
    assert s["false_alarm_rate"] <= 0.12, s["failures"]


@pytest.mark.parametrize("seed", range(8))
def test_encoder_no_signal_screens_are_signal_loss(seed):
    rng = np.random.default_rng(seed)
    cam = C.Camera.random(rng)
    data, desc = F.no_signal_screen(rng, 704, 576, cam, "2026-06-01T11:00:00+08:00")
    d = diagnose(data, captured_at=DAY)
    assert d.fault_names == ["signal_loss"], (desc, d.measures)


def test_package_rules_join_the_profile_and_a_profile_can_replace_them():
    th = Thresholds.default()
    names = {r.name for r in th.rules}
    assert {"signal_loss_screen", "too_bright_clipped", "color_cast_consensus", "color_cast_vs_normal"} <= names
    section = {"rules": {"too_bright_clipped": {"measure": "overexposure", "op": "above", "day": 0.5,
                                                "fault": "too_bright", "clause": "local standard"}}}
    local = Thresholds.from_mapping(section)
    rule = next(r for r in local.rules if r.name == "too_bright_clipped")
    assert rule.day == 0.5 and rule.clause == "local standard"
    none = Thresholds.from_mapping({**section, "package_rules": False})
    assert {r.name for r in none.rules} == {"too_bright_clipped"}


def test_a_package_rule_kept_with_default_false_applies_only_where_a_profile_names_it(monkeypatch):
    from probes.quality import thresholds as T

    kept = {"measure": "cover_share", "op": "above", "day": 0.5, "fault": "occlusion",
            "needs": "no_reference", "clause": "kept as data", "default": False}
    monkeypatch.setattr(T, "package_rules", lambda: {"kept_rule": kept})
    section = {"rules": {"too_bright_clipped": {"measure": "overexposure", "op": "above", "day": 0.5,
                                                "fault": "too_bright", "clause": "local standard"}}}
    assert "kept_rule" not in {r.name for r in Thresholds.from_mapping(section).rules}
    named = Thresholds.from_mapping({"rules": {**section["rules"], "kept_rule": kept}})
    assert "kept_rule" in {r.name for r in named.rules}


def _interior_frames(seed: int, n: int, wb_gain=None):
    """One warm-lit lobby camera (no white balance left to correct it), n frames."""
    rng = np.random.default_rng(seed)
    scene = render("interior", rng, 640, 360)
    cam = C.Camera.random(rng)
    cam.awb = 0.3  # this camera's white balance leaves most of the tungsten light's warmth
    out = []
    for _ in range(n):
        light = C.light_for("indoor", scene, rng)
        faults = C.Faults(wb_gain=np.array(wb_gain, np.float32)) if wb_gain else C.Faults()
        out.append(C.encode(C.shoot(scene, light, cam, rng, faults), 80))
    return out


def test_calibration_learns_a_warm_view_and_still_finds_a_cast():
    th = Thresholds.default()
    first_days = [diagnose(f, thresholds=th, captured_at=DAY) for f in _interior_frames(3, 14)]
    cal = learn((d.measures, d.night) for d in first_days)
    assert cal.day is not None and cal.night is None
    # round trip through JSON, as it is stored
    cal = type(cal).from_dict(json.loads(json.dumps(cal.as_dict())))
    later = _interior_frames(3, 4)
    for f in later:
        assert diagnose(f, thresholds=th, captured_at=DAY, calibration=cal).fault_names == []
    # the same camera with its white balance stuck on the daylight preset gone blue
    cast = _interior_frames(3, 3, wb_gain=[0.6, 1.0, 1.8])
    for f in cast:
        d = diagnose(f, thresholds=th, captured_at=DAY, calibration=cal)
        assert "color_cast" in d.fault_names, d.measures["cast_vs_normal"]


def test_calibration_with_too_few_frames_learns_nothing():
    th = Thresholds.default()
    few = [diagnose(f, thresholds=th, captured_at=DAY) for f in _interior_frames(5, 4)]
    cal = learn((d.measures, d.night) for d in few)
    assert cal.day is None and cal.night is None
    d = diagnose(few and _interior_frames(5, 1)[0], thresholds=th, captured_at=DAY, calibration=cal)
    assert d.measures.get("cast_vs_normal") is None
