"""RTSP on a few cameras (--rtsp N: gst-rtsp-server in a helper process): PyAV decodes the
camera's own picture with Digest auth, picture faults reach the stream, and with
`no_snapshot` the probe's frame check falls back to RTSP end to end."""
from __future__ import annotations

import subprocess
import time
from urllib.parse import quote

import av
import cv2
import httpx
import numpy as np
import pytest

from sim_helpers import camera, extra_fleet_args, run, snapshot

RTSP_PORT = 19282


def _gst_available() -> bool:
    r = subprocess.run(["/usr/bin/python3", "-c", "import gi; gi.require_version('GstRtspServer', "
                        "'1.0'); from gi.repository import GstRtspServer"], capture_output=True)
    return r.returncode == 0


@pytest.fixture(scope="module")
def rtsp_fleet(tmp_path_factory):
    if not _gst_available():
        pytest.skip("gst-rtsp-server not installed (make sysdeps)")
    from simulator.testing import FleetProcess
    with FleetProcess(devices=16, seed=7, communities=1, tmp_dir=tmp_path_factory.mktemp("rtsp"),
                      extra_args=["--rtsp", "2", "--rtsp-port", str(RTSP_PORT)],
                      **extra_fleet_args("rtsp")) as f:
        yield f


@pytest.fixture
def streaming(rtsp_fleet):
    cams = [d for d in rtsp_fleet.devices() if d["rtsp_uri"]]
    assert len(cams) == 2 and all(d["kind"] == "camera" for d in cams)
    yield cams
    for d in cams:
        rtsp_fleet.clear_faults(d["serial"])


def _grab(d: dict, password: str | None = None) -> np.ndarray:
    url = d["rtsp_uri"].replace("rtsp://", f"rtsp://{d['username']}:"
                                f"{quote(password or d['password'], safe='')}@")
    c = av.open(url, options={"rtsp_transport": "tcp", "timeout": "5000000"}, timeout=5)
    try:
        for frame in c.decode(video=0):
            return frame.to_ndarray(format="bgr24")
        raise AssertionError("no frame")
    finally:
        c.close()


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (320, 180),
                      interpolation=cv2.INTER_AREA).astype(np.float32)


def test_stream_uri_and_picture(streaming):
    d, other = streaming

    async def uri():
        cam = camera(d)
        try:
            await cam.update_xaddrs()
            media = await cam.create_media_service()
            r = await media.GetStreamUri({"ProfileToken": "Profile_1", "StreamSetup": {
                "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}})
            return r.Uri
        finally:
            await cam.close()
    assert run(uri()) == d["rtsp_uri"] == f"rtsp://{d['ip']}:{RTSP_PORT}/Streaming/Channels/101"
    img = _grab(d)
    assert img.shape == (720, 1280, 3)
    snap = cv2.imdecode(np.frombuffer(snapshot(d).content, np.uint8), cv2.IMREAD_COLOR)
    near = float(np.abs(_gray(img) - _gray(snap)).mean())
    far = float(np.abs(_gray(_grab(other)) - _gray(snap)).mean())
    assert near < 8 and far > 2 * near          # the camera's own scene, not another's


def test_wrong_password_is_refused(streaming):
    with pytest.raises(av.error.HTTPUnauthorizedError):
        _grab(streaming[0], password="not-the-password")


def test_picture_faults_reach_the_stream(rtsp_fleet, streaming):
    d = streaming[0]
    assert float(_gray(_grab(d)).mean()) > 60
    rtsp_fleet.set_faults(d["serial"], ["too_dark"])
    deadline = time.monotonic() + 8                 # the helper's file is refreshed each second
    while float(_gray(_grab(d)).mean()) > 40:
        assert time.monotonic() < deadline, "too_dark never reached the RTSP stream"


def test_no_snapshot_fault(rtsp_fleet, streaming):
    d = streaming[0]
    rtsp_fleet.set_faults(d["serial"], ["no_snapshot"])
    assert snapshot(d).status_code == 404
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
            '<s:Body><GetSnapshotUri xmlns="http://www.onvif.org/ver10/media/wsdl">'
            '<ProfileToken>Profile_1</ProfileToken></GetSnapshotUri></s:Body></s:Envelope>')
    r = httpx.post(f"http://{d['ip']}:{d['onvif_port']}/onvif/media_service", content=body, timeout=5)
    assert r.status_code == 400          # unauthenticated first: the fault is NotAuthorized
    assert b"NotAuthorized" in r.content


def test_probe_falls_back_to_rtsp_on_the_fleet(rtsp_fleet, streaming):
    from probes.config import TierSpec
    from probes.model import DeviceTarget
    from probes.runner import probe_one
    d = streaming[0]
    target = DeviceTarget(serial=d["serial"], host=d["ip"], kind="camera",
                          onvif_port=d["onvif_port"], username=d["username"],
                          password=d["password"])
    spec = TierSpec("t", ["onvif", "frame"], timeouts={"onvif": 5, "frame": 10})
    healthy = run(probe_one(target, spec), 20)
    assert healthy.frame.ok and healthy.frame.source != "rtsp"
    rtsp_fleet.set_faults(d["serial"], ["no_snapshot"])
    res = run(probe_one(target, spec), 20)
    assert res.onvif.ok and res.onvif.snapshot_uri is None
    assert res.onvif.stream_uri == d["rtsp_uri"]
    assert res.frame.ok, res.frame.error
    assert res.frame.source == "rtsp" and (res.frame.width, res.frame.height) == (1280, 720)
