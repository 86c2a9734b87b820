"""The result contract: JSON round trip (for Celery), secrets out of repr, error kinds."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np

from probes.config import TierSpec, resolve_tier
from probes.deltas import detect_reboot, port_deltas, UPTIME_WRAP_S
from probes.model import (DeviceTarget, FrameResult, MediaProfile, OnvifResult, PortStatus,
                          ProbeError, ProbeResult, ReachResult, RecordingSummary, SnmpResult)

import pytest


def test_target_repr_hides_secrets_and_round_trips():
    t = DeviceTarget("SN1", "127.20.0.1", onvif_port=80, username="admin", password="s3cret!",
                     snmp_community="c0mm", snmp_user="u", snmp_auth_key="ak-123",
                     snmp_priv_key="pk-456")
    text = repr(t)
    for secret in ("s3cret!", "c0mm", "ak-123", "pk-456"):
        assert secret not in text
        assert secret not in json.dumps(t.to_dict(redact=True))
    assert DeviceTarget.from_dict(json.loads(json.dumps(t.to_dict()))) == t


def test_probe_result_round_trips_through_json_without_pixels():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    res = ProbeResult(
        "SN1", "full", now, now,
        reach=ReachResult(True, rtt_ms=0.3, ports_open=[80]),
        onvif=OnvifResult(True, clock_offset_s=-1.5, profiles=[MediaProfile("p0", width=1920)],
                          recordings=RecordingSummary(2, now, now, True, 0.0, stopped=["x"])),
        snmp=SnmpResult(True, sys_uptime_s=12.0, ports=[PortStatus(1, oper_status="up")]),
        frame=FrameResult(True, width=4, height=2, grabbed_at=now, jpeg=b"\xff\xd8",
                          image=np.zeros((2, 4, 3), np.uint8)))
    d = json.loads(json.dumps(res.to_dict()))
    assert "jpeg" not in d["frame"] and "image" not in d["frame"]
    back = ProbeResult.from_dict(d)
    assert back.onvif.recordings.earliest == now
    assert back.snmp.ports[0].oper_status == "up"
    res.frame.jpeg = None
    res.frame.image = None
    assert back == res
    assert back.ok and back.error_kinds() == set()


def test_error_kinds_collects_each_part_and_unknown_kinds_become_internal():
    now = datetime.now(timezone.utc)
    res = ProbeResult("SN", "full", now, now,
                      reach=ReachResult(True),
                      onvif=OnvifResult(False, error=ProbeError("auth", "NotAuthorized")),
                      frame=FrameResult(False, error=ProbeError("timeout", "slow")))
    assert res.error_kinds() == {"auth", "timeout"}
    assert {e.check for e in res.errors()} == {"onvif", "frame"}
    assert not res.ok and res.reachable is True
    assert ProbeError("weird", "x").kind == "internal"


def test_tier_spec_from_profile_mapping_refuses_unknown_checks():
    spec = TierSpec.from_mapping("full", {"checks": ["reach", "snmp"],
                                          "timeouts": {"snmp": 1.5}, "retries": 2})
    assert spec.timeout("snmp") == 1.5 and spec.retry("reach") == 2
    with pytest.raises(ValueError):
        TierSpec.from_mapping("x", {"checks": ["reach", "telnet"]})
    with pytest.raises(ValueError):
        resolve_tier("medium")


def test_reboot_and_counter_deltas_are_pure_functions_of_two_results():
    a = SnmpResult(True, sys_uptime_s=1000.0,
                   ports=[PortStatus(1, oper_status="up", in_errors=10, out_errors=2**32 - 5)])
    b = SnmpResult(True, sys_uptime_s=1060.0,
                   ports=[PortStatus(1, oper_status="down", in_errors=15, out_errors=3)])
    assert detect_reboot(a, b, elapsed_s=60) is False
    (d,) = port_deltas(a, b)
    assert d.went_down and d.in_errors == 5 and d.out_errors == 8     # Counter32 wrapped
    rebooted = SnmpResult(True, sys_uptime_s=20.0, ports=[PortStatus(1, in_errors=3)])
    assert detect_reboot(b, rebooted, elapsed_s=60) is True
    assert port_deltas(b, rebooted)[0].in_errors == 3                 # counters restarted
    # Up longer than before but less than the gap: it restarted in between.
    assert detect_reboot(a, SnmpResult(True, sys_uptime_s=1100.0), elapsed_s=3600) is True
    # The 497-day TimeTicks wrap is not a reboot.
    near = SnmpResult(True, sys_uptime_s=UPTIME_WRAP_S - 10)
    assert detect_reboot(near, SnmpResult(True, sys_uptime_s=50.0), elapsed_s=60) is False
    assert detect_reboot(None, b) is None
