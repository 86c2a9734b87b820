"""Health pages: they render for police, are scoped for contractors (another tenant's
device or frame is a 404, its faults are not listed), sweeps are police-only, and what a
device sent is escaped."""
from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from pathlib import Path

import cv2
import numpy as np
import pytest
from db_helpers import clear_g_per_request, set_settings

from supervisor.core.extensions import db
from supervisor.health.models import (
    DeviceStatus,
    EvidenceFrame,
    StateEvent,
    StateInterval,
)
from supervisor.inventory.models import Community, Contract, Contractor, Device
from supervisor.people.accounts import create_user
from supervisor.sweeps.models import SweepRun
from supervisor.web import timeline


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
EVIL = "<script>alert('x')</script>"


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """One `g` per request (the app fixture keeps a context pushed), so clients differ."""
    clear_g_per_request(app)
    yield


@pytest.fixture
def world(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return build_world(app)


def build_world(app) -> dict:
    """Two tenants' devices with states, intervals, frames on disk, sweep runs and users."""
    NOW = utcnow()
    a, b = Contractor(name="Alpha"), Contractor(name="Beta")
    ca = Contract(code="C-A", contractor=a, start_month=dt.date(2026, 1, 1))
    cb = Contract(code="C-B", contractor=b, start_month=dt.date(2026, 1, 1))
    com_a = Community(name="阳光小区", district="东城区", type="open")
    com_b = Community(name="River", district="西城区", type="closed")
    db.session.add_all([a, b, ca, cb, com_a, com_b])
    db.session.flush()
    sw = Device(serial="SW-A", name="switch A", kind="switch", ip="127.40.9.1",
                community=com_a, contract=ca)
    db.session.add(sw)
    db.session.flush()
    cam_a = Device(serial="CAM-A", name="camera A", kind="camera", role="road", ip="127.40.9.2",
                   community=com_a, contract=ca, upstream=sw)
    cam_b = Device(serial="CAM-B", name="camera B", kind="camera", role="entrance",
                   ip="127.40.9.3", community=com_b, contract=cb)
    db.session.add_all([cam_a, cam_b])
    db.session.flush()
    t0 = NOW - dt.timedelta(hours=3)
    db.session.add_all([
        DeviceStatus(device_id=sw.id, state="offline", since=t0 + dt.timedelta(hours=1),
                     cause="unreachable", reasons=[{"check": "reach", "code": "unreachable"}]),
        DeviceStatus(device_id=cam_a.id, state="offline", since=t0 + dt.timedelta(hours=1),
                     cause="upstream", reasons=[{"check": "reach", "code": "upstream",
                                                 "upstream": "SW-A"}]),
        DeviceStatus(device_id=cam_b.id, state="degraded", since=t0 + dt.timedelta(hours=2),
                     cause="image_fault", faults=["blur"], flapping=True,
                     reasons=[{"check": "frame", "code": "image_fault", "fault": "blur",
                               "value": 12.5, "limit": 50}, {"check": "onvif", "code": EVIL}]),
        StateInterval(device_id=cam_a.id, state="ok", start_at=t0 - dt.timedelta(days=2),
                      end_at=t0 + dt.timedelta(hours=1), reasons=[]),
        StateInterval(device_id=cam_a.id, state="offline", cause="upstream",
                      start_at=t0 + dt.timedelta(hours=1), end_at=None,
                      reasons=[{"check": "reach", "code": "upstream", "upstream": "SW-A"}]),
        StateInterval(device_id=cam_b.id, state="degraded", cause="image_fault",
                      start_at=t0 + dt.timedelta(hours=2), end_at=None,
                      reasons=[{"check": "onvif", "code": EVIL}]),
        StateEvent(device_id=cam_a.id, at=t0 + dt.timedelta(hours=1), old="ok", new="offline",
                   cause="upstream"),
        SweepRun(tier="fast", trigger="scheduler", executor="local", status="done",
                 started_at=NOW - dt.timedelta(seconds=70), finished_at=NOW - dt.timedelta(seconds=58),
                 devices=3, ok=1, failed=2, devices_per_s=0.25,
                 failures_by_reason={"reach:refused": 2}),
        SweepRun(tier="full", trigger="cli", executor="celery", status="running",
                 started_at=NOW - dt.timedelta(seconds=5), devices=3),
    ])
    # A real JPEG on disk for each camera's latest frame.
    root = Path(app.config["EVIDENCE_DIR"])
    frames = {}
    for dev in (cam_a, cam_b):
        (root / str(dev.id)).mkdir(parents=True, exist_ok=True)
        rel = f"{dev.id}/latest-test.jpg"
        ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 120, np.uint8))
        (root / rel).write_bytes(jpeg.tobytes())
        row = EvidenceFrame(device_id=dev.id, kind="latest", taken_at=NOW, path=rel,
                            bytes=len(jpeg), diagnosis={
                                "ok": False, "faults": [{"fault": "blur", "measure": "laplacian_var",
                                                         "value": 12.5, "threshold": 50, "op": "<",
                                                         "severity": "major", "clause": "GB 50198"}],
                                "measures": {"laplacian_var": 12.5, "brightness": 120.0}})
        db.session.add(row)
        db.session.flush()
        frames[dev.serial] = row.id
    create_user("police", "police-pass-123", "police", actor="test")
    create_user("alpha", "alpha-pass-123", "contractor", contractor=a, actor="test")
    create_user("official", "official-pass-123", "official", actor="test")
    db.session.commit()
    return {"sw": sw.id, "cam_a": cam_a.id, "cam_b": cam_b.id, "frames": frames}


