"""Judging one ProbeResult against the rules: each check's failure becomes a reason."""
from __future__ import annotations

import datetime as dt

from probes.model import (
    FrameResult,
    OnvifResult,
    PoePort,
    ProbeError,
    ProbeResult,
    ReachResult,
    RecordingSummary,
    SnmpResult,
)
from supervisor.health.rules import DEGRADED, OFFLINE, OK, UNKNOWN, HealthRules, judge

T = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
RULES = HealthRules(clock_tolerance_s=1.0, nvr_retention_days=30)


def result(**parts) -> ProbeResult:
    parts.setdefault("reach", ReachResult(ok=True, rtt_ms=0.5, ports_open=[80]))
    return ProbeResult(serial="X", tier="full", started_at=T, finished_at=T, **parts)


def codes(obs):
    return [r["code"] for r in obs.reasons]


def test_healthy_full_probe_is_ok_and_naive_utc():
    o = judge(result(onvif=OnvifResult(ok=True, clock_offset_s=0.3),
                     snmp=SnmpResult(ok=True, sys_uptime_s=100.0)), RULES)
    assert o.state == OK and o.reasons == () and o.at == T.replace(tzinfo=None)
    assert o.clock_offset_s == 0.3 and o.uptime_s == 100.0 and o.checks == ("reach", "onvif", "snmp")


def test_unreachable_is_offline_with_the_error_kind():
    o = judge(result(reach=ReachResult(ok=False, error=ProbeError("refused", "port 80", "reach"))), RULES)
    assert (o.state, o.cause, o.error_kind) == (OFFLINE, "unreachable", "refused")


def test_never_probed_is_unknown():
    r = ProbeResult(serial="X", tier="fast", started_at=T, finished_at=T,
                    error=ProbeError("timeout", "batch deadline"))
    assert judge(r, RULES).state == UNKNOWN


def test_each_sub_check_degrades_with_its_reason():
    o = judge(result(onvif=OnvifResult(ok=False, error=ProbeError("auth", "401"))), RULES)
    assert (o.state, o.cause) == (DEGRADED, "auth_failed")
    o = judge(result(onvif=OnvifResult(ok=True, clock_offset_s=-3.5)), RULES)
    assert o.cause == "clock_drift" and o.reasons[0]["value"] == -3.5 and o.reasons[0]["limit"] == 1.0
    o = judge(result(onvif=OnvifResult(ok=True, serial_mismatch=True, serial_number="OTHER")), RULES)
    assert o.cause == "serial_mismatch"
    o = judge(result(onvif=OnvifResult(ok=True, recordings=RecordingSummary(
        count=3, recording_now=False, span_days=12.0))), RULES)
    assert codes(o) == ["not_recording", "retention_short"] and o.reasons[1]["value"] == 12.0
    o = judge(result(snmp=SnmpResult(ok=True, poe=[PoePort(index=3, detection_status="fault")])), RULES)
    assert o.cause == "poe_fault" and o.reasons[0]["value"] == [3]
    o = judge(result(frame=FrameResult(ok=False, error=ProbeError("timeout", "snapshot"))), RULES)
    assert o.cause == "frame_failed"


def test_image_faults_and_corrupt_frames():
    diag = {"faults": [{"fault": "blur", "value": 0.01, "threshold": 0.05, "severity": "major"}]}
    o = judge(result(frame=FrameResult(ok=True)), RULES, diagnosis=diag)
    assert o.cause == "image_fault" and o.faults == ("blur",) and o.reasons[0]["limit"] == 0.05
    o = judge(result(frame=FrameResult(ok=True)), RULES, diagnosis={"error": "FrameError: truncated", "faults": []})
    assert o.cause == "frame_corrupt"


def test_reboot_is_information_not_degradation():
    o = judge(result(snmp=SnmpResult(ok=True, sys_uptime_s=5.0)), RULES, previous_uptime_s=9000.0)
    assert o.state == OK and codes(o) == ["rebooted"]


