"""Scale (``make test-scale``): a full sweep of a few hundred simulated devices, every
device answering, and the fast tier over 2,000 — no errors, every target accounted for."""
from __future__ import annotations

import pytest

from probes.config import Limits, TierSpec
from probes.runner import BatchStats, run_batch
from probe_helpers import run, sim_target

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def big_fleet(tmp_path_factory):
    from simulator.testing import FleetProcess
    with FleetProcess(devices=2000, seed=13, base_address="127.20.64.1", control_port=18951,
                      tmp_dir=tmp_path_factory.mktemp("bigfleet"), onvif_port=18082,
                      snmp_port=18163, truth=False, start_timeout=120) as fleet:
        yield fleet.devices()


def test_full_tier_over_400_devices_all_answer(big_fleet):
    targets = [sim_target(d) for d in big_fleet[:400]]
    spec = TierSpec("full", ["reach", "onvif", "snmp", "frame"],
                    timeouts={"reach": 5, "onvif": 20, "snmp": 5, "frame": 20})
    stats = BatchStats()

    async def go():
        return [r async for r in run_batch(targets, spec, limits=Limits(global_limit=100),
                                           stats=stats, deadline_s=240)]
    out = run(go(), 300)
    assert sorted(r.serial for r in out) == sorted(t.serial for t in targets)
    assert [r.errors() for r in out if not r.ok] == []
    cams = [r for r in out if r.frame is not None]
    assert cams and all(r.frame.width for r in cams)
    assert stats.peak_in_flight <= 100


def test_fast_tier_over_2000_devices(big_fleet):
    targets = [sim_target(d) for d in big_fleet]

    async def go():
        return [r async for r in run_batch(targets, "fast", limits=Limits(global_limit=500),
                                           deadline_s=60)]
    out = run(go(), 90)
    assert len(out) == 2000 and all(r.reach.ok for r in out)
