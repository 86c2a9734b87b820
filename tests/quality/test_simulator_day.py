"""The simulator's healthy cameras over a day of hourly frames, with the light and weather
of a day (dawn, noon, dusk, IR night; rain and light fog): no image fault is raised, with
or without an acceptance reference.

Frames come from simulator.frames.render_jpeg (the renderer the simulated cameras serve,
importable without starting anything); the day's light is laid over them the way a camera
sees it: auto-exposure keeps the picture up while there is light, then the IR-cut filter
comes out (monochrome, noisier), weather sits between lens and scene. One camera looks at
each of the simulator's photographs, plus the three views whose measures sat nearest their
limits (``NEAR_LIMITS``: a brick wall filling the view, a periodic scene; a coffee cup; an
orange cat, a view warm by nature)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from probes.quality import Thresholds, diagnose
from probes.quality.fieldset.camera import weather
from simulator.frames import _photo_of, _photos, render_jpeg

TZ = timezone(timedelta(hours=8))


def _daylight(hour: int) -> float:
    """Relative daylight at a local hour (0 at night, 1 at noon)."""
    return max(0.0, float(np.sin(np.pi * (hour - 6) / 13.0))) if 6 <= hour <= 19 else 0.0


def _as_seen(jpeg: bytes, hour: int, rng: np.random.Generator) -> bytes:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(np.float32)
    light = _daylight(hour)
    if light > 0.15:
        # auto-exposure holds the picture near its level, a little dimmer toward dusk
        img = img * (0.75 + 0.25 * light)
        sky = ["clear", "clear", "rain", "fog"][hour % 4]
        out = np.clip(img, 0, 255).astype(np.uint8)
        if sky in ("rain", "fog"):
            out = weather(sky, out, rng)
    else:
        # IR night: monochrome, lit by the camera's own illuminator, gain noise
        g = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        g = g * (0.55 + 0.4 * light) + rng.normal(0, 2.5, g.shape)
        out = cv2.cvtColor(np.clip(g, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return buf.tobytes()


def _small(jpeg: bytes, size: tuple[int, int] = (640, 360)) -> np.ndarray:
    return cv2.resize(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), size,
                      interpolation=cv2.INTER_AREA)


# Views whose measures sat nearest their limits among 40 simulated cameras over a day:
# 12 looks at the brick wall (its courses read as stripes at 14.0-15.3 dB against 14),
# 14 at the coffee cup (neutral chroma 30.1 against 30), 22 at the orange cat (warm cast
# consensus 19-21.5 against 18).
NEAR_LIMITS = (12, 14, 22)


def _one_camera_per_photograph() -> list[int]:
    """The first camera looking at each photograph, and the views nearest their limits."""
    n = len(_photos())
    seen: dict[int, int] = {}
    sid = 1
    while len(seen) < n and sid < 10_000:
        seen.setdefault(_photo_of(sid, n), sid)
        sid += 1
    return sorted(set(seen.values()) | set(NEAR_LIMITS))


def _flagged_over_a_day(hours: range, size: tuple[int, int] | None) -> tuple[list, int]:
    """Diagnose every camera at ``hours`` of one day, each frame without and with the
    acceptance reference; ``size``: frames resized to it (None: as served, 1280x720)."""
    th = Thresholds.default()
    rng = np.random.default_rng(2026)
    shape = (lambda b: _small(b, size)) if size else (
        lambda b: cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR))
    flagged, judged = [], 0
    for scene_id in _one_camera_per_photograph():
        # the acceptance reference: this view at noon on another day
        accepted = datetime(2026, 5, 20, 12, 0, tzinfo=TZ)
        reference = shape(_as_seen(render_jpeg(scene_id, scene_id + 500, set(), now=accepted.timestamp()),
                                   12, rng))
        prev = None
        for hour in hours:
            at = datetime(2026, 6, 1, hour, 0, tzinfo=TZ)
            frame = shape(_as_seen(render_jpeg(scene_id, scene_id + 500, set(), now=at.timestamp()), hour, rng))
            for ref in (None, reference):
                d = diagnose(frame, previous=prev, reference=ref, thresholds=th, captured_at=at)
                judged += 1
                if d.faults:
                    flagged.append((scene_id, hour, ref is not None,
                                    [{k: f.as_dict().get(k) for k in ("fault", "value", "uncertainty", "threshold")}
                                     for f in d.faults]))
            prev = frame
    return flagged, judged


def test_healthy_simulated_cameras_raise_no_fault_over_a_day():
    """Reduced scale: every third hour (night IR, dawn, rain, noon, fog, dusk), sub-stream size."""
    cameras = _one_camera_per_photograph()
    assert len(cameras) >= len(_photos()) >= 8
    flagged, judged = _flagged_over_a_day(range(0, 24, 3), (640, 360))
    assert judged == len(cameras) * 8 * 2
    assert flagged == [], flagged


@pytest.mark.scale
def test_healthy_simulated_cameras_raise_no_fault_over_a_full_day_as_served():
    """Every hour, frames at the size the simulator serves them (1280x720)."""
    flagged, judged = _flagged_over_a_day(range(24), None)
    assert judged == len(_one_camera_per_photograph()) * 24 * 2
    assert flagged == [], flagged


def test_the_same_cameras_with_a_fault_are_found():
    """The day test can fail: the simulator's own picture faults on the same views are found
    (frames as served: the sub-stream size averages isolated noise spikes away)."""
    th = Thresholds.default()
    at = datetime(2026, 6, 1, 11, tzinfo=TZ)
    cameras = _one_camera_per_photograph()
    for fault in ("signal_loss", "blur", "color_cast", "stripes", "noise", "too_dark"):
        found = 0
        for scene_id in cameras[:4]:
            frame = render_jpeg(scene_id, scene_id + 500, {fault}, now=at.timestamp())
            found += fault in diagnose(frame, thresholds=th, captured_at=at).fault_names
        assert found == 4, (fault, found)
