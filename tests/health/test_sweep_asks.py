"""What a full sweep asks: the clock every time; identity, services and media URIs once a
day (or when unknown), taken over from the last full answer otherwise; NVRs in full."""
from __future__ import annotations

from flask import current_app

from pathlib import Path

import pytest
import sqlalchemy as sa

from supervisor.core.extensions import db
from supervisor.health.models import ProbeSample
from supervisor.inventory.models import Device

# Own loopback range and control port (tests/health: 127.100.0.0/16, ports 19800-19899).
BASE = "127.100.2.1"
CONTROL = 19802


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess

    with FleetProcess(devices=10, seed=12, base_address=BASE, control_port=CONTROL,
                      snmp_port=19863, onvif_port=19864, truth=False,
                      tmp_dir=tmp_path_factory.mktemp("fleet-asks"), start_timeout=60) as fleet:
        yield fleet


def _latest(tier: str) -> dict[str, dict]:
    rows = db.session.execute(
        sa.select(Device.serial, ProbeSample.result, ProbeSample.at)
        .join(ProbeSample, ProbeSample.device_id == Device.id)
        .where(ProbeSample.tier == tier).order_by(ProbeSample.at))
    return {serial: result for serial, result, _at in rows}


def test_second_full_sweep_asks_the_clock_only_and_keeps_what_it_knew(app, fleet):
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.sweeps.pipeline import run_sweep

    data = Path(fleet.inventory_path).read_bytes()
    plan = parse_upload("fleet.csv", data, create_contracts=True, contractor="Test contractor")
    assert plan.ok
    apply_plan(plan, "test")
    sim = {d["serial"]: d for d in fleet.devices()}
    cams = [s for s, d in sim.items() if d["kind"] == "camera"]
    nvrs = [s for s, d in sim.items() if d["kind"] == "nvr"]

    first = run_sweep("full", deadline_s=60, settings=current_app.extensions["settings"])
    assert first.failed == 0, first.failures_by_reason
    before = _latest("full")
    assert all(before[c]["onvif"]["asked"] == ["clock", "identity", "media", "recordings"]
               for c in cams)

    second = run_sweep("full", deadline_s=60, settings=current_app.extensions["settings"])
    assert second.failed == 0 and second.ok == first.ok
    after = _latest("full")
    for c in cams:
        o = after[c]["onvif"]
        assert o["asked"] == ["clock"] and o["ok"], o
        # what it did not ask is the last full answer's, with when that was read
        for k in ("serial_number", "snapshot_uri", "stream_uri", "identity_read_at"):
            assert o[k] == before[c]["onvif"][k], k
        assert o["clock_offset_s"] is not None
    for n in nvrs:
        assert after[n]["onvif"]["asked"] != ["clock"]      # recordings are a health check

    frames = run_sweep("frame", deadline_s=60, settings=current_app.extensions["settings"])          # URIs taken over still lead to frames
    assert frames.failed == 0, frames.failures_by_reason


def test_identity_is_asked_again_after_a_day(app, fleet):
    import datetime as dt

    from supervisor.sweeps.pipeline import plan_onvif_asks
    from probes.model import DeviceTarget

    class D:
        def __init__(self, i, kind):
            self.id, self.kind = i, kind
    now = dt.datetime(2026, 3, 2, 12, 0)
    prev = {1: {"ok": True, "identity_read_at": "2026-03-02T00:00:00+00:00"},
            2: {"ok": True, "identity_read_at": "2026-03-01T11:00:00+00:00"},
            3: {"ok": False, "identity_read_at": "2026-03-02T00:00:00+00:00"},
            4: {"ok": True, "identity_read_at": "2026-03-02T00:00:00+00:00"}}
    devs = [D(1, "camera"), D(2, "camera"), D(3, "camera"), D(4, "nvr"), D(5, "camera")]
    targets = [DeviceTarget(f"S{d.id}", "127.0.0.1") for d in devs]
    carry = plan_onvif_asks(devs, targets, prev, now, 86400)
    assert [t.onvif_ask for t in targets] == [["clock"], None, None, None, None]
    assert set(carry) == {1}
