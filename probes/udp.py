"""One UDP socket for many concurrent request/answer exchanges on one event loop.

asyncio's own datagram transport reads a single datagram per readiness callback, that
is one per turn of the event loop. A socket shared by a hundred SNMP exchanges on a
loop that is also parsing ONVIF answers then hands over one answer per turn while the
rest wait in the kernel's buffer; the request timers fire and a device that answered
in a millisecond is reported silent. So this endpoint:

* reads everything queued on each readiness callback;
* stamps each datagram with the kernel's receive time (``SO_TIMESTAMPNS``), so an
  answer is judged by when it reached this machine, not by when the loop got to it;
* offers ``drain()``, which a timer that expires calls before deciding "no answer".

Times are on the event loop's clock (``time.monotonic``), like ``loop.time()``.
"""
from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Callable, Optional

Handler = Callable[[bytes, tuple, float], None]     # (data, (host, port), arrival)

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SCM_TIMESTAMPNS = _SO_TIMESTAMPNS
_TS = struct.Struct("@qq")          # struct timespec on 64-bit Linux
_MAX_PER_CALL = 4096                # bound one callback's work even under a flood


class UdpEndpoint:
    """A non-blocking UDP socket read by ``loop.add_reader``; every datagram goes to
    ``handler(data, addr, arrival)`` with ``arrival`` on the monotonic clock."""

    def __init__(self, handler: Handler, family: int = socket.AF_INET,
                 rcvbuf: int = 4 << 20) -> None:
        self.handler = handler
        self.family = family
        self.rcvbuf = rcvbuf
        self.sock: Optional[socket.socket] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._stamped = False
        self.received = 0
        self.max_batch = 0          # most datagrams found queued at once (diagnostics)

    def open(self, loop: Optional[asyncio.AbstractEventLoop] = None,
             local: tuple = ("0.0.0.0", 0)) -> "UdpEndpoint":
        self.loop = loop or asyncio.get_running_loop()
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            self._stamped = True
        except OSError:
            self._stamped = False
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        except OSError:
            pass
        s.setblocking(False)
        s.bind(local)
        self.sock = s
        self.loop.add_reader(s.fileno(), self.drain)
        return self

    def sendto(self, data: bytes, addr: tuple) -> float:
        """Send; returns the send time (monotonic). Errors of a dead route are the
        device's silence, left to the caller's timeout."""
        assert self.sock is not None, "endpoint not open"
        try:
            self.sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            pass        # the socket buffer is full: the datagram is lost, as on a wire
        except OSError:
            pass
        return time.monotonic()

    def drain(self) -> int:
        """Read every datagram queued now; returns how many."""
        s = self.sock
        if s is None:
            return 0
        n = 0
        anc = socket.CMSG_SPACE(_TS.size) if self._stamped else 0
        while n < _MAX_PER_CALL:
            try:
                data, ancdata, _flags, addr = s.recvmsg(65535, anc)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # ICMP port unreachable of an earlier send (ECONNREFUSED): not ours to
                # attribute to one request; the timeouts speak for it.
                continue
            now_mono, now_real = time.monotonic(), time.time()
            arrival = now_mono
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == _SCM_TIMESTAMPNS \
                        and len(cdata) >= _TS.size:
                    sec, nsec = _TS.unpack_from(cdata)
                    # The kernel stamps with the wall clock; carry the age over.
                    arrival = now_mono - max(0.0, now_real - (sec + nsec / 1e9))
            n += 1
            try:
                self.handler(data, addr, arrival)
            except Exception:  # noqa: BLE001 - one bad datagram never stops the reader
                pass
        self.received += n
        self.max_batch = max(self.max_batch, n)
        return n

    def close(self) -> None:
        if self.sock is not None:
            if self.loop is not None and not self.loop.is_closed():
                try:
                    self.loop.remove_reader(self.sock.fileno())
                except Exception:  # noqa: BLE001
                    pass
            self.sock.close()
            self.sock = None
