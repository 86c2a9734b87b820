"""The same store on PostgreSQL (production): dialect upserts, CAS updates, intervals."""
from __future__ import annotations

import sqlalchemy as sa
from health_helpers import T0, ScriptedExecutor
from test_sweep_store import MIN, naive, sweeps, switch_outage

from supervisor.core.extensions import db
from supervisor.health.models import ProbeSample, StateInterval


def test_outage_and_replay_on_postgresql(pg_app, inventory):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 16)
    sweeps(ex, 3, start=6)  # replay: no effect
    ivs = db.session.scalars(sa.select(StateInterval).filter_by(device_id=inventory["CAM1"])
                             .order_by(StateInterval.start_at)).all()
    assert [(i.state, i.cause, i.start_at, i.end_at) for i in ivs][1:] == [
        ("offline", "upstream", naive(T0 + 5 * MIN), naive(T0 + 12 * MIN)),
        ("ok", None, naive(T0 + 12 * MIN), None)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample)) == 64


def test_stale_status_detected_on_postgresql(pg_app, inventory):
    from test_sweep_store import check_stale_status_detected

    check_stale_status_detected(inventory)
