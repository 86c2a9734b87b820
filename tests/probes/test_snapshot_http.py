"""The snapshot GET without httpx (probes.snapshot_http), against loopback cameras that
answer the ways cameras do: Digest on a kept-alive connection, a 401 followed by a
silent close, chunked bodies, truncated bodies, redirects (left to httpx)."""
from __future__ import annotations

import asyncio

import cv2
import httpx
import numpy as np
import pytest

from probes.frame import MAX_SNAPSHOT_BYTES, grab_snapshot
from probe_helpers import run
from simulator import digest

HOST, PORT = "127.20.8.3", 18973
REALM = "cam"
_, _JPG = cv2.imencode(".jpg", np.full((48, 64, 3), 100, np.uint8))
JPEG = _JPG.tobytes()


class Camera:
    """A loopback camera. ``close_after_401``: close the connection after the challenge
    without saying so; ``chunked``: send the JPEG in chunks; ``truncate``: send half of
    the declared body and close; ``redirect``: /snap.jpg answers 302 to /real.jpg."""

    def __init__(self, close_after_401=False, chunked=False, truncate=False, redirect=False):
        self.close_after_401, self.chunked = close_after_401, chunked
        self.truncate, self.redirect = truncate, redirect
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests += 1
                lines = head.split("\r\n")
                path = lines[0].split(" ")[1]
                auth = next((ln.split(":", 1)[1].strip() for ln in lines
                             if ln.lower().startswith("authorization:")), "")
                if self.redirect and path == "/snap.jpg":
                    writer.write(b"HTTP/1.1 302 Found\r\nLocation: /real.jpg\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                if not digest.verify(auth, "GET", REALM, "admin", "pw-2"):
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: "
                                 + digest.challenge(REALM).encode()
                                 + b"\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    if self.close_after_401:
                        return
                    continue
                if self.truncate:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                                 b"Content-Length: " + str(len(JPEG)).encode() + b"\r\n\r\n"
                                 + JPEG[:len(JPEG) // 2])
                    await writer.drain()
                    return
                if self.chunked:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    for i in range(0, len(JPEG), 300):
                        part = JPEG[i:i + 300]
                        writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    writer.write(b"0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                                 b"Content-Length: " + str(len(JPEG)).encode() + b"\r\n\r\n"
                                 + JPEG)
                await writer.drain()
        finally:
            writer.close()


def _grab(cam: Camera, password: str = "pw-2"):
    async def go():
        server = await asyncio.start_server(cam.handle, HOST, PORT)
        async with server, httpx.AsyncClient(follow_redirects=True) as http:
            return await grab_snapshot(http, f"http://{HOST}:{PORT}/snap.jpg", "admin",
                                       password, 5, decode=False)
    return run(go(), 15)


def test_digest_is_answered_on_the_same_kept_alive_connection():
    cam = Camera()
    res = _grab(cam)
    assert res.ok, res.error
    assert (res.width, res.height) == (64, 48) and res.jpeg == JPEG
    assert res.content_type == "image/jpeg"
    assert cam.requests == 2 and cam.connections == 1


def test_a_camera_that_closes_after_its_challenge_is_asked_again_on_a_new_connection():
    cam = Camera(close_after_401=True)
    res = _grab(cam)
    assert res.ok, res.error
    assert cam.requests == 2 and cam.connections == 2


def test_a_chunked_snapshot_is_read_whole():
    res = _grab(Camera(chunked=True))
    assert res.ok and res.jpeg == JPEG


def test_a_wrong_password_is_auth():
    res = _grab(Camera(), password="nope")
    assert not res.ok and res.error.kind == "auth"


def test_a_truncated_body_is_malformed_not_a_crash():
    res = _grab(Camera(truncate=True))
    assert not res.ok and res.error.kind == "malformed"


def test_a_redirect_is_followed_by_the_full_client():
    cam = Camera(redirect=True)
    res = _grab(cam)
    assert res.ok and res.jpeg == JPEG


def test_an_answer_over_the_cap_is_refused_before_it_is_read():
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: "
                     + str(MAX_SNAPSHOT_BYTES + 1).encode() + b"\r\n\r\n" + JPEG)
        await writer.drain()
        writer.close()

    async def go():
        server = await asyncio.start_server(handle, HOST, PORT)
        async with server, httpx.AsyncClient() as http:
            return await grab_snapshot(http, f"http://{HOST}:{PORT}/snap.jpg", None, None, 5)
    res = run(go(), 10)
    assert not res.ok and "cap" in res.error.message


@pytest.mark.parametrize("port", [PORT + 1])
def test_a_closed_port_is_refused(port):
    async def go():
        async with httpx.AsyncClient() as http:
            return await grab_snapshot(http, f"http://{HOST}:{port}/snap.jpg", "admin", "x", 5)
    res = run(go(), 10)
    assert not res.ok and res.error.kind == "refused"
