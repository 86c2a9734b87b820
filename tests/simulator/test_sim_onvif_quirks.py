"""Opt-in firmware quirks of the simulator (simulator/quirks.py, faults.QUIRKS), seen over
real sockets by plain HTTP clients: each quirk answers as the firmwares it imitates do.

Addresses 127.80.(slot).x, control ports 19600 + slot (this area's interop range)."""
from __future__ import annotations

import base64
import hashlib
import os
import re
from datetime import datetime, timezone

import httpx
import pytest

from simulator.testing import FleetProcess
from tests.simulator.sim_helpers import pick, slot, soap_time

NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"


@pytest.fixture(scope="module")
def qfleet(tmp_path_factory):
    s = slot()
    with FleetProcess(devices=12, seed=5, base_address=f"127.80.{s}.1",
                      control_port=19600 + s, onvif_port=19680, snmp_port=19681,
                      tmp_dir=tmp_path_factory.mktemp("qfleet")) as f:
        yield f


@pytest.fixture
def quirk(qfleet):
    touched = []

    def set_(d: dict, *names: str) -> dict:
        touched.append(d["serial"])
        qfleet.set_faults(d["serial"], list(names))
        return d
    yield set_
    for serial in touched:
        qfleet.clear_faults(serial)


@pytest.fixture(scope="module")
def cam(qfleet):
    return pick(qfleet, "camera")


def wsse(d: dict, password: str | None = None) -> str:
    nonce = os.urandom(16)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() +
                                           (password or d["password"]).encode()).digest()).decode()
    return ('<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
            f'<UsernameToken><Username>{d["username"]}</Username><Password Type="#PasswordDigest">{digest}</Password>'
            f'<Nonce>{base64.b64encode(nonce).decode()}</Nonce>'
            f'<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{created}</Created>'
            '</UsernameToken></Security></s:Header>')


def call(d: dict, op: str, ns: str = NS_DEVICE, inner: str = "", path: str = "device",
         password: str | None = None, auth=None, token: bool = True) -> httpx.Response:
    body = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
            f'{wsse(d, password) if token else ""}<s:Body><{op} xmlns="{ns}">{inner}</{op}></s:Body></s:Envelope>')
    return httpx.post(f"http://{d['ip']}:{d['onvif_port']}/onvif/{path}_service", content=body,
                      headers={"Content-Type": "application/soap+xml"}, auth=auth, timeout=5)


def test_plain_camera_answers_wsse_without_http_auth(cam):
    r = call(cam, "GetDeviceInformation")
    assert r.status_code == 200 and cam["serial"] in r.text


def test_soap_http_digest(cam, quirk):
    quirk(cam, "soap_http_digest")
    r = call(cam, "GetDeviceInformation")                       # WS-Security alone: refused
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Digest ")
    ok = call(cam, "GetDeviceInformation", token=False,
              auth=httpx.DigestAuth(cam["username"], cam["password"]))
    assert ok.status_code == 200 and cam["serial"] in ok.text
    bad = call(cam, "GetDeviceInformation", auth=httpx.DigestAuth(cam["username"], "nope"))
    assert bad.status_code == 401
    assert soap_time(cam).status_code == 200                    # still unauthenticated


def test_soap_http_digest_all_covers_the_clock(cam, quirk):
    quirk(cam, "soap_http_digest_all")
    assert soap_time(cam).status_code == 401
    ok = call(cam, "GetSystemDateAndTime", token=False,
              auth=httpx.DigestAuth(cam["username"], cam["password"]))
    assert ok.status_code == 200 and "UTCDateTime" in ok.text


@pytest.mark.parametrize("name, tz", [("local_time_only", "CST-8"),
                                      ("local_time_iana", "Asia/Shanghai")])
def test_local_time_only(cam, quirk, name, tz):
    quirk(cam, name)
    r = soap_time(cam)
    assert r.status_code == 200
    assert "UTCDateTime" not in r.text and "LocalDateTime" in r.text
    assert f"<tt:TZ>{tz}</tt:TZ>" in r.text
    hour = int(re.search(r"<tt:LocalDateTime><tt:Time><tt:Hour>(\d+)<", r.text).group(1))
    assert hour == (datetime.now(timezone.utc).hour + 8) % 24 or \
        hour == (datetime.now(timezone.utc).hour + 9) % 24      # an hour ticked over


def test_media2_only(cam, quirk):
    quirk(cam, "media2_only")
    svc = call(cam, "GetServices", inner="<IncludeCapability>false</IncludeCapability>")
    namespaces = re.findall(r"<tds:Namespace>([^<]+)</tds:Namespace>", svc.text)
    assert NS_MEDIA2 in namespaces and NS_MEDIA not in namespaces
    assert "Media" not in call(cam, "GetCapabilities").text.split("</tt:Device>")[1]
    old = call(cam, "GetProfiles", NS_MEDIA, path="media")
    assert old.status_code == 400 and "ActionNotSupported" in old.text
    prof = call(cam, "GetProfiles", NS_MEDIA2, path="media2")
    assert prof.status_code == 200 and "<tt:Encoding>H265</tt:Encoding>" in prof.text
    snap = call(cam, "GetSnapshotUri", NS_MEDIA2, "<ProfileToken>Profile_1</ProfileToken>",
                path="media2")
    assert "/onvif/snapshot?profile=Profile_1</tr2:Uri>" in snap.text
    assert call(cam, "GetProfiles", NS_MEDIA2, path="media2", password="x").status_code == 400


