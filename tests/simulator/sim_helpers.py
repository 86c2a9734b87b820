"""Helpers shared by the simulator tests."""
from __future__ import annotations

import asyncio
import time

import httpx
from onvif import ONVIFCamera


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
