"""SNMP probe through pysnmp 7's asyncio API: v2c and v3 authPriv, numeric OIDs only.

System group by GET; IF-MIB (ifTable + ifXTable names) and the PoE MIB (RFC 3621
pethPsePortTable) by GETBULK walks of several columns at once. No MIB lookups: the
OIDs are numeric, so pysnmp never tries to fetch or compile MIBs. SNMPv2c goes
through our own small BER codec on one shared UDP socket (``snmp_ber``: pysnmp's
hlapi cost ~12 ms CPU per device at fleet scale); SNMPv3 through our USM codec
(``snmp_usm``, ``snmp_usm_client``) when it supports the user's protocols, else
through pysnmp (``SnmpClient(v3_codec=...)`` chooses; the default picks per session).
"""
from __future__ import annotations

import asyncio
import random
import time
from typing import Any, Optional

from probes.errors import classify
from probes.model import DeviceTarget, PoePort, PortStatus, ProbeError, ReachResult, SnmpResult

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"

IF_COLUMNS = {
    "descr": "1.3.6.1.2.1.2.2.1.2",
    "speed": "1.3.6.1.2.1.2.2.1.5",
    "admin": "1.3.6.1.2.1.2.2.1.7",
    "oper": "1.3.6.1.2.1.2.2.1.8",
    "in_discards": "1.3.6.1.2.1.2.2.1.13",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_discards": "1.3.6.1.2.1.2.2.1.19",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
    "in_octets": "1.3.6.1.2.1.2.2.1.10",       # Counter32: wraps in 34 s at 1 Gbit/s
    "out_octets": "1.3.6.1.2.1.2.2.1.16",
    # ifXTable, walked alongside; agents without it (old firmware, v1-only) simply end
    # these columns at once and the port falls back to ifDescr and the 32-bit counters.
    "name": "1.3.6.1.2.1.31.1.1.1.1",
    "hc_in_octets": "1.3.6.1.2.1.31.1.1.1.6",  # Counter64
    "hc_out_octets": "1.3.6.1.2.1.31.1.1.1.10",
}
POE_COLUMNS = {
    "admin": "1.3.6.1.2.1.105.1.1.1.3",
    "detection": "1.3.6.1.2.1.105.1.1.1.6",
    "power_class": "1.3.6.1.2.1.105.1.1.1.10",
}

OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant",
               6: "notPresent", 7: "lowerLayerDown"}
ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
POE_DETECTION = {1: "disabled", 2: "searching", 3: "deliveringPower", 4: "fault",
                 5: "test", 6: "otherFault"}

MAX_ROWS = 1024            # a switch has tens of ports; never walk forever
MAX_REQUESTS = 400         # and never ask forever either (holes, tiny GETBULK answers)
MAX_REPETITIONS = 25
TOO_BIG, NO_SUCH_NAME, GEN_ERR = 1, 2, 5   # RFC 1157/3416 error-status values

_AUTH_INDICATIONS = ("unknownusername", "wrongdigest", "decryptionerror",
                     "unsupportedseclevel", "unsupportedsecuritylevel",
                     "authorizationerror", "notintimewindow",
                     "unknownsecurityname", "wrong digest", "unknown user")


class SnmpError(Exception):
    """``status``/``index``: the agent's error-status and 1-based error-index, when it sent one.
    ``late_s``: for a timeout whose answer came after the deadline, the answer's time
    since the request (None when none came)."""

    def __init__(self, kind: str, message: str, status: int = 0, index: int = 0,
                 late_s: Optional[float] = None) -> None:
        super().__init__(message)
        self.kind, self.status, self.index = kind, status, index
        self.late_s = late_s


def _indication_kind(indication: Any) -> str:
    text = str(indication).lower().replace(" ", "")
    name = type(indication).__name__.lower()
    if "timeout" in text or "requesttimedout" in name or "noresponse" in text:
        return "timeout"
    if any(w.replace(" ", "") in text or w in name for w in _AUTH_INDICATIONS):
        return "auth"
    if "refused" in text:
        return "refused"
    return "fault"


# USM report indications (RFC 3414 §3.2) told apart, so "check the auth key" and
# "check the priv key" are different advice for the person reading the result.
_INDICATION_TEXT = {
    "wrongdigest": "wrong SNMPv3 authentication key or protocol (wrongDigest)",
    "unknownusername": "unknown SNMPv3 user name (unknownUserName)",
    "decryptionerror": "wrong SNMPv3 privacy key or protocol (decryptionError)",
    "unsupportedseclevel": "security level not allowed for this user (unsupportedSecLevel)",
    # pysnmp's indication class for the same report
    "unsupportedsecuritylevel": "security level not allowed for this user (unsupportedSecLevel)",
    "notintimewindow": "SNMPv3 message outside the agent's time window (notInTimeWindow)",
    "unknownengineid": "SNMPv3 engine ID not known to the agent (unknownEngineID)",
}


def _indication_text(indication: Any) -> str:
    text = str(indication)
    key = (text + type(indication).__name__).lower().replace(" ", "")
    for k, v in _INDICATION_TEXT.items():
        if k in key:
            return f"{v}: {text}"
    return text


