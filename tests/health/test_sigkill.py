"""SIGKILL mid-sweep: every committed sample survives, no interval is lost or duplicated,
and sweeps after the restart carry on from device_status."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from accuracy import import_fleet, make_profile
from flask import current_app

from simulator.testing import FleetProcess
from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, ProbeSample, StateInterval
from supervisor.inventory.models import Device
from supervisor.sweeps.models import SweepRun
from supervisor.sweeps.pipeline import run_sweep

HERE = Path(__file__).resolve().parent


def _check_intervals():
    """One open interval per device at most; each device's intervals tile time."""
    by_dev = {}
    for iv in db.session.scalars(sa.select(StateInterval).order_by(StateInterval.device_id,
                                                                   StateInterval.start_at)):
        by_dev.setdefault(iv.device_id, []).append(iv)
    for dev, ivs in by_dev.items():
        assert sum(i.end_at is None for i in ivs) == 1, dev
        assert ivs[-1].end_at is None
        for a, b in zip(ivs, ivs[1:]):
            assert a.end_at == b.start_at, (dev, a.start_at, a.end_at, b.start_at)
        assert len({i.start_at for i in ivs}) == len(ivs)
    return by_dev


def test_sigkill_mid_sweep_then_restart(app, tmp_path):
    profile = make_profile(tmp_path, 1.0, to_offline=2, to_ok=2, reach_timeout_s=0.3)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with FleetProcess(devices=24, seed=11, base_address="127.30.8.1", control_port=19010,
                      tmp_dir=tmp_path, snmp_port=11710) as fleet:
        import_fleet(fleet)
        victim = next(d["serial"] for d in fleet.devices() if d["kind"] == "camera")
        fleet.set_faults(victim, ["offline"])
        db.session.remove()
        proc = subprocess.Popen([sys.executable, str(HERE / "sweeper_proc.py"), uri,
                                 str(tmp_path / "profiles"), str(tmp_path / "evidence")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            lines, sweeps_done, batches_in_sweep = [], 0, 0
            deadline = time.monotonic() + 60
            # Kill once three sweeps are done (the victim is confirmed offline) and the
            # fourth has committed two batches.
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                assert line, "sweeper exited: " + "".join(lines[-20:])
                lines.append(line)
                if line.startswith("sweep "):
                    sweeps_done, batches_in_sweep = sweeps_done + 1, 0
                elif line.startswith("batch "):
                    batches_in_sweep += 1
                if sweeps_done >= 3 and batches_in_sweep >= 2:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
            else:
                raise AssertionError("sweeper too slow: " + "".join(lines[-20:]))
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            proc.stdout.close()

        db.session.remove()
        killed = db.session.scalars(sa.select(SweepRun).order_by(SweepRun.id.desc())).first()
        assert killed.status == "running" and killed.finished_at is None
        sample_ids = set(db.session.scalars(sa.select(ProbeSample.id)))
        in_killed = db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample)
                                      .where(ProbeSample.sweep_id == killed.id))
        assert in_killed >= 2 * 3 - 3  # committed batches of the killed sweep (some may be held back)
        vid = db.session.scalar(sa.select(Device.id).where(Device.serial == victim))
        before = _check_intervals()
        assert [i.state for i in before[vid]] == ["offline"]
        outage_start = before[vid][0].start_at

        fleet.clear_faults(victim)
        for _ in range(3):
            run_sweep("fast", profile=profile, deadline_s=30, trigger="test", settings=current_app.extensions["settings"])
            time.sleep(0.2)

    after = _check_intervals()
    assert set(db.session.scalars(sa.select(ProbeSample.id))) >= sample_ids
    v = after[vid]
    assert [(i.state, i.start_at) for i in v][:1] == [("offline", outage_start)]
    assert [i.state for i in v] == ["offline", "ok"]
    assert db.session.get(DeviceStatus, vid).state == "ok"
    # every device has a state; the sweep after the kill completed normally
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceStatus)) == 24
    last = db.session.scalars(sa.select(SweepRun).order_by(SweepRun.id.desc())).first()
    assert last.status == "done" and last.devices == 24