def test_most_actionable_cause_names_the_interval():
    o = judge(result(onvif=OnvifResult(ok=True, clock_offset_s=9.0),
                     frame=FrameResult(ok=True)), RULES,
              diagnosis={"faults": [{"fault": "too_dark", "value": 10, "threshold": 30}]})
    assert o.cause == "image_fault" and set(codes(o)) == {"clock_drift", "image_fault"}


def test_checks_the_platform_could_not_measure_are_never_held_against_the_device():
    r = result(snmp=SnmpResult(ok=True, sys_uptime_s=5.0))
    r.not_measured = [ProbeError("not_measured", "onvif: platform overloaded", "onvif")]
    o = judge(r, RULES)
    assert o.state == OK and codes(o) == ["not_measured"]
    cut = result(error=ProbeError("not_measured", "batch deadline of 60s passed while probing"))
    assert judge(cut, RULES).state == OK
    nothing = ProbeResult(serial="X", tier="full", started_at=T, finished_at=T,
                          error=ProbeError("not_measured", "platform overloaded"))
    assert judge(nothing, RULES).state == UNKNOWN


def test_clock_drift_only_beyond_the_reading_uncertainty():
    # One whole-second reading of an exact clock can show 1.1 s (± 0.6 s): not drift.
    o = judge(result(onvif=OnvifResult(ok=True, clock_offset_s=1.1, clock_uncertainty_s=0.6)),
              RULES)
    assert "clock_drift" not in codes(o)
    o = judge(result(onvif=OnvifResult(ok=True, clock_offset_s=1.45, clock_uncertainty_s=0.1)),
              RULES)
    assert "clock_drift" in codes(o) and o.reasons[0]["uncertainty"] == 0.1
    # Stored before the probe gave an uncertainty: half a second plus half the round trip.
    o = judge(result(onvif=OnvifResult(ok=True, clock_offset_s=1.4, clock_rtt_s=0.02)), RULES)
    assert "clock_drift" not in codes(o)


def test_stored_findings_are_replaced_by_a_report_on_the_same_check_never_repeated():
    from supervisor.health.rules import Observation, findings_after

    blur = {"check": "frame", "code": "image_fault", "fault": "blur"}
    dark = {"check": "frame", "code": "image_fault", "fault": "too_dark"}
    stored = [blur, dict(blur)]
    # an observation that ran only reach but reports a frame finding (a replayed or partial
    # result): the frame finding replaces the stored ones instead of piling up
    at = dt.datetime(2026, 3, 1)
    obs = Observation(at=at, state="degraded", cause="image_fault", reasons=(dark,), checks=("reach",))
    assert findings_after(obs, stored) == [dark]
    # a fast probe with nothing to say about the frame keeps the stored finding, once
    quiet = Observation(at=at, state="ok", cause=None, reasons=(), checks=("reach",))
    assert findings_after(quiet, stored) == [blur]


def test_information_is_never_stored_as_a_finding_nor_carried_into_a_later_probe():
    """A check the platform could not measure, a reboot, a camera whose NVR is down: shown
    with the probe that saw them, never carried by the next fast probe as a fault."""
    from supervisor.health.rules import Observation, carry_findings, findings_after

    at = dt.datetime(2026, 3, 1)
    info = ({"check": "snmp", "code": "not_measured", "message": "platform overloaded"},
            {"check": "snmp", "code": "rebooted", "value": 5.0},
            {"check": "recording", "code": "not_recorded", "recorder": "NVR-1"})
    full = Observation(at=at, state="ok", cause=None, reasons=info, checks=("reach", "onvif"))
    stored = findings_after(full, [])
    assert stored == []
    fast = Observation(at=at, state="ok", cause=None, reasons=(), checks=("reach",))
    assert carry_findings(fast, stored).state == OK
    # Rows stored by an older version that kept them are not carried either.
    assert carry_findings(fast, list(info)).state == OK
    # A real finding still is, and information beside it stays information.
    blur = {"check": "frame", "code": "image_fault", "fault": "blur"}
    both = carry_findings(Observation(at=at, state="ok", cause=None, reasons=info[:1],
                                      checks=("reach",)), [blur])
    assert both.state == DEGRADED and both.cause == "image_fault"
    assert [r["code"] for r in both.reasons] == ["image_fault", "not_measured"]
