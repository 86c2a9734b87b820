"""10,000 devices in one process (run by `make test-scale`)."""
from __future__ import annotations

import csv
import socket
import time

import pytest

from simulator.testing import FleetProcess


@pytest.mark.scale
@pytest.mark.timeout(400)
def test_ten_thousand_devices_start_and_answer(tmp_path):
    t0 = time.monotonic()
    with FleetProcess(devices=10000, seed=11, base_address="127.10.100.1", control_port=18810,
                      onvif_port=18290, snmp_port=18291, tmp_dir=tmp_path, start_timeout=300) as f:
        startup = time.monotonic() - t0
        with open(f.inventory_path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 10000 and len({r["ip"] for r in rows}) == 10000
        last = rows[-1]
        s = socket.create_connection((last["ip"], int(last["onvif_port"])), timeout=5)
        s.close()
        f.set_faults(last["serial"], ["offline"])
        assert f.device(last["serial"])["reach"] == "drop"
        print(f"10,000 devices ready in {startup:.1f} s")
