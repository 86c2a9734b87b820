"""SNMP probe through pysnmp 7's asyncio API: v2c and v3 authPriv, numeric OIDs only.

System group by GET; IF-MIB (ifTable + ifXTable names) and the PoE MIB (RFC 3621
pethPsePortTable) by GETBULK walks of several columns at once. No MIB lookups: the
OIDs are numeric, so pysnmp never tries to fetch or compile MIBs. SNMPv2c goes
through our own small BER codec on one shared UDP socket (``snmp_ber``: pysnmp's
hlapi cost ~12 ms CPU per device at fleet scale); SNMPv3 through pysnmp.
"""
from __future__ import annotations

import asyncio
import random
import socket
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
    "name": "1.3.6.1.2.1.31.1.1.1.1",          # ifXTable ifName, walked alongside
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
MAX_REPETITIONS = 25

_AUTH_INDICATIONS = ("unknownusername", "wrongdigest", "decryptionerror",
                     "unsupportedseclevel", "authorizationerror", "notintimewindow",
                     "unknownsecurityname", "wrong digest", "unknown user")


class SnmpError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


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


class _V2cEndpoint(asyncio.DatagramProtocol):
    """One UDP socket for every SNMPv2c request of the process; replies matched by id."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.DatagramTransport] = None
        self.pending: dict[int, tuple[asyncio.Future, tuple[str, int]]] = {}
        self._next = random.randrange(1, 2 ** 30)

    def request_id(self) -> int:
        self._next = self._next % (2 ** 31 - 1) + 1
        return self._next

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
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
            return          # late, duplicate or spoofed: ignore
        entry[0].set_result(resp)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable arrives here on Linux; we cannot tell which request,
        # so let the timeouts speak (refusals on UDP are not reliable anyway).
        pass


class _V2cSession:
    def __init__(self, endpoint: _V2cEndpoint, host: str, port: int, community: str,
                 timeout: float, retries: int) -> None:
        self.ep, self.addr, self.community = endpoint, (host, port), community
        self.timeout, self.retries = timeout, retries

    async def _send(self, oids: list[str], pdu: int, reps: int = 0) -> list[tuple[str, Any]]:
        from probes.snmp_ber import encode_request, error_name
        rid = self.ep.request_id()
        msg = encode_request(self.community, rid, oids, pdu=pdu, max_repetitions=reps)
        fut = asyncio.get_running_loop().create_future()
        self.ep.pending[rid] = (fut, self.addr)
        try:
            for _attempt in range(1 + self.retries):
                assert self.ep.transport is not None
                self.ep.transport.sendto(msg, self.addr)
                try:
                    async with asyncio.timeout(self.timeout):
                        resp = await asyncio.shield(fut)
                    break
                except TimeoutError:
                    continue
            else:
                raise SnmpError("timeout", "No SNMP response received before timeout")
        finally:
            self.ep.pending.pop(rid, None)
        if resp.error_status:
            raise SnmpError("fault", f"agent error {error_name(resp.error_status)} "
                                     f"at {resp.error_index}")
        return resp.varbinds

    async def get(self, oids: list[str]) -> dict[str, Any]:
        from probes.snmp_ber import GET
        return dict(await self._send(oids, GET))

    async def bulk(self, oids: list[str], reps: int) -> list[tuple[str, Any]]:
        from probes.snmp_ber import GETBULK
        return await self._send(oids, GETBULK, reps)


class _PysnmpSession:
    """SNMPv3 (and anything not v2c) through pysnmp's asyncio hlapi."""

    def __init__(self, engine: Any, auth: Any, transport: Any) -> None:
        from pysnmp.hlapi.v3arch.asyncio import ContextData
        self.engine, self.auth, self.transport, self.ctx = engine, auth, transport, ContextData()

    @staticmethod
    def _check(err_ind: Any, err_status: Any, err_index: Any) -> None:
        if err_ind:
            raise SnmpError(_indication_kind(err_ind), str(err_ind))
        if err_status and int(err_status) != 0:
            raise SnmpError("fault", f"agent error {err_status.prettyPrint()} at {err_index}")

    async def get(self, oids: list[str]) -> dict[str, Any]:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd
        ei, es, ix, vbs = await get_cmd(self.engine, self.auth, self.transport, self.ctx,
                                        *[ObjectType(ObjectIdentity(o)) for o in oids],
                                        lookupMib=False)
        self._check(ei, es, ix)
        return {str(name): _v(val) for name, val in vbs}

    async def bulk(self, oids: list[str], reps: int) -> list[tuple[str, Any]]:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, bulk_cmd
        ei, es, ix, vbs = await bulk_cmd(self.engine, self.auth, self.transport, self.ctx,
                                         0, reps, *[ObjectType(ObjectIdentity(o)) for o in oids],
                                         lookupMib=False)
        self._check(ei, es, ix)
        return [(str(name), _v(val)) for name, val in vbs]


