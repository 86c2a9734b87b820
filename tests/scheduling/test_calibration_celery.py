"""Per-camera calibration when real Celery workers take the frames: the platform keeps the
measures of a learning camera's frames that came back from the workers, and once learned
judges the next ones against its normal (the diagnosis runs in the platform for every
executor; this checks the Celery path end to end on the simulator)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from db_helpers import set_settings
from flask import current_app

from tests.calibration_helpers import fault_names, latest_diagnosis
from tests.calibration_helpers import one_day_profile as learning_profile

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.health import calibration
from supervisor.health.models import CalibrationFrame, QualityCalibration
from supervisor.inventory.models import Contract, Device

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess

    with FleetProcess(devices=6, seed=5, communities=1, base_address="127.117.2.1",
                      control_port=19975, snmp_port=19976, onvif_port=19977, truth=False,
                      tmp_dir=tmp_path_factory.mktemp("fleet-cal-celery"), start_timeout=60) as f:
        yield f


@pytest.fixture
def one_day_profile(app, tmp_path):
    with learning_profile(tmp_path, "calcel"):
        yield




def test_calibration_through_celery_workers(app, fleet, celery_queue, one_day_profile):
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.profiles.loader import load_profile
    from supervisor.sweeps.pipeline import run_sweep

    plan = parse_upload("fleet.csv", Path(fleet.inventory_path).read_bytes(), create_contracts=True)
    assert plan.ok, [str(e) for e in plan.errors[:5]]
    apply_plan(plan, "test")
    for c in db.session.scalars(sa.select(Contract)):
        c.profile_name, c.profile_version = "calcel", 1
    db.session.commit()
    # The contracts' profile judges the sweeps and gives the diagnosis its figures (an empty
    # night window: the day figures at whatever hour the suite runs).
    prof = load_profile("calcel")
    cams = [d["serial"] for d in fleet.devices() if d["kind"] == "camera"]
    for s in cams:
        fleet.set_tint(s, "warm")
    set_settings(app, PROBE_EXECUTOR="celery", CELERY_BROKER_URL=celery_queue["url"],
                 CELERY_QUEUE=celery_queue["queue"], CELERY_FRAME_CHUNK_SIZE=5,
                 CELERY_SECRET_KEY=celery_queue["key"])
    settings = current_app.extensions["settings"]
    run_sweep("full", cams, deadline_s=30, settings=settings, profile=prof)
    assert run_sweep("frame", cams, deadline_s=30, settings=settings, profile=prof).executor == "celery"
    ids = dict(db.session.execute(sa.select(Device.serial, Device.id).where(Device.serial.in_(cams))).all())
    warm = [s for s in cams if fault_names(latest_diagnosis(ids[s])) == {"color_cast"}]
    assert warm
    serial, cam = warm[0], ids[warm[0]]

    def kept(night: bool) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(CalibrationFrame).where(
            CalibrationFrame.device_id == cam, CalibrationFrame.night.is_(night)))

    for _ in range(40):
        if max(kept(False), kept(True)) >= 12:
            break
        run_sweep("frame", [serial], deadline_s=30, settings=settings, profile=prof)
    assert max(kept(False), kept(True)) >= 12
    assert calibration.learn_due(db.session, clock.now() + dt.timedelta(days=1),
                                 settings.LOCAL_TIMEZONE)["learned"] >= 1
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QualityCalibration)
                             .where(QualityCalibration.device_id == cam)) == 1

    summary = run_sweep("frame", [serial], deadline_s=30, settings=settings, profile=prof)
    assert summary.executor == "celery"
    d = latest_diagnosis(cam)
    assert fault_names(d) == set() and d["measures"]["cast_vs_normal"] is not None, d["faults"]
    fleet.set_faults(serial, ["color_cast"])
    run_sweep("frame", [serial], deadline_s=30, settings=settings, profile=prof)
    d = latest_diagnosis(cam)
    assert any(f["rule"] == "color_cast_vs_normal" for f in d["faults"]), d["faults"]
