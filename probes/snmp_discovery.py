"""SNMPv3 engine discovery (RFC 3414 §4): ask an agent its snmpEngineID.

Needed when one user name carries different keys on different devices (per-device
passphrases): pysnmp keeps one user row per (user name, engine ID), so the keys must
be registered against each device's own engine ID, which this learns with one
unauthenticated request (the agent answers a Report carrying its engine ID).
"""
from __future__ import annotations

import asyncio
import random
from typing import Optional

from probes.snmp_ber import BerError, _int, _read, _tlv
from probes.udp import UdpEndpoint


def discovery_request(msg_id: int, request_id: int) -> bytes:
    """A noAuthNoPriv, reportable GET with empty engine ID and user."""
    global_data = _tlv(0x30, _int(msg_id) + _int(65507) + _tlv(0x04, b"\x04") + _int(3))
    usm = _tlv(0x04, _tlv(0x30, _tlv(0x04, b"") + _int(0) + _int(0) + _tlv(0x04, b"")
                          + _tlv(0x04, b"") + _tlv(0x04, b"")))
    pdu = _tlv(0xA0, _int(request_id) + _int(0) + _int(0) + _tlv(0x30, b""))
    scoped = _tlv(0x30, _tlv(0x04, b"") + _tlv(0x04, b"") + pdu)
    return _tlv(0x30, _int(3) + global_data + usm + scoped)


def engine_id_of(data: bytes) -> tuple[int, bytes]:
    """(msgID, msgAuthoritativeEngineID) of an SNMPv3 message; BerError otherwise."""
    try:
        tag, s, e = _read(data, 0, len(data))
        if tag != 0x30:
            raise BerError("not a SEQUENCE")
        tag, vs, ve = _read(data, s, e)
        if tag != 0x02 or int.from_bytes(data[vs:ve], "big") != 3:
            raise BerError("not SNMPv3")
        tag, gs, ge = _read(data, ve, e)
        if tag != 0x30:
            raise BerError("no msgGlobalData")
        tag, ms, me = _read(data, gs, ge)
        msg_id = int.from_bytes(data[ms:me], "big")
        tag, ps, pe = _read(data, ge, e)
        if tag != 0x04:
            raise BerError("no msgSecurityParameters")
        tag, us, ue = _read(data, ps, pe)
        if tag != 0x30:
            raise BerError("bad USM parameters")
        tag, es_, ee = _read(data, us, ue)
        if tag != 0x04:
            raise BerError("no engine ID")
        return msg_id, bytes(data[es_:ee])
    except IndexError as exc:
        raise BerError("truncated") from exc


class EngineDiscovery:
    """One socket for a client's discoveries; answers matched by msgID."""

    def __init__(self) -> None:
        self.udp = UdpEndpoint(self._received)
        self.pending: dict[int, tuple[asyncio.Future, tuple[str, int]]] = {}
        self.known: dict[tuple[str, int], bytes] = {}
        self._next = random.randrange(1, 2 ** 30)
        self._open = False

    def _received(self, data: bytes, addr: tuple, arrival: float) -> None:
        try:
            msg_id, eid = engine_id_of(data)
        except BerError:
            return
        entry = self.pending.get(msg_id)
        if entry is None or entry[1] != (addr[0], addr[1]) or entry[0].done() or not eid:
            return
        entry[0].set_result((eid, arrival))

    async def engine_id(self, host: str, port: int, timeout: float,
                        tries: int = 2) -> Optional[bytes]:
        """The agent's engine ID, or None when it does not answer in time."""
        from probes.snmp import _answer_by
        addr = (host, port)
        if addr in self.known:
            return self.known[addr]
        if not self._open:
            self.udp.open(asyncio.get_running_loop())
            self._open = True
        self._next = self._next % (2 ** 31 - 1) + 1
        msg_id = self._next
        fut = asyncio.get_running_loop().create_future()
        self.pending[msg_id] = (fut, addr)
        try:
            msg = discovery_request(msg_id, msg_id)
            for _ in range(tries):
                sent = self.udp.sendto(msg, addr)
                got = await _answer_by(fut, sent + timeout, self.udp)
                if got is not None:
                    self.known[addr] = got[0]
                    return got[0]
        finally:
            self.pending.pop(msg_id, None)
        return None

    def close(self) -> None:
        self.udp.close()