class SnmpClient:
    """SNMP for a whole batch: one UDP socket for v2c, one pysnmp engine for v3."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._v2c: Optional[_V2cEndpoint] = None
        self._v2c_lock: Optional[asyncio.Lock] = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
            self._engine = SnmpEngine()
        return self._engine

    def close(self) -> None:
        if self._v2c is not None and self._v2c.transport is not None:
            self._v2c.transport.close()
            self._v2c = None
        if self._engine is not None:
            try:
                self._engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
            self._engine = None

    # ---------------------------------------------------------- plumbing

    def _auth(self, t: DeviceTarget) -> Any:
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
        if t.snmp_auth_key and t.snmp_priv_key:
            return h.UsmUserData(t.snmp_user, t.snmp_auth_key, t.snmp_priv_key,
                                 authProtocol=auth_proto, privProtocol=priv_proto)
        if t.snmp_auth_key:
            return h.UsmUserData(t.snmp_user, t.snmp_auth_key, authProtocol=auth_proto)
        return h.UsmUserData(t.snmp_user)

    async def _endpoint(self) -> _V2cEndpoint:
        if self._v2c is None:
            if self._v2c_lock is None:
                self._v2c_lock = asyncio.Lock()
            async with self._v2c_lock:
                if self._v2c is None:
                    loop = asyncio.get_running_loop()
                    _t, proto = await loop.create_datagram_endpoint(
                        _V2cEndpoint, family=socket.AF_INET)
                    self._v2c = proto
        return self._v2c

    async def _session(self, t: DeviceTarget, timeout: float, retries: int = 0) -> Any:
        port = int(t.snmp_port or 161)
        if str(t.snmp_version) in ("3", "v3"):
            from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget
            transport = await UdpTransportTarget.create((t.host, port), timeout=timeout,
                                                        retries=retries)
            return _PysnmpSession(self.engine, self._auth(t), transport)
        return _V2cSession(await self._endpoint(), t.host, port, t.snmp_community or "public",
                           timeout, retries)

    async def get(self, session: Any, oids: list[str]) -> dict[str, Any]:
        return {k: _plain(v) for k, v in (await session.get(oids)).items()}

    async def table(self, session: Any, columns: dict[str, str],
                    rows_hint: Optional[int] = None) -> dict[str, dict[str, Any]]:
        """GETBULK walk of several columns at once: {row index: {column: value}}.

        ``rows_hint`` (e.g. ifNumber) sizes max-repetitions so a one-port camera is not
        sent 25 rows of the next columns to decode.
        """
        from probes.snmp_ber import END_OF_MIB
        # Without a hint, start small (most devices are one-port cameras) and widen.
        reps = 2 if not rows_hint else max(1, min(MAX_REPETITIONS, int(rows_hint) + 1))
        rows: dict[str, dict[str, Any]] = {}
        active = dict(columns)                 # column -> prefix still being walked
        cursor = {name: oid for name, oid in columns.items()}
        seen = 0
        while active and seen < MAX_ROWS:
            names = list(active)
            vbs = await session.bulk([cursor[n] for n in names], reps)
            if not vbs:
                break
            progressed = False
            for i, (oid, val) in enumerate(vbs):
                col = names[i % len(names)]
                if col not in active:
                    continue
                prefix = columns[col] + "."
                if not oid.startswith(prefix) or val is END_OF_MIB:
                    active.pop(col, None)
                    continue
                if cursor[col].startswith(prefix) and _oid_key(oid) <= _oid_key(cursor[col]):
                    continue                   # an agent that does not advance: stop below
                cursor[col] = oid
                progressed = True
                rows.setdefault(oid[len(prefix):], {})[col] = _plain(val)
                seen += 1
            if not progressed:
                break
            reps = MAX_REPETITIONS
        return rows

    # ---------------------------------------------------------- probes

    async def reach(self, t: DeviceTarget, timeout: float) -> ReachResult:
        """Reachability of an SNMP-only device: one GET of sysUpTime."""
        t0 = time.perf_counter()
        try:
            session = await self._session(t, timeout)
            await self.get(session, [SYS_UPTIME])
        except SnmpError as exc:
            if exc.kind == "auth":      # it answered, only our credentials are wrong
                return ReachResult(ok=True, rtt_ms=(time.perf_counter() - t0) * 1000)
            return ReachResult(ok=False, error=ProbeError(exc.kind, str(exc), "reach"))
        return ReachResult(ok=True, rtt_ms=(time.perf_counter() - t0) * 1000)

    async def probe(self, t: DeviceTarget, timeout: float) -> SnmpResult:
        """System group, ports, PoE. ``timeout`` is per request (the runner bounds the whole)."""
        result = SnmpResult(ok=False)
        try:
            # ``timeout`` is the whole check's budget (the runner enforces it); one request
            # gets half, so a slow first answer still leaves room for the tables.
            session = await self._session(t, max(0.2, timeout / 2))
            t0 = time.perf_counter()
            sysg = await self.get(session, [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME,
                                            IF_NUMBER])
            result.rtt_ms = round((time.perf_counter() - t0) * 1000, 3)
            result.sys_descr = _short(sysg.get(SYS_DESCR))
            result.sys_object_id = _short(sysg.get(SYS_OBJECT_ID))
            up = sysg.get(SYS_UPTIME)
            result.sys_uptime_s = up / 100.0 if isinstance(up, int) else None
            result.sys_name = _short(sysg.get(SYS_NAME))
            if result.sys_uptime_s is None:
                result.warnings.append(ProbeError("malformed", "no sysUpTime", "snmp"))
            result.ok = True   # the system group answered; tables are extra evidence
            # ifNumber sizes the table walks (see ``table``).
            if_number = sysg.get(IF_NUMBER) if isinstance(sysg.get(IF_NUMBER), int) else None
            await self._ports(session, result, if_number)
            if t.kind == "switch":
                await self._poe(session, result, if_number)
        except SnmpError as exc:
            result.ok = False
            result.error = ProbeError(exc.kind, str(exc), "snmp")
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "CancelledError":
                raise
            result.ok = False
            result.error = classify(exc, "snmp")
        return result

    async def _ports(self, session: tuple, result: SnmpResult,
                     if_number: Optional[int]) -> None:
        try:
            rows = await self.table(session, IF_COLUMNS, if_number)
        except SnmpError as exc:
            if exc.kind == "timeout":
                raise
            result.warnings.append(ProbeError(exc.kind, f"ifTable: {exc}", "snmp"))
            return
        for idx, row in sorted(rows.items(), key=lambda kv: _index_key(kv[0])):
            try:
                index = int(idx)
            except ValueError:
                continue
            speed = row.get("speed")
            result.ports.append(PortStatus(
                index=index,
                name=_short(row.get("name") or row.get("descr")),
                oper_status=OPER_STATUS.get(row.get("oper"), None if row.get("oper") is None
                                            else str(row.get("oper"))),
                admin_status=ADMIN_STATUS.get(row.get("admin")),
                speed_mbps=int(speed) // 1_000_000 if isinstance(speed, int) else None,
                in_errors=_int(row.get("in_errors")), out_errors=_int(row.get("out_errors")),
                in_discards=_int(row.get("in_discards")),
                out_discards=_int(row.get("out_discards"))))

    async def _poe(self, session: tuple, result: SnmpResult, if_number: Optional[int]) -> None:
        try:
            rows = await self.table(session, POE_COLUMNS, if_number)
        except SnmpError as exc:
            if exc.kind == "timeout":
                raise
            result.warnings.append(ProbeError(exc.kind, f"PoE table: {exc}", "snmp"))
            return
        if not rows:
            result.warnings.append(ProbeError("unsupported", "no PoE MIB", "snmp"))
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
