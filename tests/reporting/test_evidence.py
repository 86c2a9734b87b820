"""Evidence lookup: geometry by hand (a point 30 m north of a camera looking north is seen;
behind it or beyond its range is not), the window's states, the nearest kept frame, the CLI."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace as NS

from supervisor.core.extensions import db
from supervisor.health.models import EvidenceFrame, StateInterval
from supervisor.inventory.models import Community, Device
from reports.evidence import covers, distance_bearing, lookup

LAT, LON = 34.2600, 108.9400
M_LAT = 1 / 111_195  # degrees of latitude per metre (mean Earth radius)
T = dt.datetime


def test_geometry_by_hand():
    d, b = distance_bearing(LAT, LON, LAT + 30 * M_LAT, LON)
    assert abs(d - 30) < 0.05 and abs(b - 0) < 0.01
    cam = NS(latitude=LAT, longitude=LON, heading_deg=0, fov_deg=60, range_m=40)
    assert covers(cam, LAT + 30 * M_LAT, LON)[0]                 # ahead, in range
    assert not covers(cam, LAT - 30 * M_LAT, LON)[0]             # behind
    assert not covers(cam, LAT + 45 * M_LAT, LON)[0]             # beyond 40 m
    assert covers(cam, LAT + 45 * M_LAT, LON, radius_m=6)[0]     # the circle reaches in
    # 30 m ahead and 20 m east: bearing 33.7° > 30° half-angle → outside; a 5 m circle
    # subtends asin(5/36.06) = 7.97°, reaching 38° → inside.
    east = 20 / (111_195 * 0.8266)  # cos(34.26°) ≈ 0.8266
    assert not covers(cam, LAT + 30 * M_LAT, LON + east)[0]
    assert covers(cam, LAT + 30 * M_LAT, LON + east, radius_m=5)[0]
    blind = NS(latitude=LAT, longitude=LON, heading_deg=None, fov_deg=None, range_m=40)
    assert covers(blind, LAT - 30 * M_LAT, LON) == (True, covers(blind, LAT - 30 * M_LAT, LON)[1], False)


def test_lookup_states_and_frame(app, runner, tmp_path):
    com = Community(name="十字路口小区", district="雁塔区", type="open")
    db.session.add(com)
    db.session.flush()
    nvr = Device(serial="NVR-1", name="nvr", kind="nvr", ip="10.0.0.2", community_id=com.id)
    db.session.add(nvr)
    db.session.flush()

    def cam(serial, heading, dlat):
        d = Device(serial=serial, name=serial, kind="camera", role="road", ip="10.0.0.9",
                   community_id=com.id, latitude=LAT + dlat * M_LAT, longitude=LON,
                   heading_deg=heading, fov_deg=90, range_m=60, upstream_id=nvr.id)
        db.session.add(d)
        db.session.flush()
        return d
    north = cam("CAM-N", 0, -25)      # 25 m south of the point, looking north: sees it
    south = cam("CAM-S", 180, 25)     # 25 m north, looking south: sees it
    away = cam("CAM-X", 180, -25)     # south of the point looking further south: does not
    # The incident: 2026-03-05 10:00 local = 02:00 UTC; window 09:50–10:10 local.
    db.session.add_all([
        StateInterval(device_id=north.id, state="ok", start_at=T(2026, 3, 1), end_at=None),
        StateInterval(device_id=south.id, state="ok", start_at=T(2026, 3, 1), end_at=T(2026, 3, 5, 1, 55)),
        StateInterval(device_id=south.id, state="degraded", cause="image_fault", start_at=T(2026, 3, 5, 1, 55),
                      end_at=None, reasons=[{"check": "frame", "code": "image_fault", "fault": "occlusion"}]),
        StateInterval(device_id=nvr.id, state="ok", start_at=T(2026, 3, 1), end_at=T(2026, 3, 5, 2, 5)),
        StateInterval(device_id=nvr.id, state="offline", cause="unreachable", start_at=T(2026, 3, 5, 2, 5), end_at=None),
        StateInterval(device_id=away.id, state="ok", start_at=T(2026, 3, 1), end_at=None),
        EvidenceFrame(device_id=north.id, kind="latest", taken_at=T(2026, 3, 5, 1, 0), path="a.jpg"),
        EvidenceFrame(device_id=north.id, kind="latest", taken_at=T(2026, 3, 5, 2, 7), path="b.jpg"),
        EvidenceFrame(device_id=north.id, kind="latest", taken_at=T(2026, 3, 5, 5, 0), path="c.jpg"),
    ])
    db.session.commit()
    found = lookup(db.session, LAT, LON, 5, T(2026, 3, 5, 1, 50), T(2026, 3, 5, 2, 10),
                   T(2026, 3, 6))
    assert [f.serial for f in found] == ["CAM-N", "CAM-S"]
    n, s = found
    assert abs(n.distance_m - 25) < 0.1
    assert (n.online, n.clear) == (True, True) and n.recording is False  # its NVR went down
    assert n.frame_at == T(2026, 3, 5, 2, 7)
    assert (s.online, s.clear) == (True, False)
    assert s.seconds == {"ok": 300.0, "degraded": 900.0}
    out = runner.invoke(args=["evidence", "--at", f"{LAT},{LON}", "--radius", "5",
                              "--from", "2026-03-05T09:50", "--to", "2026-03-05T10:10",
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["serial"] for r in rows] == ["CAM-N", "CAM-S"]
    assert rows[0]["frame_at"] == "2026-03-05 10:07:00"
    bad = runner.invoke(args=["evidence", "--at", "x", "--from", "a", "--to", "b"])
    assert bad.exit_code != 0
    com_all = runner.invoke(args=["evidence", "--community", "十字路口小区",
                                  "--from", "2026-03-05T09:50", "--to", "2026-03-05T10:10"])
    assert com_all.exit_code == 0, com_all.output
    assert "3 camera(s)" in com_all.output and "CAM-X" in com_all.output
