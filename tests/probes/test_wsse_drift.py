"""A drifted camera checks WS-Security Created against its own clock (the simulator does,
as cameras do): the probe reads GetSystemDateAndTime first and stamps every
authenticated call in the device's time, so it still gets in. Without that shift the
same camera refuses it like a wrong password."""
from __future__ import annotations

import pytest

import probes.onvif
from probes.config import TierSpec
from probes.runner import probe_one
from probe_helpers import run, sim_target

ONVIF = TierSpec("t", ["onvif"], timeouts={"onvif": 5.0}, retries={})
PTZ = TierSpec("ptz", ["onvif", "ptz"], timeouts={"onvif": 5, "ptz": 15, "frame": 5})


@pytest.mark.parametrize("offset", [3600.0, -1800.0])
def test_drifted_camera_still_authenticates(fleet_devices, faulted, offset):
    cam = fleet_devices["camera"][3]
    faulted(cam["serial"], ["clock_drift"], clock_offset_s=offset)
    res = run(probe_one(sim_target(cam), ONVIF), 15)
    assert res.onvif.ok, res.onvif.error
    assert abs(res.onvif.clock_offset_s - offset) < 1.0
    assert res.onvif.serial_number == cam["serial"] and res.onvif.profiles
    assert res.onvif.snapshot_uri                       # media service, authenticated


def test_without_the_shift_the_drifted_camera_refuses(fleet_devices, faulted, monkeypatch):
    cam = fleet_devices["camera"][3]
    faulted(cam["serial"], ["clock_drift"], clock_offset_s=600)
    monkeypatch.setattr(probes.onvif, "auth_time_offset", lambda _s: None)
    res = run(probe_one(sim_target(cam), ONVIF), 15)
    assert not res.onvif.ok and res.onvif.error.kind == "auth"
    assert abs(res.onvif.clock_offset_s - 600) < 1.0   # the clock was still read, unauthenticated


def test_small_drift_on_a_strict_camera(fleet_devices, faulted):
    # 3 s off with a 2 s window: below the 5 s the probe once ignored.
    cam = fleet_devices["camera"][3]
    faulted(cam["serial"], ["clock_drift"], clock_offset_s=3, wsse_window_s=2)
    res = run(probe_one(sim_target(cam), ONVIF), 15)
    assert res.onvif.ok, res.onvif.error


def test_drifted_nvr_recordings_and_ptz(fleet_devices, faulted):
    nvr = fleet_devices["nvr"][0]
    dome = next(d for d in fleet_devices["camera"] if d["ptz"])
    faulted(nvr["serial"], ["clock_drift"], clock_offset_s=-7200)
    faulted(dome["serial"], ["wrong_timezone"], timezone_offset_h=8)
    res = run(probe_one(sim_target(nvr), ONVIF), 15)
    assert res.onvif.ok and res.onvif.recordings is not None and res.onvif.recordings.count >= 1
    assert not res.onvif.warnings, res.onvif.warnings
    res = run(probe_one(sim_target(dome), PTZ), 30)
    assert res.onvif.ok and res.ptz.ok, res.ptz.error
