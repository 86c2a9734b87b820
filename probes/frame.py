"""Grab one test frame: the HTTP snapshot (Digest or Basic; probes.snapshot_http, httpx for
TLS and redirects), else one RTSP key frame.

The snapshot URL's host is pinned to the target's address (a device may advertise a
LAN address we must not talk to). The RTSP fallback decodes a single key frame with
PyAV in a worker thread, bounded by FFmpeg's own socket timeouts *and* an asyncio
deadline, so a stuck stream can never hold the sweep.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import quote, urlsplit, urlunsplit

from probes.errors import classify
from probes.model import DeviceTarget, FrameResult, ProbeError
from probes.snapshot_http import NeedsFullClient, get_snapshot

MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024       # a 4K JPEG is ~2 MB; refuse anything absurd


def pin_host(uri: str, host: str, default_port: int) -> Optional[str]:
    try:
        p = urlsplit(uri.strip())
        port = p.port or default_port
    except (ValueError, AttributeError):
        return None
    if not p.scheme:
        return None
    return urlunsplit((p.scheme, f"{host}:{port}", p.path or "/", p.query, ""))


def _decode_jpeg(data: bytes) -> Any:
    import cv2
    import numpy as np
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    return img


async def grab_frame(http: Any, target: DeviceTarget, snapshot_uri: Optional[str],
                     stream_uri: Optional[str], timeout: float, *,
                     rtsp_fallback: bool = True, decode: bool = True) -> FrameResult:
    """Snapshot first; RTSP when there is no snapshot URI or the snapshot path is absent.

    A snapshot that fails for a reason the stream would share (auth, unreachable,
    timeout) is reported as is rather than retried over RTSP.
    """
    deadline = time.monotonic() + timeout
    snap_result: Optional[FrameResult] = None
    if snapshot_uri:
        url = pin_host(snapshot_uri, target.host, 80)
        if url is None:
            snap_result = FrameResult(ok=False, error=ProbeError(
                "malformed", "snapshot URI is not a URL", "frame"))
        else:
            snap_result = await grab_snapshot(http, url, target.username, target.password,
                                              timeout, decode=decode)
        if snap_result.ok or not (rtsp_fallback and stream_uri) or (
                snap_result.error and snap_result.error.kind not in ("unsupported", "malformed")):
            return snap_result
    if stream_uri and rtsp_fallback:
        url = pin_host(stream_uri, target.host, 554)
        if url is None:
            return FrameResult(ok=False, error=ProbeError("malformed", "stream URI is not a URL",
                                                          "frame"))
        left = max(0.5, deadline - time.monotonic())
        return await grab_rtsp(url, target.username, target.password, left)
    return snap_result or FrameResult(ok=False, error=ProbeError(
        "unsupported", "no snapshot or stream URI", "frame"))


async def grab_snapshot(http: Any, url: str, user: Optional[str], password: Optional[str],
                        timeout: float, *, decode: bool = True) -> FrameResult:
    result = FrameResult(ok=False, source="snapshot", uri=url)
    try:
        async with asyncio.timeout(timeout):
            try:
                # Plain HTTP answered directly (probes.snapshot_http): a fraction of
                # httpx's CPU per camera; httpx for TLS and redirects.
                status, headers, body = await get_snapshot(url, user, password,
                                                           MAX_SNAPSHOT_BYTES)
            except NeedsFullClient:
                status, headers, body = await _httpx_snapshot(http, url, user, password,
                                                              timeout)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        result.error = classify(exc, "frame")
        return result
    if status in (401, 403):
        result.error = ProbeError("auth", f"snapshot HTTP {status}", "frame")
        return result
    if status in (404, 405, 501):
        result.error = ProbeError("unsupported", f"snapshot HTTP {status}", "frame")
        return result
    if status != 200:
        result.error = ProbeError("fault", f"snapshot HTTP {status}", "frame")
        return result
    result.content_type = headers.get("content-type", "")[:100] or None
    result.grabbed_at = datetime.now(timezone.utc)
    result.size_bytes = len(body)
    return await _finish(result, body, decode)


async def _httpx_snapshot(http: Any, url: str, user: Optional[str], password: Optional[str],
                          timeout: float) -> tuple[int, Any, bytes]:
    import httpx
    auth: Any = httpx.DigestAuth(user, password or "") if user else None
    response, body = await _get_capped(http, url, auth, timeout)
    challenge = response.headers.get("www-authenticate", "")
    if response.status_code == 401 and user and challenge.lower().startswith("basic"):
        # A Basic-only camera: DigestAuth could not answer its challenge.
        response, body = await _get_capped(http, url, httpx.BasicAuth(user, password or ""),
                                           timeout)
    return response.status_code, response.headers, body


async def _get_capped(http: Any, url: str, auth: Any, timeout: float) -> tuple[Any, bytes]:
    async with http.stream("GET", url, auth=auth, timeout=timeout) as response:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_SNAPSHOT_BYTES:
            raise ValueError(f"snapshot of {declared} bytes is over the cap")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_SNAPSHOT_BYTES:
                raise ValueError("snapshot over the size cap")
            chunks.append(chunk)
        return response, b"".join(chunks)


def jpeg_size(data: bytes) -> Optional[tuple[int, int]]:
    """(width, height) from a JPEG's SOF marker without decoding; None if not a JPEG."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:                     # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        seg = int.from_bytes(data[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                return None
            h = int.from_bytes(data[pos + 5:pos + 7], "big")
            w = int.from_bytes(data[pos + 7:pos + 9], "big")
            return (w, h) if w and h else None
        if seg < 2:
            return None
        pos += 2 + seg
    return None


