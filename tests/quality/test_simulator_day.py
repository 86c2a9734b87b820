"""The simulator's healthy cameras over a day of hourly frames, with the light and weather
of a day (dawn, noon, dusk, IR night; rain and light fog): no image fault is raised.

Frames come from simulator.frames.render_jpeg (the renderer the simulated cameras serve,
importable without starting anything); the day's light is laid over them the way a camera
sees it: auto-exposure keeps the picture up while there is light, then the IR-cut filter
comes out (monochrome, noisier), weather sits between lens and scene."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np

from probes.quality import Thresholds, diagnose
from probes.quality.fieldset.camera import weather
from simulator.frames import render_jpeg

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


def test_healthy_simulated_cameras_raise_no_fault_over_a_day():
    th = Thresholds.default()
    rng = np.random.default_rng(2026)
    flagged = []
    cameras = (3, 42)
    for scene_id in cameras:
        prev = None
        for hour in range(24):
            at = datetime(2026, 6, 1, hour, 0, tzinfo=TZ)
            frame = _as_seen(render_jpeg(scene_id, scene_id + 500, set(), now=at.timestamp()), hour, rng)
            small = cv2.resize(cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR), (640, 360),
                               interpolation=cv2.INTER_AREA)
            d = diagnose(small, previous=prev, thresholds=th, captured_at=at)
            if d.faults:
                flagged.append((scene_id, hour, d.fault_names))
            prev = small
    assert flagged == [], flagged
    # and the same frames with a real fault are still found (the test can fail)
    broken = render_jpeg(cameras[0], cameras[0] + 500, {"signal_loss"}, now=0.0)
    assert "signal_loss" in diagnose(broken, thresholds=th, captured_at=datetime(2026, 6, 1, 11, tzinfo=TZ)).fault_names
