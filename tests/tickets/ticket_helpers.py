"""Device statuses written straight into the table, as a sweep would leave them."""
from __future__ import annotations

import datetime as dt

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory.models import Device


def set_status(device_id: int, state: str, since: dt.datetime, cause=None, reasons=(),
               last_sample_at=None, last_observed=None, candidate_state=None):
    st = db.session.get(DeviceStatus, device_id) or DeviceStatus(device_id=device_id)
    st.state, st.since, st.cause, st.reasons = state, since, cause, list(reasons)
    st.last_sample_at = last_sample_at or since
    st.last_observed = last_observed or state
    st.candidate_state = candidate_state
    db.session.add(st)
    db.session.flush()
    return st


def offline(device_id, since, **kw):
    return set_status(device_id, "offline", since, "unreachable",
                      [{"check": "reach", "code": "timeout"}], **kw)


def behind(device_id, since, root_serial, **kw):
    return set_status(device_id, "offline", since, "upstream",
                      [{"check": "upstream", "code": "upstream_down", "upstream": root_serial},
                       {"check": "reach", "code": "timeout"}], **kw)


def ok(device_id, since, **kw):
    return set_status(device_id, "ok", since, None, [], **kw)


def serial(device_id):
    return db.session.get(Device, device_id).serial
