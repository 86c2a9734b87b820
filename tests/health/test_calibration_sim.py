"""Per-camera calibration against the simulator, over real sockets: a camera whose scene is lit
warm (a lobby under tungsten light) reads as a colour cast by the fixed figures and is
degraded; once it has learned its normal from its first clean day it is ok, and a real cast
injected afterwards (the simulator's failed IR-cut filter) is still found and degrades it.

Run it in its own network namespace (the simulator binds fixed loopback addresses):
    unshare -n bash -c 'ip link set lo up && .venv/bin/python -m pytest -q tests/health/test_calibration_sim.py'
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from tests.calibration_helpers import fault_names, latest_diagnosis
from tests.calibration_helpers import one_day_profile as learning_profile

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.health import calibration
from supervisor.health.models import CalibrationFrame, DeviceStatus, QualityCalibration
from supervisor.inventory.models import Contract, Device

# Own loopback range and ports (127.117.0.0/16, ports 19970-19979).
BASE = "127.117.1.1"
CONTROL = 19971


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess
    with FleetProcess(devices=8, seed=5, communities=1, base_address=BASE, control_port=CONTROL,
                      snmp_port=19972, onvif_port=19973, truth=False,
                      tmp_dir=tmp_path_factory.mktemp("fleet-calibration"), start_timeout=60) as f:
        yield f


@pytest.fixture
def one_day_profile(app, tmp_path):
    with learning_profile(tmp_path, "calsim"):
        yield




def test_a_warm_camera_learns_its_normal_and_a_real_cast_is_still_found(app, fleet, one_day_profile):
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.profiles.loader import load_profile
    from supervisor.sweeps.pipeline import run_sweep

    settings = current_app.extensions["settings"]
    plan = parse_upload("fleet.csv", Path(fleet.inventory_path).read_bytes(), create_contracts=True)
    assert plan.ok, [str(e) for e in plan.errors[:5]]
    apply_plan(plan, "test")
    for c in db.session.scalars(sa.select(Contract)):
        c.profile_name, c.profile_version = "calsim", 1
    db.session.commit()
    # The contracts' profile judges the sweeps and gives the diagnosis its figures (an empty
    # night window: the day figures at whatever hour the suite runs).
    prof = load_profile("calsim")
    cams = [d["serial"] for d in fleet.devices() if d["kind"] == "camera"]
    for s in cams:
        assert fleet.set_tint(s, "warm")["tint"] == "warm"
    run_sweep("full", cams, deadline_s=30, settings=settings, profile=prof)      # the snapshot URIs
    run_sweep("frame", cams, deadline_s=30, settings=settings, profile=prof)
    ids = dict(db.session.execute(sa.select(Device.serial, Device.id).where(Device.serial.in_(cams))).all())
    # by the fixed figures a warm view reads as a colour cast (most scenes of the simulator)
    warm = [s for s in cams if fault_names(latest_diagnosis(ids[s])) == {"color_cast"}]
    assert warm, {s: latest_diagnosis(ids[s])["faults"] for s in cams}
    serial, cam = warm[0], ids[warm[0]]

    # learning: the frames of its first day are kept (about 12 a half; the test runs in minutes)
    for _ in range(40):
        n_day, n_night = (db.session.scalar(sa.select(sa.func.count()).select_from(CalibrationFrame)
                                            .where(CalibrationFrame.device_id == cam,
                                                   CalibrationFrame.night.is_(night)))
                          for night in (False, True))
        if max(n_day, n_night) >= 12:
            break
        run_sweep("frame", [serial], deadline_s=30, settings=settings, profile=prof)
        assert fault_names(latest_diagnosis(cam)) == {"color_cast"}
    assert max(n_day, n_night) >= 12
    st = db.session.get(DeviceStatus, cam)
    db.session.refresh(st)
    assert st.state == "degraded" and any(r.get("fault") == "color_cast" for r in st.reasons)
    # the local day is over (tomorrow): it learns
    counts = calibration.learn_due(db.session, clock.now() + dt.timedelta(days=1), settings.LOCAL_TIMEZONE)
    db.session.commit()
    assert counts["learned"] >= 1
    row = db.session.scalars(sa.select(QualityCalibration).where(QualityCalibration.device_id == cam)).one()
    assert max(row.frames_day, row.frames_night) >= 12

    # learned: the warm view is its normal; two clean frames bring it back to ok
    for _ in range(2):
        run_sweep("frame", [serial], deadline_s=30, settings=settings, profile=prof)
        d = latest_diagnosis(cam)
        assert fault_names(d) == set(), d["faults"]
        assert d["measures"]["cast_vs_normal"] is not None
    db.session.refresh(st)
    assert st.state == "ok", st.reasons

    # a real cast on the same camera is still found, against its normal
    fleet.set_faults(serial, ["color_cast"])
    for _ in range(2):
        run_sweep("frame", [serial], deadline_s=30, settings=settings, profile=prof)
        d = latest_diagnosis(cam)
        assert "color_cast" in fault_names(d)
        assert any(f["rule"] == "color_cast_vs_normal" for f in d["faults"]), d["faults"]
    db.session.refresh(st)
    assert st.state == "degraded" and any(r.get("fault") == "color_cast" for r in st.reasons)
