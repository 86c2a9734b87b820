"""Fixtures for the probe tests (the helpers they use live in probe_helpers.py)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from probe_helpers import (  # noqa: F401
    FLEET_BASE,
    FLEET_CONTROL_PORT,
    FLEET_ONVIF_PORT,
    FLEET_SNMP_PORT,
    RTSP_HOST,
    SNMP_COMMUNITY,
    SNMP_V3_AUTH,
    SNMP_V3_PRIV,
    SNMP_V3_USER,
    Snmpd,
    _free_udp_port,
    run,
    sim_target,
    stop_process,
    wait_answering,
)


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    if not Path("/usr/sbin/snmpd").exists() or not shutil.which("snmpget"):
        pytest.skip("Debian snmpd/snmp not installed (make sysdeps)")
    agent = Snmpd(tmp_path_factory.mktemp("snmpd"), _free_udp_port("127.0.0.1", 11600, 11700))
    agent.start()
    yield agent
    agent.stop()


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
        stop_process(proc)
