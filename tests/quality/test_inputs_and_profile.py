"""Bad input gives clear errors; thresholds are data with day/night and overrides."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from probes.quality import FrameError, Thresholds, diagnose
from probes.quality.thresholds import DEFAULT_PROFILE

from quality_helpers import jpeg


def test_truncated_jpeg_is_a_clear_error(scene):
    data = jpeg(scene)
    with pytest.raises(FrameError, match="truncated"):
        diagnose(data[: len(data) // 2])


@pytest.mark.parametrize("data", [b"", b"<html>502 Bad Gateway</html>", b"\xff\xd8garbage\xff\xd9"])
def test_corrupt_input_is_a_clear_error(data):
    with pytest.raises(FrameError):
        diagnose(data)


def test_missing_file_and_odd_arrays(tmp_path):
    with pytest.raises(FrameError, match="cannot read"):
        diagnose(tmp_path / "nope.jpg")
    with pytest.raises(FrameError, match="too small"):
        diagnose(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(FrameError):
        diagnose(np.zeros((64, 64, 5), np.uint8))
    with pytest.raises(FrameError):
        diagnose(np.full((64, 64), np.nan, np.float32))


def test_every_profile_rule_cites_a_clause_and_is_marked_default():
    import yaml

    section = yaml.safe_load(DEFAULT_PROFILE.read_text())["image_quality"]
    for name, rule in section["rules"].items():
        assert rule["clause"] and rule["default"] is True, name
    th = Thresholds.from_mapping(section)
    assert {r.fault for r in th.rules} == {
        "signal_loss", "blur", "too_dark", "too_bright", "low_contrast", "color_cast",
        "noise", "occlusion", "stripes", "frozen", "scene_change"}


def test_unknown_names_and_bad_numbers_are_refused():
    base = {"rules": {"too_dark": {"measure": "brightness", "op": "below", "day": 30, "clause": "x y z"}}}
    Thresholds.from_mapping(base)
    with pytest.raises(ValueError, match="unknown fault"):
        Thresholds.from_mapping({"rules": {"too_dim": {**base["rules"]["too_dark"]}}})
    with pytest.raises(ValueError, match="number"):
        Thresholds.from_mapping(base, {"too_dark": {"day": "thirty"}})
    with pytest.raises(ValueError, match="clause"):
        Thresholds.from_mapping({"rules": {"too_dark": {"measure": "brightness", "op": "below", "day": 30}}})


def test_per_camera_override_merges_over_profile(scene):
    dim = (scene.astype(np.float32) * 0.2).astype(np.uint8)  # mean around 24
    th = Thresholds.default()
    assert "too_dark" in diagnose(dim, thresholds=th).fault_names
    alley = Thresholds.from_yaml(DEFAULT_PROFILE, {"too_dark": {"day": 10}})
    assert "too_dark" not in diagnose(dim, thresholds=alley).fault_names
    # the rest of the rule (clause, op) is kept from the profile
    rule = alley.for_fault("too_dark")[0]
    assert rule.day == 10 and rule.clause == th.for_fault("too_dark")[0].clause


def test_night_is_chosen_by_local_capture_time():
    th = Thresholds.default()
    # 15:30 UTC is 23:30 in the profile's zone (Asia/Shanghai); naive times are UTC
    assert th.is_night(datetime(2026, 6, 1, 15, 30, tzinfo=timezone.utc))
    assert th.is_night(datetime(2026, 6, 1, 15, 30))
    assert not th.is_night(datetime(2026, 6, 1, 4, 0))
    shanghai = timezone(timedelta(hours=8))
    assert th.is_night(datetime(2026, 6, 1, 23, 0, tzinfo=shanghai))
    assert not th.is_night(datetime(2026, 6, 1, 12, 0, tzinfo=shanghai))
    assert not th.is_night(None)


def test_odd_frames_never_crash_and_give_strict_json():
    import json

    rng = np.random.default_rng(11)
    frames = [rng.integers(0, 256, (37, 53, 3), dtype=np.uint8),
              np.zeros((90, 160, 3), np.uint8),
              np.full((72, 128), 255, np.uint8),
              (rng.integers(0, 2, (120, 300, 3)) * 255).astype(np.uint8),
              rng.integers(0, 65536, (64, 96, 3)).astype(np.uint16),
              rng.random((80, 80, 4)).astype(np.float32)]
    for img in frames:
        for prev, ref in [(None, None), (img, img), (np.zeros((50, 70, 3), np.uint8), frames[0])]:
            d = diagnose(img, prev, ref)
            json.dumps(d.as_dict(), allow_nan=False)  # None for "not judged", never NaN


def test_every_shipped_profile_section_is_read_by_the_diagnosis_as_is():
    """`python -m probes.quality --profile <any shipped profile>` reads its image_quality
    section whole, including the supervisor's `calibration` sub-section it ignores."""
    from pathlib import Path

    import yaml

    from probes.quality.thresholds import Thresholds
    shipped = sorted((Path(__file__).resolve().parents[2] / "supervisor" / "profiles").glob("*.yaml"))
    assert len(shipped) >= 2
    for path in shipped:
        section = yaml.safe_load(path.read_text(encoding="utf-8"))["image_quality"]
        assert Thresholds.from_mapping(section).rules, path.name
