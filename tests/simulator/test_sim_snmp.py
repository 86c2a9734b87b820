"""The SNMP agent through pysnmp (v2c and v3 authPriv) and Debian's net-snmp tools."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from pysnmp.hlapi.v3arch.asyncio import (CommunityData, ContextData, ObjectIdentity, ObjectType,
                                         SnmpEngine, UdpTransportTarget, UsmUserData, bulk_walk_cmd,
                                         get_cmd, usmAesCfb128Protocol, usmHMACSHAAuthProtocol)

from sim_helpers import pick, run

SYS_DESCR, SYS_OBJECT, SYS_UPTIME, SYS_NAME = ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0",
                                               "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0")
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_IN_ERR = "1.3.6.1.2.1.2.2.1.14"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
PETH_DETECT = "1.3.6.1.2.1.105.1.1.1.6.1"


def _auth(d: dict, v3: bool = False, community: str | None = None):
    if v3:
        u = d["snmp_v3"]
        return UsmUserData(u["user"], u["auth_key"], u["priv_key"],
                           authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol)
    return CommunityData(community or d["snmp_community"], mpModel=1)


async def _get(d: dict, *oids: str, v3: bool = False, community: str | None = None, timeout=2.0):
    target = await UdpTransportTarget.create((d["ip"], d["snmp_port"]), timeout=timeout, retries=0)
    err, status, _idx, vbs = await get_cmd(SnmpEngine(), _auth(d, v3, community), target, ContextData(),
                                           *(ObjectType(ObjectIdentity(o)) for o in oids))
    return err, status, vbs


async def _walk(d: dict, oid: str, v3: bool = False) -> dict[str, object]:
    target = await UdpTransportTarget.create((d["ip"], d["snmp_port"]), timeout=2, retries=0)
    out = {}
    async for err, status, _i, vbs in bulk_walk_cmd(SnmpEngine(), _auth(d, v3), target, ContextData(),
                                                    0, 25, ObjectType(ObjectIdentity(oid)),
                                                    lexicographicMode=False):
        assert not err and not status, (err, status)
        for name, val in vbs:
            out[str(name)] = val
    return out


def test_v2c_system_group(fleet):
    d = pick(fleet, "camera")
    err, status, vbs = run(_get(d, SYS_DESCR, SYS_OBJECT, SYS_UPTIME, SYS_NAME))
    assert not err and not status
    descr, obj, uptime, name = (v for _n, v in vbs)
    assert d["model"] in str(descr)
    assert str(obj).startswith("1.3.6.1.4.1.")
    assert int(uptime) > 0
    assert str(name) == d["serial"]


def test_wrong_community_gets_no_answer(fleet):
    d = pick(fleet, "camera")
    err, _s, _v = run(_get(d, SYS_UPTIME, community="not-the-community", timeout=0.5))
    assert err is not None and "timeout" in str(err).lower()


def test_v3_auth_priv(fleet):
    d = pick(fleet, "switch")
    assert d["snmp_v3"] is not None
    err, status, vbs = run(_get(d, SYS_NAME, v3=True))
    assert not err and not status and str(vbs[0][1]) == d["serial"]
    bad = dict(d, snmp_v3=dict(d["snmp_v3"], priv_key="wrongwrongwrong1"))
    err, _s, _v = run(_get(bad, SYS_NAME, v3=True, timeout=1))
    assert err is not None


def test_switch_ports_map_to_cameras_and_follow_them(fleet):
    sw = pick(fleet, "switch")
    aliases = run(_walk(sw, IF_ALIAS))
    # Port k carries the k-th downstream device, the last port is the uplink.
    for k, serial in enumerate(sw["downstream"], 1):
        assert str(aliases[f"{IF_ALIAS}.{k}"]) == serial
    assert str(aliases[f"{IF_ALIAS}.{sw['ports']}"]) == "uplink"
    cam = fleet.device(sw["downstream"][0])
    assert cam["switch_port"] == 1 and cam["upstream"] == sw["serial"]
    oper = run(_walk(sw, IF_OPER))
    poe = run(_walk(sw, PETH_DETECT))
    assert int(oper[f"{IF_OPER}.1"]) == 1 and int(poe[f"{PETH_DETECT}.1"]) == 3   # up, deliveringPower
    fleet.set_faults(cam["serial"], ["offline"])
    oper = run(_walk(sw, IF_OPER))
    poe = run(_walk(sw, PETH_DETECT))
    assert int(oper[f"{IF_OPER}.1"]) == 2 and int(poe[f"{PETH_DETECT}.1"]) == 2    # down, searching
    assert int(oper[f"{IF_OPER}.2"]) == 1
    assert len(run(_walk(sw, IF_IN_ERR))) == sw["ports"]


def test_poe_fault_reports_fault_and_cuts_the_camera(fleet):
    sw = pick(fleet, "switch")
    cam = fleet.device(sw["downstream"][1])
    port = cam["switch_port"]
    assert int(run(_walk(sw, PETH_DETECT))[f"{PETH_DETECT}.{port}"]) == 3
    fleet.set_faults(cam["serial"], ["poe_fault"])
    poe = run(_walk(sw, PETH_DETECT))
    oper = run(_walk(sw, IF_OPER))
    assert int(poe[f"{PETH_DETECT}.{port}"]) == 4        # fault(4), POWER-ETHERNET-MIB
    assert int(oper[f"{IF_OPER}.{port}"]) == 2           # unpowered: link down
    assert fleet.device(cam["serial"])["reach"] == "drop"
    err, _s, _v = run(_get(cam, SYS_UPTIME, timeout=0.5))
    assert err is not None                               # the camera itself is silent
    import socket
    with pytest.raises(OSError):                         # and its ONVIF port drops SYNs
        socket.create_connection((cam["ip"], cam["onvif_port"]), timeout=0.5).close()
    fleet.clear_faults(cam["serial"])
    assert int(run(_walk(sw, PETH_DETECT))[f"{PETH_DETECT}.{port}"]) == 3
    truth = [t for t in fleet.truth() if t["serial"] == cam["serial"]]
    assert any(t["fault"] == "poe_fault" and t["end"] for t in truth)
    assert any(t["fault"] == "offline" and t.get("cause") == "poe_fault" and t["end"] for t in truth)


def test_poe_fault_needs_a_switch_port(fleet):
    with pytest.raises(RuntimeError, match="400"):
        fleet.set_faults(pick(fleet, "switch")["serial"], ["poe_fault"])


def test_switch_down_silences_its_cameras_snmp(fleet):
    sw = pick(fleet, "switch")
    cam = fleet.device(sw["downstream"][0])
    fleet.set_faults(sw["serial"], ["offline"])
    err, _s, _v = run(_get(cam, SYS_UPTIME, timeout=0.5))
    assert err is not None
    nvr = pick(fleet, "nvr")       # the NVR is on the switch beside the cameras: down too
    err, _s, _v = run(_get(nvr, SYS_UPTIME, timeout=0.5))
    assert err is not None


needs_netsnmp = pytest.mark.skipif(shutil.which("snmpget") is None, reason="net-snmp tools not installed")


@needs_netsnmp
def test_netsnmp_snmpget_v2c_and_v3(fleet):
    d = pick(fleet, "switch")
    host = f"{d['ip']}:{d['snmp_port']}"
    out = subprocess.run(["snmpget", "-v2c", "-c", d["snmp_community"], "-On", "-t", "2", "-r", "0",
                          host, SYS_NAME, SYS_UPTIME], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert f'.{SYS_NAME} = STRING: "{d["serial"]}"' in out.stdout
    assert "Timeticks" in out.stdout
    u = d["snmp_v3"]
    out = subprocess.run(["snmpget", "-v3", "-l", "authPriv", "-u", u["user"], "-a", "SHA", "-A", u["auth_key"],
                          "-x", "AES", "-X", u["priv_key"], "-On", "-t", "2", "-r", "0", host, SYS_NAME],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert d["serial"] in out.stdout


@needs_netsnmp
def test_netsnmp_snmpwalk_whole_mib_in_order(fleet):
    d = pick(fleet, "switch")
    host = f"{d['ip']}:{d['snmp_port']}"
    for cmd in (["snmpwalk", "-v2c"], ["snmpbulkwalk", "-v2c"]):
        out = subprocess.run(cmd + ["-c", d["snmp_community"], "-On", "-t", "2", "-r", "0", host, "1.3.6.1.2.1"],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith(".") and "No more variables" not in ln]
        oids = [tuple(int(x) for x in ln.split(" ", 1)[0].strip(".").split(".")) for ln in lines]
        assert oids == sorted(oids) and len(oids) == len(set(oids))      # strictly increasing
        text = out.stdout
        assert f".{PETH_DETECT}.1 = INTEGER: 3" in text
        assert ".1.3.6.1.2.1.31.1.1.1.6.1 = Counter64:" in text
        assert "OID not increasing" not in out.stderr


ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"


def test_each_device_has_its_own_engine_id(fleet):
    devs = [d for d in fleet.devices() if d["kind"] in ("switch", "nvr", "camera")][:6]
    got = {d["serial"]: bytes(run(_get(d, ENGINE_ID))[2][0][1]).hex() for d in devs}
    assert len(set(got.values())) == len(devs)
    assert all(got[d["serial"]] == d["snmp_engine_id"] for d in devs)

    # v3 to several devices from one client engine at once: each discovery and each
    # key localisation is per device engine ID, and all succeed.
    v3 = [d for d in fleet.devices() if d["snmp_v3"]]
    assert len(v3) >= 3

    async def all_v3():
        eng = SnmpEngine()
        out = []
        for d in v3:
            t = await UdpTransportTarget.create((d["ip"], d["snmp_port"]), timeout=2, retries=0)
            out.append(get_cmd(eng, _auth(d, v3=True), t, ContextData(),
                               ObjectType(ObjectIdentity(SYS_NAME))))
        import asyncio
        return await asyncio.gather(*out)
    for d, (err, status, _i, vbs) in zip(v3, run(all_v3())):
        assert err is None and not status and str(vbs[0][1]) == d["serial"]


@needs_netsnmp
def test_netsnmp_v3_keys_are_localised_to_the_device_engine_id(fleet):
    a, b = [d for d in fleet.devices() if d["snmp_v3"]][:2]
    u = a["snmp_v3"]

    def get(engine_hex: str):
        return subprocess.run(["snmpget", "-v3", "-l", "authPriv", "-u", u["user"], "-a", "SHA",
                               "-A", u["auth_key"], "-x", "AES", "-X", u["priv_key"], "-e", engine_hex,
                               "-t", "1", "-r", "0", "-On", f"{a['ip']}:{a['snmp_port']}", SYS_NAME],
                              capture_output=True, text=True, timeout=10)
    ok = get(a["snmp_engine_id"])
    assert ok.returncode == 0 and a["serial"] in ok.stdout, ok.stderr
    wrong = get(b["snmp_engine_id"])       # keys localised to another device's engine
    assert wrong.returncode != 0 and a["serial"] not in wrong.stdout


def test_uptime_grows_and_restarts_after_reboot(fleet):
    import time
    d = pick(fleet, "camera")
    first = int(run(_get(d, SYS_UPTIME))[2][0][1])
    time.sleep(0.3)
    second = int(run(_get(d, SYS_UPTIME))[2][0][1])
    assert second > first
    t_set = time.monotonic()
    fleet.set_faults(d["serial"], ["reboot"], reboot_s=0.5)
    err, _s, _v = run(_get(d, SYS_UPTIME, timeout=0.3))
    assert err is not None                       # rebooting: no answer
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        err, _s, vbs = run(_get(d, SYS_UPTIME, timeout=0.3))
        if not err:
            break
    # Without the reset the uptime would be the fleet's age, more than the time since the
    # reboot began; with it, it counts from the end of the reboot (centiseconds).
    assert not err and int(vbs[0][1]) < (time.monotonic() - t_set) * 100


def test_slow_delays_snmp_answers(fleet):
    import time
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["slow"], slow_s=0.8)
    t0 = time.monotonic()
    err, _s, _v = run(_get(d, SYS_UPTIME, timeout=3))
    assert not err and time.monotonic() - t0 >= 0.8


def test_per_device_v3_keys(tmp_path):
    from sim_helpers import extra_fleet_args
    from simulator.testing import FleetProcess
    with FleetProcess(devices=12, seed=9, communities=1, tmp_dir=tmp_path,
                      extra_args=["--snmp-v3-keys", "device"],
                      **extra_fleet_args("v3_per_device")) as f:
        v3 = [d for d in f.devices() if d["snmp_v3"]]
        assert len(v3) >= 2 and len({d["snmp_v3"]["user"] for d in v3}) == 1
        assert len({d["snmp_v3"]["auth_key"] for d in v3}) == len(v3)
        for d in v3:
            err, status, vbs = run(_get(d, SYS_NAME, v3=True))
            assert err is None and str(vbs[0][1]) == d["serial"]
        a, b = v3[0], v3[1]
        borrowed = dict(a, snmp_v3=b["snmp_v3"])       # b's keys tried on a
        err, _s, _v = run(_get(borrowed, SYS_NAME, v3=True, timeout=1.0))
        assert err is not None
