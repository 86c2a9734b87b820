"""image_quality.calibration: the supervisor's sub-section of the image-quality section,
validated by the profile schema and kept out of what probes/quality validates."""
from __future__ import annotations

import pytest
import yaml

from supervisor.profiles import loader
from supervisor.profiles.schema import ProfileError, parse_profile


def _v2() -> dict:
    return yaml.safe_load((loader.DEFAULT_DIR / "default-v2.yaml").read_text(encoding="utf-8"))


def _parse(doc: dict):
    return parse_profile(yaml.safe_dump(doc, allow_unicode=True).encode(), "default-v2.yaml")


def test_v2_carries_it_and_v1_stays_valid_without_it():
    v2 = _parse(_v2())
    assert (v2.quality_calibration.learn_days, v2.quality_calibration.min_frames) == (7, 12)
    assert v2.quality_calibration.clause and v2.quality_calibration.default is True
    assert "calibration" not in v2.image_quality        # what probes/quality gets
    v1 = parse_profile((loader.DEFAULT_DIR / "default-v1.yaml").read_bytes(), "default-v1.yaml")
    assert v1.quality_calibration is None


def test_the_content_hash_covers_it():
    doc = _v2()
    before = _parse(doc).sha256
    doc["image_quality"]["calibration"]["learn_days"] = 8
    assert _parse(doc).sha256 != before


@pytest.mark.parametrize("change, message", [
    ({"min_frames": 5}, "image_quality.calibration.min_frames: Input should be greater than or equal to 12"),
    ({"learn_days": 0}, "image_quality.calibration.learn_days: Input should be greater than or equal to 1"),
    ({"clause": ""}, "image_quality.calibration.clause"),
    ({"extra": 1}, "image_quality.calibration.extra: unknown key"),
])
def test_bad_values_are_named_where_they_are_written(change, message):
    doc = _v2()
    doc["image_quality"]["calibration"].update(change)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _parse(doc)


def test_only_under_image_quality():
    doc = _v2()
    doc["quality_calibration"] = doc["image_quality"].pop("calibration")
    with pytest.raises(ProfileError, match="write image_quality.calibration"):
        _parse(doc)