def _v(value: Any) -> Any:
    """A pysnmp value as plain Python (the same shapes the BER codec yields)."""
    from probes.snmp_ber import END_OF_MIB, NO_SUCH_INSTANCE, NO_SUCH_OBJECT
    cls = type(value).__name__
    special = {"NoSuchObject": NO_SUCH_OBJECT, "NoSuchInstance": NO_SUCH_INSTANCE,
               "EndOfMibView": END_OF_MIB}
    if cls in special:
        return special[cls]
    if cls == "Null":
        return None
    if cls in ("ObjectIdentifier", "ObjectName"):
        return str(value)
    if cls in ("OctetString", "Opaque"):
        return bytes(value)
    if cls == "IpAddress":
        return ".".join(str(b) for b in bytes(value))
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _plain(v: Any) -> Any:
    """Values for results: text for octet strings, None for the SNMP exception values."""
    from probes.snmp_ber import _Exception, maybe_text
    if isinstance(v, _Exception):
        return None
    if isinstance(v, bytes):
        return maybe_text(v)
    return v


def _check_budget(session: Any) -> None:
    if session.budget_s is not None and session.device_s > session.budget_s:
        raise SnmpError("timeout", f"the agent's answers took {session.device_s:.2f} s in all, "
                                   f"beyond the check's {session.budget_s:g} s")


async def _answer_by(fut: "asyncio.Future", deadline: float, udp: Any) -> Optional[Any]:
    """The future's (answer, arrival) if the answer reached this machine by ``deadline``
    (monotonic), else None. Waits on the loop; when the wait ends, reads the socket
    before judging, so an answer that sat in our buffer while the loop was busy counts."""
    remaining = deadline - time.monotonic()
    if remaining > 0 and not fut.done():
        try:
            async with asyncio.timeout(remaining):
                await asyncio.shield(fut)
        except TimeoutError:
            pass
    if not fut.done():
        udp.drain()
    if fut.done():
        if fut.exception() is not None:
            raise fut.exception()       # type: ignore[misc]
        answer, arrival = fut.result()
        if arrival <= deadline:
            return answer, arrival
    return None


def silence_error(fut: "asyncio.Future", sent: float, timeout: float) -> SnmpError:
    """The timeout of a request that got no answer in time: a late answer (it reached
    this machine after the deadline, by its kernel stamp) is told apart from none, so the
    record says whether the device was slow or silent."""
    if fut.done() and not fut.cancelled() and fut.exception() is None:
        _answer, arrival = fut.result()
        late_s = max(0.0, arrival - sent)
        return SnmpError("timeout", f"the SNMP response came {late_s:.2f} s after the "
                                    f"request, beyond the {timeout:g} s timeout", late_s=late_s)
    return SnmpError("timeout", "No SNMP response received before timeout")


class _V2cEndpoint:
    """One UDP socket for every SNMPv1/v2c request of the process; replies matched by
    request id. Read through ``probes.udp.UdpEndpoint``: every queued answer per wake-up,
    each stamped with its kernel arrival time."""

    def __init__(self) -> None:
        from probes.udp import UdpEndpoint
        self.udp = UdpEndpoint(self._received)
        # request id -> (future of (Response, arrival), (host, port))
        self.pending: dict[int, tuple[asyncio.Future, tuple[str, int]]] = {}
        self._next = random.randrange(1, 2 ** 30)
        self.late = 0       # answers that came when nothing waited for them (diagnostics)

    def open(self) -> "_V2cEndpoint":
        self.udp.open(asyncio.get_running_loop())
        return self

    def close(self) -> None:
        self.udp.close()

    def request_id(self) -> int:
        self._next = self._next % (2 ** 31 - 1) + 1
        return self._next

    def _received(self, data: bytes, addr: tuple, arrival: float) -> None:
        from probes.snmp_ber import BerError, decode_response
        try:
            resp = decode_response(data)
        except BerError as exc:
            # Not decodable: fail whatever we were waiting for from that address.
            for fut, where in list(self.pending.values()):
                if where == (addr[0], addr[1]) and not fut.done():
                    fut.set_exception(SnmpError("malformed", f"bad SNMP answer: {exc}"))
            return
        entry = self.pending.get(resp.request_id)
        if entry is None or entry[1] != (addr[0], addr[1]) or entry[0].done():
            self.late += 1
            return          # late, duplicate or spoofed: ignore
        entry[0].set_result((resp, arrival))


class _V2cSession:
    """A community session on the shared socket: SNMPv2c, or SNMPv1 (``v1=True``: same
    codec, version 0, no GETBULK: tables are walked with GETNEXT).

    ``timeout`` is the device's time to answer one request, measured from our send to the
    kernel's receipt of the answer: a timer that fires late (a busy loop) first reads
    what is queued, so our own delay never counts against the device. ``device_s``
    adds up those answer times (the device's share of the exchange)."""

    def __init__(self, endpoint: _V2cEndpoint, host: str, port: int, community: str,
                 timeout: float, retries: int, v1: bool = False) -> None:
        self.ep, self.addr, self.community = endpoint, (host, port), community
        self.timeout, self.retries = timeout, retries
        self.v1 = v1
        self.version = "1" if v1 else "2c"
        self.walk = "getnext" if v1 else "getbulk"
        self.bulk_ok = False            # a GETBULK has been answered in this session
        self.device_s = 0.0
        self.last_rtt_s: Optional[float] = None
        self.budget_s: Optional[float] = None   # most device time the whole exchange may take

    async def _send(self, oids: list[str], pdu: int, reps: int = 0) -> list[tuple[str, Any]]:
        from probes.snmp_ber import encode_request, error_name
        _check_budget(self)
        rid = self.ep.request_id()
        msg = encode_request(self.community, rid, oids, pdu=pdu, max_repetitions=reps,
                             version=0 if self.v1 else 1)
        fut = asyncio.get_running_loop().create_future()
        self.ep.pending[rid] = (fut, self.addr)
        resp = None
        try:
            for _attempt in range(1 + self.retries):
                sent = self.ep.udp.sendto(msg, self.addr)
                deadline = sent + self.timeout
                got = await _answer_by(fut, deadline, self.ep.udp)
                if got is not None:
                    resp, arrival = got
                    self.last_rtt_s = max(0.0, arrival - sent)
                    self.device_s += self.last_rtt_s
                    break
            else:
                raise silence_error(fut, sent, self.timeout)
        finally:
            self.ep.pending.pop(rid, None)
        if resp.error_status:
            raise SnmpError("fault", f"agent error {error_name(resp.error_status)} "
                                     f"at {resp.error_index}",
                            resp.error_status, resp.error_index)
        return resp.varbinds

    async def get(self, oids: list[str]) -> dict[str, Any]:
        from probes.snmp_ber import GET
        return dict(await self._send(oids, GET))

    async def bulk(self, oids: list[str], reps: int) -> list[tuple[str, Any]]:
        from probes.snmp_ber import GETBULK
        return await self._send(oids, GETBULK, reps)

    async def getnext(self, oids: list[str]) -> list[tuple[str, Any]]:
        from probes.snmp_ber import GETNEXT
        return await self._send(oids, GETNEXT)


