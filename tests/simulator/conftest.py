"""One simulated fleet per test session (a subprocess on 127.10.20.0/24), faults cleared
after every test. Ports: control 18820, ONVIF 18180, SNMP 18181."""
from __future__ import annotations

import pytest

from simulator.testing import FleetProcess

BASE = "127.10.20.1"
CONTROL, ONVIF, SNMP = 18820, 18180, 18181


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    with FleetProcess(devices=16, seed=7, communities=1, base_address=BASE, control_port=CONTROL,
                      onvif_port=ONVIF, snmp_port=SNMP,
                      tmp_dir=tmp_path_factory.mktemp("fleet")) as f:
        yield f


@pytest.fixture(autouse=True)
def _clean_faults(request):
    yield
    if "fleet" in request.fixturenames:
        f = request.getfixturevalue("fleet")
        for d in f.devices():
            if d["faults"]:
                f.clear_faults(d["serial"])