def client_for(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username,
                                           "password": f"{username}-pass-123"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def listed(client, query: str = "") -> set[str]:
    """The serials in the faults table."""
    page = client.get("/health/faults" + query)
    assert page.status_code == 200
    return set(re.findall(r'<span class="mono small">([^<]+)</span>', page.get_data(as_text=True)))


def test_faults_page_for_police_with_filters(app, world):
    police = client_for(app, "police")
    html = police.get("/health/faults").get_data(as_text=True)
    assert EVIL not in html and "&lt;script&gt;" in html  # what a device sent is escaped
    assert listed(police) == {"SW-A", "CAM-A", "CAM-B"}
    assert listed(police, "?fault=blur") == {"CAM-B"}
    assert listed(police, "?cause=upstream") == {"CAM-A"}
    assert listed(police, "?state=flapping") == {"CAM-B"}
    assert listed(police, "?state=offline") == {"SW-A", "CAM-A"}
    assert listed(police, "?district=东城区&kind=switch") == {"SW-A"}
    # nonsense filters are ignored, never an error
    assert police.get("/health/faults?fault=%27;drop&community=x&state=zzz").status_code == 200


def test_contractor_sees_only_its_own(app, world):
    alpha = client_for(app, "alpha")
    assert listed(alpha) == {"SW-A", "CAM-A"}
    assert listed(alpha, "?fault=blur") == set()
    assert "CAM-B" not in alpha.get("/health/faults").get_data(as_text=True)
    assert alpha.get(f"/health/devices/{world['cam_b']}").status_code == 404
    assert alpha.get(f"/health/frames/{world['frames']['CAM-B']}.jpg").status_code == 404
    assert alpha.get(f"/health/devices/{world['cam_a']}").status_code == 200
    frame = alpha.get(f"/health/frames/{world['frames']['CAM-A']}.jpg")
    assert frame.status_code == 200 and frame.data[:2] == b"\xff\xd8"
    assert alpha.get("/health/sweeps").status_code == 403  # sweeps span every tenant
    assert alpha.get("/health/sweeps.json").status_code == 403


def test_official_sees_no_device_pages(app, world):
    official = client_for(app, "official")
    assert official.get("/health/faults").status_code == 403
    assert official.get(f"/health/devices/{world['cam_a']}").status_code == 403


def test_device_timeline_chart_frame_and_diagnosis(app, world):
    police = client_for(app, "police")
    for span in ("day", "week", "month", "bogus"):
        assert police.get(f"/health/devices/{world['cam_a']}?span={span}").status_code == 200
    html = police.get(f"/health/devices/{world['cam_a']}?span=week").get_data(as_text=True)
    figure = json.loads(unescape(re.search(r'data-figure="([^"]*)"', html).group(1)))
    names = {trace["name"] for trace in figure["data"]}
    assert len(figure["data"]) == 2 and len(names) == 2  # one trace per state: ok, offline
    hover = " ".join(h for trace in figure["data"] for h in trace["hovertext"])
    assert "cause: upstream" in hover and "SW-A" in hover
    assert f"/health/frames/{world['frames']['CAM-A']}.jpg" in html
    assert "laplacian_var" in html and "GB 50198" in html  # the diagnosis beside the frame
    assert "plotly.min.js" in html
    evil = police.get(f"/health/devices/{world['cam_b']}").get_data(as_text=True)
    assert EVIL not in evil
    js = police.get("/health/plotly.min.js")
    assert js.status_code == 200 and b"plotly" in js.data[:2000].lower()


def test_sweep_status_page_and_json(app, world):
    police = client_for(app, "police")
    html = police.get("/health/sweeps").get_data(as_text=True)
    assert "reach:refused: 2" in html and 'http-equiv="refresh"' in html
    data = police.get("/health/sweeps.json").get_json()
    tiers = {t["tier"]: t for t in data["tiers"]}
    assert set(tiers) == {"fast", "full"}
    assert tiers["fast"]["duration_s"] == pytest.approx(12, abs=0.01)
    assert tiers["fast"]["failures_by_reason"] == {"reach:refused": 2}
    assert tiers["full"]["status"] == "running" and tiers["full"]["finished_at"] is None
    # the default profile's fast tier runs every 60 s: the cycle sums the slices since then
    assert tiers["fast"]["interval"] is None  # started 70 s ago: outside the last interval
    assert tiers["full"]["interval"]["runs"] == 1 and tiers["full"]["interval"]["devices"] == 3


def test_sweep_cycle_sums_the_slices_of_the_last_interval(app, world):
    set_settings(app, SCHEDULER_TIERS={"fast": {"interval_s": 60}})
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for i, (ok, failed) in enumerate(((10, 2), (9, 3))):
        db.session.add(SweepRun(tier="fast", trigger="scheduler", executor="local", status="done",
                                started_at=now - dt.timedelta(seconds=40 - 20 * i),
                                finished_at=now - dt.timedelta(seconds=38 - 20 * i),
                                devices=ok + failed, ok=ok, failed=failed,
                                failures_by_reason={"reach:refused": failed}))
    db.session.commit()
    police = client_for(app, "police")
    fast = {t["tier"]: t for t in police.get("/health/sweeps.json").get_json()["tiers"]}["fast"]
    cycle = fast["interval"]
    assert cycle["runs"] == 2 and cycle["devices"] == 24 and cycle["failed"] == 5
    assert cycle["failures_by_reason"] == {"reach:refused": 5}
    assert cycle["busy_s"] == pytest.approx(4.0) and cycle["devices_per_s"] == pytest.approx(6.0)
    assert 'id="cycles"' in police.get("/health/sweeps").get_data(as_text=True)


def test_timeline_clips_to_the_window_and_totals_are_exact():
    now = dt.datetime(2026, 3, 10, 12, 0)
    since, until = timeline.window("day", now)
    ivs = [timeline.Interval("ok", None, [], False, now - dt.timedelta(days=3),
                             now - dt.timedelta(hours=6)),
           timeline.Interval("offline", "unreachable", [{"check": "reach", "code": "refused"}],
                             False, now - dt.timedelta(hours=6), None),
           timeline.Interval("ok", None, [], False, now - dt.timedelta(days=5),
                             now - dt.timedelta(days=4))]  # outside the window
    assert timeline.totals(ivs, since, until, now) == {"ok": 18 * 3600.0, "offline": 6 * 3600.0}
    fig = timeline.figure(ivs, since, until, now)
    bars = {t["name"]: t for t in fig["data"]}
    assert bars["ok"]["x"] == [18 * 3600 * 1000.0]
    assert bars["ok"]["base"] == [since.isoformat()]
    assert "reach refused" in bars["offline"]["hovertext"][0]
    assert timeline.duration_text(90061) == "1d 1h 1m"


def test_a_flapping_device_page_stays_bounded(app, world, monkeypatch):
    from supervisor.web import health_pages

    monkeypatch.setattr(health_pages, "TIMELINE_LIMIT", 50)
    start = utcnow() - dt.timedelta(hours=20)
    for i in range(120):  # a flapping camera: 120 short intervals within the day
        db.session.add(StateInterval(device_id=world["cam_b"], state="ok" if i % 2 else "offline",
                                     start_at=start + dt.timedelta(minutes=i),
                                     end_at=start + dt.timedelta(minutes=i + 1), reasons=[]))
    db.session.commit()
    html = client_for(app, "police").get(f"/health/devices/{world['cam_b']}").get_data(as_text=True)
    figure = json.loads(unescape(re.search(r'data-figure="([^"]*)"', html).group(1)))
    assert sum(len(t["x"]) for t in figure["data"]) == 50
    assert 'id="truncated"' in html
