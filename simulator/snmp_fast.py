"""Fast path of the fleet's SNMP agent: SNMPv1/v2c GET, GETNEXT and GETBULK, and SNMPv3
authPriv reads, answered with a small BER codec instead of pysnmp's engine.

One pysnmp engine decoding, dispatching and re-encoding every datagram costs the simulator
~5 ms CPU per v2c device probed and ~11 ms per v3 device, more than the platform spends;
the simulated fleet stands in for thousands of devices that would each have a CPU of their
own, so the rig, not the platform, made healthy devices answer late. This path answers the
common requests itself and gives the answer pysnmp gives (tests/simulator/test_sim_snmp_fast.py
compares both: byte for byte for v1/v2c, decoded values for v3, whose salt differs):

* the MIB is the one `snmp.MibView` serves (same value functions, same OID table, same
  DeviceState, so faults, PoE, counters and uptime agree), walked with the same rules as
  `snmp.FleetResponder` (noSuchObject / noSuchInstance / endOfMibView, GETBULK's
  repetitions capped at `FleetResponder.max_varbinds` varbinds);
* SNMPv1 answers as pysnmp's RFC 2576 proxy does: an exception value becomes
  noSuchName(2) with the index of the first such varbind and the request's varbinds;
* SNMPv3 engine discovery (a reportable noAuthNoPriv request with an empty engine ID): the
  Report pysnmp sends, from pysnmp's own usmStatsUnknownEngineIDs counter;
* SNMPv3 (RFC 3414 USM, HMAC-SHA-96; RFC 3826 AES-128-CFB): an authPriv request of the
  device's own user to the device's own engine ID, inside the time window of the pysnmp
  engine's snmpEngineBoots/Time (which the answer carries, as pysnmp's does), with a correct
  digest, the default context, and an answer within the requester's msgMaxSize;
* a request is taken only in plain BER (definite minimal lengths, integers of at most 5
  octets, NULL values, no trailing bytes) with the addressed device's own community.

Everything else returns None and goes to pysnmp as before: SET and any other PDU, a wrong
community, every other USM report (unknown engine ID or user, wrong digest, not in time
window, decryption error), a datagram in any other BER form (malformed input
keeps pysnmp's behaviour), a device with SNMP quirks, and an SNMPv1 answer that would
carry a Counter64.
"""
from __future__ import annotations

import bisect
import hashlib
import hmac
import os
from typing import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:    # CFB's home from cryptography 47 on; the old one goes in 49
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:     # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB  # type: ignore

from pysnmp.proto import rfc1902

from .faults import DeviceState
from .snmp import FleetResponder, MibView, oid_table

GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB = b"\x80\x00", b"\x81\x00", b"\x82\x00"
INT32 = (-(1 << 31), (1 << 31) - 1)
USM_STATS_UNKNOWN_ENGINE_IDS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)


class NotOurs(Exception):
    """The datagram is not one this path answers: pysnmp takes it."""


# -- BER encoding ---------------------------------------------------------------------
def enc_len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(b),)) + b


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    return bytes((tag,)) + enc_len(n) + body


