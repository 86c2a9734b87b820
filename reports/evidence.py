"""Evidence lookup: for a point (and a radius) and a time window, the cameras whose view
covers it, whether each was online, clear and recording then, and its kept frame nearest the
time. Pure functions over rows (no Flask); `lookup` loads them with a session.

A camera covers the point when the point (a circle of `radius_m`) is within its range and
inside its horizontal field of view (heading ± fov/2, widened by the angle the circle
subtends). A camera with a position but no heading/fov is listed when the point is within its
range, marked `view_known=False`. Distances use an equirectangular projection (error far
below a metre at the few hundred metres a camera sees).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.models import Community, Device, EvidenceFrame, StateInterval

EARTH_M = 6_371_008.8
DEFAULT_RANGE_M = 50.0


def distance_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Metres and the bearing (degrees clockwise from north) from point 1 to point 2."""
    phi = math.radians((lat1 + lat2) / 2)
    dx = math.radians(lon2 - lon1) * math.cos(phi) * EARTH_M
    dy = math.radians(lat2 - lat1) * EARTH_M
    return math.hypot(dx, dy), (math.degrees(math.atan2(dx, dy)) + 360) % 360


def covers(cam: Any, lat: float, lon: float, radius_m: float = 0.0) -> tuple[bool, float, bool]:
    """(covers, distance m, view known) for a camera row with latitude/longitude/heading_deg/
    fov_deg/range_m."""
    if cam.latitude is None or cam.longitude is None:
        return False, math.inf, False
    dist, bearing = distance_bearing(cam.latitude, cam.longitude, lat, lon)
    reach = (cam.range_m or DEFAULT_RANGE_M) + radius_m
    if dist > reach:
        return False, dist, cam.heading_deg is not None
    if cam.heading_deg is None or cam.fov_deg is None:
        return True, dist, False
    if dist <= radius_m:
        return True, dist, True  # the camera stands inside the circle
    slack = math.degrees(math.asin(min(1.0, radius_m / dist))) if dist > 0 else 180.0
    off = abs((bearing - cam.heading_deg + 180) % 360 - 180)
    return off <= cam.fov_deg / 2 + slack, dist, True


@dataclass
class Finding:
    device_id: int
    serial: str
    name: str
    community: str
    distance_m: float
    view_known: bool
    seconds: dict[str, float] = field(default_factory=dict)   # state → seconds in the window
    online: bool | None = None      # not offline at any time in the window
    clear: bool | None = None       # no image fault in the window
    recording: bool | None = None   # no recording fault (camera or its NVR) in the window
    unknown_s: float = 0.0
    frame_id: int | None = None
    frame_at: dt.datetime | None = None
    latitude: float | None = None   # the camera's own position and view (for the map)
    longitude: float | None = None
    heading_deg: float | None = None
    fov_deg: float | None = None
    range_m: float | None = None


def _overlap(s: dt.datetime, e: dt.datetime | None, lo: dt.datetime, hi: dt.datetime,
             now: dt.datetime) -> float:
    return max(0.0, (min(e or now, hi) - max(s, lo)).total_seconds())


def judge_window(f: Finding, ivs: Sequence[Any], nvr_ivs: Sequence[Any], lo: dt.datetime,
                 hi: dt.datetime, now: dt.datetime) -> None:
    hi = min(hi, now)
    total = max(0.0, (hi - lo).total_seconds())
    secs: dict[str, float] = {}
    faults, not_rec = False, False
    for iv in ivs:
        t = _overlap(iv.start_at, iv.end_at, lo, hi, now)
        if t <= 0:
            continue
        secs[iv.state] = secs.get(iv.state, 0.0) + t
        codes = {r.get("code") for r in (iv.reasons or []) if isinstance(r, dict)}
        if iv.state == "degraded" and ("image_fault" in codes or iv.cause == "image_fault"):
            faults = True
        if "not_recording" in codes or iv.cause == "not_recording":
            not_rec = True
    nvr_down = any(_overlap(iv.start_at, iv.end_at, lo, hi, now) > 0 and (
        iv.state == "offline" or iv.cause in ("not_recording", "retention_short"))
        for iv in nvr_ivs)
    f.seconds = secs
    f.unknown_s = max(0.0, total - sum(secs.values()))
    known = total - f.unknown_s - secs.get("maintenance", 0.0)
    f.online = None if known <= 0 else secs.get("offline", 0.0) == 0
    f.clear = None if known <= 0 else not faults
    f.recording = None if known <= 0 else not (not_rec or nvr_down)


