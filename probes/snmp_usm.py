"""SNMPv3 messages under the User-based Security Model: a small codec for what our probe
sends (GET, GETNEXT, GETBULK, engine discovery) and what comes back (Response, Report).

Why not pysnmp here: at fleet scale pysnmp spent ~20 ms of CPU per v3 device, three
quarters of it pyasn1 decoding the decrypted answers. The messages are a fixed, small
subset of BER (RFC 3412 §6), and the USM work is a few hashes and one cipher call from
``cryptography`` (RFC 3414, RFC 3826, RFC 7860), so we do it directly, as ``snmp_ber``
does for v2c. Pure functions and small value classes: no sockets, no clock; the
exchange (discovery, time window, timeouts) is ``snmp_usm_client``.

Supported: authentication HMAC-MD5-96, HMAC-SHA-96 (RFC 3414) and HMAC-SHA-2
(RFC 7860: SHA-224/256/384/512); privacy CBC-DES (RFC 3414 §8) and CFB128-AES-128
(RFC 3826). Anything else (AES-192/256, whose key extension differs between vendors)
stays with pysnmp: ``supports`` says which.

Every decoding failure raises ``UsmError`` with a probe error kind: ``malformed`` (not
an SNMPv3 message we can read) or ``auth`` (a wrong digest, an answer we cannot decrypt),
never anything else.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import random
from collections import OrderedDict
from threading import Lock
from typing import Any, Optional

from probes.snmp_ber import (GET, REPORT, BerError, _int, _read, _tlv, decode_pdu,
                             encode_pdu)

FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
USM_MODEL = 3
MAX_MESSAGE_SIZE = 65507            # the largest UDP payload: what we can receive

# protocol name -> (hashlib name, bytes of MAC kept)
AUTH_PROTOCOLS: dict[str, tuple[str, int]] = {
    "MD5": ("md5", 12), "SHA": ("sha1", 12), "SHA1": ("sha1", 12),
    "SHA224": ("sha224", 16), "SHA256": ("sha256", 24),
    "SHA384": ("sha384", 32), "SHA512": ("sha512", 48),
}
PRIV_PROTOCOLS = {"DES": "DES", "AES": "AES", "AES128": "AES"}

# usmStats counters a Report names (RFC 3414 §5); the text matches pysnmp's indications
# so both paths read alike in results.
USM_STATS = {
    "1.3.6.1.6.3.15.1.1.1.0": "unsupportedSecLevel",
    "1.3.6.1.6.3.15.1.1.2.0": "notInTimeWindow",
    "1.3.6.1.6.3.15.1.1.3.0": "unknownUserName",
    "1.3.6.1.6.3.15.1.1.4.0": "unknownEngineID",
    "1.3.6.1.6.3.15.1.1.5.0": "wrongDigest",
    "1.3.6.1.6.3.15.1.1.6.0": "decryptionError",
}


class UsmError(Exception):
    """A v3 answer we cannot accept. ``kind`` is a probe error kind (``malformed`` or
    ``auth``); ``indication`` names the USM condition where there is one."""

    def __init__(self, kind: str, message: str, indication: str = "") -> None:
        super().__init__(message)
        self.kind, self.indication = kind, indication


def canonical(auth: Optional[str], priv: Optional[str]) -> tuple[str, str]:
    """Protocol names as the inventory spells them (``SHA-256``, ``aes``) made canonical;
    the defaults are the inventory's (SHA, AES)."""
    return ((auth or "SHA").upper().replace("-", ""), (priv or "AES").upper().replace("-", ""))


def supports(auth: Optional[str], priv: Optional[str], priv_used: bool) -> bool:
    """Whether this codec handles the protocols (privacy only counts when used)."""
    a, p = canonical(auth, priv)
    return a in AUTH_PROTOCOLS and (not priv_used or p in PRIV_PROTOCOLS)


# ---------------------------------------------------------------- keys (RFC 3414 §2.6, A.2)

_MASTER: "OrderedDict[tuple[str, bytes], bytes]" = OrderedDict()   # (hash, SHA-256 of pw) -> Ku
_MASTER_MAX = 8192
_MASTER_LOCK = Lock()


