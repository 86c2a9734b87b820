"""Property test through the database: random action sequences written by the ticket service;
after every change the cached clock equals one recomputed from the stored events, time used
never decreases, and the state follows the history."""
import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisor.core.extensions import db
from supervisor.inventory.models import Device
from supervisor.tickets import service

ACTIONS = ["acknowledged", "comment", "hold_requested", "hold_approved", "hold_refused",
           "hold_ended", "repair_marked", "reopened", "severity_changed", "escalated",
           "recovery_seen"]
_family = itertools.count()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(start=st.integers(0, 365 * 24 * 60), steps=st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(1, 2 * 24 * 60)), max_size=10))
def test_cache_equals_recomputation_after_every_change(app, world, start, steps):
    device = db.session.get(Device, world.alpha_devices[1])
    now = dt.datetime(2025, 1, 1) + dt.timedelta(minutes=start)
    t = service.open_ticket(db.session, device, f"prop{next(_family)}", now)
    last = (t.response_used_s, t.repair_used_s)
    for kind, minutes in steps:
        now += dt.timedelta(minutes=minutes)
        data = {}
        if kind == "hold_requested":
            data["reason"] = "road_works"
        elif kind == "severity_changed":
            data["severity"] = "critical" if t.severity != "critical" else "minor"
        try:
            if kind in ("reopened", "recovery_seen"):
                service.system_event(db.session, t, kind, now)
            else:
                service.act(db.session, t, kind, now, **data)
        except service.TicketError:
            service.refresh(db.session, t, now)        # refused: the clock still moves on
        assert service.verify_cache(db.session, t) == []
        cycles = len(t.clock["cycles"])
        used = (t.response_used_s, t.repair_used_s)
        if kind != "severity_changed":                  # a new cycle starts from zero
            assert used[0] >= last[0] - 1e-3 and used[1] >= last[1] - 1e-3
        last = used
        assert cycles >= 1
    db.session.rollback()