_RESOLVED: dict[int, dict[str, Any]] = {}     # id(engine) -> OID -> resolved ObjectType
_RESOLVED_MAX = 20_000


class _PysnmpSession:
    """SNMPv3 (and anything not v2c) through pysnmp's asyncio hlapi.

    ``timeout`` is the device's time to answer each datagram we send it (discovery,
    then the request), judged on kernel receive times kept by the engine's
    ``DrainingUdpTransport``: pysnmp's own timer is set far out and only guards."""

    version = "3"

    def __init__(self, engine: Any, auth: Any, transport: Any,
                 timeout: Optional[float] = None) -> None:
        from pysnmp.hlapi.v3arch.asyncio import ContextData
        self.engine, self.auth, self.transport, self.ctx = engine, auth, transport, ContextData()
        self.host = transport.transport_address[0]
        self.timeout = timeout if timeout is not None else float(transport.timeout)
        self.walk = "getbulk"
        self.bulk_ok = False
        self.device_s = 0.0
        self.last_rtt_s: Optional[float] = None
        self.budget_s: Optional[float] = None

    async def _run(self, coro: Any) -> Any:
        """Await a pysnmp command; a timeout only after ``timeout`` of device silence
        following our last datagram to it."""
        from probes.snmp_v3 import engine_transport
        try:
            _check_budget(self)
        except SnmpError:
            coro.close()
            raise
        task = asyncio.ensure_future(coro)
        start = time.monotonic()
        try:
            while True:
                tr = engine_transport(self.engine)
                sent = tr.last_sent.get(self.host, start) if tr is not None else start
                sent = max(sent, start)
                deadline = sent + self.timeout
                await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
                if not task.done() and tr is not None:
                    tr.drain()
                    await asyncio.sleep(0)      # let pysnmp hand over what was read
                if task.done():
                    result = task.result()
                    if tr is not None:
                        heard = tr.last_heard.get(self.host)
                        if heard is not None and heard >= sent:
                            self.last_rtt_s = heard - sent
                            self.device_s += self.last_rtt_s
                    return result
                tr = engine_transport(self.engine)
                if tr is None:
                    raise SnmpError("timeout", "No SNMP response received before timeout")
                new_sent = tr.last_sent.get(self.host, start)
                heard = tr.last_heard.get(self.host)
                if new_sent > sent:
                    continue            # the exchange moved on (discovery answered)
                if heard is not None and heard >= sent and time.monotonic() - heard < 1.0:
                    await asyncio.sleep(0.01)   # answered; pysnmp is still handing it over
                    continue
                raise SnmpError("timeout", "No SNMP response received before timeout")
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def _varbinds(self, oids: list[str]) -> list[Any]:
        """Request varbinds, resolved once per OID and engine: pysnmp resolves every
        ObjectIdentity through its MIB view on every request (~0.4 ms per OID, 5 ms for
        a 13-column GETBULK), though ours are numeric and the same across a fleet."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType
        from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds
        cache = _RESOLVED.setdefault(id(self.engine), {})
        out = []
        for o in oids:
            vb = cache.get(o)
            if vb is None:
                if len(cache) >= _RESOLVED_MAX:
                    cache.clear()
                (vb,) = CommandGeneratorVarBinds().make_varbinds(
                    self.engine.cache, [ObjectType(ObjectIdentity(o))])
                cache[o] = vb
            out.append(vb)
        return out

    @staticmethod
    def _check(err_ind: Any, err_status: Any, err_index: Any) -> None:
        if err_ind:
            raise SnmpError(_indication_kind(err_ind), _indication_text(err_ind))
        if err_status and int(err_status) != 0:
            raise SnmpError("fault", f"agent error {err_status.prettyPrint()} at {err_index}",
                            int(err_status), int(err_index or 0))

    async def get(self, oids: list[str]) -> dict[str, Any]:
        from pysnmp.hlapi.v3arch.asyncio import get_cmd
        ei, es, ix, vbs = await self._run(get_cmd(
            self.engine, self.auth, self.transport, self.ctx, *self._varbinds(oids),
            lookupMib=False))
        self._check(ei, es, ix)
        return {str(name): _v(val) for name, val in vbs}

    async def bulk(self, oids: list[str], reps: int) -> list[tuple[str, Any]]:
        from pysnmp.hlapi.v3arch.asyncio import bulk_cmd
        ei, es, ix, vbs = await self._run(bulk_cmd(
            self.engine, self.auth, self.transport, self.ctx, 0, reps, *self._varbinds(oids),
            lookupMib=False))
        self._check(ei, es, ix)
        return [(str(name), _v(val)) for name, val in vbs]

    async def getnext(self, oids: list[str]) -> list[tuple[str, Any]]:
        from pysnmp.hlapi.v3arch.asyncio import next_cmd
        ei, es, ix, vbs = await self._run(next_cmd(
            self.engine, self.auth, self.transport, self.ctx, *self._varbinds(oids),
            lookupMib=False, lexicographicMode=True))
        self._check(ei, es, ix)
        # pysnmp may nest one row per request as a list of varbinds: flatten it
        flat = [vb for row in vbs for vb in (row if isinstance(row, (list, tuple)) and row
                                             and isinstance(row[0], (list, tuple)) else [row])]
        return [(str(name), _v(val)) for name, val in flat]


V3_CODECS = ("auto", "usm", "pysnmp")


class SnmpClient:
    """SNMP for a whole batch: one UDP socket for v2c, one for v3 through our USM codec,
    and one pysnmp engine for the v3 users whose protocols that codec lacks.

    ``v3_codec``: "auto" (our codec where it supports the user's protocols, pysnmp
    otherwise), "usm" (ours or ``unsupported``), "pysnmp" (always pysnmp: the peer the
    tests and benches compare against, and a way back should an agent in the field
    disagree with our codec). Default: the environment's ``FSP_SNMP_V3_CODEC``, else
    "auto"."""

    def __init__(self, v3_codec: Optional[str] = None) -> None:
        if v3_codec is None:
            import os
            v3_codec = os.environ.get("FSP_SNMP_V3_CODEC", "").strip().lower() or "auto"
        if v3_codec not in V3_CODECS:
            raise ValueError(f"v3_codec must be one of {V3_CODECS}")
        self.v3_codec = v3_codec
        self._usm: Any = None
        self._usm_users: dict[tuple, Any] = {}
        self._engine: Any = None
        self._v2c: Optional[_V2cEndpoint] = None
        self._priv_engine: Any = None
        self._priv_lock: Optional[asyncio.Lock] = None
        self._user_keys: dict[str, tuple] = {}      # v3 user name -> first key set seen
        self._discovery: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
            self._engine = SnmpEngine()
        return self._engine

    def late_answers(self) -> dict[str, Optional[int]]:
        """Answers that reached us after their request had been given up (or were
        duplicates), per socket: a device that answered, later than its timeout. None
        where we hold no such socket (pysnmp's v3 path does not count them)."""
        return {"v2c": self._v2c.late if self._v2c is not None else None,
                "v3": self._usm.late if self._usm is not None else None}

    def close(self) -> None:
        if self._v2c is not None:
            self._v2c.close()
            self._v2c = None
        if self._usm is not None:
            self._usm.close()
            self._usm = None
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        for engine in (self._engine, self._priv_engine):
            if engine is not None:
                try:
                    engine.close_dispatcher()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
        self._engine = self._priv_engine = None

    # ---------------------------------------------------------- plumbing

    async def _v3_auth(self, t: DeviceTarget, timeout: float) -> Any:
        """The USM user for ``t``. pysnmp keeps one row per (user name, engine ID) and
        replaces a user registered again with other keys, so when one user name comes
        with several key sets (per-device passphrases) each device's keys are registered
        against its own engine ID, learnt by discovery; concurrent devices otherwise
        overwrite each other's keys and answer as authentication failures."""
        keys = (t.snmp_auth_key, t.snmp_priv_key, t.snmp_auth_protocol, t.snmp_priv_protocol)
        first = self._user_keys.setdefault(t.snmp_user or "", keys)
        if first == keys:
            return self._auth(t)
        if self._discovery is None:
            from probes.snmp_discovery import EngineDiscovery
            self._discovery = EngineDiscovery()
        eid = await self._discovery.engine_id(t.host, int(t.snmp_port or 161), timeout)
        return self._auth(t, engine_id=eid)

    def _auth(self, t: DeviceTarget, engine_id: Optional[bytes] = None) -> Any:
        from pysnmp.hlapi.v3arch import asyncio as h
        if not t.snmp_user:
            raise SnmpError("auth", "SNMPv3 needs a user")
        auth_proto = {
            "MD5": h.usmHMACMD5AuthProtocol, "SHA": h.usmHMACSHAAuthProtocol,
            "SHA224": h.usmHMAC128SHA224AuthProtocol,
            "SHA256": h.usmHMAC192SHA256AuthProtocol,
            "SHA384": h.usmHMAC256SHA384AuthProtocol,
            "SHA512": h.usmHMAC384SHA512AuthProtocol,
        }.get((t.snmp_auth_protocol or "SHA").upper().replace("-", ""))
        priv_proto = {
            "DES": h.usmDESPrivProtocol, "AES": h.usmAesCfb128Protocol,
            "AES128": h.usmAesCfb128Protocol, "AES192": h.usmAesCfb192Protocol,
            "AES256": h.usmAesCfb256Protocol,
        }.get((t.snmp_priv_protocol or "AES").upper().replace("-", ""))
        if auth_proto is None or priv_proto is None:
            raise SnmpError("unsupported", "unknown SNMPv3 auth/priv protocol")
        extra: dict[str, Any] = {}
        if engine_id:
            from pysnmp.proto.rfc1902 import OctetString
            extra["securityEngineId"] = OctetString(engine_id)
        if t.snmp_auth_key and t.snmp_priv_key:
            return h.UsmUserData(t.snmp_user, t.snmp_auth_key, t.snmp_priv_key,
                                 authProtocol=auth_proto, privProtocol=priv_proto, **extra)
        if t.snmp_auth_key:
            return h.UsmUserData(t.snmp_user, t.snmp_auth_key, authProtocol=auth_proto,
                                 **extra)
        return h.UsmUserData(t.snmp_user, **extra)

    async def _endpoint(self) -> _V2cEndpoint:
        if self._v2c is None:
            self._v2c = _V2cEndpoint().open()
        return self._v2c

    @staticmethod
    async def _v3_session(engine: Any, t: DeviceTarget, auth: Any,
                          timeout: float) -> "_PysnmpSession":
        from probes.snmp_v3 import DrainingUdpTarget
        # pysnmp's own timer only guards (a lost task); the session judges the device
        # on kernel receive times with ``timeout`` per datagram.
        transport = await DrainingUdpTarget.create((t.host, int(t.snmp_port or 161)),
                                                   timeout=max(30.0, 10 * timeout), retries=0)
        return _PysnmpSession(engine, auth, transport, timeout)

    def _usm_for(self, t: DeviceTarget) -> bool:
        """Whether ``t``'s v3 session goes through our USM codec."""
        if self.v3_codec == "pysnmp":
            return False
        from probes.snmp_usm import supports
        ok = supports(t.snmp_auth_protocol, t.snmp_priv_protocol,
                      bool(t.snmp_auth_key and t.snmp_priv_key))
        if not ok and self.v3_codec == "usm":
            raise SnmpError("unsupported", "SNMPv3 protocols "
                            f"{t.snmp_auth_protocol}/{t.snmp_priv_protocol} not in our codec")
        return ok

    def _usm_session(self, t: DeviceTarget, timeout: float) -> Any:
        from probes.snmp_usm import UsmError, UsmUser
        from probes.snmp_usm_client import UsmEndpoint, UsmSession
        if not t.snmp_user:
            raise SnmpError("auth", "SNMPv3 needs a user")
        if self._usm is None:
            self._usm = UsmEndpoint()
        self._usm.open()
        creds = (t.snmp_user, t.snmp_auth_key, t.snmp_priv_key, t.snmp_auth_protocol,
                 t.snmp_priv_protocol)
        user = self._usm_users.get(creds)
        if user is None:
            try:
                user = UsmUser(*creds)
            except UsmError as exc:
                raise SnmpError(exc.kind, str(exc)) from None
            if len(self._usm_users) > 50_000:
                self._usm_users.clear()
            self._usm_users[creds] = user
        return UsmSession(self._usm, t.host, int(t.snmp_port or 161), user, timeout)

    async def _session(self, t: DeviceTarget, timeout: float, retries: int = 0,
                       v1: Optional[bool] = None) -> Any:
        port = int(t.snmp_port or 161)
        version = str(t.snmp_version or "2c").lower().lstrip("v")
        if version == "3":
            if self._usm_for(t):
                return self._usm_session(t, timeout)
            return await self._v3_session(self.engine, t, await self._v3_auth(t, timeout),
                                          timeout)
        if v1 is None:
            v1 = version == "1"
        return _V2cSession(await self._endpoint(), t.host, port, t.snmp_community or "public",
                           timeout, retries, v1=v1)

    async def get(self, session: Any, oids: list[str]) -> dict[str, Any]:
        """GET; an SNMPv1 noSuchName (the whole request refused for one missing object)
        drops that object and asks again, so one absent OID does not hide the others."""
        from probes.snmp_ber import NO_SUCH_OBJECT
        missing: dict[str, Any] = {}
        ask = list(oids)
        while ask:
            try:
                got = await session.get(ask)
                break
            except SnmpError as exc:
                if exc.status == TOO_BIG and len(ask) > 1:
                    # The answer would not fit the agent's buffer: one OID per request.
                    got = {}
                    for oid in ask:
                        got.update(await self.get(session, [oid]))
                    return {**got, **{k: _plain(NO_SUCH_OBJECT) for k in missing}}
                if exc.status != NO_SUCH_NAME or not 1 <= exc.index <= len(ask):
                    raise
                missing[ask.pop(exc.index - 1)] = None
        else:
            got = {}
        out = {k: _plain(v) for k, v in got.items()}
        out.update({k: _plain(NO_SUCH_OBJECT) for k in missing})
        return out

    async def table(self, session: Any, columns: dict[str, str],
                    rows_hint: Optional[int] = None,
                    notes: Optional[list[str]] = None) -> dict[str, dict[str, Any]]:
        """Walk several columns at once: {row index: {column: value}}.

        GETBULK on v2c/v3, GETNEXT on v1 (or when the agent refuses GETBULK). Copes with
        what field agents do: a tooBig answer (ask again with half the repetitions, then
        with GETNEXT), fewer rows than asked (carry on from where each column got to),
        noSuchObject/noSuchInstance inside the walk (a hole: skipped), endOfMibView,
        v1 noSuchName at the end of the MIB (that column is done) and OIDs that do not
        increase (loop guard: that column stops). ``notes`` collects what was coped with.
        ``rows_hint`` (e.g. ifNumber) sizes max-repetitions so a one-port camera is not
        sent 25 rows of the next columns to decode.
        """
        from probes.snmp_ber import END_OF_MIB, _Exception
        notes = notes if notes is not None else []
        # Without a hint, start small (most devices are one-port cameras) and widen.
        reps = 2 if not rows_hint else max(1, min(MAX_REPETITIONS, int(rows_hint) + 1))
        reps = min(reps, getattr(session, "max_reps", MAX_REPETITIONS))
        rows: dict[str, dict[str, Any]] = {}
        active = list(columns)                 # columns still being walked, in order
        cursor = dict(columns)
        width = len(active)                    # columns per request (1 after a tooBig)
        seen = requests = holes = 0
        while active and seen < MAX_ROWS and requests < MAX_REQUESTS:
            requests += 1
            names = active[:width]
            oids = [cursor[n] for n in names]
            try:
                if session.walk == "getbulk":
                    vbs = await session.bulk(oids, reps)
                    session.bulk_ok = True
                else:
                    vbs = await session.getnext(oids)
            except SnmpError as exc:
                if exc.status == TOO_BIG:
                    if session.walk == "getbulk" and reps > 1:
                        reps = max(1, reps // 2)
                        session.max_reps = reps     # remember for the next tables
                        _note(notes, f"tooBig: GETBULK max-repetitions cut to {reps}")
                        continue
                    if session.walk == "getbulk":
                        session.walk = "getnext"
                        _note(notes, "tooBig at one repetition: walking with GETNEXT")
                        continue
                    if width > 1:
                        width = 1
                        _note(notes, "tooBig: one column per GETNEXT")
                        continue
                    raise
                if exc.status == NO_SUCH_NAME and session.walk == "getnext" \
                        and 1 <= exc.index <= len(names):
                    active.remove(names[exc.index - 1])   # v1: that column ran off the MIB
                    continue
                if session.walk == "getbulk" and not session.bulk_ok \
                        and exc.kind in ("fault", "timeout"):
                    # An agent that answers GET but not GETBULK (genErr, or silence).
                    session.walk = "getnext"
                    _note(notes, f"GETBULK refused ({exc}): walking with GETNEXT")
                    continue
                raise
            if not vbs:
                # net-snmp with maxGetbulkResponses below the column count answers an
                # empty list: ask for fewer columns at a time, then fall back to GETNEXT.
                if width > 1:
                    width = max(1, min(width, len(names)) // 2)
                    _note(notes, "empty GETBULK answer: fewer columns per request")
                    continue
                if session.walk == "getbulk":
                    session.walk = "getnext"
                    _note(notes, "empty GETBULK answer: walking with GETNEXT")
                    continue
                break
            progressed = False
            for i, (oid, val) in enumerate(vbs):
                col = names[i % len(names)]
                if col not in active:
                    continue
                prefix = columns[col] + "."
                if val is END_OF_MIB or not oid.startswith(prefix):
                    active.remove(col)
                    continue
                if _oid_key(oid) <= _oid_key(cursor[col]):
                    active.remove(col)         # does not advance: never ask it again
                    _note(notes, f"non-increasing OID {oid} after {cursor[col]}: "
                                 f"walk of {col} stopped")
                    continue
                cursor[col] = oid
                progressed = True
                if isinstance(val, _Exception):
                    holes += 1                 # noSuch* inside a walk: a hole, not a value
                    continue
                rows.setdefault(oid[len(prefix):], {})[col] = _plain(val)
                seen += 1
            if not progressed and active and active[:width] == names:
                break                          # nothing moved and nothing ended
            reps = min(MAX_REPETITIONS, getattr(session, "max_reps", MAX_REPETITIONS))
        if holes:
            _note(notes, f"{holes} noSuchObject/noSuchInstance value(s) inside the walk")
        if active and (seen >= MAX_ROWS or requests >= MAX_REQUESTS):
            _note(notes, "walk cut short at the row/request limit")
        return rows

    # ---------------------------------------------------------- probes

    async def reach(self, t: DeviceTarget, timeout: float) -> ReachResult:
        """Reachability of an SNMP-only device: one GET of sysUpTime."""
        t0 = time.perf_counter()
        try:
            v3_priv = str(t.snmp_version) in ("3", "v3") and bool(t.snmp_priv_key)
            session = await self._session(t, timeout / 2 if v3_priv else timeout)
            try:
                await self.get(session, [SYS_UPTIME])
            except SnmpError as exc:
                # A wrong v3 privacy key looks like silence: ask authNoPriv (see _priv_check).
                if exc.kind == "timeout" and v3_priv:
                    await self._priv_check(t, timeout / 2)
                raise
        except SnmpError as exc:
            if exc.kind == "auth":      # it answered, only our credentials are wrong
                return ReachResult(ok=True, rtt_ms=(time.perf_counter() - t0) * 1000)
            return ReachResult(ok=False, error=ProbeError(exc.kind, str(exc), "reach"))
        return ReachResult(ok=True, rtt_ms=(time.perf_counter() - t0) * 1000)

    async def _system(self, t: DeviceTarget, timeout: float, result: SnmpResult
                      ) -> tuple[Any, dict[str, Any]]:
        """The session that answers and the system group. ``snmp_version="auto"`` tries
        v2c, then v1 (a v1-only agent drops v2c messages unanswered)."""
        oids = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, IF_NUMBER]
        auto = str(t.snmp_version or "").lower() == "auto"
        # ``timeout`` is the whole check's budget (the runner enforces it); one request
        # gets half (a third with auto's second try), leaving room for the tables.
        session = await self._session(t, max(0.2, timeout / (3 if auto else 2)))
        try:
            return session, await self.get(session, oids)
        except SnmpError as exc:
            if exc.kind == "timeout" and session.version == "3" and t.snmp_priv_key:
                await self._priv_check(t, max(0.2, timeout / 3))
            if not auto or exc.kind != "timeout":
                raise
        session = await self._session(t, max(0.2, timeout / 3), v1=True)
        sysg = await self.get(session, oids)
        result.warnings.append(ProbeError("unsupported", "agent answers SNMPv1 only "
                                          "(set snmp_version 1 to skip the v2c try)", "snmp"))
        return session, sysg

    async def _priv_check(self, t: DeviceTarget, timeout: float) -> None:
        """After an authPriv timeout: does the agent answer the same user authNoPriv?

        A wrong privacy key passes the agent's HMAC check, decrypts to garbage and is
        dropped without a report (net-snmp counts it and stays silent), so it looks
        like a dead device. If an authNoPriv GET with the same auth key gets any answer
        (a response or authorizationError), the device is up and the auth key right:
        the privacy key or protocol is wrong. Raises that verdict; returns otherwise."""
        plain = DeviceTarget(t.serial, t.host, kind=t.kind, snmp_port=t.snmp_port,
                             snmp_version="3", snmp_user=t.snmp_user,
                             snmp_auth_key=t.snmp_auth_key,
                             snmp_auth_protocol=t.snmp_auth_protocol)
        try:
            usm = self._usm_for(t)
        except SnmpError:
            return
        if usm:
            # Our codec keeps no shared user table: two sessions, nothing to register.
            async def plain_session() -> Any:
                return self._usm_session(plain, timeout)

            async def priv_session() -> Any:
                return self._usm_session(t, timeout)
            wrong = await self._priv_verdict(plain_session, priv_session)
        else:
            # pysnmp: own engine (kept for the client's life: making one costs ~60 ms of
            # CPU), since the user must not be registered twice with different keys in
            # the shared one; one registration at a time in it.
            if self._priv_lock is None:
                self._priv_lock = asyncio.Lock()
            async with self._priv_lock:
                async def plain_session() -> Any:
                    if self._priv_engine is None:
                        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
                        self._priv_engine = SnmpEngine()
                    return await self._v3_session(self._priv_engine, t, self._auth(plain),
                                                  timeout)

                async def priv_session() -> Any:
                    return await self._v3_session(self.engine, t,
                                                  await self._v3_auth(t, timeout), timeout)
                wrong = await self._priv_verdict(plain_session, priv_session)
        if wrong:
            raise SnmpError("auth", "wrong SNMPv3 privacy key or protocol (decryptionError): "
                                    "the agent answers this user with the auth key alone "
                                    "but drops its authPriv requests")

    @staticmethod
    async def _priv_verdict(plain_session: Any, priv_session: Any) -> bool:
        """True when authNoPriv is answered and authPriv, asked once more, stays silent."""
        try:
            session = await plain_session()
            try:
                await session.get([SYS_UPTIME])
            except SnmpError as exc:
                if exc.kind != "fault":        # timeout, or the auth key is wrong too
                    return False
            # It answers authNoPriv. Before blaming the privacy key, ask authPriv once
            # more: an agent that was only slow (busy, or a lost datagram) answers now,
            # and the caller's timeout stands (the runner tries the check again).
            again = await priv_session()
            try:
                await again.get([SYS_UPTIME])
                return False
            except SnmpError as exc:
                return exc.kind == "timeout"
        except Exception:  # noqa: BLE001 - a diagnosis must never replace the timeout
            return False

    async def probe(self, t: DeviceTarget, timeout: float) -> SnmpResult:
        """System group, ports, PoE. ``timeout`` is the check's budget of device time:
        each request may wait part of it for its answer, and the answers together may
        take all of it, counted from each send to the kernel's receipt of the answer, so
        time our own process spends busy elsewhere is not charged to the device (the
        runner's wall-clock guard is a multiple of it; see ``probes.runner``)."""
        result = SnmpResult(ok=False)
        try:
            t0 = time.perf_counter()
            session, sysg = await self._system(t, timeout, result)
            # The device's answer time (send to kernel receipt), not our loop's delay.
            rtt = getattr(session, "last_rtt_s", None)
            result.rtt_ms = round((rtt if rtt is not None else time.perf_counter() - t0)
                                  * 1000, 3)
            result.snmp_version = session.version
            result.sys_descr = _short(sysg.get(SYS_DESCR))
            result.sys_object_id = _short(sysg.get(SYS_OBJECT_ID))
            up = sysg.get(SYS_UPTIME)
            result.sys_uptime_s = up / 100.0 if isinstance(up, int) else None
            result.sys_name = _short(sysg.get(SYS_NAME))
            if result.sys_uptime_s is None:
                result.warnings.append(ProbeError("malformed", "no sysUpTime", "snmp"))
            result.ok = True   # the system group answered; tables are extra evidence
            session.budget_s = timeout
            # ifNumber sizes the table walks (see ``table``).
            if_number = sysg.get(IF_NUMBER) if isinstance(sysg.get(IF_NUMBER), int) else None
            await self._ports(session, result, if_number)
            if t.kind == "switch":
                await self._poe(session, result, if_number)
            result.walk = session.walk
        except SnmpError as exc:
            result.ok = False
            result.error = ProbeError(exc.kind, str(exc), "snmp")
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "CancelledError":
                raise
            result.ok = False
            result.error = classify(exc, "snmp")
        return result

    async def _walk(self, session: Any, result: SnmpResult, what: str,
                    columns: dict[str, str], if_number: Optional[int]
                    ) -> Optional[dict[str, dict[str, Any]]]:
        notes: list[str] = []
        try:
            rows = await self.table(session, columns, if_number, notes)
        except SnmpError as exc:
            if exc.kind == "timeout":
                raise
            result.warnings.append(ProbeError(exc.kind, f"{what}: {exc}", "snmp"))
            return None
        for n in notes:
            kind = "malformed" if ("non-increasing" in n or "noSuch" in n) else "fault"
            result.warnings.append(ProbeError(kind, f"{what}: {n}", "snmp"))
        return rows

    async def _ports(self, session: Any, result: SnmpResult,
                     if_number: Optional[int]) -> None:
        rows = await self._walk(session, result, "ifTable", IF_COLUMNS, if_number)
        for idx, row in sorted((rows or {}).items(), key=lambda kv: _index_key(kv[0])):
            try:
                index = int(idx)
            except ValueError:
                continue
            speed = row.get("speed")
            # Counter64 where the agent has it (and both directions), else Counter32.
            hc = isinstance(row.get("hc_in_octets"), int) and isinstance(
                row.get("hc_out_octets"), int)
            in_o = row.get("hc_in_octets") if hc else _int(row.get("in_octets"))
            out_o = row.get("hc_out_octets") if hc else _int(row.get("out_octets"))
            result.ports.append(PortStatus(
                index=index,
                name=_short(row.get("name") or row.get("descr")),
                oper_status=OPER_STATUS.get(row.get("oper"), None if row.get("oper") is None
                                            else str(row.get("oper"))),
                admin_status=ADMIN_STATUS.get(row.get("admin")),
                speed_mbps=int(speed) // 1_000_000 if isinstance(speed, int) else None,
                in_errors=_int(row.get("in_errors")), out_errors=_int(row.get("out_errors")),
                in_discards=_int(row.get("in_discards")),
                out_discards=_int(row.get("out_discards")),
                in_octets=in_o, out_octets=out_o,
                counter_bits=64 if hc else (32 if in_o is not None or out_o is not None
                                            else None)))

    async def _poe(self, session: Any, result: SnmpResult, if_number: Optional[int]) -> None:
        rows = await self._walk(session, result, "PoE table", POE_COLUMNS, if_number)
        if rows is None:
            return
        if not rows:
            # No POWER-ETHERNET-MIB (RFC 3621): the switch may still feed PoE through a
            # vendor MIB we do not map. A fact about the device, not a failure.
            result.poe_support = "unsupported"
            result.warnings.append(ProbeError("unsupported", "no PoE MIB", "snmp"))
            return
        result.poe_support = "supported"
        for idx, row in sorted(rows.items(), key=lambda kv: _index_key(kv[0])):
            parts = idx.split(".")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                continue
            det = row.get("detection")
            pc = row.get("power_class")
            result.poe.append(PoePort(
                index=int(parts[1]), group=int(parts[0]),
                admin_enabled=None if row.get("admin") is None else row.get("admin") == 1,
                detection_status=POE_DETECTION.get(det, None if det is None else str(det)),
                power_class=pc - 1 if isinstance(pc, int) and pc >= 1 else None))
        map_poe_ports(result.poe, result.ports)


def map_poe_ports(poe: list[PoePort], ports: list[PortStatus]) -> None:
    """Set each PSE port's ``if_index`` and say how (``if_mapping``).

    RFC 3621 indexes PSE ports by (pethPsePortGroupIndex, pethPsePortIndex), which need
    not equal ifIndex (H3C/Huawei ifIndexes are large and sparse). Rule 1, "ifname": the
    interface whose ifName/ifDescr ends in ``<group>/<port>`` (or ``.../<port>`` on a
    one-group switch, e.g. GigabitEthernet1/0/5 for group 1 port 5), when exactly one
    does. Rule 2, "index": only when no port name carries a slash-numbered suffix at
    all, the interface with ifIndex == pethPsePortIndex (an assumption, labelled as
    such). Otherwise no mapping: better none than a wrong camera blamed.
    """
    numbered: dict[tuple[int, ...], list[int]] = {}
    for p in ports:
        nums = _slash_numbers(p.name)
        if nums:
            numbered.setdefault(nums, []).append(p.index)
    groups = {pp.group for pp in poe}
    by_index = {p.index for p in ports}
    for pp in poe:
        hits = [ix for nums, ixs in numbered.items() for ix in ixs
                if nums[-1] == pp.index and (
                    (len(nums) >= 2 and nums[0] == pp.group)
                    or (len(groups) == 1 and len(nums) >= 2))]
        # Prefer an exact group/port match when several names end in the same port.
        exact = [ix for nums, ixs in numbered.items() for ix in ixs
                 if nums[-1] == pp.index and nums[0] == pp.group]
        if len(exact) == 1:
            pp.if_index, pp.if_mapping = exact[0], "ifname"
        elif len(hits) == 1:
            pp.if_index, pp.if_mapping = hits[0], "ifname"
        elif not numbered and pp.group == 1 and pp.index in by_index:
            pp.if_index, pp.if_mapping = pp.index, "index"


def _slash_numbers(name: Optional[str]) -> tuple[int, ...]:
    """(1, 0, 5) for 'GigabitEthernet1/0/5', () for names without a slash-number tail."""
    import re
    m = re.search(r"(\d+(?:/\d+)+)\s*$", name or "")
    return tuple(int(x) for x in m.group(1).split("/")) if m else ()


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _oid_key(oid: str) -> tuple:
    return tuple(int(p) for p in oid.split(".") if p.isdigit())


def _index_key(idx: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in idx.split("."))


def _int(v: Any) -> Optional[int]:
    return v if isinstance(v, int) else None


def _short(v: Any) -> Optional[str]:
    if v is None:
        return None
    return str(v)[:300]
