"""The SNMP probe against Debian's real net-snmp agent (v2c community and v3 authPriv)."""
from __future__ import annotations

import subprocess
import time

from probes.deltas import detect_reboot, port_deltas
from probes.model import DeviceTarget
from probes.runner import run_batch
from probes.snmp import SnmpClient
from probe_helpers import (SNMP_COMMUNITY, SNMP_V3_AUTH, SNMP_V3_PRIV, SNMP_V3_USER,
                                   run)


def v2c(port: int, community: str = SNMP_COMMUNITY) -> DeviceTarget:
    return DeviceTarget("SNMPD-1", "127.0.0.1", kind="switch", snmp_port=port,
                        snmp_community=community)


def v3(port: int, auth: str = SNMP_V3_AUTH, priv: str = SNMP_V3_PRIV) -> DeviceTarget:
    return DeviceTarget("SNMPD-1", "127.0.0.1", kind="switch", snmp_port=port,
                        snmp_version="3", snmp_user=SNMP_V3_USER, snmp_auth_key=auth,
                        snmp_priv_key=priv)


async def _probe(target: DeviceTarget, timeout: float = 2.0):
    client = SnmpClient()
    try:
        return await client.probe(target, timeout)
    finally:
        client.close()


def _snmpwalk_ifdescr(port: int) -> list[str]:
    out = subprocess.run(["snmpwalk", "-v2c", "-c", SNMP_COMMUNITY, "-On", "-Oq",
                          f"127.0.0.1:{port}", "1.3.6.1.2.1.2.2.1.2"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    return [line.split(" ", 1)[1].strip().strip('"') for line in out.splitlines() if " " in line]


def test_v2c_system_group_and_ports_match_net_snmp_walk(snmpd):
    res = run(_probe(v2c(snmpd.port)), 10)
    assert res.ok and res.error is None
    assert res.sys_name == "probes-test-agent"
    assert res.sys_object_id.startswith("1.3.6.1.4.1.8072")        # net-snmp's enterprise
    assert "Linux" in res.sys_descr
    assert res.sys_uptime_s is not None and res.sys_uptime_s >= 0
    # GETBULK over several columns finds exactly the interfaces net-snmp's own walk lists.
    walked = _snmpwalk_ifdescr(snmpd.port)
    assert len(res.ports) == len(walked) >= 1
    assert {p.oper_status for p in res.ports} <= {"up", "down", "unknown", "dormant",
                                                  "notPresent", "lowerLayerDown", "testing"}
    lo = [p for p in res.ports if p.name == "lo"]
    assert lo and lo[0].oper_status == "up" and lo[0].in_errors is not None


def test_v3_authpriv_reads_the_same_agent(snmpd):
    res = run(_probe(v3(snmpd.port)), 10)
    assert res.ok, res.error
    assert res.sys_name == "probes-test-agent"
    assert res.ports


def test_v3_wrong_auth_key_is_an_auth_error(snmpd):
    res = run(_probe(v3(snmpd.port, auth="not-the-key-1")), 10)
    assert not res.ok
    assert res.error.kind == "auth"


def test_wrong_community_and_silent_port_time_out_within_budget(snmpd):
    for target in (v2c(snmpd.port, "wrong-community"), v2c(snmpd.port + 1000)):
        t0 = time.monotonic()
        res = run(_probe(target, timeout=1.0), 5)
        assert not res.ok and res.error.kind == "timeout"
        assert time.monotonic() - t0 < 4      # bounded by the 1 s budget


def test_agent_restart_is_detected_as_a_reboot(snmpd):
    before = run(_probe(v2c(snmpd.port)), 10)
    again = run(_probe(v2c(snmpd.port)), 10)
    assert detect_reboot(before, again) is False        # uptime did not go down
    t1 = time.monotonic()
    snmpd.restart()
    after = run(_probe(v2c(snmpd.port)), 10)
    elapsed = time.monotonic() - t1
    assert after.ok
    # Both uptimes can be under a second (the session's agent may have just started), so
    # sysUpTime need not go down: the rule gets the time that passed, with TimeTicks'
    # resolution as slack (both readings come off this machine's clock).
    assert after.sys_uptime_s < elapsed
    assert detect_reboot(again, after, elapsed_s=elapsed, slack_s=0.01) is True
    deltas = port_deltas(again, after)
    assert {d.index for d in deltas} == {p.index for p in after.ports}


def test_switch_without_tcp_port_is_reached_over_snmp_in_the_fast_tier(snmpd):
    async def go():
        return [r async for r in run_batch([v2c(snmpd.port), v2c(snmpd.port + 1000)], "fast",
                                           deadline_s=8)]
    results = {r.snmp is None and r.reach.ok for r in run(go(), 12)}
    assert results == {True, False}
