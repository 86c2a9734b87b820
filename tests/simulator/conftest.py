"""One simulated fleet per test session (a subprocess on 127.10.(20+slot).0/24, see
sim_helpers.fleet_args), faults cleared after every test."""
from __future__ import annotations

import pytest

from sim_helpers import fleet_args
from simulator.testing import FleetProcess


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    with FleetProcess(devices=16, seed=7, communities=1, tmp_dir=tmp_path_factory.mktemp("fleet"),
                      **fleet_args("session")) as f:
        yield f


@pytest.fixture(autouse=True)
def _clean_faults(request):
    yield
    if "fleet" in request.fixturenames:
        f = request.getfixturevalue("fleet")
        for d in f.devices():
            if d["faults"]:
                f.clear_faults(d["serial"])


