"""Pure planning: how a run's devices are spread over the interval, and tier parsing."""
from __future__ import annotations

import pytest

from supervisor.sweeps.scheduler import (
    TierSchedule,
    phase,
    plan_slices,
    tiers_from_config,
    tiers_from_profile,
)


def serials(n: int) -> list[str]:
    return [f"SN{i:06d}" for i in range(n)]


def test_every_device_once_and_offsets_inside_the_spread():
    devices = serials(2000)
    slices = plan_slices(devices, 60, spread=0.9, slice_s=5)
    flat = [s for part in slices for s in part.serials]
    assert sorted(flat) == sorted(devices)
    assert len(slices) == int(60 * 0.9 // 5)  # one slice every 5 s over 54 s
    offsets = [p.offset_s for p in slices]
    assert offsets == sorted(offsets) and offsets[0] == 0 and offsets[-1] < 60 * 0.9


def test_load_is_flat():
    slices = plan_slices(serials(20000), 900, spread=0.9, slice_s=5)
    sizes = [len(p.serials) for p in slices]
    mean = sum(sizes) / len(sizes)
    assert max(sizes) < 1.35 * mean and min(sizes) > 0.65 * mean


def test_a_device_keeps_its_slot_when_others_come_and_go():
    before = plan_slices(serials(500), 60, slice_s=5)
    after = plan_slices(serials(500)[::2] + ["NEW1", "NEW2"], 60, slice_s=5)
    slot_before = {s: p.offset_s for p in before for s in p.serials}
    slot_after = {s: p.offset_s for p in after for s in p.serials}
    assert all(slot_after[s] == slot_before[s] for s in serials(500)[::2])
    assert 0 <= phase("SN000001") < 1 and phase("SN000001") == phase("SN000001")


def test_small_fleets_get_fewer_bigger_slices():
    # 300 devices, a slice every 10 s over 54 s would be 5 slices; 100 a slice at least: 3
    assert len(plan_slices(serials(300), 60, slice_s=10, min_per_slice=100)) == 3
    assert len(plan_slices(serials(20000), 60, slice_s=10, min_per_slice=50)) == 5
    assert len(plan_slices(serials(30), 60, slice_s=10, min_per_slice=50)) == 1


def test_small_and_degenerate_inputs():
    assert plan_slices([], 60) == []
    one = plan_slices(["A", "A"], 60)  # duplicates collapse
    assert len(one) == 1 and one[0].serials == ["A"] and one[0].offset_s == 0
    assert len(plan_slices(serials(3), 60, slice_s=1)) <= 3  # never more slices than devices
    assert len(plan_slices(serials(50), 60, spread=0.0)) == 1  # no spreading: one slice


def test_tiers_from_the_default_profile():
    from supervisor.profiles import loader as profiles

    tiers = {t.name: t for t in tiers_from_profile(profiles.load_profile("default",
                                                                         check_in_use=False))}
    profile = profiles.load_profile("default", check_in_use=False)
    assert set(tiers) == {"fast", "full", "frame"}
    assert tiers["fast"].interval_s == profile.probe_tiers.fast.interval_s
    assert tiers["frame"].jitter_s == profile.probe_tiers.frame.jitter_s


def test_tiers_from_config_override_and_bad_values():
    tiers = tiers_from_config({"SCHEDULER_TIERS": {"fast": {"interval_s": 2, "jitter_s": 0.5}}})
    assert tiers == [TierSchedule("fast", 2.0, 0.5)]
    with pytest.raises(ValueError):
        TierSchedule("x", 0)
    with pytest.raises(ValueError):
        TierSchedule("x", 10, jitter_s=10)
    with pytest.raises(ValueError):
        tiers_from_profile({"probe_tiers": {}})
