"""Fixtures for the probe tests: a real net-snmp agent on loopback, and a bounded runner.

Addresses: 127.20.0.0/16, control ports 18900-18999, snmpd on 127.0.0.1:11600-11699.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

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
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run(["snmpget", "-v2c", "-c", SNMP_COMMUNITY, "-t", "0.3", "-r", "0",
                                f"127.0.0.1:{self.port}", "1.3.6.1.2.1.1.3.0"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("snmpd exited at start")
            time.sleep(0.1)
        raise RuntimeError("snmpd did not answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    if not Path("/usr/sbin/snmpd").exists() or not shutil.which("snmpget"):
        pytest.skip("Debian snmpd/snmp not installed (make sysdeps)")
    agent = Snmpd(tmp_path_factory.mktemp("snmpd"), _free_udp_port("127.0.0.1", 11600, 11700))
    agent.start()
    yield agent
    agent.stop()


def run(coro: Any, limit: float) -> Any:
    """Run a probe coroutine; outliving ``limit`` seconds is a test failure, not a hang."""
    async def bounded() -> Any:
        async with asyncio.timeout(limit):
            return await coro
    try:
        return asyncio.run(bounded())
    except TimeoutError:
        pytest.fail(f"probe outlived its {limit}s bound")
