"""Helpers shared by the simulator tests."""
from __future__ import annotations

import asyncio
import fcntl
import os
from functools import lru_cache

import httpx
from onvif import ONVIFCamera


SLOTS = 6


@lru_cache(maxsize=1)
def slot() -> int:
    """A slot held for this test process (a lock file), so two pytest runs of these tests
    at the same time (a helper's and the whole suite's) use different addresses/ports."""
    for i in range(SLOTS):
        fd = os.open(f"/tmp/fsp-simulator-tests-slot{i}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return i     # fd stays open (and locked) until the process exits
        except BlockingIOError:
            os.close(fd)
    raise RuntimeError(f"all {SLOTS} simulator test slots are busy")


# Fleets of one test run, each: (last octet of its first address, control-port offset).
FLEETS = {"session": (1, 0), "scenario": (101, 1), "bad_scenario": (121, 2), "latency": (131, 3),
          "wildcard": (141, 4)}


def fleet_args(name: str) -> dict:
    """base_address / control_port / onvif_port / snmp_port for one of this run's fleets:
    127.10.(20+slot).x, control ports 18820 + 5*slot + k (all inside this area's ranges)."""
    s = slot()
    host, k = FLEETS[name]
    return {"base_address": f"127.10.{20 + s}.{host}", "control_port": 18820 + 5 * s + k,
            "onvif_port": 18180, "snmp_port": 18200 + s if name == "wildcard" else 18181}


# Fleets added in round 2, in this area's second range: 127.50.(slot).x, control ports
# 19200 + 10*slot + k.
EXTRA_FLEETS = {"v3_per_device": (1, 0), "rtsp": (41, 1), "topology": (81, 2)}


def extra_fleet_args(name: str) -> dict:
    s = slot()
    host, k = EXTRA_FLEETS[name]
    return {"base_address": f"127.50.{s}.{host}", "control_port": 19200 + 10 * s + k,
            "onvif_port": 19280, "snmp_port": 19281}


def pick(fleet, kind: str, **match) -> dict:
    for d in fleet.devices():
        if d["kind"] == kind and all(d.get(k) == v for k, v in match.items()):
            return d
    raise LookupError(f"no {kind} with {match}")


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def camera(d: dict, password: str | None = None) -> ONVIFCamera:
    return ONVIFCamera(d["ip"], d["onvif_port"], d["username"], password or d["password"])


def snapshot(d: dict, password: str | None = None, timeout: float = 10) -> httpx.Response:
    url = f"http://{d['ip']}:{d['onvif_port']}/onvif/snapshot?profile=Profile_1"
    return httpx.get(url, auth=httpx.DigestAuth(d["username"], password or d["password"]), timeout=timeout)


def soap_time(d: dict, timeout: float = 5) -> httpx.Response:
    """A raw GetSystemDateAndTime (no auth needed)."""
    body = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
            '<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
    return httpx.post(f"http://{d['ip']}:{d['onvif_port']}/onvif/device_service", content=body,
                      headers={"Content-Type": "application/soap+xml"}, timeout=timeout)