def test_media2_refused_without_the_quirk(cam):
    r = call(cam, "GetProfiles", NS_MEDIA2, path="media2")
    assert r.status_code == 400 and "ActionNotSupported" in r.text


@pytest.mark.parametrize("name, op, other", [("no_get_services", "GetServices", "GetCapabilities"),
                                             ("no_get_capabilities", "GetCapabilities", "GetServices")])
def test_missing_discovery_call(cam, quirk, name, op, other):
    quirk(cam, name)
    r = call(cam, op)
    assert r.status_code == 400 and "ActionNotSupported" in r.text
    assert call(cam, other).status_code == 200


def test_foreign_xaddr(cam, quirk):
    quirk(cam, "foreign_xaddr")
    svc = call(cam, "GetServices", inner="<IncludeCapability>false</IncludeCapability>").text
    addrs = re.findall(r"<tds:XAddr>([^<]+)</tds:XAddr>", svc)
    assert addrs and all(a.startswith(f"http://127.80.255.254:{cam['onvif_port']}/onvif/nat/")
                         for a in addrs)
    assert cam["ip"] not in svc
    snap = call(cam, "GetSnapshotUri", NS_MEDIA, "<ProfileToken>Profile_1</ProfileToken>",
                path="media").text
    assert "http://127.80.255.254:" in snap
    # The odd paths are served (on the real address).
    assert call(cam, "GetDeviceInformation", path="nat/device").status_code == 200


def test_soap11_faults(cam, quirk):
    quirk(cam, "soap11_faults")
    r = call(cam, "GetDeviceInformation", password="wrong")
    assert r.status_code == 500
    assert "http://schemas.xmlsoap.org/soap/envelope/" in r.text and "<faultcode>" in r.text
    assert "NotAuthorized" in r.text


def test_soap11_envelopes(cam, quirk):
    quirk(cam, "soap11_envelopes")
    r = call(cam, "GetDeviceInformation")
    assert r.status_code == 200 and 'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"' in r.text
    assert "2003/05/soap-envelope" not in r.text and cam["serial"] in r.text
    assert "<faultcode>" in call(cam, "GetDeviceInformation", password="x").text


def test_plain_http_errors(cam, quirk):
    quirk(cam, "plain_http_errors")
    r = call(cam, "GetDeviceInformation", password="wrong")
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/plain")
    r = call(cam, "NoSuchOperation")
    assert r.status_code == 400 and "<" not in r.text


def test_html_login(cam, quirk):
    quirk(cam, "html_login")
    for r in (call(cam, "GetDeviceInformation"), soap_time(cam)):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert 'type="password"' in r.text


def _snap_url(d):
    return f"http://{d['ip']}:{d['onvif_port']}/onvif/snapshot?profile=Profile_1"


def test_snapshot_basic(cam, quirk):
    quirk(cam, "snapshot_basic")
    r = httpx.get(_snap_url(cam), auth=httpx.DigestAuth(cam["username"], cam["password"]),
                  timeout=10)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic ")
    r = httpx.get(_snap_url(cam), auth=(cam["username"], cam["password"]), timeout=10)
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    assert httpx.get(_snap_url(cam), auth=(cam["username"], "x"), timeout=10).status_code == 401


def test_snapshot_uri_creds(cam, quirk):
    quirk(cam, "snapshot_uri_creds")
    snap = call(cam, "GetSnapshotUri", NS_MEDIA, "<ProfileToken>Profile_1</ProfileToken>",
                path="media").text
    uri = re.search(r"<tt:Uri>([^<]+)</tt:Uri>", snap).group(1).replace("&amp;", "&")
    assert f"//{cam['username']}:{cam['password']}@{cam['ip']}:" in uri
    r = httpx.get(uri, timeout=10)            # httpx sends URI credentials as Basic
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"


def test_snapshot_wrong_ctype(cam, quirk):
    quirk(cam, "snapshot_wrong_ctype")
    r = httpx.get(_snap_url(cam), auth=httpx.DigestAuth(cam["username"], cam["password"]),
                  timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain"
    assert r.content[:2] == b"\xff\xd8"


def test_video_quirk_refused_on_a_switch(qfleet):
    sw = pick(qfleet, "switch")
    with pytest.raises(RuntimeError, match="has no video"):
        qfleet.set_faults(sw["serial"], ["media2_only"])
