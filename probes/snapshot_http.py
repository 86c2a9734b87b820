"""One snapshot GET over plain HTTP/1.1 with h11, without httpx's client machinery.

A frame sweep fetches one JPEG from every camera, each behind an HTTP Digest challenge:
two requests per camera. Through httpx (connection pool, anyio shielding, auth flow
generators, streamed response) that cost ~9 ms of CPU per camera on this platform,
more than a fifth of the probing process's work in the frame tier. Here the two
exchanges go over one keep-alive connection, framed by h11 (the parser httpx itself
uses), the challenge answered by ``probes.onvif_http.HttpAuth`` (Digest MD5/SHA-256
with qop=auth, or Basic).

Anything this reader does not do — TLS, a redirect — raises ``NeedsFullClient`` and the
caller asks httpx instead. Timeouts are the caller's (``asyncio.timeout``).
"""
from __future__ import annotations

import asyncio
from typing import Optional
from urllib.parse import urlsplit

import h11

from probes.onvif_http import HttpAuth, parse_challenge

_READ = 65536
_USER_AGENT = "front-end-supervisor probe"


class NeedsFullClient(Exception):
    """An answer or address this reader leaves to the full HTTP client."""


class SnapshotTooLarge(ValueError):
    """The body is over the caller's cap."""


class _ClosedBeforeAnswer(Exception):
    """The peer closed a kept-alive connection before answering anything."""


def _pick_challenge(values: list[str]) -> Optional[str]:
    """Digest first (a camera may offer both), else Basic."""
    for want in ("digest", "basic"):
        for v in values:
            if parse_challenge(v)[0] == want:
                return v
    return None


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    conn: h11.Connection, target: str, host_header: str,
                    authorization: Optional[str], max_bytes: int
                    ) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [("Host", host_header), ("Accept", "image/jpeg, */*"),
               ("User-Agent", _USER_AGENT)]
    if authorization:
        headers.append(("Authorization", authorization))
    writer.write(conn.send(h11.Request(method="GET", target=target, headers=headers))
                 + conn.send(h11.EndOfMessage()))
    status: Optional[int] = None
    resp_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []
    size = 0
    received = False
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await reader.read(_READ)
            except ConnectionError:
                if not received:
                    raise _ClosedBeforeAnswer() from None
                raise
            if not data and not received:
                raise _ClosedBeforeAnswer()
            received = True
            # b"" (the peer closed) makes h11 raise RemoteProtocolError if the answer
            # was not complete: a truncated snapshot is the device's malformed answer.
            conn.receive_data(data)
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            resp_headers = [(k.decode("latin-1").lower(), v.decode("latin-1"))
                            for k, v in event.headers]
            declared = dict(resp_headers).get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SnapshotTooLarge(f"snapshot of {declared} bytes is over the cap")
            continue
        if isinstance(event, h11.Data):
            size += len(event.data)
            if size > max_bytes:
                raise SnapshotTooLarge("snapshot over the size cap")
            chunks.append(bytes(event.data))
            continue
        if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
    assert status is not None
    return status, resp_headers, b"".join(chunks)


async def get_snapshot(url: str, user: Optional[str], password: Optional[str],
                       max_bytes: int) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of ``GET url``, answering one
    Digest or Basic challenge when ``user`` is given. Raises ``NeedsFullClient`` for
    https and redirects; network errors and broken framing propagate (the caller
    classifies them)."""
    p = urlsplit(url)
    if p.scheme.lower() != "http" or not p.hostname:
        raise NeedsFullClient(f"scheme {p.scheme!r}")
    port = p.port or 80
    host_header = p.hostname if port == 80 else f"{p.hostname}:{port}"
    if ":" in p.hostname:                      # an IPv6 literal keeps its brackets
        host_header = f"[{p.hostname}]" + ("" if port == 80 else f":{port}")
    target = (p.path or "/") + (f"?{p.query}" if p.query else "")
    auth = HttpAuth()
    auth.register(url, user, password)
    reader, writer = await asyncio.open_connection(p.hostname, port)
    try:
        conn = h11.Connection(h11.CLIENT)
        try:
            status, headers, body = await _exchange(reader, writer, conn, target, host_header,
                                                    None, max_bytes)
        except _ClosedBeforeAnswer:
            raise h11.RemoteProtocolError("connection closed without an answer") from None
        if status == 401 and user:
            challenge = _pick_challenge([v for k, v in headers if k == "www-authenticate"])
            if challenge is not None and auth.learn(url, challenge):
                authorization = auth.header(url, "GET")
                reuse = conn.our_state is h11.DONE and conn.their_state is h11.DONE
                for attempt in range(2):
                    if reuse and attempt == 0:
                        conn.start_next_cycle()    # the same connection, kept alive
                    else:
                        # closed after the 401 (said or not): a new connection
                        writer.close()
                        reader, writer = await asyncio.open_connection(p.hostname, port)
                        conn = h11.Connection(h11.CLIENT)
                    try:
                        status, headers, body = await _exchange(
                            reader, writer, conn, target, host_header, authorization, max_bytes)
                        break
                    except _ClosedBeforeAnswer:
                        if not reuse or attempt == 1:
                            raise h11.RemoteProtocolError(
                                "connection closed without an answer") from None
        if 300 <= status < 400 and status != 304:
            raise NeedsFullClient(f"HTTP {status} redirect")
        merged: dict[str, str] = {}
        for k, v in headers:
            merged[k] = f"{merged[k]}, {v}" if k in merged else v
        return status, merged, body
    finally:
        writer.close()