def enc_int(tag: int, v: int) -> bytes:
    """Two's complement, minimal (unsigned SNMP types get a leading 0 when the top bit is
    set, as BER's INTEGER encoding requires)."""
    if 0 <= v < 0x80:
        return bytes((tag, 1, v))
    body = v.to_bytes(v.bit_length() // 8 + 1, "big", signed=True)
    return tlv(tag, body)


def enc_oid(oid: tuple[int, ...]) -> bytes:
    out = bytearray()
    if len(oid) < 2:
        raise NotOurs("short OID")
    arcs = (oid[0] * 40 + oid[1],) + tuple(oid[2:])
    for a in arcs:
        if a < 0x80:
            out.append(a)
        else:
            chunk = [a & 0x7F]
            a >>= 7
            while a:
                chunk.append(0x80 | (a & 0x7F))
                a >>= 7
            out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


_OID_CACHE: dict[tuple[int, ...], bytes] = {}


def oid_bytes(oid: tuple[int, ...]) -> bytes:
    b = _OID_CACHE.get(oid)
    if b is None:
        b = enc_oid(oid)
        if len(_OID_CACHE) < 200_000:
            _OID_CACHE[oid] = b
    return b


# Types MibView.value() returns, by class: (BER tag, how to read the python value).
_INT_TAGS = {rfc1902.Integer32: 0x02, rfc1902.Integer: 0x02, rfc1902.Counter32: 0x41,
             rfc1902.Gauge32: 0x42, rfc1902.Unsigned32: 0x42, rfc1902.TimeTicks: 0x43,
             rfc1902.Counter64: 0x46}


def enc_value(v) -> bytes:
    t = type(v)
    tag = _INT_TAGS.get(t)
    if tag is not None:
        return enc_int(tag, int(v))
    if t is rfc1902.OctetString:
        return tlv(0x04, v.asOctets())
    if t is rfc1902.ObjectIdentifier:
        return oid_bytes(tuple(v))
    if t is rfc1902.IpAddress:
        return tlv(0x40, v.asOctets())
    if t is rfc1902.Null:
        return b"\x05\x00"
    raise NotOurs(f"value type {t.__name__}")


# -- BER decoding (the plain forms only) -----------------------------------------------
def _head(d: bytes, i: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the TLV at i."""
    if i + 2 > end:
        raise NotOurs("truncated")
    tag, n = d[i], d[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or i + k > end or d[i] == 0:
            raise NotOurs("length form")        # indefinite / non-minimal / huge
        n = int.from_bytes(d[i:i + k], "big")
        if n < 0x80:
            raise NotOurs("non-minimal length")
        i += k
    if i + n > end:
        raise NotOurs("truncated")
    return tag, i, i + n


def _int(d: bytes, s: int, e: int, lo: int, hi: int) -> int:
    # Non-minimal forms are read as pyasn1 reads them (it writes -2**k as ff 80 ..).
    if e == s or e - s > 5:
        raise NotOurs("integer size")
    v = int.from_bytes(d[s:e], "big", signed=True)
    if not lo <= v <= hi:
        raise NotOurs("integer range")
    return v


def _oid(d: bytes, s: int, e: int) -> tuple[int, ...]:
    if e == s or e - s > 255:
        raise NotOurs("OID size")
    arcs: list[int] = []
    v = 0
    fresh = True
    for i in range(s, e):
        b = d[i]
        if fresh and b == 0x80:
            raise NotOurs("OID padding")
        v = (v << 7) | (b & 0x7F)
        if b & 0x80:
            fresh = False
        else:
            arcs.append(v)
            v, fresh = 0, True
    if not fresh:
        raise NotOurs("OID truncated")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def decode_request(d: bytes) -> tuple[int, bytes, int, int, int, int, list[tuple[tuple[int, ...], bytes]]]:
    """(version, community, pdu tag, request-id, non-repeaters, max-repetitions,
    [(oid, encoded oid)]) of a v1/v2c GET/GETNEXT/GETBULK in plain BER."""
    end = len(d)
    tag, s, e = _head(d, 0, end)
    if tag != 0x30 or e != end:
        raise NotOurs("not one message")
    tag, s2, e2 = _head(d, s, e)
    if tag != 0x02:
        raise NotOurs("version")
    version = _int(d, s2, e2, 0, 1)
    tag, s3, e3 = _head(d, e2, e)
    if tag != 0x04:
        raise NotOurs("community")
    community = d[s3:e3]
    return (version, community) + decode_pdu(d, e3, e, version)


def decode_pdu(d: bytes, i: int, end: int, version: int):
    """(pdu tag, request-id, non-repeaters, max-repetitions, [(oid, encoded oid)]) of the
    GET/GETNEXT/GETBULK PDU that fills d[i:end]."""
    ptag, ps, pe = _head(d, i, end)
    if pe != end or ptag not in (GET, GETNEXT, GETBULK) or ptag == GETBULK and version == 0:
        raise NotOurs("pdu")
    tag, a, b = _head(d, ps, pe)
    if tag != 0x02:
        raise NotOurs("request-id")
    rid = _int(d, a, b, *INT32)
    tag, a, b2 = _head(d, b, pe)
    if tag != 0x02:
        raise NotOurs("error-status")
    bulk = ptag == GETBULK
    f1 = _int(d, a, b2, 0, INT32[1] if bulk else 5 if version == 0 else 18)
    tag, a, b3 = _head(d, b2, pe)
    if tag != 0x02:
        raise NotOurs("error-index")
    f2 = _int(d, a, b3, 0, INT32[1])
    tag, ls, le = _head(d, b3, pe)
    if tag != 0x30 or le != pe:
        raise NotOurs("varbind list")
    vbs = []
    i = ls
    while i < le:
        tag, vs, ve = _head(d, i, le)
        if tag != 0x30:
            raise NotOurs("varbind")
        tag, os_, oe = _head(d, vs, ve)
        if tag != 0x06:
            raise NotOurs("name")
        oid = _oid(d, os_, oe)
        if d[oe:ve] != b"\x05\x00":
            raise NotOurs("value not NULL")
        vbs.append((oid, d[vs:oe]))
        i = ve
    return ptag, rid, f1, f2, vbs


def response_pdu(rid: int, status: int, index: int, out) -> bytes:
    body = b"".join(tlv(0x30, name + (v if type(v) is bytes else enc_value(v))) for name, v in out)
    return tlv(RESPONSE, enc_int(0x02, rid) + enc_int(0x02, status) + enc_int(0x02, index)
               + tlv(0x30, body))


# -- answering --------------------------------------------------------------------------
class FastResponder:
    """Answers what it can of one datagram to one device; see the module docstring."""

    def __init__(self, by_ip: dict[str, DeviceState], mib: MibView, clock: Callable[[], float],
                 quirks: dict[str, set[str]],
                 usm_keys: Callable[[DeviceState], tuple[bytes, bytes, bytes] | None] | None = None,
                 engine_state: Callable[[], tuple[int, int, int]] | None = None,
                 unknown_engine_id: Callable[[], int] | None = None):
        self.by_ip = by_ip
        self.mib = mib
        self.clock = clock
        self.quirks = quirks
        # SNMPv3: usm_keys(dev) -> (engine ID, localised SHA-1 auth key, AES-128 key) of the
        # device's user; engine_state() -> (snmpEngineBoots, snmpEngineTime,
        # snmpEngineMaxMessageSize) of the pysnmp engine, which the USM answers with.
        self.usm_keys = usm_keys
        self.engine_state = engine_state
        self.unknown_engine_id = unknown_engine_id     # counts a discovery, returns the count
        self.salt = int.from_bytes(os.urandom(8), "big")
        self.answered = 0       # datagrams answered here (the rest went to pysnmp)
        self.passed = 0
        self.errors = 0         # unexpected exceptions (a bug here), passed to pysnmp too

    def answer(self, data: bytes, ip: str) -> bytes | None:
        """The encoded response, or None: pysnmp takes the datagram."""
        try:
            out = self._answer(data, ip)
        except NotOurs:
            out = None
        except Exception:       # a bug here must not silence the device: pysnmp answers
            self.errors += 1
            out = None
        if out is None:
            self.passed += 1
        else:
            self.answered += 1
        return out

    def _answer(self, data: bytes, ip: str) -> bytes | None:
        dev = self.by_ip.get(ip)
        if dev is None or self.quirks.get(ip):
            return None
        if data[2:5] == b"\x02\x01\x03" or data[3:6] == b"\x02\x01\x03" or data[4:7] == b"\x02\x01\x03":
            return self._answer_v3(data, dev) if self.usm_keys is not None else None
        version, community, ptag, rid, nonrep, maxrep, req = decode_request(data)
        spec = dev.spec
        if community != spec.snmp_community.encode("utf-8"):
            return None         # pysnmp drops it (and counts it)
        out = self.varbinds(dev, ptag, nonrep, maxrep, req)
        status = index = 0
        if version == 0:
            # RFC 2576 4.1.2.2 as pysnmp's proxy applies it: the lowest index of an
            # exception value, noSuchName, and the request's own varbinds.
            for k in range(len(out) - 1, -1, -1):
                v = out[k][1]
                if type(v) is rfc1902.Counter64:
                    return None         # pysnmp's own v1 rules (an error or silence)
                if type(v) is bytes:        # noSuchObject / noSuchInstance / endOfMibView
                    status, index = 2, k + 1
            if status:
                out = [(name, b"\x05\x00") for _oid, name in req]
        return tlv(0x30, bytes((0x02, 0x01, version)) + tlv(0x04, community)
                   + response_pdu(rid, status, index, out))

    def _answer_v3(self, d: bytes, dev: DeviceState) -> bytes | None:
        """An authPriv (HMAC-SHA-96, AES-128-CFB) read from the device's own user, inside
        the time window; anything else (discovery, reports, other levels) is pysnmp's."""
        keys = self.usm_keys(dev)
        if keys is None:
            return None
        eid, kauth, kpriv = keys
        end = len(d)
        tag, s, e = _head(d, 0, end)
        if tag != 0x30 or e != end:
            raise NotOurs("not one message")
        tag, a, b = _head(d, s, e)
        if tag != 0x02 or _int(d, a, b, 3, 3) != 3:
            raise NotOurs("version")
        tag, gs, ge = _head(d, b, e)                    # msgGlobalData
        if tag != 0x30:
            raise NotOurs("global data")
        tag, a, b = _head(d, gs, ge)
        msg_id = _int(d, a, b, 0, INT32[1]) if tag == 0x02 else None
        tag, a, b2 = _head(d, b, ge)
        max_size = _int(d, a, b2, 484, INT32[1]) if tag == 0x02 else None
        tag, a, b3 = _head(d, b2, ge)
        if tag != 0x04 or b3 - a != 1 or d[a] not in (0x03, 0x07, 0x04):
            raise NotOurs("flags")                      # authPriv, or discovery
        flags = d[a]
        tag, a, b4 = _head(d, b3, ge)
        if msg_id is None or max_size is None or tag != 0x02 or _int(d, a, b4, 3, 3) != 3 or b4 != ge:
            raise NotOurs("security model")
        tag, ss, se = _head(d, ge, e)                   # msgSecurityParameters
        if tag != 0x04:
            raise NotOurs("security parameters")
        tag, us, ue = _head(d, ss, se)
        if tag != 0x30 or ue != se:
            raise NotOurs("usm")
        f = []
        i = us
        for want in (0x04, 0x02, 0x02, 0x04, 0x04, 0x04):
            tag, a, i = _head(d, i, ue)
            if tag != want:
                raise NotOurs("usm field")
            f.append((a, i))
        if i != ue:
            raise NotOurs("usm")
        boots_m = _int(d, *f[1], 0, INT32[1])
        time_m = _int(d, *f[2], 0, INT32[1])
        (aa, ab), (pa, pb) = f[4], f[5]
        if flags == 0x04:
            return self._discovery(d, f, se, e, eid, msg_id, max_size)
        v3 = dev.spec.snmp_v3
        if (d[slice(*f[0])] != eid or d[slice(*f[3])] != v3.user.encode("utf-8")
                or ab - aa != 12 or pb - pa != 8):
            raise NotOurs("engine, user or parameters")
        boots, etime, our_max = self.engine_state()
        if boots == INT32[1] or boots_m != boots or abs(etime - time_m) > 150:
            raise NotOurs("not in time window")         # pysnmp reports it
        tag, cs, ce = _head(d, se, e)                   # encryptedPDU
        if tag != 0x04 or ce != e:
            raise NotOurs("encrypted pdu")
        digest = hmac.new(kauth, d[:aa] + bytes(12) + d[ab:], hashlib.sha1).digest()[:12]
        if not hmac.compare_digest(digest, d[aa:ab]):
            raise NotOurs("wrong digest")               # pysnmp counts and reports it
        iv = boots_m.to_bytes(4, "big") + time_m.to_bytes(4, "big") + d[pa:pb]
        dec = Cipher(algorithms.AES(kpriv), CFB(iv)).decryptor()
        plain = dec.update(d[cs:ce]) + dec.finalize()
        tag, ps, pe = _head(plain, 0, len(plain))       # scopedPDU
        if tag != 0x30 or pe != len(plain):
            raise NotOurs("scoped pdu")
        tag, a, b = _head(plain, ps, pe)
        if tag != 0x04 or plain[a:b] not in (b"", eid):
            raise NotOurs("context engine")
        ctx_engine = plain[a:b]
        tag, a, b2 = _head(plain, b, pe)
        if tag != 0x04 or b2 != a:
            raise NotOurs("context name")               # the default context only
        ptag, rid, nonrep, maxrep, req = decode_pdu(plain, b2, pe, 1)
        scoped = tlv(0x30, tlv(0x04, ctx_engine) + b"\x04\x00"
                     + response_pdu(rid, 0, 0, self.varbinds(dev, ptag, nonrep, maxrep, req)))
        self.salt = (self.salt + 1) & ((1 << 64) - 1)
        salt = self.salt.to_bytes(8, "big")
        enc = Cipher(algorithms.AES(kpriv),
                     CFB(boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt)).encryptor()
        secret = enc.update(scoped) + enc.finalize()
        head = tlv(0x04, eid) + enc_int(0x02, boots) + enc_int(0x02, etime) + tlv(0x04, v3.user.encode("utf-8"))
        usm = tlv(0x04, tlv(0x30, head + b"\x04\x0c" + bytes(12) + tlv(0x04, salt)))
        glob = tlv(0x30, enc_int(0x02, msg_id) + enc_int(0x02, our_max) + b"\x04\x01\x03" + b"\x02\x01\x03")
        prefix = b"\x02\x01\x03" + glob
        msg = tlv(0x30, prefix + usm + tlv(0x04, secret))
        if len(msg) > max_size:
            raise NotOurs("too big for the requester")   # pysnmp's tooBig handling
        at = len(msg) - len(prefix + usm + tlv(0x04, secret)) + len(prefix) + (len(usm) - 12 - 10)
        mac = hmac.new(kauth, msg, hashlib.sha1).digest()[:12]
        return msg[:at] + mac + msg[at + 12:]

    def _discovery(self, d: bytes, f, se: int, e: int, eid: bytes, msg_id: int, max_size: int) -> bytes:
        """RFC 3414 4: a reportable noAuthNoPriv request with an empty engine ID is answered
        with a Report of usmStatsUnknownEngineIDs (pysnmp's counter, counted once either
        way) carrying the device's engine ID and the engine's boots and time."""
        if f[0][0] != f[0][1] or f[4][0] != f[4][1] or f[5][0] != f[5][1]:
            raise NotOurs("discovery with an engine ID or parameters")
        tag, ps, pe = _head(d, se, e)                   # plaintext scopedPDU
        if tag != 0x30 or pe != e:
            raise NotOurs("scoped pdu")
        tag, a, b = _head(d, ps, pe)
        if tag != 0x04:
            raise NotOurs("context engine")
        tag, a, b2 = _head(d, b, pe)
        if tag != 0x04:
            raise NotOurs("context name")
        ctx_name = d[a:b2]
        _ptag, rid, _n, _m, _req = decode_pdu(d, b2, pe, 1)
        boots, etime, our_max = self.engine_state()
        counter = self.unknown_engine_id()
        report = tlv(0xA8, enc_int(0x02, rid) + b"\x02\x01\x00\x02\x01\x00" + tlv(
            0x30, tlv(0x30, oid_bytes(USM_STATS_UNKNOWN_ENGINE_IDS) + enc_int(0x41, counter))))
        scoped = tlv(0x30, tlv(0x04, eid) + tlv(0x04, ctx_name) + report)
        usm = tlv(0x04, tlv(0x30, tlv(0x04, eid) + enc_int(0x02, boots) + enc_int(0x02, etime)
                            + tlv(0x04, d[slice(*f[3])]) + b"\x04\x00\x04\x00"))
        glob = tlv(0x30, enc_int(0x02, msg_id) + enc_int(0x02, our_max) + b"\x04\x01\x00\x02\x01\x03")
        msg = tlv(0x30, b"\x02\x01\x03" + glob + usm + scoped)
        if len(msg) > max_size:
            raise NotOurs("too big for the requester")
        return msg

    def varbinds(self, dev: DeviceState, ptag: int, nonrep: int, maxrep: int, req) -> list:
        """[(encoded name, value or encoded exception)] as FleetResponder answers."""
        spec = dev.spec
        now = self.clock()
        oids = oid_table(spec.kind, spec.ports)
        value = self.mib.value
        out: list[tuple[bytes, object]] = []    # (encoded name, value or exception bytes)
        if ptag == GET:
            for oid, name in req:
                out.append((name, self._get(value, dev, oids, oid, now)))
        elif ptag == GETNEXT:
            for oid, name in req:
                out.append(self._next(value, dev, oids, oid, now)[1:])
        else:
            n = max(0, min(nonrep, len(req)))
            m = maxrep
            r = len(req) - n
            for oid, name in req[:n]:
                out.append(self._next(value, dev, oids, oid, now)[1:])
            if r:
                m = min(m, max(1, FleetResponder.max_varbinds // r))
                cur = [oid for oid, _name in req[n:]]
                for _ in range(m):
                    row = [self._next(value, dev, oids, c, now) for c in cur]
                    out += [x[1:] for x in row]
                    cur = [x[0] for x in row]
                    if all(x[2] is END_OF_MIB for x in row):
                        break
        return out

    @staticmethod
    def _get(value, dev, oids, key, now):
        i = bisect.bisect_left(oids, key)
        if i < len(oids) and oids[i] == key:
            return value(dev, key, now)
        parent = key[:-1]
        if i < len(oids) and oids[i][:len(parent)] == parent or i > 0 and oids[i - 1][:len(parent)] == parent:
            return NO_SUCH_INSTANCE
        return NO_SUCH_OBJECT

    @staticmethod
    def _next(value, dev, oids, key, now):
        """(oid, encoded oid, value or END_OF_MIB)."""
        i = bisect.bisect_right(oids, key)
        if i >= len(oids):
            return key, oid_bytes(key), END_OF_MIB
        o = oids[i]
        return o, oid_bytes(o), value(dev, o, now)