def master_key(passphrase: str | bytes, hash_name: str) -> bytes:
    """Ku: the hash of the passphrase repeated to one megabyte (RFC 3414 A.2.1/A.2.2;
    RFC 7860 §9.3 with the SHA-2 hashes). A megabyte of hashing costs ~1-3 ms, so
    results are kept (bounded) for the process: a fleet shares a few passphrases, or
    has one per device re-used every sweep."""
    pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not pw:
        raise UsmError("auth", "empty SNMPv3 passphrase")
    # Indexed by a digest, so the cache holds no passphrase in the clear.
    key = (hash_name, hashlib.sha256(pw).digest())
    with _MASTER_LOCK:
        got = _MASTER.get(key)
        if got is not None:
            _MASTER.move_to_end(key)
            return got
    mb = 1 << 20
    ku = hashlib.new(hash_name, (pw * (mb // len(pw) + 1))[:mb]).digest()
    with _MASTER_LOCK:
        _MASTER[key] = ku
        while len(_MASTER) > _MASTER_MAX:
            _MASTER.popitem(last=False)
    return ku


def localize(ku: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """Kul = H(Ku || snmpEngineID || Ku) (RFC 3414 §2.6)."""
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


class UsmUser:
    """One user's credentials: name, protocols and passphrases, with its keys localized
    once per engine ID (``keys``). Security level 1/2/3 = noAuthNoPriv/authNoPriv/authPriv,
    chosen as pysnmp's ``UsmUserData`` chooses it: privacy only with an auth key too."""

    def __init__(self, name: str, auth_key: Optional[str] = None,
                 priv_key: Optional[str] = None, auth_protocol: Optional[str] = None,
                 priv_protocol: Optional[str] = None) -> None:
        self.name = (name or "").encode("utf-8")
        a, p = canonical(auth_protocol, priv_protocol)
        self.level = 3 if (auth_key and priv_key) else 2 if auth_key else 1
        if self.level >= 2 and a not in AUTH_PROTOCOLS:
            raise UsmError("unsupported", f"SNMPv3 auth protocol {a} not in this codec")
        if self.level == 3 and p not in PRIV_PROTOCOLS:
            raise UsmError("unsupported", f"SNMPv3 privacy protocol {p} not in this codec")
        self.hash_name, self.mac_len = AUTH_PROTOCOLS.get(a, ("sha1", 12))
        self.priv = PRIV_PROTOCOLS.get(p) if self.level == 3 else None
        self._auth_pw, self._priv_pw = auth_key, priv_key
        self._local: dict[bytes, tuple[Optional[bytes], Optional[bytes]]] = {}

    @property
    def flags(self) -> int:
        return {1: 0, 2: FLAG_AUTH, 3: FLAG_AUTH | FLAG_PRIV}[self.level]

    def keys(self, engine_id: bytes) -> tuple[Optional[bytes], Optional[bytes]]:
        """(localized auth key, localized privacy key) for one engine."""
        got = self._local.get(engine_id)
        if got is None:
            auth = priv = None
            if self.level >= 2:
                auth = localize(master_key(self._auth_pw or "", self.hash_name), engine_id,
                                self.hash_name)
            if self.level == 3:
                # The privacy key is derived with the auth protocol's hash (RFC 3414 §8.1.1.1,
                # RFC 3826 §1.2), then cut to the cipher's size.
                priv = localize(master_key(self._priv_pw or "", self.hash_name), engine_id,
                                self.hash_name)[:16]
            if len(self._local) > 64:
                self._local.clear()
            got = self._local[engine_id] = (auth, priv)
        return got


# ---------------------------------------------------------------- privacy

_AES_SALT = itertools.count(random.randrange(0, 2 ** 64))
_DES_SALT = itertools.count(random.randrange(0, 2 ** 32))


def _cipher(priv: str, key: bytes, iv: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher
    if priv == "AES":
        from cryptography.hazmat.primitives.ciphers.algorithms import AES
        try:
            from cryptography.hazmat.decrepit.ciphers.modes import CFB
        except ImportError:                   # cryptography < 47
            from cryptography.hazmat.primitives.ciphers.modes import CFB  # type: ignore
        return Cipher(AES(key[:16]), CFB(iv))
    from cryptography.hazmat.primitives.ciphers.modes import CBC
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:                       # cryptography < 43
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES  # type: ignore
    # Single DES is 3DES with the same key three times (EDE collapses to one E).
    return Cipher(TripleDES(key[:8] * 3), CBC(iv))


def encrypt(priv: str, key: bytes, boots: int, etime: int, plain: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, msgPrivacyParameters) of a scopedPDU."""
    if priv == "AES":
        # RFC 3826 §3.1.2.1: IV = engineBoots(4) || engineTime(4) || salt(8), salt sent.
        salt = (next(_AES_SALT) % 2 ** 64).to_bytes(8, "big")
        iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    else:
        # RFC 3414 §8.1.1.1: salt = engineBoots(4) || counter(4); IV = pre-IV XOR salt;
        # the plaintext is padded to the 8-byte block (any padding: BER ends the PDU).
        salt = boots.to_bytes(4, "big") + (next(_DES_SALT) % 2 ** 32).to_bytes(4, "big")
        iv = bytes(a ^ b for a, b in zip(key[8:16], salt))
        plain = plain + b"\x00" * (-len(plain) % 8)
    enc = _cipher(priv, key, iv).encryptor()
    return enc.update(plain) + enc.finalize(), salt


def decrypt(priv: str, key: bytes, boots: int, etime: int, salt: bytes, data: bytes) -> bytes:
    if len(salt) != 8:
        raise UsmError("auth", "privacy parameters are not 8 bytes", "decryptionError")
    if priv == "AES":
        iv = boots.to_bytes(4, "big", signed=False) + etime.to_bytes(4, "big") + salt
    else:
        if len(data) % 8:
            raise UsmError("auth", "DES ciphertext not a whole number of blocks",
                           "decryptionError")
        iv = bytes(a ^ b for a, b in zip(key[8:16], salt))
    dec = _cipher(priv, key, iv).decryptor()
    return dec.update(data) + dec.finalize()


# ---------------------------------------------------------------- encoding

def _usm_params(engine_id: bytes, boots: int, etime: int, user: bytes, auth: bytes,
                priv: bytes) -> tuple[bytes, int]:
    """UsmSecurityParameters and the offset of msgAuthenticationParameters' value in it."""
    head = _tlv(0x04, engine_id) + _int(boots) + _int(etime) + _tlv(0x04, user)
    auth_tlv = _tlv(0x04, auth)
    body = head + auth_tlv + _tlv(0x04, priv)
    seq = _tlv(0x30, body)
    return seq, (len(seq) - len(body)) + len(head) + (len(auth_tlv) - len(auth))


def _message(msg_id: int, flags: int, usm: bytes, auth_at: int, data: bytes
             ) -> tuple[bytes, int]:
    """The whole message and the absolute offset of the auth parameters."""
    header = _tlv(0x30, _int(msg_id) + _int(MAX_MESSAGE_SIZE) + _tlv(0x04, bytes([flags]))
                  + _int(USM_MODEL))
    sec = _tlv(0x04, usm)
    body = _int(3) + header + sec
    prefix = len(body) - len(usm)          # within body, where the USM sequence starts
    body += data
    whole = _tlv(0x30, body)
    return whole, (len(whole) - len(body)) + prefix + auth_at


def encode_discovery(msg_id: int, request_id: int) -> bytes:
    """RFC 3414 §4: a reportable noAuthNoPriv GET with empty engine ID, user and varbinds;
    the agent answers a Report of usmStatsUnknownEngineIDs carrying its engine ID and
    (for most agents) its boots and time."""
    usm, at = _usm_params(b"", 0, 0, b"", b"", b"")
    scoped = _tlv(0x30, _tlv(0x04, b"") + _tlv(0x04, b"") + encode_pdu(request_id, []))
    return _message(msg_id, FLAG_REPORTABLE, usm, at, scoped)[0]


def encode_request(user: UsmUser, engine_id: bytes, boots: int, etime: int, msg_id: int,
                   request_id: int, oids: list[str], *, pdu: int = GET,
                   non_repeaters: int = 0, max_repetitions: int = 0,
                   context_name: bytes = b"") -> bytes:
    """A reportable GET/GETNEXT/GETBULK at the user's security level for one engine:
    scopedPDU (context engine = the agent's engine), encrypted at authPriv, then the
    HMAC over the whole message written into msgAuthenticationParameters (RFC 3414
    §3.1.1, §6.3.1/§7.3.1)."""
    auth_key, priv_key = user.keys(engine_id)
    if user.level == 1:
        boots = etime = 0                   # RFC 3414 §3.1.1 (6): unauthenticated
    scoped = _tlv(0x30, _tlv(0x04, engine_id) + _tlv(0x04, context_name)
                  + encode_pdu(request_id, oids, pdu=pdu, non_repeaters=non_repeaters,
                               max_repetitions=max_repetitions))
    priv_params = b""
    if user.level == 3:
        assert priv_key is not None and user.priv is not None
        cipher, priv_params = encrypt(user.priv, priv_key, boots, etime, scoped)
        data = _tlv(0x04, cipher)
    else:
        data = scoped
    placeholder = b"\x00" * user.mac_len if user.level >= 2 else b""
    usm, at = _usm_params(engine_id, boots, etime, user.name, placeholder, priv_params)
    whole, auth_at = _message(msg_id, user.flags | FLAG_REPORTABLE, usm, at, data)
    if user.level >= 2:
        assert auth_key is not None
        mac = hmac.digest(auth_key, whole, user.hash_name)[:user.mac_len]
        whole = whole[:auth_at] + mac + whole[auth_at + user.mac_len:]
    return whole


# ---------------------------------------------------------------- decoding

class Message:
    """An SNMPv3 message read up to its (possibly encrypted) scopedPDU; nothing checked
    cryptographically yet (``open_pdu`` does that)."""

    __slots__ = ("raw", "msg_id", "flags", "engine_id", "boots", "time", "user",
                 "auth", "auth_at", "salt", "data", "encrypted")

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _uint(data: bytes, tag_want: int, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, s, e = _read(data, pos, end)
    if tag != tag_want or e - s > 9:
        raise BerError(f"bad {what}")
    v = int.from_bytes(data[s:e], "big", signed=True)
    if not 0 <= v <= 2 ** 31 - 1:           # every such field is INTEGER (0..2147483647)
        raise BerError(f"{what} out of range")
    return v, e


def parse_message(data: bytes) -> Message:
    """Header and USM parameters of an SNMPv3 message; ``UsmError('malformed')`` otherwise."""
    try:
        tag, s, e = _read(data, 0, len(data))
        if tag != 0x30:
            raise BerError("not a SEQUENCE")
        version, pos = _uint(data, 0x02, s, e, "version")
        if version != 3:
            raise BerError(f"SNMP version {version}, not 3")
        tag, gs, ge = _read(data, pos, e)
        if tag != 0x30:
            raise BerError("no msgGlobalData")
        msg_id, p = _uint(data, 0x02, gs, ge, "msgID")
        _max, p = _uint(data, 0x02, p, ge, "msgMaxSize")
        tag, fs, fe = _read(data, p, ge)
        if tag != 0x04 or fe - fs != 1:
            raise BerError("bad msgFlags")
        flags = data[fs]
        model, p = _uint(data, 0x02, fe, ge, "msgSecurityModel")
        if model != USM_MODEL:
            raise BerError(f"security model {model} is not USM")
        if flags & FLAG_PRIV and not flags & FLAG_AUTH:
            raise BerError("msgFlags: privacy without authentication")
        tag, ps, pe = _read(data, ge, e)
        if tag != 0x04:
            raise BerError("no msgSecurityParameters")
        tag, us, ue = _read(data, ps, pe)
        if tag != 0x30 or ue != pe:
            raise BerError("bad UsmSecurityParameters")
        tag, es_, ee = _read(data, us, ue)
        if tag != 0x04:
            raise BerError("no msgAuthoritativeEngineID")
        boots, p = _uint(data, 0x02, ee, ue, "msgAuthoritativeEngineBoots")
        etime, p = _uint(data, 0x02, p, ue, "msgAuthoritativeEngineTime")
        tag, ns, ne = _read(data, p, ue)
        if tag != 0x04:
            raise BerError("no msgUserName")
        tag, as_, ae = _read(data, ne, ue)
        if tag != 0x04:
            raise BerError("no msgAuthenticationParameters")
        tag, ss, se = _read(data, ae, ue)
        if tag != 0x04:
            raise BerError("no msgPrivacyParameters")
        tag, ds, de = _read(data, pe, e)
        encrypted = bool(flags & FLAG_PRIV)
        if encrypted and tag != 0x04:
            raise BerError("encrypted scopedPDU is not an OCTET STRING")
        if not encrypted and tag != 0x30:
            raise BerError("scopedPDU is not a SEQUENCE")
        return Message(raw=data, msg_id=msg_id, flags=flags, engine_id=bytes(data[es_:ee]),
                       boots=boots, time=etime, user=bytes(data[ns:ne]),
                       auth=bytes(data[as_:ae]), auth_at=as_, salt=bytes(data[ss:se]),
                       data=(ds, de), encrypted=encrypted)
    except BerError as exc:
        raise UsmError("malformed", f"bad SNMPv3 message: {exc}") from exc
    except IndexError as exc:
        raise UsmError("malformed", "bad SNMPv3 message: truncated") from exc


class Pdu:
    __slots__ = ("tag", "request_id", "error_status", "error_index", "varbinds",
                 "context_engine_id")

    def __init__(self, tag: int, request_id: int, error_status: int, error_index: int,
                 varbinds: list[tuple[str, Any]], context_engine_id: bytes) -> None:
        self.tag, self.request_id = tag, request_id
        self.error_status, self.error_index = error_status, error_index
        self.varbinds, self.context_engine_id = varbinds, context_engine_id

    @property
    def is_report(self) -> bool:
        return self.tag == REPORT

    def report_indication(self) -> str:
        """The usmStats (or other) counter a Report names: 'wrongDigest', ..., or its OID."""
        if not self.varbinds:
            return "report without varbinds"
        oid = self.varbinds[0][0]
        return USM_STATS.get(oid, oid)


def authenticate(msg: Message, user: UsmUser, auth_key: Optional[bytes]) -> None:
    """Check msgAuthenticationParameters (RFC 3414 §6.3.2/§7.3.2): the HMAC of the whole
    message with that field zeroed, at its exact offset."""
    if auth_key is None:
        raise UsmError("auth", "an authenticated answer to a user without an auth key",
                       "authenticationFailure")
    n = user.mac_len
    if len(msg.auth) != n:
        raise UsmError("auth", f"answer's digest is {len(msg.auth)} bytes, not {n}: "
                               "another auth protocol", "authenticationFailure")
    raw = msg.raw
    zeroed = raw[:msg.auth_at] + b"\x00" * n + raw[msg.auth_at + n:]
    mac = hmac.digest(auth_key, zeroed, user.hash_name)[:n]
    if not hmac.compare_digest(mac, msg.auth):
        raise UsmError("auth", "answer failed SNMPv3 authentication (its HMAC does not "
                               "match our key): wrong auth key or protocol",
                       "authenticationFailure")


def open_pdu(msg: Message, user: Optional[UsmUser]) -> Pdu:
    """The PDU of a parsed message: authenticated and decrypted with ``user``'s keys for
    the message's engine when its flags say so. ``user`` None reads only unauthenticated
    messages (discovery)."""
    auth_key = priv_key = None
    if msg.flags & FLAG_AUTH:
        if user is None or user.level < 2:
            raise UsmError("auth", "an authenticated answer to an unauthenticated request",
                           "authenticationFailure")
        auth_key, priv_key = user.keys(msg.engine_id)
        authenticate(msg, user, auth_key)
    raw = msg.raw
    ds, de = msg.data
    if msg.encrypted:
        if user is None or user.level < 3 or priv_key is None or user.priv is None:
            raise UsmError("auth", "an encrypted answer to a request without privacy",
                           "decryptionError")
        plain = decrypt(user.priv, priv_key, msg.boots, msg.time, msg.salt, raw[ds:de])
        try:
            tag, s, e = _read(plain, 0, len(plain))   # DES padding may follow: ignored
            if tag != 0x30:
                raise BerError("not a SEQUENCE")
            return _scoped(plain, s, e)
        except (BerError, IndexError) as exc:
            raise UsmError("auth", "answer does not decrypt to a scopedPDU: wrong privacy "
                                   "key or protocol", "decryptionError") from exc
    try:
        return _scoped(raw, ds, de)          # (ds, de): the scopedPDU SEQUENCE's content
    except (BerError, IndexError) as exc:
        raise UsmError("malformed", f"bad scopedPDU: {exc}") from exc


def _scoped(buf: bytes, s: int, e: int) -> Pdu:
    tag, cs, ce = _read(buf, s, e)
    if tag != 0x04:
        raise BerError("no contextEngineID")
    tag, ns, ne = _read(buf, ce, e)
    if tag != 0x04:
        raise BerError("no contextName")
    ptag, rid, status, index, varbinds = decode_pdu(buf, ne, e)
    return Pdu(ptag, rid, status, index, varbinds, bytes(buf[cs:ce]))
