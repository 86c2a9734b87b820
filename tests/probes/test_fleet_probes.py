"""Each probe against the simulated fleet: healthy devices, then every fault it injects.

Every probe runs under ``run(..., limit)``: outliving the bound fails the test.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from probes.config import TierSpec
from probes.deltas import detect_reboot
from probes.model import ProbeResult
from probes.runner import probe_one
from probe_helpers import run, sim_target

TIMEOUTS = {"reach": 1.0, "onvif": 3.0, "snmp": 1.5, "frame": 5.0}
FULL = TierSpec("full", ["reach", "onvif", "snmp", "frame"], timeouts=TIMEOUTS,
                retries={"snmp": 0})
BOUND = sum(TIMEOUTS.values()) + 3        # the most a full probe may take


def full(d: dict, **kw) -> ProbeResult:
    return run(probe_one(sim_target(d, **kw), FULL), BOUND)


def tier(checks: list[str], **timeouts: float) -> TierSpec:
    return TierSpec("t", checks, timeouts={**TIMEOUTS, **timeouts}, retries={"snmp": 0})


# ---------------------------------------------------------------- healthy

def test_healthy_camera_full_tier(fleet_devices):
    cam = fleet_devices["camera"][0]
    res = full(cam)
    assert res.ok, res.errors()
    assert res.reach.ok and res.reach.ports_open == [cam["onvif_port"]]
    o = res.onvif
    assert (o.manufacturer, o.model) == (cam["vendor"], cam["model"])
    assert o.serial_number == cam["serial"] and o.serial_mismatch is False
    # ±0.5 s from whole-second device time, plus round-trip asymmetry on a busy host
    assert abs(o.clock_offset_s) < 1.5 and o.ntp is not None and o.timezone
    assert o.profiles and o.profiles[0].width and o.profiles[0].encoding
    assert o.snapshot_uri.startswith(f"http://{cam['ip']}") and o.stream_uri.startswith("rtsp://")
    assert res.snmp.sys_name and res.snmp.sys_uptime_s > 0 and res.snmp.ports
    f = res.frame
    assert f.source == "snapshot" and f.width > 0 and f.height > 0
    assert isinstance(f.image, np.ndarray) and f.image.shape[:2] == (f.height, f.width)
    assert f.jpeg[:2] == b"\xff\xd8" and f.grabbed_at is not None


def test_frame_only_tier_learns_the_snapshot_uri_when_none_is_known(fleet_devices):
    cam = fleet_devices["camera"][0]
    t = sim_target(cam)
    t.snapshot_uri = t.stream_uri = None  # a fresh install: no full probe has run yet
    res = run(probe_one(t, tier(["reach", "frame"])), BOUND)
    assert res.onvif is None, "the frame tier does not report an ONVIF result of its own"
    assert res.frame.ok and res.frame.source == "snapshot" and res.frame.width > 0


def test_serial_mismatch_is_flagged(fleet_devices):
    cam = fleet_devices["camera"][0]
    t = sim_target(cam)
    t.expected_serial = "SOMETHING-ELSE"
    res = run(probe_one(t, tier(["onvif"])), BOUND)
    assert res.onvif.ok and res.onvif.serial_mismatch is True


def test_healthy_nvr_recordings_and_span(fleet_devices):
    nvr = fleet_devices["nvr"][0]
    res = run(probe_one(sim_target(nvr), tier(["reach", "onvif"])), BOUND)
    assert res.ok, res.errors()
    rec = res.onvif.recordings
    assert rec.count >= 1 and rec.recording_now is True and rec.stopped == []
    assert rec.span_days >= 29.9 and rec.min_span_days >= 29.9


def test_healthy_switch_snmp_v2c_and_v3_ports_and_poe(fleet_devices):
    sw = fleet_devices["switch"][0]
    for v3 in (False, True):
        res = run(probe_one(sim_target(sw, v3=v3), tier(["snmp"])), BOUND)
        assert res.snmp.ok, res.snmp.error
        assert len(res.snmp.ports) == sw["ports"]
        assert res.snmp.poe and any(p.detection_status == "deliveringPower"
                                    for p in res.snmp.poe)


# ---------------------------------------------------------------- reach faults

def test_offline_device_times_out_within_budget(fleet_devices, faulted):
    cam = fleet_devices["camera"][1]
    faulted(cam["serial"], ["offline"])
    t0 = time.monotonic()
    res = full(cam)
    assert time.monotonic() - t0 < TIMEOUTS["reach"] + 4     # no hang past the reach timeout
    assert res.reach.ok is False and res.reach.error.kind == "timeout"
    assert res.onvif is None and res.frame is None       # not tried once unreachable
    assert res.error_kinds() == {"timeout"}


def test_refused_device(fleet_devices, faulted):
    cam = fleet_devices["camera"][2]
    faulted(cam["serial"], ["refused"])
    res = full(cam)
    assert res.reach.error.kind == "refused" and not res.ok


def test_flapping_device_is_seen_both_up_and_down(fleet_devices, faulted):
    cam = fleet_devices["camera"][3]
    faulted(cam["serial"], ["flap"], flap_period_s=0.4)
    seen = set()
    deadline = time.monotonic() + 6
    while len(seen) < 2 and time.monotonic() < deadline:
        res = run(probe_one(sim_target(cam), tier(["reach"], reach=0.3)), 3)
        seen.add(res.reach.ok)
    assert seen == {True, False}


def test_reboot_is_refused_then_seen_as_uptime_reset(fleet_devices, faulted):
    cam = fleet_devices["camera"][4]
    before = run(probe_one(sim_target(cam), tier(["snmp"])), BOUND).snmp
    assert before.ok
    faulted(cam["serial"], ["reboot"], reboot_s=1.0)
    during = run(probe_one(sim_target(cam), tier(["reach"])), BOUND)
    assert during.reach.ok is False and during.reach.error.kind in ("refused", "timeout")
    deadline = time.monotonic() + 8
    after = None
    while time.monotonic() < deadline:
        after = run(probe_one(sim_target(cam), tier(["snmp"])), BOUND).snmp
        if after.ok:
            break
        time.sleep(0.2)
    assert after is not None and after.ok
    assert detect_reboot(before, after) is True


# ---------------------------------------------------------------- protocol faults

def test_slow_device_hits_the_onvif_timeout_not_a_hang(fleet_devices, faulted):
    cam = fleet_devices["camera"][5]
    faulted(cam["serial"], ["slow"], slow_s=10.0)
    t0 = time.monotonic()
    res = run(probe_one(sim_target(cam), tier(["reach", "onvif"], onvif=1.0)), 8)
    assert time.monotonic() - t0 < 6          # gave up at the 1 s timeout, did not wait 10 s
    assert res.reach.ok and res.onvif.error.kind == "timeout"


def test_slightly_slow_device_still_answers(fleet_devices, faulted):
    cam = fleet_devices["camera"][5]
    faulted(cam["serial"], ["slow"], slow_s=0.2)
    res = run(probe_one(sim_target(cam), tier(["onvif"], onvif=5.0)), 8)
    assert res.onvif.ok, res.onvif.error


@pytest.mark.parametrize("fault", ["malformed_xml", "non_utf8_xml", "truncated_http"])
def test_broken_answers_are_malformed_errors(fleet_devices, faulted, fault):
    cam = fleet_devices["camera"][6]
    faulted(cam["serial"], [fault])
    res = run(probe_one(sim_target(cam), tier(["onvif"])), BOUND)
    assert res.onvif.ok is False
    assert res.onvif.error.kind == "malformed", res.onvif.error


def test_truncated_snapshot_is_malformed(fleet_devices, faulted):
    cam = fleet_devices["camera"][6]
    ok = run(probe_one(sim_target(cam), tier(["onvif", "frame"])), BOUND)
    assert ok.frame.ok
    faulted(cam["serial"], ["truncated_http"])
    t = sim_target(cam)
    t.snapshot_uri = ok.onvif.snapshot_uri
    res = run(probe_one(t, tier(["frame"])), BOUND)
    assert res.frame.ok is False and res.frame.error.kind == "malformed", res.frame.error


def test_bad_credentials_are_auth_errors_for_onvif_and_snapshot(fleet_devices, faulted):
    cam = fleet_devices["camera"][7]
    ok = run(probe_one(sim_target(cam), tier(["onvif"])), BOUND)
    faulted(cam["serial"], ["bad_credentials"])
    t = sim_target(cam)
    t.snapshot_uri = ok.onvif.snapshot_uri
    res = run(probe_one(t, tier(["onvif", "frame"])), BOUND)
    assert res.onvif.error.kind == "auth"
    assert res.frame.error.kind == "auth"
    assert res.onvif.clock_offset_s is not None      # the clock needs no credentials


def test_wrong_password_without_a_fault_is_auth_too(fleet_devices):
    cam = fleet_devices["camera"][7]
    t = sim_target(cam)
    t.password = "not-the-password"
    res = run(probe_one(t, tier(["onvif"])), BOUND)
    assert res.onvif.error.kind == "auth"


def test_clock_drift_is_measured(fleet_devices, faulted):
    cam = fleet_devices["camera"][8]
    faulted(cam["serial"], ["clock_drift"], clock_offset_s=600)
    res = run(probe_one(sim_target(cam), tier(["onvif"])), BOUND)
    assert res.onvif.ok, res.onvif.error      # WS-Security still works 10 minutes off
    assert abs(res.onvif.clock_offset_s - 600) < 1.0


def test_wrong_time_zone_shows_as_hours_of_offset(fleet_devices, faulted):
    cam = fleet_devices["camera"][8]
    faulted(cam["serial"], ["wrong_timezone"], timezone_offset_h=8)
    res = run(probe_one(sim_target(cam), tier(["onvif"])), BOUND)
    assert abs(res.onvif.clock_offset_s - 8 * 3600) < 1.0


def test_camera_down_shows_as_switch_port_down_and_poe_not_delivering(fleet_devices, faulted,
                                                                      fleet):
    sw = fleet_devices["switch"][0]
    cams = [d for d in fleet.devices() if d.get("upstream") == sw["serial"]
            and d.get("switch_port")]
    cam = cams[0]
    port = cam["switch_port"]
    faulted(cam["serial"], ["offline"])
    res = run(probe_one(sim_target(sw), tier(["snmp"])), BOUND)
    assert res.snmp.ok
    by_index = {p.index: p for p in res.snmp.ports}
    assert by_index[port].oper_status == "down"
    assert sum(p.oper_status == "up" for p in res.snmp.ports) >= 1
    poe = {p.index: p for p in res.snmp.poe}
    assert poe[port].detection_status != "deliveringPower"


def test_poe_fault_on_a_switch_port(fleet_devices, faulted, fleet):
    from probes.deltas import poe_faults
    sw = fleet_devices["switch"][0]
    cam = next(d for d in fleet.devices() if d.get("upstream") == sw["serial"]
               and d.get("switch_port") and d["kind"] == "camera")
    port = cam["switch_port"]
    before = run(probe_one(sim_target(sw), tier(["snmp"])), BOUND)
    assert before.snmp.ok and port not in poe_faults(before.snmp)
    faulted(cam["serial"], ["poe_fault"])
    res = run(probe_one(sim_target(sw), tier(["snmp"])), BOUND)
    assert res.snmp.ok
    poe = {p.index: p for p in res.snmp.poe}
    assert poe[port].detection_status == "fault" and poe[port].faulty
    assert poe_faults(res.snmp) == [port]
    assert {p.index: p for p in res.snmp.ports}[port].oper_status == "down"
    # The camera behind it has lost power: unreachable, not refused.
    cres = run(probe_one(sim_target(cam), tier(["reach"])), BOUND)
    assert not cres.reach.ok and cres.reach.error.kind == "timeout"


def test_recording_loss_on_an_nvr(fleet_devices, faulted):
    nvr = fleet_devices["nvr"][0]
    faulted(nvr["serial"], ["recording_loss"], started_ago_s=5)  # last data behind "now"
    res = run(probe_one(sim_target(nvr), tier(["onvif"])), BOUND)
    rec = res.onvif.recordings
    assert res.onvif.ok and rec.recording_now is False
    assert len(rec.stopped) == rec.count >= 1


@pytest.mark.parametrize("fault", ["signal_loss", "frozen", "too_dark"])
def test_picture_faults_still_yield_a_decoded_frame(fleet_devices, faulted, fault):
    # Judging the picture is probes.quality's job; the grab must deliver the pixels.
    cam = fleet_devices["camera"][9]
    faulted(cam["serial"], [fault])
    res = run(probe_one(sim_target(cam), tier(["onvif", "frame"])), BOUND)
    assert res.frame.ok and res.frame.image is not None and res.frame.width > 0


def test_wsdls_are_parsed_once_per_process_and_shared(fleet_devices):
    from onvif.client import _DOCUMENT_CACHE
    from probes.runner import run_batch
    cams = [sim_target(d) for d in fleet_devices["camera"][:6]]

    async def sweep():
        return [r async for r in run_batch(cams, tier(["onvif"]), deadline_s=20)]
    first = run(sweep(), 30)
    docs = {k: id(v) for k, v in _DOCUMENT_CACHE.items()}
    second = run(sweep(), 30)
    assert all(r.onvif.ok for r in first + second)
    assert docs and {k: id(v) for k, v in _DOCUMENT_CACHE.items()} == docs
    # devicemgmt, media (+ recording, search for NVRs; ptz once a PTZ test ran in this
    # process): one document per service, however many devices and sweeps.
    from pathlib import Path
    assert {Path(k).stem for k in docs} <= {"devicemgmt", "media", "recording", "search", "ptz"}
