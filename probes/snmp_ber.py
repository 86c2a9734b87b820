"""A small BER codec for SNMPv2c GET / GETBULK requests and their responses.

Why not pysnmp's hlapi for v2c too: at fleet scale it cost ~12 ms of CPU per device
here, most of it pyasn1 decoding and per-target rows that hlapi adds to the engine's
configuration tables (which grow with the number of devices ever probed). SNMPv2c
messages are a fixed, tiny subset of BER, so we encode and decode them directly;
The PDU layer (``encode_pdu``/``decode_pdu``) is shared with the SNMPv3 USM codec
(``snmp_usm``), which wraps the same PDUs in a v3 message.
Decoding never raises anything but ``BerError`` on bad input.
"""
from __future__ import annotations

from typing import Any, Optional

GET, GETNEXT, RESPONSE, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8


class BerError(ValueError):
    """The bytes are not a well-formed SNMPv2c message."""


class _Exception:
    """SNMP exception values inside a varbind (RFC 3416)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT = _Exception("noSuchObject")
NO_SUCH_INSTANCE = _Exception("noSuchInstance")
END_OF_MIB = _Exception("endOfMibView")
_EXCEPTIONS = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB}
_UNSIGNED = {0x41, 0x42, 0x43, 0x46, 0x47}     # Counter32 Gauge32 TimeTicks Counter64 UInt32


# ---------------------------------------------------------------- encoding

def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _len(len(body)) + body


def _int(v: int) -> bytes:
    return _tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def _oid(oid: str) -> bytes:
    try:
        arcs = [int(a) for a in oid.strip(".").split(".")]
    except ValueError as exc:
        raise BerError(f"bad OID {oid!r}") from exc
    if len(arcs) < 2 or arcs[0] > 2 or any(a < 0 for a in arcs):
        raise BerError(f"bad OID {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def encode_request(community: str, request_id: int, oids: list[str], *, pdu: int = GET,
                   non_repeaters: int = 0, max_repetitions: int = 0, version: int = 1) -> bytes:
    """An SNMPv2c (``version=1``) or SNMPv1 (``version=0``, no GETBULK) GET/GETNEXT/GETBULK
    message asking for ``oids``."""
    if version == 0 and pdu == GETBULK:
        raise BerError("SNMPv1 has no GETBULK")
    return _tlv(0x30, _int(version) + _tlv(0x04, community.encode("utf-8"))
                + encode_pdu(request_id, oids, pdu=pdu, non_repeaters=non_repeaters,
                             max_repetitions=max_repetitions))


def encode_pdu(request_id: int, oids: list[str], *, pdu: int = GET, non_repeaters: int = 0,
               max_repetitions: int = 0) -> bytes:
    """A GET/GETNEXT/GETBULK PDU asking for ``oids`` (values NULL)."""
    varbinds = b"".join(_tlv(0x30, _oid(o) + b"\x05\x00") for o in oids)
    if pdu == GETBULK:
        a, b = non_repeaters, max_repetitions
    else:
        a = b = 0
    return _tlv(pdu, _int(request_id) + _int(a) + _int(b) + _tlv(0x30, varbinds))


# ---------------------------------------------------------------- decoding

def _read(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > end:
            raise BerError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError("truncated")
    return tag, pos, pos + n


def _decode_oid(b: bytes) -> str:
    if not b:
        raise BerError("empty OID")
    arcs: list[int] = []
    val = 0
    for byte in b:
        val = (val << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(val)
            val = 0
    if b[-1] & 0x80:
        raise BerError("OID ends mid-arc")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _value(tag: int, b: bytes) -> Any:
    if tag == 0x02:
        return int.from_bytes(b, "big", signed=True) if b else 0
    if tag in _UNSIGNED:
        return int.from_bytes(b, "big", signed=False) if b else 0
    if tag in (0x04, 0x44):
        return bytes(b)
    if tag == 0x05:
        return None
    if tag == 0x06:
        return _decode_oid(b)
    if tag == 0x40:
        return ".".join(str(x) for x in b)
    if tag in _EXCEPTIONS:
        return _EXCEPTIONS[tag]
    raise BerError(f"unknown value tag 0x{tag:02x}")


class Response:
    __slots__ = ("community", "request_id", "error_status", "error_index", "varbinds")

    def __init__(self, community: bytes, request_id: int, error_status: int, error_index: int,
                 varbinds: list[tuple[str, Any]]) -> None:
        self.community, self.request_id = community, request_id
        self.error_status, self.error_index, self.varbinds = error_status, error_index, varbinds


def decode_response(data: bytes) -> Response:
    """Parse an SNMPv1/v2c Response-PDU. Raises ``BerError`` on anything else."""
    try:
        tag, s, e = _read(data, 0, len(data))
        if tag != 0x30:
            raise BerError("not a SEQUENCE")
        tag, vs, ve = _read(data, s, e)
        if tag != 0x02 or int.from_bytes(data[vs:ve], "big") not in (0, 1):
            raise BerError("not SNMPv1/v2c")
        tag, cs, ce = _read(data, ve, e)
        if tag != 0x04:
            raise BerError("no community")
        community = data[cs:ce]
        tag, rid, status, index, varbinds = decode_pdu(data, ce, e)
        if tag != RESPONSE:
            raise BerError(f"PDU 0x{tag:02x} is not a response")
        return Response(community, rid, status, index, varbinds)
    except IndexError as exc:     # defensive: any slip past a bound is a bad message
        raise BerError("truncated") from exc


def decode_pdu(data: bytes, pos: int, end: int
               ) -> tuple[int, int, int, int, list[tuple[str, Any]]]:
    """(PDU tag, request-id, error-status, error-index, varbinds) of the PDU at ``pos``."""
    try:
        tag, ps, pe = _read(data, pos, end)
        if tag & 0xE0 != 0xA0:
            raise BerError(f"tag 0x{tag:02x} is not a PDU")
        nums = []
        pos = ps
        for _ in range(3):
            t, a, b = _read(data, pos, pe)
            if t != 0x02:
                raise BerError("bad PDU header")
            nums.append(int.from_bytes(data[a:b], "big", signed=True))
            pos = b
        t, ls, le = _read(data, pos, pe)
        if t != 0x30:
            raise BerError("no varbind list")
        varbinds = []
        pos = ls
        while pos < le:
            t, vbs, vbe = _read(data, pos, le)
            if t != 0x30:
                raise BerError("bad varbind")
            t, os_, oe = _read(data, vbs, vbe)
            if t != 0x06:
                raise BerError("varbind without OID")
            vtag, xs, xe = _read(data, oe, vbe)
            varbinds.append((_decode_oid(data[os_:oe]), _value(vtag, data[xs:xe])))
            pos = vbe
        return tag, nums[0], nums[1], nums[2], varbinds
    except IndexError as exc:
        raise BerError("truncated") from exc


ERROR_STATUS = {0: "noError", 1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly",
                5: "genErr", 6: "noAccess", 16: "authorizationError"}


def error_name(status: int) -> str:
    return ERROR_STATUS.get(status, f"error {status}")


def maybe_text(v: Any) -> Optional[str]:
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return v.decode("latin-1")
    return None if v is None else str(v)
