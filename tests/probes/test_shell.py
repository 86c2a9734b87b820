"""`python -m probes HOST ...` against the fleet: monitoring-plugin exit codes and JSON."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shell(args: list[str], password: str | None = None, timeout: float = 40):
    env = dict(os.environ)
    if password is not None:
        env["PROBE_TEST_PW"] = password
    return subprocess.run([sys.executable, "-m", "probes", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def cam_args(d: dict) -> list[str]:
    return [d["ip"], "--serial", d["serial"], "--onvif-port", str(d["onvif_port"]),
            "--user", d["username"], "--password-env", "PROBE_TEST_PW",
            "--snmp-port", str(d["snmp_port"]), "--snmp-community", d["snmp_community"],
            "--timeout", "3"]


def test_healthy_camera_is_ok_with_json_and_saved_frame(fleet_devices, tmp_path):
    cam = fleet_devices["camera"][10]
    frame = tmp_path / "f.jpg"
    out = shell(cam_args(cam) + ["--json", "--save-frame", str(frame)], cam["password"])
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["status"] == "OK" and doc["target"]["password"] == "***"
    assert cam["password"] not in out.stdout
    r = doc["result"]
    assert r["onvif"]["serial_number"] == cam["serial"]
    assert r["onvif"]["profiles"] and r["snmp"]["sys_name"]
    assert r["frame"]["width"] > 0 and frame.read_bytes()[:2] == b"\xff\xd8"


def test_readable_report_and_warning_for_clock_drift(fleet_devices, faulted):
    cam = fleet_devices["camera"][11]
    faulted(cam["serial"], ["clock_drift"], clock_offset_s=120)
    out = shell(cam_args(cam), cam["password"])
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith("PROBE WARNING - ")
    offset = float(re.search(r"clock offset ([-+0-9.]+) s", out.stdout).group(1))
    assert abs(offset - 120) < 1.5


def test_unreachable_is_critical_and_bad_password_too(fleet_devices, faulted):
    cam = fleet_devices["camera"][12]
    faulted(cam["serial"], ["offline"])
    out = shell(cam_args(cam) + ["--tier", "fast"], cam["password"])
    assert out.returncode == 2 and out.stdout.startswith("PROBE CRITICAL")
    other = fleet_devices["camera"][13]
    out = shell(cam_args(other), "wrong-password")
    assert out.returncode == 2 and "auth" in out.stdout


def test_usage_errors_are_unknown():
    assert shell([]).returncode == 3
    assert shell(["127.20.0.1", "--tier", "medium"]).returncode == 3
    out = shell(["127.20.0.1", "--password-env", "PROBES_SURELY_UNSET_VAR"])
    assert out.returncode == 3 and "not set" in out.stderr
