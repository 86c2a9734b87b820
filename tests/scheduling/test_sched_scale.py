"""Scale (make test-scale): the scheduler paces a 600-device simulated fleet over several
intervals through the real pipeline — every device probed once per interval, slices spread
over the interval, no two runs of the tier at once."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from supervisor.core.extensions import db
from supervisor.health.models import ProbeSample
from supervisor.sweeps.models import SweepRun
from supervisor.sweeps.scheduler import SchedulerService, TierSchedule

pytestmark = pytest.mark.scale
N = 600
INTERVAL_S = 12.0
RUNS = 3


def test_paced_sweeps_over_a_fleet(app, tmp_path, wait_for):
    from simulator.testing import FleetProcess
    from supervisor.inventory.importer import apply_plan, parse_upload

    with FleetProcess(devices=N, seed=9, base_address="127.40.80.1", control_port=19120,
                      tmp_dir=tmp_path, start_timeout=180) as fleet:
        data = Path(fleet.inventory_path).read_bytes()
        plan = parse_upload(Path(fleet.inventory_path).name, data, create_contracts=True,
                            contractor="Scale contractor")
        assert not plan.errors
        apply_plan(plan, "test")
        service = SchedulerService(app, tiers=[TierSchedule("fast", INTERVAL_S)], spread=0.9,
                                   slice_s=2.0, min_per_slice=50, persistent=False,
                                   lease_ttl_s=30)
        service.start()
        try:
            def done() -> int:
                db.session.remove()
                return db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun)
                                         .where(SweepRun.status == "done"))
            slices_per_run = 5  # 12 s * 0.9 / 2 s
            assert wait_for(lambda: done() >= RUNS * slices_per_run, timeout=RUNS * INTERVAL_S + 60)
        finally:
            service.shutdown(wait=True)
    db.session.remove()
    runs = db.session.scalars(sa.select(SweepRun).order_by(SweepRun.started_at)).all()
    first = runs[:RUNS * slices_per_run]
    assert sum(r.devices for r in first) == RUNS * N  # each device once per run
    sizes = [r.devices for r in first]
    assert max(sizes) < 2 * (N / slices_per_run)  # flat: no slice takes a lump
    per_device = dict(db.session.execute(sa.select(ProbeSample.device_id, sa.func.count())
                                         .group_by(ProbeSample.device_id)).all())
    assert len(per_device) == N
    assert service.skipped.get("fast", 0) == 0  # each run finished within its interval
    # slices of one run start spread over the interval, not all at once
    starts = [r.started_at for r in first[:slices_per_run]]
    assert (starts[-1] - starts[0]).total_seconds() >= 0.6 * INTERVAL_S * 0.9
