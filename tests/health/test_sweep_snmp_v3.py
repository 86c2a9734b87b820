"""A sweep of a small simulated fleet, imported from the simulator's own inventory CSV, probes
its v3 switches over SNMPv3 (per-device keys) and its v2c devices over v2c: the inventory's
SNMP columns reach the probes end to end."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from supervisor.core.extensions import db
from supervisor.health.models import ProbeSample
from supervisor.inventory.models import Device

# Own loopback range and control port (tests/health: 127.100.0.0/16, ports 19800-19899).
BASE = "127.100.1.1"
CONTROL = 19801


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess

    with FleetProcess(devices=8, seed=11, base_address=BASE, control_port=CONTROL,
                      snmp_port=19861, onvif_port=19862, truth=False,
                      extra_args=["--snmp-v3-keys", "device"],
                      tmp_dir=tmp_path_factory.mktemp("fleet-v3"), start_timeout=60) as fleet:
        yield fleet


def test_sweep_probes_v3_switch_over_v3(app, fleet):
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.sweeps.pipeline import run_sweep

    sim = {d["serial"]: d for d in fleet.devices()}
    v3_switches = [s for s, d in sim.items() if d["kind"] == "switch" and d["snmp_v3"]]
    v2c = [s for s, d in sim.items() if not d["snmp_v3"]]
    assert v3_switches, "the simulated fleet has no v3 switch"
    # The CSV carries each v3 device's own keys (--snmp-v3-keys device), blank for v2c ones.
    rows = {r["serial"]: r for r in csv.DictReader(
        Path(fleet.inventory_path).read_text(encoding="utf-8").splitlines())}
    sw = v3_switches[0]
    assert rows[sw]["snmp_version"] == "3"
    assert rows[sw]["snmp_auth_key"] == sim[sw]["snmp_v3"]["auth_key"]
    assert rows[sw]["snmp_priv_key"] == sim[sw]["snmp_v3"]["priv_key"]
    keys = {sim[s]["snmp_v3"]["auth_key"] for s in sim if sim[s]["snmp_v3"]}
    assert len(keys) == sum(1 for d in sim.values() if d["snmp_v3"])  # one per device

    data = Path(fleet.inventory_path).read_bytes()
    plan = parse_upload("fleet.csv", data, create_contracts=True, contractor="Test contractor")
    assert plan.ok, [str(e) for e in plan.errors[:5]]
    apply_plan(plan, "test")
    stored = db.session.scalar(sa.select(Device).where(Device.serial == sw))
    assert (stored.snmp_version, stored.snmp_user) == ("3", sim[sw]["snmp_v3"]["user"])
    assert stored.snmp_priv_key == sim[sw]["snmp_v3"]["priv_key"]

    summary = run_sweep("full", serials=list(sim), deadline_s=40, settings=current_app.extensions["settings"])
    assert summary.devices == len(sim)
    samples = {serial: s.result for serial, s in db.session.execute(
        sa.select(Device.serial, ProbeSample).join(ProbeSample, ProbeSample.device_id == Device.id)
        .where(ProbeSample.tier == "full"))}
    for serial in v3_switches:
        snmp = samples[serial]["snmp"]
        assert snmp["ok"], snmp
        assert snmp["snmp_version"] == "3", snmp
        assert snmp["sys_uptime_s"] is not None or snmp.get("sys_descr"), snmp
    probed_v2c = [s for s in v2c if samples[s].get("snmp")]
    assert probed_v2c, "no v2c device was probed over SNMP"
    for serial in probed_v2c:
        assert samples[serial]["snmp"]["snmp_version"] == "2c", samples[serial]["snmp"]


def test_wrong_v3_key_in_inventory_is_an_snmp_auth_failure(app, fleet):
    """The stored key is what the probe uses: a wrong one fails authentication (the device is
    still reachable), so a passing sweep above is not v2c in disguise."""
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.sweeps.pipeline import run_sweep

    data = Path(fleet.inventory_path).read_bytes()
    plan = parse_upload("fleet.csv", data, create_contracts=True, contractor="Test contractor")
    apply_plan(plan, "test")
    sw = next(d for d in fleet.devices() if d["kind"] == "switch" and d["snmp_v3"])
    dev = db.session.scalar(sa.select(Device).where(Device.serial == sw["serial"]))
    dev.snmp_auth_key = "wrong-auth-key-123"
    db.session.commit()
    run_sweep("full", serials=[sw["serial"]], deadline_s=30, settings=current_app.extensions["settings"])
    sample = db.session.scalar(sa.select(ProbeSample).where(ProbeSample.device_id == dev.id))
    snmp = sample.result["snmp"]
    assert not snmp["ok"], snmp
    assert snmp["error"]["kind"] == "auth", snmp["error"]
    assert sample.result["reach"]["ok"], sample.result["reach"]
