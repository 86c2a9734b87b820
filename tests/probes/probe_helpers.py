"""Helpers for the probe tests: a real net-snmp agent on loopback, the fleet's addresses, and a
bounded runner for coroutines.

Addresses: 127.20.0.0/16, control ports 18900-18999, snmpd on 127.0.0.1:11600-11699. The
session fleet's addresses and control port come from this test process's slot
(``tests.simulator.sim_helpers.slot``), so the parallel workers of one run (and two runs at
once) each start their own fleet without meeting.
"""
from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.simulator.sim_helpers import slot

SNMP_COMMUNITY = "probes-ro"


SNMP_V3_USER = "probev3"


SNMP_V3_AUTH = "authpass-123"


SNMP_V3_PRIV = "privpass-456"


def _free_udp_port(host: str, lo: int, hi: int) -> int:
    for port in range(lo, hi):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free UDP port in {lo}-{hi}")


def wait_answering(proc: subprocess.Popen, answers: Any, within: float = 10.0) -> None:
    """Poll `answers()` until the agent answers; fail at once if it exits, or after `within`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if answers():
            return
        if proc.poll() is not None:
            raise RuntimeError("snmpd exited at start")
        time.sleep(0.1)
    raise RuntimeError("snmpd did not answer")


def stop_process(proc: subprocess.Popen | None) -> None:
    """Terminate, then kill if it lingers; never leaves an agent behind."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Snmpd:
    """Debian's net-snmp agent, started in the foreground on a loopback port."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.proc: subprocess.Popen | None = None
        (base / "mibs").mkdir(parents=True, exist_ok=True)
        (base / "persist").mkdir(parents=True, exist_ok=True)
        self.conf = base / "snmpd.conf"
        self.conf.write_text(
            f"agentAddress udp:127.0.0.1:{port}\n"
            f"rocommunity {SNMP_COMMUNITY} 127.0.0.1\n"
            f"createUser {SNMP_V3_USER} SHA {SNMP_V3_AUTH} AES {SNMP_V3_PRIV}\n"
            f"rouser {SNMP_V3_USER} priv\n"
            "sysName probes-test-agent\nsysLocation loopback\n"
            f"[snmp] persistentDir {base / 'persist'}\n")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", str(self.conf),
             "-M", str(self.base / "mibs"), "-m", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Ready when it answers a GET (net-snmp's own client: a real third party).
        wait_answering(self.proc, lambda: subprocess.run(
            ["snmpget", "-v2c", "-c", SNMP_COMMUNITY, "-t", "0.3", "-r", "0",
             f"127.0.0.1:{self.port}", "1.3.6.1.2.1.1.3.0"],
            capture_output=True, text=True).returncode == 0)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def run(coro: Any, limit: float) -> Any:
    """Run a probe coroutine; outliving ``limit`` seconds is a test failure, not a hang."""
    async def bounded() -> Any:
        async with asyncio.timeout(limit):
            return await coro
    try:
        return asyncio.run(bounded())
    except TimeoutError:
        pytest.fail(f"probe outlived its {limit}s bound")


FLEET_BASE = f"127.20.{100 + slot()}.1"


FLEET_CONTROL_PORT = 18950 + slot()


FLEET_ONVIF_PORT = 18080


FLEET_SNMP_PORT = 18161


def sim_target(d: dict, v3: bool = False) -> "Any":
    from probes.model import DeviceTarget
    t = DeviceTarget(serial=d["serial"], host=d["ip"], kind=d["kind"],
                     onvif_port=d.get("onvif_port"), username=d.get("username"),
                     password=d.get("password"), snmp_port=d.get("snmp_port"),
                     snmp_community=d.get("snmp_community"))
    if v3 and d.get("snmp_v3"):
        u = d["snmp_v3"]
        t.snmp_version, t.snmp_user = "3", u["user"]
        t.snmp_auth_key, t.snmp_priv_key = u["auth_key"], u["priv_key"]
        t.snmp_auth_protocol, t.snmp_priv_protocol = u["auth_protocol"], u["priv_protocol"]
    return t


RTSP_HOST = "127.20.5.1"
