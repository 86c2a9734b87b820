"""The acceptance rules as pure functions: verdict boundaries, coverage, the default-login
list, the profile sections, and the WS-Discovery messages (both ends, no sockets)."""
from __future__ import annotations

import datetime as dt

import pytest

from probes.model import (FrameResult, MediaProfile, OnvifResult, ProbeError, ProbeResult, ReachResult,
                          RecordingSummary)
from supervisor.acceptance import coverage
from supervisor.acceptance.checks import DeviceFacts, Measured, judge_device
from supervisor.acceptance.credentials import for_vendor, load
from supervisor.profiles.loader import load_profile

NOW = dt.datetime(2026, 12, 6, 4, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def v2():
    return load_profile("default", 2, check_in_use=False)


def _cam(**onvif) -> ProbeResult:
    base = dict(ok=True, manufacturer="Hikvision", model="DS-2CD2T47G2-L", serial_number="CAM1",
                service_addresses={"media": "x"}, device_time=NOW, clock_offset_s=0.1,
                clock_rtt_s=0.01, ntp=True, stream_uri="rtsp://a", snapshot_uri="http://a",
                profiles=[MediaProfile("P1", width=1920, height=1080, encoding="H264", fps=25,
                                       bitrate_kbps=4096)])
    base.update(onvif)
    return ProbeResult("CAM1", "acceptance", NOW, NOW, reach=ReachResult(ok=True, ports_open=[80]),
                       onvif=OnvifResult(**base), frame=FrameResult(ok=True, jpeg=b"x"))


FACTS = DeviceFacts(serial="CAM1", kind="camera", role="entrance", vendor="Hikvision",
                    model="DS-2CD2T47G2-L", mac="44:19:b6:00:00:01")


def _judge(v2, probe, **measured):
    m = Measured(**{"probe": probe, "mac": "44:19:B6:00:00:01", "logins_tried": 2,
                    "diagnosis": {"faults": []}, **measured})
    return {c.check: c for c in judge_device(FACTS, m, v2)[1]}


def test_clock_is_breached_only_beyond_its_uncertainty(v2):
    assert _judge(v2, _cam(clock_offset_s=1.4))["clock"].verdict == "pass"     # 1.4 - 0.505 < 1
    c = _judge(v2, _cam(clock_offset_s=-1.6))["clock"]
    assert (c.verdict, c.measured, c.required) == ("fail", "-1.6 s ± 0.5 s", "|offset| ≤ 1 s")
    assert c.clause == v2.clock.clause


def test_stream_requirements_per_role(v2):
    ok = _judge(v2, _cam())["stream"]
    assert ok.verdict == "pass" and ok.clause == v2.acceptance.streams["default"].clause
    bad = _judge(v2, _cam(profiles=[MediaProfile("P1", width=1920, height=1080, encoding="MJPEG",
                                                 fps=15, bitrate_kbps=1024)]))["stream"]
    assert bad.verdict == "fail" and "(below: frame rate, codec, bitrate)" in bad.measured
    # the main stream is the largest profile, whatever order the camera lists them in
    two = _judge(v2, _cam(profiles=[MediaProfile("P2", width=640, height=360, encoding="H264", fps=25,
                                                 bitrate_kbps=512),
                                    MediaProfile("P1", width=1920, height=1080, encoding="H265",
                                                 fps=25, bitrate_kbps=4096)]))["stream"]
    assert two.verdict == "pass" and two.measured.startswith("1920x1080 H265")
    high = DeviceFacts(**{**FACTS.__dict__, "role": "high_altitude"})
    m = Measured(probe=_cam(), mac="44:19:b6:00:00:01", diagnosis={"faults": []})
    c = {x.check: x for x in judge_device(high, m, v2)[1]}["stream"]
    assert c.verdict == "fail" and "≥2560x1440" in c.required


def test_image_grade_and_confirmation(v2):
    minor = {"fault": "noise", "measure": "noise", "value": 3.2, "threshold": 3.0,
             "op": "above", "severity": "minor"}
    major = {**minor, "fault": "blur", "measure": "blur", "severity": "major"}
    assert _judge(v2, _cam(), diagnosis={"faults": [minor]})["image"].verdict == "pass"   # grade 4
    c = _judge(v2, _cam(), diagnosis={"faults": [major]})["image"]
    assert c.verdict == "fail" and c.measured.startswith("grade 3: blur")
    # a fault seen in 1 of 3 frames is not confirmed: the picture passes, and says so
    c = _judge(v2, _cam(), diagnosis={"faults": [major]}, frames_judged=3,
               fault_frames={"blur": 1}, confirmed_faults=[])["image"]
    assert c.verdict == "pass" and "not confirmed: blur 1/3 frames" in c.measured
    c = _judge(v2, _cam(), diagnosis={"faults": [major]}, frames_judged=3,
               fault_frames={"blur": 3}, confirmed_faults=["blur"])["image"]
    assert c.verdict == "fail" and "3/3 frames" in c.measured


def test_credentials_identity_and_unreachable(v2):
    c = _judge(v2, _cam(), logins_unknown=["admin: timeout"])["credentials"]
    assert c.verdict == "fail" and c.measured.startswith("undetermined")
    c = _judge(v2, _cam(serial_number="OTHER", manufacturer="Dahua"))["identity"]
    assert c.verdict == "fail" and c.measured == "vendor Dahua ≠ Hikvision; serial OTHER ≠ CAM1"
    dead = ProbeResult("CAM1", "acceptance", NOW, NOW, reach=ReachResult(
        ok=False, error=ProbeError("refused", "connection refused", "reach")))
    verdict, checks = judge_device(FACTS, Measured(probe=dead), v2)
    assert verdict == "fail"
    assert [(c.check, c.verdict) for c in checks][:2] == [("reach", "fail"), ("onvif", "n/a")]
    assert all(c.verdict == "n/a" for c in checks[1:])


def test_nvr_recording_rule(v2):
    nvr = DeviceFacts(serial="N1", kind="nvr", cameras=["A", "B", "C"])
    rec = RecordingSummary(count=3, recording_now=True, min_span_days=29.9, span_days=30)
    m = Measured(probe=_cam(recordings=rec, serial_number="N1", manufacturer=None, model=None))
    c = {x.check: x for x in judge_device(nvr, m, v2)[1]}["recording"]
    assert c.verdict == "fail" and "shortest kept 29.9 d" in c.measured      # 30 days required
    rec = RecordingSummary(count=3, recording_now=True, min_span_days=30.0)
    m = Measured(probe=_cam(recordings=rec, serial_number="N1"))
    assert {x.check: x for x in judge_device(nvr, m, v2)[1]}["recording"].verdict == "pass"


def test_coverage_counts_accepted_online_devices_meeting_the_slot(v2):
    slots = v2.required_slots("single_building")      # entrance 1 (1080p), high_altitude 1 (1440p)
    devs = [coverage.SlotDevice("E1", "entrance", True, True, 1920, 1080),
            coverage.SlotDevice("E2", "entrance", True, True, 1920, 1080),
            coverage.SlotDevice("H1", "high_altitude", True, True, 1920, 1080),      # too small
            coverage.SlotDevice("H2", "high_altitude", False, True, 2688, 1520),     # not accepted
            coverage.SlotDevice("H3", "high_altitude", True, False, 2688, 1520)]     # offline
    out = coverage.compute(slots, devs)
    assert (out["required"], out["filled"], out["missing"], out["figure"]) == (2, 1, 1, 0.5)
    by_role = {s["role"]: s for s in out["slots"]}
    assert by_role["entrance"]["devices"] == ["E1", "E2"] and by_role["entrance"]["filled"] == 1
    assert by_role["high_altitude"]["missing"] == 1
    devs.append(coverage.SlotDevice("H4", "high_altitude", True, True, 1440, 2560))   # portrait 4 MP
    assert coverage.compute(slots, devs)["figure"] == 1.0


def test_default_credentials_list_has_sources_and_matches_vendors():
    entries = load()
    assert entries and all(e.source and e.username for e in entries)
    hik = for_vendor("HIKVISION", own=("admin", "x"))
    assert ("admin", "12345") in {(e.username, e.password) for e in hik}
    assert ("admin", "admin") in {(e.username, e.password) for e in hik}     # the generic one
    assert ("admin", "12345") not in {(e.username, e.password) for e in for_vendor("Hikvision", ("admin", "12345"))}
    assert {(e.username, e.password) for e in for_vendor("Unknown Corp")} == {("admin", "admin")}
    assert ("admin", "12345") in {(e.username, e.password)
                                  for e in for_vendor("Hikvision Digital Technology Co., Ltd.")}
    assert {(e.username, e.password) for e in for_vendor("H")} == {("admin", "admin")}


def test_profiles_v1_still_valid_and_v2_acceptance_sections():
    v1 = load_profile("default", 1, check_in_use=False)
    assert v1.acceptance.streams is None and v1.acceptance.image_grades is None
    v2 = load_profile("default", 2, check_in_use=False)
    assert str(v2.acceptance.stream_for("road").min_resolution) == "1920x1080"
    assert str(v2.acceptance.stream_for("high_altitude").min_resolution) == "2560x1440"
    assert v2.acceptance.image_grades.grade(["minor", "critical"]) == 2
    assert set(v2.acceptance.checks) >= {"reach", "onvif", "identity", "credentials", "ptz",
                                          "switch", "speaker"}


def test_ws_discovery_messages_both_ends():
    from probes.discovery import _probe_message, hosts_of, parse_matches
    from simulator.faults import DeviceState
    from simulator.fleet import generate
    from simulator.wsdiscovery import parse_probe, probe_matches

    spec = next(s for s in generate(6, seed=1) if s.kind == "camera")
    msg_id, payload = _probe_message()
    got = parse_probe(payload)
    assert got is not None and got[0] == msg_id and got[1] == ["dn:NetworkVideoTransmitter"]
    answer = probe_matches(DeviceState(spec), msg_id)
    (found,) = parse_matches(answer, spec.ip, msg_id)
    assert (found.mac, found.hardware, found.name, found.port) == (
        spec.mac, spec.model, spec.vendor, spec.onvif_port)
    assert found.xaddr_host == spec.ip
    assert parse_matches(answer, spec.ip, "urn:uuid:another-probe") == []
    assert parse_matches(b"<not xml", spec.ip, msg_id) == []
    assert parse_probe(b"\x00garbage") is None
    assert hosts_of("10.0.0.0/30") == ["10.0.0.1", "10.0.0.2"] and hosts_of("10.0.0.7") == ["10.0.0.7"]
    with pytest.raises(ValueError):
        hosts_of("10.0.0.0/8")
