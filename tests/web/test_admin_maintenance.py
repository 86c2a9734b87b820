"""Maintenance windows from the admin page: local time in, UTC stored, errors beside their
fields, cancel/shorten rules, and the next sweep honours a window created here."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import current_app
from sqlalchemy import select

from probes.model import ProbeError, ProbeResult, ReachResult
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.health.models import DeviceStatus, MaintenanceWindow, StateInterval
from supervisor.inventory.models import Device
from supervisor.sweeps.pipeline import run_sweep
from supervisor.web import admin

from .conftest import csrf_from

# The clock the pages read, pinned: 2026-03-01 00:07 UTC is 08:07 in Asia/Shanghai.
NOW = dt.datetime(2026, 3, 1, 0, 7)


@pytest.fixture
def clock(monkeypatch):
    state = {"now": NOW}
    monkeypatch.setattr(admin, "_now", lambda: state["now"])
    return state


class Scripted:
    """Answers a sweep from `down` (serials that do not answer), all probes at `at`."""

    name = "scripted"

    def __init__(self) -> None:
        self.at = NOW
        self.down: set[str] = set()

    def iter_results(self, targets, tier, limits, deadline_s):
        at = self.at.replace(tzinfo=dt.timezone.utc)
        for t in targets:
            up = t.serial not in self.down
            reach = ReachResult(ok=True, rtt_ms=0.3, ports_open=[80]) if up else ReachResult(
                ok=False, error=ProbeError("timeout", "connect timed out", "reach"))
            yield ProbeResult(serial=t.serial, tier=tier.name, started_at=at,
                              finished_at=at + dt.timedelta(milliseconds=3), reach=reach)


def sweep(executor: Scripted, at: dt.datetime) -> None:
    executor.at = at
    run_sweep("fast", executor=executor, clock=lambda: at + dt.timedelta(seconds=1), settings=current_app.extensions["settings"])


def _token(client) -> str:
    return csrf_from(client.get("/admin/maintenance").get_data(as_text=True))


def _create(client, **fields):
    data = {"csrf_token": _token(client), "target": "device", "device": "", "community": "",
            "start": "2026-03-01T08:10", "end": "2026-03-01T09:10", "reason": "lens swap"}
    data.update(fields)
    return client.post("/admin/maintenance", data=data)


def _state(serial: str) -> str | None:
    db.session.expire_all()
    dev = db.session.scalar(select(Device.id).where(Device.serial == serial))
    status = db.session.get(DeviceStatus, dev)
    return status.state if status else None


def test_window_from_the_page_is_stored_utc_and_honoured_by_the_next_sweep(app, as_en, world, clock):
    police = as_en("police")
    response = _create(police, device="CAM-A-1")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    window = db.session.scalar(select(MaintenanceWindow))
    # typed 08:10–09:10 local → stored 00:10–01:10 UTC
    assert (window.start_at, window.end_at) == (dt.datetime(2026, 3, 1, 0, 10), dt.datetime(2026, 3, 1, 1, 10))
    assert window.approved_by == "police" and window.reason == "lens swap"
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "maintenance_window"))
    assert row.action == "create" and row.after["device"] == "CAM-A-1"
    # a whole community too (Beta's estate, 08:10–08:40 local)
    assert _create(police, target="community", community=str(world.beta_community),
                   end="2026-03-01T08:40", reason="power work").status_code == 302

    ex = Scripted()
    ex.down = {"CAM-A-1", "CAM-B-0"}  # they are being worked on
    sweep(ex, dt.datetime(2026, 3, 1, 0, 5))           # before the windows
    assert _state("CAM-A-1") != "maintenance"
    sweep(ex, dt.datetime(2026, 3, 1, 0, 12))          # inside both
    assert _state("CAM-A-1") == "maintenance"
    for serial in ("SW-B-1", "CAM-B-0", "CAM-B-1", "CAM-B-2"):
        assert _state(serial) == "maintenance", serial
    assert _state("CAM-A-0") != "maintenance"
    dev = db.session.scalar(select(Device.id).where(Device.serial == "CAM-A-1"))
    interval = db.session.scalar(select(StateInterval).where(
        StateInterval.device_id == dev, StateInterval.state == "maintenance"))
    assert interval.start_at == dt.datetime(2026, 3, 1, 0, 10)  # exact: the window's start

    # the page lists both as current, in local time
    clock["now"] = dt.datetime(2026, 3, 1, 0, 12)
    page = police.get("/admin/maintenance").get_data(as_text=True)
    current = page.split('id="windows-current"')[1].split("</table>")[0]
    assert "CAM-A-1" in current and "Riverside Estate" in current and "2026-03-01 09:10" in current

    # End the community window now (08:15 local); the next sweep takes Beta out of maintenance
    clock["now"] = dt.datetime(2026, 3, 1, 0, 15)
    community_window = db.session.scalar(select(MaintenanceWindow).where(
        MaintenanceWindow.community_id == world.beta_community))
    assert police.post(f"/admin/maintenance/{community_window.id}/cancel",
                       data={"csrf_token": _token(police)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(MaintenanceWindow, community_window.id).end_at == clock["now"]
    sweep(ex, dt.datetime(2026, 3, 1, 0, 16))
    assert _state("CAM-B-1") != "maintenance" and _state("CAM-A-1") == "maintenance"
    # The maintenance interval ends exactly when the window was ended, not at the next probe
    # nor at the end the window had when it began.
    cam = db.session.scalar(select(Device.id).where(Device.serial == "CAM-B-1"))
    ended = db.session.scalar(select(StateInterval.end_at).where(
        StateInterval.device_id == cam, StateInterval.state == "maintenance"))
    assert ended == dt.datetime(2026, 3, 1, 0, 15)


def test_errors_beside_fields_and_nothing_stored(as_en, world, clock):
    police = as_en("police")
    cases = [
        ({"device": "NO-SUCH"}, "device", "serial"),
        ({"device": ""}, "device", "serial"),
        ({"target": "community", "community": ""}, "community", "community"),
        ({"device": "CAM-A-1", "end": "2026-03-01T08:00"}, "end", "after the start"),
        ({"device": "CAM-A-1", "start": "2026-03-01T07:00"}, "start", "past"),
        ({"device": "CAM-A-1", "end": "2026-04-15T08:00"}, "end", "31"),
        ({"device": "CAM-A-1", "start": "tomorrow"}, "start", "YYYY-MM-DD"),
        ({"device": "CAM-A-1", "reason": ""}, "reason", ""),
    ]
    for fields, name, text in cases:
        response = _create(police, **fields)
        assert response.status_code == 400, fields
        html = response.get_data(as_text=True)
        block = re.search(rf'<div class="field has-error">\s*<label for="{name}".*?</div>', html, re.S)
        assert block and text in block.group(0), (fields, html[-3000:])
    assert db.session.scalar(select(MaintenanceWindow)) is None


def test_cancel_shorten_rules(as_en, world, clock):
    police = as_en("police")
    # upcoming (09:00–10:00 local) and running (08:00 started 07:59… created at 07:55)
    clock["now"] = dt.datetime(2026, 2, 28, 23, 55)
    assert _create(police, device="CAM-A-0", start="2026-03-01T08:00",
                   end="2026-03-01T10:00").status_code == 302
    clock["now"] = NOW
    assert _create(police, device="CAM-A-2", start="2026-03-01T09:00",
                   end="2026-03-01T10:00").status_code == 302
    running, upcoming = db.session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.id)).all()
    running_id, upcoming_id = running.id, upcoming.id

    def shorten(window_id: int, end: str):
        return police.post(f"/admin/maintenance/{window_id}/shorten",
                           data={"csrf_token": _token(police), "end": end})

    # a longer window is a new approval; an end in the past or before the start is refused
    for end, text in (("2026-03-01T11:00", "earlier"), ("2026-03-01T08:05", "future"),
                      ("garbage", "YYYY-MM-DD")):
        response = shorten(running_id, end)
        assert response.status_code == 400 and text in response.get_data(as_text=True), end
    assert shorten(upcoming_id, "2026-03-01T08:30").status_code == 400  # before its start
    assert shorten(running_id, "2026-03-01T09:00").status_code == 302
    db.session.expire_all()
    assert db.session.get(MaintenanceWindow, running_id).end_at == dt.datetime(2026, 3, 1, 1, 0)
    # cancelling an upcoming window removes it (the audit row remembers it)
    assert police.post(f"/admin/maintenance/{upcoming_id}/cancel",
                       data={"csrf_token": _token(police)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(MaintenanceWindow, upcoming_id) is None
    cancel = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "cancel"))
    assert cancel.before["device"] == "CAM-A-2" and cancel.after is None
    # once a window has ended it can no longer be changed
    clock["now"] = dt.datetime(2026, 3, 1, 2, 0)
    police.post(f"/admin/maintenance/{running_id}/cancel", data={"csrf_token": _token(police)})
    db.session.expire_all()
    assert db.session.get(MaintenanceWindow, running_id).end_at == dt.datetime(2026, 3, 1, 1, 0)
    page = police.get("/admin/maintenance").get_data(as_text=True)
    past = page.split('id="windows-past"')[1]
    assert "CAM-A-0" in past and "/cancel" not in past
    assert [r.action for r in db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "maintenance_window").order_by(AuditEntry.id))] == [
        "create", "create", "shorten", "cancel"]
    # without the CSRF token nothing happens
    assert police.post(f"/admin/maintenance/{running_id}/shorten", data={"end": "x"}).status_code == 400
