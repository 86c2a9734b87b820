"""SNMPv3 with per-device passphrases under one user name, probed concurrently.

pysnmp keeps one USM row per (user name, engine ID); registering the same user again with
another device's keys replaced the row under exchanges still in flight, and healthy
devices answered as authentication failures. Each device's keys now go against its own
engine ID (discovered first)."""
from __future__ import annotations

import pytest

from probes.config import Limits, TierSpec
from probes.runner import run_batch
from tests.probes.conftest import run, sim_target
from tests.simulator.sim_helpers import slot

BASE = f"127.20.{110 + slot()}.1"


@pytest.fixture(scope="module")
def keyed_fleet(tmp_path_factory):
    from simulator.testing import FleetProcess
    with FleetProcess(devices=60, seed=8, base_address=BASE, control_port=18940 + slot(),
                      onvif_port=18084, snmp_port=18164, truth=False,
                      extra_args=["--snmp-v3-keys", "device"],
                      tmp_dir=tmp_path_factory.mktemp("keyed"), start_timeout=60) as fleet:
        yield fleet.devices()


def test_per_device_keys_under_one_user_all_answer(keyed_fleet):
    v3 = [d for d in keyed_fleet if d.get("snmp_v3")]
    assert len(v3) >= 10 and len({d["snmp_v3"]["user"] for d in v3}) < len(v3)
    assert len({d["snmp_v3"]["auth_key"] for d in v3}) == len(v3)
    targets = [sim_target(d, v3=True) for d in v3]
    spec = TierSpec("t", ["snmp"], timeouts={"snmp": 2}, retries={"snmp": 0})

    async def go():
        return [r async for r in run_batch(targets, spec, limits=Limits(global_limit=50),
                                           deadline_s=60)]
    out = run(go(), 90)
    assert [(r.serial, r.errors()) for r in out if r.errors()] == []
    assert all(r.snmp.snmp_version == "3" for r in out)