async def _finish(result: FrameResult, jpeg: bytes, decode: bool = True) -> FrameResult:
    """Check and (optionally) decode the image.

    Decoding runs in a worker thread (OpenCV releases the GIL), so a sweep's event loop
    keeps serving sockets while pixels are unpacked. With ``decode=False`` the size comes
    from the JPEG header and ``image`` stays None: probes.quality can decode in its own
    process pool (``FrameResult.decode()`` does it on demand).
    """
    if not jpeg:
        result.error = ProbeError("malformed", "empty image", "frame")
        return result
    if not decode:
        size = jpeg_size(jpeg)
        if size is None or not jpeg.rstrip(b"\x00\r\n").endswith(b"\xff\xd9"):
            result.error = ProbeError("malformed", "not a complete JPEG", "frame")
            return result
        result.jpeg = jpeg
        result.width, result.height = size
        result.ok = True
        return result
    try:
        image = await asyncio.to_thread(_decode_jpeg, jpeg)
    except Exception as exc:  # noqa: BLE001 - a codec error is the device's fault
        image = None
        result.error = ProbeError("malformed", f"image does not decode: {exc}", "frame")
    if image is None or getattr(image, "size", 0) == 0:
        result.error = result.error or ProbeError("malformed", "image does not decode", "frame")
        return result
    result.jpeg = jpeg
    result.image = image
    result.height, result.width = int(image.shape[0]), int(image.shape[1])
    result.ok = True
    return result


# ---------------------------------------------------------------- RTSP

def _with_creds(url: str, user: Optional[str], password: Optional[str]) -> str:
    if not user:
        return url
    p = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{p.netloc}"
    return urlunsplit((p.scheme, netloc, p.path, p.query, ""))


def _rtsp_keyframe(url: str, timeout: float) -> tuple[Any, bytes]:
    """Blocking: open, decode the first key frame, close. Runs in a worker thread."""
    import av
    import cv2
    us = str(int(timeout * 1_000_000))
    container = av.open(url, options={"rtsp_transport": "tcp", "timeout": us,
                                      "stimeout": us, "analyzeduration": "1000000",
                                      "probesize": "500000"},
                        timeout=(timeout, timeout))
    try:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        # With NONKEY the decoder drops everything but key frames: the first one is ours.
        for frame in container.decode(stream):
            image = frame.to_ndarray(format="bgr24")
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            return image, (buf.tobytes() if ok else b"")
        raise ValueError("stream ended before a key frame")
    finally:
        container.close()


async def grab_rtsp(url: str, user: Optional[str], password: Optional[str],
                    timeout: float) -> FrameResult:
    result = FrameResult(ok=False, source="rtsp", uri=url)
    full = _with_creds(url, user, password)
    try:
        # The thread keeps running if we give up, but FFmpeg's own timeouts end it soon.
        image, jpeg = await asyncio.wait_for(
            asyncio.to_thread(_rtsp_keyframe, full, max(0.5, timeout * 0.9)), timeout)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        err = classify(exc, "frame")
        name = type(exc).__name__
        if err.kind == "internal" and name.endswith("Error") and "av" in type(exc).__module__:
            low = str(exc).lower()
            kind = ("auth" if "401" in low or "unauthorized" in low else
                    "refused" if "refused" in low else
                    "timeout" if "timed out" in low or "timeout" in low else
                    "unsupported" if "404" in low or "not found" in low else "malformed")
            err = ProbeError(kind, f"RTSP: {name}", "frame")
        # Never echo the URL with credentials.
        err.message = err.message.replace(full, url)
        result.error = err
        return result
    result.grabbed_at = datetime.now(timezone.utc)
    result.content_type = "image/jpeg"
    result.size_bytes = len(jpeg)
    result.jpeg = jpeg
    result.image = image
    result.height, result.width = int(image.shape[0]), int(image.shape[1])
    result.ok = True
    return result
