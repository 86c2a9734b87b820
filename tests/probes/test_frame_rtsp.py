"""The frame grab's RTSP fallback (PyAV) against GStreamer's RTSP server, with hard bounds."""
from __future__ import annotations

import asyncio
import time

import httpx

from probes.frame import grab_frame, grab_rtsp, jpeg_size
from probes.model import DeviceTarget
from probe_helpers import RTSP_HOST, run

SNAP_PORT = 18971


def test_rtsp_key_frame_is_decoded(rtsp_url):
    res = run(grab_rtsp(rtsp_url, "user", "pw", 8), 12)
    assert res.ok, res.error
    assert (res.width, res.height) == (320, 240) and res.image.shape == (240, 320, 3)
    assert res.source == "rtsp" and jpeg_size(res.jpeg) == (320, 240)
    assert "pw" not in (res.uri or "")


def test_missing_snapshot_falls_back_to_rtsp(rtsp_url):
    async def go():
        async def handle(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(handle, RTSP_HOST, SNAP_PORT)
        async with server, httpx.AsyncClient() as http:
            target = DeviceTarget("RTSP-1", RTSP_HOST, onvif_port=SNAP_PORT)
            return await grab_frame(http, target, f"http://{RTSP_HOST}:{SNAP_PORT}/snap.jpg",
                                    rtsp_url, 8)
    res = run(go(), 12)
    assert res.ok and res.source == "rtsp" and res.width == 320


def test_rtsp_errors_are_typed_and_bounded(rtsp_url):
    base = rtsp_url.rsplit("/", 1)[0]
    t0 = time.monotonic()
    missing = run(grab_rtsp(base + "/no-such-stream", None, None, 3), 6)
    assert missing.error.kind == "unsupported"
    dead = run(grab_rtsp(f"rtsp://{RTSP_HOST}:18979/test", None, None, 3), 6)
    assert dead.error.kind in ("refused", "timeout")
    assert time.monotonic() - t0 < 8
