"""The local executor's probing processes: one event loop per process, every target
accounted for once, frames' JPEG carried back, overload figures merged."""
from __future__ import annotations

import pytest

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget

BASE = "127.100.3.1"
CONTROL = 19803


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess

    with FleetProcess(devices=12, seed=13, base_address=BASE, control_port=CONTROL,
                      snmp_port=19865, onvif_port=19866, truth=False,
                      tmp_dir=tmp_path_factory.mktemp("fleet-procs"), start_timeout=60) as fleet:
        yield fleet


def _targets(fleet):
    return [DeviceTarget(serial=d["serial"], host=d["ip"], kind=d["kind"],
                         onvif_port=d.get("onvif_port"), username=d.get("username"),
                         password=d.get("password"), snmp_port=d.get("snmp_port"),
                         snmp_community=d.get("snmp_community")) for d in fleet.devices()]


def test_two_probing_processes_report_every_device_once_with_frames(fleet):
    from supervisor.sweeps.executors import LocalExecutor

    targets = _targets(fleet)
    ex = LocalExecutor(processes=2, min_for_processes=2)
    spec = TierSpec("t", ["reach", "onvif", "frame"], timeouts={"onvif": 10, "frame": 10},
                    decode_frame=False)
    out = list(ex.iter_results(targets, spec, Limits(global_limit=8), 60))
    assert sorted(r.serial for r in out) == sorted(t.serial for t in targets)
    assert [(r.serial, r.errors()) for r in out if r.errors()] == []
    cams = [r for r in out if r.frame is not None]
    assert cams and all(r.frame.jpeg[:2] == b"\xff\xd8" for r in cams)
    load = ex.platform_load()
    assert load["processes"] == 2 and "p99_s" in load["lag"]


def test_a_probing_process_that_dies_leaves_no_device_unaccounted(fleet):
    import multiprocessing

    from supervisor.sweeps.executors import LocalExecutor

    targets = _targets(fleet)
    # The probing processes are killed after the first result.
    ex = LocalExecutor(processes=2, min_for_processes=2)
    spec = TierSpec("t", ["reach"], timeouts={"reach": 2})
    it = ex.iter_results(targets, spec, Limits(global_limit=4), 60)
    first = next(it)
    procs = [p for p in multiprocessing.active_children()
             if p.name.startswith("probe-")]
    for p in procs:
        p.kill()
    rest = list(it)
    got = [first] + rest
    assert sorted(r.serial for r in got) == sorted(t.serial for t in targets)
