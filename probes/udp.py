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

The kernel stamps arriving datagrams only while some socket of the machine asks for it,
and it turns stamping on for the first such socket later, from a work queue: until then
a datagram is stamped when it is read, so an answer that waited in the buffer through a
stalled loop reads as late. ``open()`` therefore waits, a few milliseconds at most, until a
datagram sent to itself comes back stamped at its arrival.

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
_STAMPS_PATIENCE_S = 0.25           # longest wait for the kernel to start stamping


def _stamp_of(ancdata: list) -> Optional[float]:
    """The kernel's receive time (wall clock) of a datagram, from its ancillary data."""
    for level, kind, cdata in ancdata:
        if level == socket.SOL_SOCKET and kind == _SCM_TIMESTAMPNS and len(cdata) >= _TS.size:
            sec, nsec = _TS.unpack_from(cdata)
            return sec + nsec / 1e9
    return None


def _stamps_at_arrival(s: socket.socket, family: int) -> bool:
    """Whether datagrams reaching ``s`` are stamped when they arrive rather than when
    they are read: one sent to itself over loopback is queued before ``sendto`` returns,
    so a stamp taken on arrival is no later than that return."""
    host, port = s.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        s.sendto(b"\0", (host, port))
    except OSError:
        return False
    sent_by = time.time()
    for _ in range(50):
        try:
            _data, ancdata, _flags, _addr = s.recvmsg(16, socket.CMSG_SPACE(_TS.size))
        except (BlockingIOError, InterruptedError):
            time.sleep(0.0002)      # delivered by the softirq thread under load
            continue
        except OSError:
            return False
        stamp = _stamp_of(ancdata)
        return stamp is not None and stamp <= sent_by
    return False


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
        if self._stamped:
            self._stamped = self._until_stamped(s)
        self.sock = s
        self.loop.add_reader(s.fileno(), self.drain)
        return self

    def _until_stamped(self, s: socket.socket) -> bool:
        """Wait until the kernel stamps this socket's datagrams on arrival (about a
        millisecond when it has to turn stamping on, nothing when another socket keeps it
        on); False when it does not within ``_STAMPS_PATIENCE_S``: arrivals are then the
        read times, as without stamps."""
        give_up = time.monotonic() + _STAMPS_PATIENCE_S
        while not _stamps_at_arrival(s, self.family):
            if time.monotonic() > give_up:
                return False
            time.sleep(0.001)
        return True

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
            stamp = _stamp_of(ancdata) if self._stamped else None
            if stamp is not None:
                # The kernel stamps with the wall clock; carry the age over.
                arrival = now_mono - max(0.0, now_real - stamp)
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
