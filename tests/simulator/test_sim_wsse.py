"""WS-Security like real cameras: a UsernameToken whose Created is too far from the device's
clock is refused (ter:NotAuthorized, as a wrong password), so a drifted camera only lets in
clients that compensate; onvif-zeep-async's adjust_time does."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os

import httpx
import pytest
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFError
from zeep.exceptions import Fault

from sim_helpers import pick, run

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
          "#PasswordDigest")


def _post(d: dict, created: dt.datetime, password: str | None = None) -> httpx.Response:
    """GetDeviceInformation with a hand-made PasswordDigest token stamped ``created``."""
    nonce = os.urandom(16)
    stamp = created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    digest = base64.b64encode(hashlib.sha1(
        nonce + stamp.encode() + (password or d["password"]).encode()).digest()).decode()
    body = (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            f'xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><s:Header><wsse:Security><wsse:UsernameToken>'
            f'<wsse:Username>{d["username"]}</wsse:Username>'
            f'<wsse:Password Type="{DIGEST}">{digest}</wsse:Password>'
            f'<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>'
            f'<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>'
            '<s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>'
            '</s:Envelope>')
    return httpx.post(f"http://{d['ip']}:{d['onvif_port']}/onvif/device_service", content=body,
                      headers={"Content-Type": "application/soap+xml"}, timeout=5)


def _now(offset_s: float = 0.0) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_s)


def test_created_is_checked_against_the_device_clock(fleet):
    d = pick(fleet, "camera")
    assert _post(d, _now()).status_code == 200
    assert _post(d, _now(-50)).status_code == 200        # inside the default 60 s window
    r = _post(d, _now(-120))
    assert r.status_code == 400 and b"NotAuthorized" in r.content
    assert _post(d, _now(120)).status_code == 400        # from the future too
    fleet.set_faults(d["serial"], ["clock_drift"], clock_offset_s=600)
    assert _post(d, _now()).status_code == 400           # true time, wrong for this camera
    assert _post(d, _now(600)).status_code == 200        # the camera's own time
    assert _post(d, _now(600), password="wrong").status_code == 400


def test_window_per_device(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["clock_drift"], clock_offset_s=10, wsse_window_s=5)
    assert _post(d, _now()).status_code == 400           # 10 s off, 5 s allowed
    assert _post(d, _now(10)).status_code == 200
    fleet.set_faults(d["serial"], [], wsse_window_s=0)   # 0: this camera does not check
    assert _post(d, _now(-3600)).status_code == 200


def test_onvif_zeep_async_adjust_time_gets_into_a_drifted_camera(fleet):
    d = pick(fleet, "camera")
    fleet.set_faults(d["serial"], ["clock_drift"], clock_offset_s=-900)

    async def info(adjust: bool):
        cam = ONVIFCamera(d["ip"], d["onvif_port"], d["username"], d["password"],
                          adjust_time=adjust)
        try:
            await cam.update_xaddrs()
            dev = await cam.create_devicemgmt_service()
            return (await dev.GetDeviceInformation()).SerialNumber, cam.dt_diff
        finally:
            await cam.close()

    serial, diff = run(info(True))
    assert serial == d["serial"] and abs(diff.total_seconds() + 900) < 2
    # Without it the camera answers as if the password were wrong (zeep raises the SOAP
    # fault itself from update_xaddrs' GetCapabilities fallback).
    with pytest.raises((ONVIFError, Fault), match="(?i)not authorized"):
        run(info(False))
