"""End to end on the simulated fleet: the scheduler drives the real sweep pipeline, and a
frame sweep through two real Celery workers ends in judged states and evidence frames."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from db_helpers import set_settings
from flask import current_app

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, EvidenceFrame, ProbeSample
from supervisor.inventory.models import Device
from supervisor.sweeps.models import SweepRun
from supervisor.sweeps.scheduler import SchedulerService, TierSchedule

N_DEVICES = 24


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess

    with FleetProcess(devices=N_DEVICES, seed=5, base_address="127.40.50.1", control_port=19110,
                      tmp_dir=tmp_path_factory.mktemp("fleet"), start_timeout=90) as fleet:
        yield fleet


@pytest.fixture
def imported(app, fleet):
    from supervisor.inventory.importer import apply_plan, parse_upload

    data = Path(fleet.inventory_path).read_bytes()
    plan = parse_upload(Path(fleet.inventory_path).name, data, create_contracts=True,
                        contractor="Test contractor")
    assert not plan.errors, [str(e) for e in plan.errors[:5]]
    apply_plan(plan, "test")
    return {d["serial"]: d for d in fleet.devices()}


def test_scheduler_runs_the_real_pipeline_paced(app, imported, wait_for):
    service = SchedulerService(app, tiers=[TierSchedule("fast", 3.0)], spread=0.6, slice_s=0.5,
                               min_per_slice=1,
                               persistent=False, lease_ttl_s=10)
    service.start()
    try:
        def slices_done() -> int:
            db.session.remove()
            return db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun).where(
                SweepRun.trigger == "scheduler", SweepRun.status == "done"))
        # a run is cut into slices (3 s * 0.6 / 0.5 s = 3); wait for two whole runs
        assert wait_for(lambda: slices_done() >= 6, timeout=30)
    finally:
        service.shutdown(wait=True)
    db.session.remove()
    runs = db.session.scalars(sa.select(SweepRun).where(SweepRun.trigger == "scheduler")
                              .order_by(SweepRun.id)).all()
    first_run = runs[:3]
    assert sum(r.devices for r in first_run) == N_DEVICES  # each device once per run
    assert all(0 < r.devices < N_DEVICES for r in first_run)  # ... spread over slices
    probed = db.session.scalar(sa.select(sa.func.count(sa.distinct(ProbeSample.device_id))))
    assert probed == N_DEVICES
    statuses = db.session.scalar(sa.select(sa.func.count()).select_from(DeviceStatus))
    assert statuses == N_DEVICES


def frame_profile_with_onvif():
    """The default profile with ONVIF in the frame tier: the frame probe needs a snapshot
    URI, which only ONVIF knows (the default frame tier is reach + frame; see the report)."""
    from supervisor.profiles.loader import load_profile

    prof = load_profile(check_in_use=False)
    frame = prof.probe_tiers.frame
    frame = frame.model_copy(update={"checks": ["reach", "onvif", "frame"],
                                     "timeouts_s": {**frame.timeouts_s, "onvif": 5.0}})
    return prof.model_copy(update={"probe_tiers": prof.probe_tiers.model_copy(
        update={"frame": frame})})


@pytest.mark.redis
def test_frame_sweep_through_celery_workers(app, imported, celery_queue, fleet):
    from supervisor.sweeps import pipeline as sweep

    cams = [s for s, d in imported.items() if d["kind"] == "camera"]
    dark = cams[0]
    fleet.set_faults(dark, ["too_dark"])
    try:
        set_settings(app, PROBE_EXECUTOR="celery", CELERY_BROKER_URL=celery_queue["url"],
                          CELERY_QUEUE=celery_queue["queue"], CELERY_FRAME_CHUNK_SIZE=5,
                          CELERY_SECRET_KEY=celery_queue["key"])
        summary = sweep.run_sweep("frame", trigger="cli", profile=frame_profile_with_onvif(), settings=current_app.extensions["settings"])
    finally:
        fleet.clear_faults(dark)
    assert summary.executor == "celery" and summary.devices == N_DEVICES
    frames = db.session.execute(
        sa.select(Device.serial, EvidenceFrame.diagnosis, EvidenceFrame.bytes)
        .join(Device, Device.id == EvidenceFrame.device_id)
        .where(EvidenceFrame.kind == "latest")).all()
    by_serial = {s: (diag, size) for s, diag, size in frames}
    # every camera's JPEG came back from a worker and was diagnosed and kept by the platform
    assert set(cams) <= set(by_serial)
    assert all(size > 1000 for _, size in by_serial.values())
    # the diagnosis is of the device's own picture: the camera made dark measures dark
    brightness = {s: (d or {}).get("measures", {}).get("brightness") for s, (d, _) in by_serial.items()}
    others = [v for s, v in brightness.items() if s != dark and v is not None]
    assert brightness[dark] is not None and others
    assert brightness[dark] < min(others) and brightness[dark] < 50, brightness
