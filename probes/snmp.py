"""SNMP probe through pysnmp 7's asyncio API: v2c and v3 authPriv, numeric OIDs only.

System group by GET; IF-MIB (ifTable + ifXTable names) and the PoE MIB (RFC 3621
pethPsePortTable) by GETBULK walks of several columns at once. No MIB lookups: the
OIDs are numeric, so pysnmp never tries to fetch or compile MIBs.
"""
from __future__ import annotations

import time
from typing import Any, Optional

from probes.errors import classify
from probes.model import DeviceTarget, PoePort, PortStatus, ProbeError, ReachResult, SnmpResult

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"

IF_COLUMNS = {
    "descr": "1.3.6.1.2.1.2.2.1.2",
    "speed": "1.3.6.1.2.1.2.2.1.5",
    "admin": "1.3.6.1.2.1.2.2.1.7",
    "oper": "1.3.6.1.2.1.2.2.1.8",
    "in_discards": "1.3.6.1.2.1.2.2.1.13",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_discards": "1.3.6.1.2.1.2.2.1.19",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
}
IFX_NAME = {"name": "1.3.6.1.2.1.31.1.1.1.1"}
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
    """A pysnmp value as plain Python, or None for noSuchObject/noSuchInstance/endOfMib."""
    cls = type(value).__name__
    if cls in ("NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null"):
        return None
    if cls == "ObjectIdentifier" or cls == "ObjectName":
        return str(value)
    if cls == "OctetString":
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


class SnmpClient:
    """One SnmpEngine for the process; auth objects built per target."""

    def __init__(self) -> None:
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
        self.engine = SnmpEngine()

    def close(self) -> None:
        try:
            self.engine.close_dispatcher()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    # ---------------------------------------------------------- plumbing

    def _auth(self, t: DeviceTarget) -> Any:
        from pysnmp.hlapi.v3arch import asyncio as h
        if str(t.snmp_version) in ("3", "v3"):
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
        return h.CommunityData(t.snmp_community or "public", mpModel=1)

    async def _session(self, t: DeviceTarget, timeout: float, retries: int = 0) -> tuple:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, UdpTransportTarget
        transport = await UdpTransportTarget.create((t.host, int(t.snmp_port or 161)),
                                                    timeout=timeout, retries=retries)
        return self._auth(t), transport, ContextData()

    @staticmethod
    def _check(err_ind: Any, err_status: Any, err_index: Any) -> None:
        if err_ind:
            raise SnmpError(_indication_kind(err_ind), str(err_ind))
        if err_status and int(err_status) != 0:
            raise SnmpError("fault", f"agent error {err_status.prettyPrint()} at {err_index}")

    async def get(self, session: tuple, oids: list[str]) -> dict[str, Any]:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd
        auth, transport, ctx = session
        ei, es, ix, vbs = await get_cmd(self.engine, auth, transport, ctx,
                                        *[ObjectType(ObjectIdentity(o)) for o in oids],
                                        lookupMib=False)
        self._check(ei, es, ix)
        return {str(name): _v(val) for name, val in vbs}

    async def table(self, session: tuple, columns: dict[str, str]) -> dict[str, dict[str, Any]]:
        """GETBULK walk of several columns at once: {row index: {column: value}}."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, bulk_cmd
        auth, transport, ctx = session
        rows: dict[str, dict[str, Any]] = {}
        active = dict(columns)                 # column -> prefix still being walked
        cursor = {name: oid for name, oid in columns.items()}
        seen = 0
        while active and seen < MAX_ROWS:
            names = list(active)
            ei, es, ix, vbs = await bulk_cmd(
                self.engine, auth, transport, ctx, 0, MAX_REPETITIONS,
                *[ObjectType(ObjectIdentity(cursor[n])) for n in names], lookupMib=False)
            self._check(ei, es, ix)
            if not vbs:
                break
            progressed = False
            for i, (name_oid, val) in enumerate(vbs):
                col = names[i % len(names)]
                if col not in active:
                    continue
                oid = str(name_oid)
                prefix = columns[col] + "."
                if not oid.startswith(prefix) or type(val).__name__ == "EndOfMibView":
                    active.pop(col, None)
                    continue
                if cursor[col].startswith(prefix) and _oid_key(oid) <= _oid_key(cursor[col]):
                    continue                   # an agent that does not advance: stop below
                cursor[col] = oid
                progressed = True
                rows.setdefault(oid[len(prefix):], {})[col] = _v(val)
                seen += 1
            if not progressed:
                break
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
            sysg = await self.get(session, [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME])
            result.rtt_ms = round((time.perf_counter() - t0) * 1000, 3)
            result.sys_descr = _short(sysg.get(SYS_DESCR))
            result.sys_object_id = _short(sysg.get(SYS_OBJECT_ID))
            up = sysg.get(SYS_UPTIME)
            result.sys_uptime_s = up / 100.0 if isinstance(up, int) else None
            result.sys_name = _short(sysg.get(SYS_NAME))
            if result.sys_uptime_s is None:
                result.warnings.append(ProbeError("malformed", "no sysUpTime", "snmp"))
            result.ok = True   # the system group answered; tables are extra evidence
            await self._ports(session, result)
            if t.kind == "switch":
                await self._poe(session, result)
        except SnmpError as exc:
            result.ok = False
            result.error = ProbeError(exc.kind, str(exc), "snmp")
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "CancelledError":
                raise
            result.ok = False
            result.error = classify(exc, "snmp")
        return result

    async def _ports(self, session: tuple, result: SnmpResult) -> None:
        try:
            rows = await self.table(session, IF_COLUMNS)
        except SnmpError as exc:
            if exc.kind == "timeout":
                raise
            result.warnings.append(ProbeError(exc.kind, f"ifTable: {exc}", "snmp"))
            return
        names: dict[str, dict[str, Any]] = {}
        try:
            names = await self.table(session, IFX_NAME)
        except SnmpError as exc:
            if exc.kind == "timeout":
                raise
        for idx, row in sorted(rows.items(), key=lambda kv: _index_key(kv[0])):
            try:
                index = int(idx)
            except ValueError:
                continue
            speed = row.get("speed")
            result.ports.append(PortStatus(
                index=index,
                name=_short(names.get(idx, {}).get("name") or row.get("descr")),
                oper_status=OPER_STATUS.get(row.get("oper"), None if row.get("oper") is None
                                            else str(row.get("oper"))),
                admin_status=ADMIN_STATUS.get(row.get("admin")),
                speed_mbps=int(speed) // 1_000_000 if isinstance(speed, int) else None,
                in_errors=_int(row.get("in_errors")), out_errors=_int(row.get("out_errors")),
                in_discards=_int(row.get("in_discards")),
                out_discards=_int(row.get("out_discards"))))

    async def _poe(self, session: tuple, result: SnmpResult) -> None:
        try:
            rows = await self.table(session, POE_COLUMNS)
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
