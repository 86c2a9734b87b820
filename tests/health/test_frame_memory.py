"""The frame tier's memory is bounded by what is in flight, not by the number of cameras.

The same simulated fleet, swept by the frame tier over 150 and then over 600 cameras, each
sweep in its own process (bench.city_sweep's worker: the real pipeline with the local
executor's probing processes and the diagnosis pool): the peak memory of the sweeping
process and of its largest child stay within 10 % of each other."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.scale

BASE = "127.100.8.1"
CONTROL = 19808


def test_frame_sweep_peak_memory_does_not_grow_with_cameras(tmp_path):
    from bench.city_sweep import prepare_database, run_worker
    from simulator.testing import FleetProcess

    url = f"sqlite:///{tmp_path / 'mem.db'}"
    evidence = tmp_path / "evidence"
    with FleetProcess(devices=820, seed=21, base_address=BASE, control_port=CONTROL,
                      snmp_port=19867, onvif_port=19868, truth=False, tmp_dir=tmp_path,
                      start_timeout=180) as fleet:
        prepare_database(url, Path(fleet.inventory_path), evidence)
        small = run_worker(url, evidence, "frame", "local", 900, timeout=1200, cameras=150)
        large = run_worker(url, evidence, "frame", "local", 900, timeout=1200, cameras=600)
    assert small["devices"] == 150 and large["devices"] == 600
    assert small["failed"] == 0 and large["failed"] == 0
    print({k: (small[k], large[k]) for k in ("peak_rss_mb", "peak_child_rss_mb", "seconds")})
    for key in ("peak_rss_mb", "peak_child_rss_mb"):
        assert abs(large[key] - small[key]) <= 0.10 * small[key], (key, small[key], large[key])
