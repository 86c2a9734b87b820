"""A veil of scattered light flattens blocks the acceptance reference showed detail in; the
dark-cover rule (``occlusion_new``) then reads them as blank. Beside a veil that is the
veil's doing, unless the blank fills most of the view (a body over the whole lens)."""
from __future__ import annotations

import pytest

from probes.quality import Thresholds
from probes.quality.diagnose import judge

# judged against a reference of the same view (the scene-change measures say so)
SAME_VIEW = {"scene_phase_response": 0.9, "scene_similarity": 0.9, "scene_shift_pct": 0.0}


@pytest.fixture(scope="module")
def th() -> Thresholds:
    return Thresholds.default()


def _rules(measures: dict, th: Thresholds) -> set[str]:
    return {f.rule for f in judge({**SAME_VIEW, **measures}, th, night=False)}


def test_blank_blocks_beside_a_veil_are_the_veils(th):
    rules = _rules({"veil_contrast": 0.3, "occlusion_new": 0.55}, th)
    assert "low_contrast_veil" in rules and "occlusion_new" not in rules


def test_the_same_blank_without_a_veil_is_a_cover(th):
    assert "occlusion_new" in _rules({"veil_contrast": 0.8, "occlusion_new": 0.55}, th)


def test_a_blank_over_most_of_the_view_is_a_cover_even_beside_a_veil(th):
    rules = _rules({"veil_contrast": 0.3, "occlusion_new": 0.95}, th)
    assert {"low_contrast_veil", "occlusion_new"} <= rules