def _camera_query(device_ids: Iterable[int] | None) -> Any:
    q = (sa.select(Device.id, Device.serial, Device.name, Device.latitude, Device.longitude,
                   Device.heading_deg, Device.fov_deg, Device.range_m, Device.upstream_id,
                   Community.name.label("community"))
         .join(Community, Community.id == Device.community_id)
         .where(Device.kind == "camera"))
    if device_ids is not None:
        q = q.where(Device.id.in_(list(device_ids)))
    return q


def lookup_community(session: Session, community_id: int, lo: dt.datetime, hi: dt.datetime,
                     now: dt.datetime, device_ids: Iterable[int] | None = None) -> list[Finding]:
    """Every camera of a community (no geometry: distance 0), judged over [lo, hi)."""
    cams = list(session.execute(_camera_query(device_ids).where(
        Device.community_id == community_id).order_by(Device.serial)))
    return _judge(session, [(c, 0.0, c.heading_deg is not None) for c in cams], lo, hi, now)


def lookup(session: Session, lat: float, lon: float, radius_m: float, lo: dt.datetime,
           hi: dt.datetime, now: dt.datetime, device_ids: Iterable[int] | None = None
           ) -> list[Finding]:
    """Cameras covering the point, nearest first, judged over [lo, hi)."""
    # A coarse box first (a degree of latitude is ~111 km) so the database does the culling.
    pad = (5000 + radius_m) / 111_000
    q = _camera_query(device_ids).where(Device.latitude.is_not(None),
                                        Device.latitude.between(lat - pad, lat + pad))
    found: list[tuple[Any, float, bool]] = []
    for cam in session.execute(q):
        ok, dist, known = covers(cam, lat, lon, radius_m)
        if ok:
            found.append((cam, dist, known))
    found.sort(key=lambda x: x[1])
    return _judge(session, found, lo, hi, now)


def _judge(session: Session, found: list[tuple[Any, float, bool]], lo: dt.datetime,
           hi: dt.datetime, now: dt.datetime) -> list[Finding]:
    ids = [c.id for c, _, _ in found]
    ups = {c.upstream_id for c, _, _ in found if c.upstream_id}
    nvrs = set(session.scalars(sa.select(Device.id).where(Device.id.in_(ups), Device.kind == "nvr"))) if ups else set()
    ivs: dict[int, list[Any]] = {}
    if ids or nvrs:
        for iv in session.scalars(sa.select(StateInterval).where(
                StateInterval.device_id.in_(ids + list(nvrs)), StateInterval.start_at < hi,
                sa.or_(StateInterval.end_at.is_(None), StateInterval.end_at > lo))):
            ivs.setdefault(iv.device_id, []).append(iv)
    mid = lo + (hi - lo) / 2
    out = []
    sqlite = session.get_bind().dialect.name == "sqlite"
    for cam, dist, known in found:
        f = Finding(cam.id, cam.serial, cam.name, cam.community, round(dist, 1), known,
                    latitude=cam.latitude, longitude=cam.longitude, heading_deg=cam.heading_deg,
                    fov_deg=cam.fov_deg, range_m=cam.range_m)
        judge_window(f, ivs.get(cam.id, []), ivs.get(cam.upstream_id, []) if cam.upstream_id in nvrs else [],
                     lo, hi, now)
        gap = (sa.func.abs(sa.func.julianday(EvidenceFrame.taken_at) - sa.func.julianday(mid))
               if sqlite else sa.func.abs(sa.extract("epoch", EvidenceFrame.taken_at - mid)))
        frame = session.execute(sa.select(EvidenceFrame.id, EvidenceFrame.taken_at).where(
            EvidenceFrame.device_id == cam.id).order_by(gap).limit(1)).first()
        if frame is not None:
            f.frame_id, f.frame_at = frame
        out.append(f)
    return out


def view_outline(f: Finding, steps: int = 8) -> tuple[list[float], list[float]] | None:
    """The camera's field of view as a closed polygon (lat, lon lists): its position, the arc
    at its range from heading − fov/2 to heading + fov/2, back to its position. None without
    a position or a view."""
    if f.latitude is None or f.longitude is None or f.heading_deg is None or f.fov_deg is None:
        return None
    reach = f.range_m or DEFAULT_RANGE_M
    lats, lons = [f.latitude], [f.longitude]
    for k in range(steps + 1):
        bearing = math.radians(f.heading_deg - f.fov_deg / 2 + f.fov_deg * k / steps)
        dy, dx = reach * math.cos(bearing), reach * math.sin(bearing)
        lats.append(f.latitude + math.degrees(dy / EARTH_M))
        lons.append(f.longitude + math.degrees(dx / (EARTH_M * math.cos(math.radians(f.latitude)))))
    lats.append(f.latitude)
    lons.append(f.longitude)
    return lats, lons
