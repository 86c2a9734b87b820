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


# ---------------------------------------------------------------- the simulated fleet

FLEET_BASE = "127.20.100.1"
FLEET_CONTROL_PORT = 18950
FLEET_ONVIF_PORT = 18080
FLEET_SNMP_PORT = 18161


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from simulator.testing import FleetProcess
    ctx = FleetProcess(devices=30, seed=5, base_address=FLEET_BASE,
                       control_port=FLEET_CONTROL_PORT, tmp_dir=tmp_path_factory.mktemp("fleet"),
                       onvif_port=FLEET_ONVIF_PORT, snmp_port=FLEET_SNMP_PORT)
    with ctx as f:
        pgid = getattr(getattr(f, "proc", None), "pid", None)
        yield f
    # FleetProcess starts the simulator in its own session; its frame-rendering pool
    # workers have outlived a SIGTERM here, so end whatever is left of that group.
    if pgid:
        import os
        import signal
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture(scope="session")
def fleet_devices(fleet: Any) -> dict[str, list[dict]]:
    by_kind: dict[str, list[dict]] = {}
    for d in fleet.devices():
        by_kind.setdefault(d["kind"], []).append(d)
    return by_kind


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


@pytest.fixture
def faulted(fleet: Any) -> Iterator[Any]:
    """set(serial, faults, **params); every fault set is cleared after the test."""
    touched: list[str] = []

    def set_(serial: str, faults: list[str], **params: float) -> None:
        touched.append(serial)
        fleet.set_faults(serial, faults, **params)
    yield set_
    for serial in touched:
        fleet.clear_faults(serial)


# ---------------------------------------------------------------- an RTSP camera stand-in

RTSP_HOST = "127.20.5.1"


@pytest.fixture(scope="session")
def rtsp_url() -> Iterator[str]:
    """GStreamer's RTSP server (Debian gir1.2-gst-rtsp-server-1.0) serving an MJPEG pattern."""
    system_python = "/usr/bin/python3"
    check = subprocess.run([system_python, "-c", "import gi; gi.require_version('GstRtspServer',"
                            " '1.0'); from gi.repository import GstRtspServer"],
                           capture_output=True)
    if check.returncode != 0:
        pytest.skip("gst-rtsp-server not installed (make sysdeps)")
    port = None
    for p in range(18960, 18970):
        with socket.socket() as s:
            try:
                s.bind((RTSP_HOST, p))
            except OSError:
                continue
            port = p
            break
    assert port is not None
    proc = subprocess.Popen([system_python, str(Path(__file__).with_name("rtsp_server.py")),
                             RTSP_HOST, str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline().strip()
            if line:
                break
        if line != "ready":
            pytest.fail(f"RTSP server did not start: {line!r}")
        yield f"rtsp://{RTSP_HOST}:{port}/test"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
