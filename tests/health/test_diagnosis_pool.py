"""The frame diagnosis pool's workers read their figures when they start: a pool started for
another image_quality section is replaced, never left judging by figures out of force."""
from __future__ import annotations

import copy
import datetime as dt

import yaml

from supervisor.profiles import loader
from supervisor.sweeps import pipeline


def _night_of(section: dict) -> bool:
    """What a worker of the pool started for ``section`` says of 12:00 local (04:00 UTC)."""
    pool = pipeline._pool(section)
    return pool.submit(_is_night_in_worker, "2026-12-06T04:00:00").result(timeout=60)


def _is_night_in_worker(when: str) -> bool:
    return pipeline._WORKER_THRESHOLDS.is_night(dt.datetime.fromisoformat(when))


def test_a_new_section_replaces_the_pool_and_the_same_one_keeps_it():
    doc = yaml.safe_load((loader.DEFAULT_DIR / "default-v2.yaml").read_text(encoding="utf-8"))
    day_at_noon = doc["image_quality"]
    night_at_noon = copy.deepcopy(day_at_noon)
    night_at_noon["night"].update(start="11:00", end="13:00")
    try:
        assert _night_of(day_at_noon) is False
        first = pipeline._POOL
        assert _night_of(copy.deepcopy(day_at_noon)) is False
        assert pipeline._POOL is first                  # same figures: same workers
        assert _night_of(night_at_noon) is True         # new figures: new workers
        assert pipeline._POOL is not first
    finally:
        if pipeline._POOL is not None:
            pipeline._POOL.shutdown(wait=True)
            pipeline._POOL = None
