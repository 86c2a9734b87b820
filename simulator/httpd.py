"""A small HTTP/1.1 server protocol for the virtual devices.

One listening socket per device address, all sharing this protocol class and one
handler: a full web framework per address would cost too much memory at 10,000
devices, and faults such as truncated answers or swallowed requests need control of the
raw bytes anyway. Keep-alive, Content-Length bodies; no chunked requests (ONVIF clients
do not send them).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("simulator")
MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    version: str
    headers: dict[str, str]
    body: bytes
    local_ip: str


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: list[tuple[str, str]] = field(default_factory=list)
    truncate: bool = False      # send half the promised body, then close
    close: bool = False

    def encode_head(self, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}",
                 f"Content-Type: {self.content_type}",
                 f"Content-Length: {len(self.body)}",
                 "Server: Embedded-Web-Server/3.0",
                 "Connection: keep-alive" if keep_alive else "Connection: close"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# Handler: returns a Response, or None to swallow the request (no answer ever).
Handler = Callable[[object, Request], Awaitable["Response | None"]]


class HttpProtocol(asyncio.Protocol):
    """Serves requests on one accepted connection, one at a time."""

    __slots__ = ("device", "handler", "registry", "transport", "buf", "busy", "dead", "local_ip",
                 "idle")

    # Like cameras, close idle keep-alive connections after a while; and when the process
    # nears its descriptor limit, answer with "Connection: close" (clients pooling idle
    # connections to thousands of devices would otherwise exhaust it).
    idle_timeout = 10.0
    max_open = 4000
    open_count = 0

    def __init__(self, device: object, handler: Handler, registry: set):
        self.device = device
        self.handler = handler
        self.registry = registry
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False
        self.dead = False
        self.local_ip = ""
        self.idle: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.idle = asyncio.get_running_loop().call_later(self.idle_timeout, self._expire)

    def _expire(self) -> None:
        if not self.busy and not self.dead and self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("sockname")
        self.local_ip = sock[0] if sock else ""
        self.registry.add(self)
        HttpProtocol.open_count += 1
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        HttpProtocol.open_count -= 1
        self.dead = True
        self.registry.discard(self)
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > MAX_HEAD + MAX_BODY:
            self.abort()
            return
        self._next()

    def abort(self) -> None:
        if self.transport is not None and not self.dead:
            self.transport.abort()

    def _next(self) -> None:
        if self.busy or self.dead:
            return
        req = self._parse()
        if req is None:
            return
        self.busy = True
        asyncio.get_running_loop().create_task(self._serve(req))

    def _bad(self, status: int) -> None:
        self.buf.clear()
        if self.transport is not None:
            self.transport.write(Response(status, b"bad request").encode_head(False) + b"bad request")
            self.transport.close()
        self.dead = True

    def _parse(self) -> Request | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self._bad(400)
            return None
        try:
            head = bytes(self.buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            self._bad(400)
            return None
        if length < 0 or length > MAX_BODY:
            self._bad(413)
            return None
        if len(self.buf) < end + 4 + length:
            return None
        body = bytes(self.buf[end + 4:end + 4 + length])
        del self.buf[:end + 4 + length]
        parts = urlsplit(target)
        return Request(method.upper(), parts.path, parse_qs(parts.query), version, headers, body,
                       self.local_ip)

    async def _serve(self, req: Request) -> None:
        try:
            resp = await self.handler(self.device, req)
        except Exception:   # a bug must not kill the fleet: answer 500 and go on
            log.exception("handler failed")
            resp = Response(500, b"internal error")
        if self.dead or self.transport is None or self.transport.is_closing():
            return
        if resp is None:
            # Swallowed: keep the connection open, answer nothing, read nothing more.
            self.transport.pause_reading()
            return
        keep = (req.version == "HTTP/1.1" and req.headers.get("connection", "").lower() != "close"
                and not resp.close and not resp.truncate and HttpProtocol.open_count < self.max_open)
        head = resp.encode_head(keep)
        if resp.truncate:
            self.transport.write(head + resp.body[: max(1, len(resp.body) // 2)])
            self.transport.close()
            self.dead = True
            return
        self.transport.write(head + resp.body)
        if not keep:
            self.transport.close()
            self.dead = True
            return
        self.busy = False
        self._arm()
        if self.buf:
            self._next()
