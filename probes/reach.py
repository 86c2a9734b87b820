"""Reachability: TCP connect to the device's service ports, optional ICMP echo.

TCP decides ``ok``; ICMP is extra evidence and only tried when asked for and when
the process may open an ICMP socket (raw as root, or an unprivileged datagram ICMP
socket where ``net.ipv4.ping_group_range`` allows it). Without permission it is
skipped cleanly (``icmp=None``), never reported as a failure.
"""
from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from typing import Optional

from probes.errors import classify
from probes.model import ProbeError, ReachResult

# Reach failures ranked: the most telling kind wins when every port failed.
_RANK = {"refused": 0, "reset": 1, "unreachable": 2, "timeout": 3}


async def tcp_connect(host: str, port: int, timeout: float) -> float:
    """Connect and close; return the connect time in ms. Raises on failure."""
    t0 = time.perf_counter()
    async with asyncio.timeout(timeout):
        _reader, writer = await asyncio.open_connection(host, port)
    rtt = (time.perf_counter() - t0) * 1000.0
    writer.close()
    try:
        # Do not wait for a polite close from a device that may be broken.
        async with asyncio.timeout(min(0.5, timeout)):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
    return rtt


async def probe_reach(host: str, ports: list[int], timeout: float, *,
                      icmp: bool = False) -> ReachResult:
    """Try each port in turn (one connection at a time per host), all within ``timeout``.

    A device is reachable when any port accepts. Ports are tried sequentially, stopping at
    the first success, so a healthy device costs one connect.
    """
    result = ReachResult(ok=False)
    deadline = time.monotonic() + timeout
    errors: list[ProbeError] = []
    for port in ports:
        left = deadline - time.monotonic()
        if left <= 0:
            errors.append(ProbeError("timeout", f"no time left for port {port}", "reach"))
            result.ports_failed[str(port)] = "timeout"
            continue
        try:
            rtt = await tcp_connect(host, port, left)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a value
            err = classify(exc, "reach")
            errors.append(ProbeError(err.kind, f"port {port}: {err.message}", "reach"))
            result.ports_failed[str(port)] = err.kind
            continue
        result.ports_open.append(port)
        result.rtt_ms = rtt if result.rtt_ms is None else min(result.rtt_ms, rtt)
        result.ok = True
        break
    if icmp:
        left = max(0.05, deadline - time.monotonic())
        result.icmp, result.icmp_rtt_ms = await icmp_echo(host, left)
        if not ports and result.icmp is not None:
            result.ok = result.icmp
            if result.ok:
                result.rtt_ms = result.icmp_rtt_ms
    if not result.ok:
        if errors:
            result.error = max(errors, key=lambda e: _RANK.get(e.kind, -1))
        elif not ports:
            result.error = ProbeError("unsupported", "no TCP port to try", "reach")
        else:
            result.error = ProbeError("timeout", "no answer to ICMP echo", "reach")
    return result


# ---------------------------------------------------------------- ICMP

def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _open_icmp_socket() -> Optional[tuple[socket.socket, bool]]:
    """(socket, is_raw) or None when the process may not send ICMP."""
    for kind, raw in ((socket.SOCK_RAW, True), (socket.SOCK_DGRAM, False)):
        try:
            sock = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
        except (PermissionError, OSError):
            continue
        sock.setblocking(False)
        return sock, raw
    return None


def icmp_allowed() -> bool:
    opened = _open_icmp_socket()
    if opened is None:
        return False
    opened[0].close()
    return True


async def icmp_echo(host: str, timeout: float) -> tuple[Optional[bool], Optional[float]]:
    """(answered, rtt_ms), or (None, None) when ICMP is not permitted here."""
    opened = _open_icmp_socket()
    if opened is None:
        return None, None
    sock, raw = opened
    loop = asyncio.get_running_loop()
    ident = (os.getpid() ^ id(sock)) & 0xFFFF
    seq = 1
    payload = struct.pack("!d", time.perf_counter())
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_sendto(sock, packet, (host, 0))
            while True:
                data, addr = await loop.sock_recvfrom(sock, 2048)
                if raw:
                    data = data[(data[0] & 0x0F) * 4:]     # strip the IP header
                if len(data) < 8 or addr[0] != host:
                    continue
                typ, _code, _ck, rid, rseq = struct.unpack("!BBHHH", data[:8])
                # A datagram ICMP socket rewrites the id; the kernel filters for us then.
                if typ == 0 and rseq == seq and (rid == ident or not raw):
                    return True, (time.perf_counter() - t0) * 1000.0
    except (TimeoutError, OSError):
        return False, None
    finally:
        sock.close()
