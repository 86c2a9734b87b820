"""Test helper: run `python -m simulator` as a subprocess for the length of a test.

    from simulator.testing import FleetProcess
    with FleetProcess(devices=20, seed=3, base_address="127.10.1.1", control_port=18801,
                      tmp_dir=tmp_path) as fleet:
        cam = next(d for d in fleet.devices() if d["kind"] == "camera")
        fleet.set_faults(cam["serial"], ["blur", "clock_drift"], clock_offset_s=3600)
        ...
        fleet.clear_faults(cam["serial"])

Each test run should use its own base address and control port (and, when several
fleets may run at once, its own ONVIF/SNMP ports via onvif_port=/snmp_port=).

GET /devices returns a JSON list; each device is an object:

    {"serial": "HKC20250000003", "name": "...", "kind": "camera|nvr|switch|speaker",
     "role": "entrance|road|perimeter|high_altitude|fire_lane|interior|''",
     "vendor": "Hikvision", "model": "DS-2CD2T47G2-L", "mac": "44:19:b6:..",
     "ip": "127.10.1.3", "onvif_port": 8080, "snmp_port": 1161,
     "username": "admin", "password": "...", "snmp_community": "public",
     "snmp_v3": null | {"user": "mon0001", "auth_protocol": "SHA", "auth_key": "...",
                        "priv_protocol": "AES", "priv_key": "..."},
     "community": "...", "community_index": 0, "district": "...",
     "community_type": "open|closed|single_building", "contract": "C-2026-001",
     "contractor": "闽江安防工程有限公司",
     "installed_on": "2025-06-01",
     "upstream": "<serial of the switch (cameras, speakers) or NVR (switch)>" | null,
     "switch_port": 3 | null,            # port on the upstream switch (1-based)
     "paired_with": "<serial>" | null,   # fire-lane camera <-> its speaker
     "ports": 16 | null,                 # switches: port count, the last is the uplink
     "downstream": ["<serial>", ...],    # switches: device on port k is downstream[k-1]
     "faults": ["blur", ...], "params": {"clock_offset_s": 3600.0},
     "reach": "up|drop|refuse", "uptime_s": 12.3, "clock_offset_s": 0.0,
     "snmp_engine_id": "80009dfd04484b43...",   # hex, this device's own SNMP engine ID
     "ptz": false, "ptz_position": null | [pan, tilt],   # road cameras are PTZ domes
     "rtsp_uri": null | "rtsp://127.10.1.3:8554/Streaming/Channels/101"}   # with --rtsp N

SNMP v3 keys are passphrases for USM HMAC-SHA-96 / CFB128-AES (authPriv).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class FleetProcess:
    def __init__(self, devices: int = 10, seed: int = 1, base_address: str = "127.10.0.1",
                 control_port: int = 18899, tmp_dir: str | os.PathLike | None = None,
                 extra_args: list[str] | None = None, onvif_port: int = 8080,
                 snmp_port: int = 1161, communities: int | None = None,
                 truth: bool = True, start_timeout: float = 60.0):
        self.devices_n = devices
        self.seed = seed
        self.base_address = base_address
        self.control_port = control_port
        self.onvif_port = onvif_port
        self.snmp_port = snmp_port
        self.communities = communities
        self.extra_args = list(extra_args or [])
        self._own_tmp = None
        if tmp_dir is None:
            self._own_tmp = tempfile.TemporaryDirectory(prefix="fleet-")
            tmp_dir = self._own_tmp.name
        self.tmp_dir = Path(tmp_dir)
        self.inventory_path = self.tmp_dir / f"fleet-{control_port}.csv"
        self.truth_path: Path | None = self.tmp_dir / f"truth-{control_port}.jsonl" if truth else None
        self.log_path = self.tmp_dir / f"fleet-{control_port}.log"
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def start(self) -> "FleetProcess":
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if self.inventory_path.exists():
            self.inventory_path.unlink()
        cmd = [sys.executable, "-m", "simulator", "--devices", str(self.devices_n),
               "--seed", str(self.seed), "--inventory", str(self.inventory_path),
               "--base-address", self.base_address, "--control-port", str(self.control_port),
               "--onvif-port", str(self.onvif_port), "--snmp-port", str(self.snmp_port), "--quiet"]
        if self.communities:
            cmd += ["--communities", str(self.communities)]
        if self.truth_path is not None:
            cmd += ["--truth", str(self.truth_path)]
        cmd += self.extra_args
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self.inventory_path.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"fleet not ready after {self.start_timeout}s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self) -> "FleetProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._own_tmp is not None:
            self._own_tmp.cleanup()

    # -- control API -------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None

    def devices(self) -> list[dict]:
        return self._call("GET", "/devices")

    def device(self, serial: str) -> dict:
        return self._call("GET", f"/devices/{serial}")

    def set_faults(self, serial: str, faults: list[str] | str, **params: float) -> dict:
        if isinstance(faults, str):
            faults = [faults]
        return self._call("POST", f"/devices/{serial}/faults", {"faults": list(faults), **params})

    def set_tint(self, serial: str, tint: str | None) -> dict:
        """Colour a camera's scene light ("warm", "blue"; None: neutral)."""
        return self._call("PUT", f"/devices/{serial}/scene", {"tint": tint})

    def clear_faults(self, serial: str, *only: str) -> dict:
        q = "?" + "&".join(f"fault={f}" for f in only) if only else ""
        return self._call("DELETE", f"/devices/{serial}/faults{q}")

    def truth(self) -> list[dict]:
        """Ground-truth intervals so far: the last line per (serial, fault, start)."""
        if self.truth_path is None or not self.truth_path.exists():
            return []
        last: dict[tuple, dict] = {}
        for line in self.truth_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                last[(rec["serial"], rec["fault"], rec["start"])] = rec
        return list(last.values())
