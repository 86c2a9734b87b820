"""SNMP agent for the whole fleet: one pysnmp engine (real v2c community and v3 USM
authPriv processing), one responder that answers from each device's own MIB view.

Transport: every device needs its own address. Below `per_address_limit` devices each
address gets its own UDP socket; above it (10,000 devices would need 10,000 descriptors
on top of the ONVIF listeners, past this machine's hard limit of 20,000) one UDP socket
bound to 0.0.0.0 *on the loopback device only* (SO_BINDTODEVICE "lo": no other interface
can reach it) reads the destination address of each datagram with IP_PKTINFO and
answers from that same address.

MIB served (numeric OIDs): SNMPv2-MIB system group, IF-MIB ifNumber/ifTable/ifXTable,
and for switches POWER-ETHERNET-MIB pethPsePortTable + pethMainPseTable. Switch port k
(1-based) feeds the k-th device downstream of it (`DeviceSpec.switch_port`).
"""
from __future__ import annotations

import asyncio
import bisect
import hashlib
import socket
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Callable

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c
from pysnmp.proto.secmod.rfc3414 import SnmpUSMSecurityModel
from pysnmp.smi.error import NoSuchInstanceError

from .faults import DeviceState

IP_PKTINFO = 8           # Linux value; Python's socket module does not export it
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)

SYS = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
PETH_PORT = (1, 3, 6, 1, 2, 1, 105, 1, 1, 1)
PETH_MAIN = (1, 3, 6, 1, 2, 1, 105, 1, 3, 1, 1)
SNMP_ENGINE = (1, 3, 6, 1, 6, 3, 10, 2, 1)    # SNMP-FRAMEWORK-MIB snmpEngine group
IF_COLS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 16, 17, 19, 20)
IFX_COLS = (1, 6, 10, 15, 18)
PETH_COLS = (3, 6)
KIND_CODE = {"camera": 1, "nvr": 2, "switch": 3, "speaker": 4}


@lru_cache(maxsize=64)
def oid_table(kind: str, ports: int) -> tuple[tuple[int, ...], ...]:
    """Sorted OIDs of one device type; shared by every device of that shape."""
    n_if = ports if kind == "switch" else 1
    oids = [SYS + (c, 0) for c in range(1, 8)] + [IF_NUMBER]
    oids += [IF_ENTRY + (c, i) for c in IF_COLS for i in range(1, n_if + 1)]
    oids += [IFX_ENTRY + (c, i) for c in IFX_COLS for i in range(1, n_if + 1)]
    if kind == "switch":
        oids += [PETH_PORT + (c, 1, p) for c in PETH_COLS for p in range(1, ports + 1)]
        oids += [PETH_MAIN + (c, 1) for c in (2, 3, 4)]
    oids += [SNMP_ENGINE + (c, 0) for c in (1, 2, 3, 4)]
    return tuple(sorted(oids))


def _h(s: str, mod: int) -> int:
    return zlib.crc32(s.encode()) % mod


class MibView:
    """Values of one device's MIB at an instant."""

    def __init__(self, states: dict[str, DeviceState]):
        self.states = states

    def port_device(self, sw: DeviceState, port: int) -> DeviceState | None:
        ds = sw.spec.downstream
        return self.states.get(ds[port - 1]) if 0 < port <= len(ds) else None

    def link_up(self, sw: DeviceState, port: int, now: float) -> bool:
        if sw.spec.kind != "switch":
            return True
        if port == sw.spec.ports:       # uplink
            return True
        dev = self.port_device(sw, port)
        return dev is not None and dev.own_reach(now) != "drop"

    def value(self, d: DeviceState, oid: tuple[int, ...], now: float):
        s = d.spec
        up_ticks = int(d.uptime_s(now) * 100) % (1 << 32)
        if oid[:7] == SYS:
            col = oid[7]
            return {
                1: lambda: rfc1902.OctetString(f"{s.vendor} {s.model} {s.kind} firmware {s.firmware}"),
                2: lambda: rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, s.enterprise, 1, KIND_CODE[s.kind])),
                3: lambda: rfc1902.TimeTicks(up_ticks),
                4: lambda: rfc1902.OctetString("noc@contractor.example"),
                5: lambda: rfc1902.OctetString(s.serial),
                6: lambda: rfc1902.OctetString(f"community {s.community_index + 1:04d} {s.role or s.kind}"),
                7: lambda: rfc1902.Integer(72 if s.kind != "switch" else 2),
            }[col]()
        if oid == IF_NUMBER:
            return rfc1902.Integer(s.ports if s.kind == "switch" else 1)
        uptime = d.uptime_s(now)
        if oid[:9] == IF_ENTRY:
            col, idx = oid[9], oid[10]
            up = self.link_up(d, idx, now)
            rate = 40000 + _h(f"{s.serial}/{idx}", 400000) if up else 0   # bytes/s
            err_rate = 0.02 if _h(f"e{s.serial}/{idx}", 10) == 0 else 0.0
            c32 = lambda v: rfc1902.Counter32(int(v) % (1 << 32))   # noqa: E731
            name = f"GigabitEthernet0/0/{idx}" if s.kind == "switch" else "eth0"
            return {
                1: lambda: rfc1902.Integer(idx),
                2: lambda: rfc1902.OctetString(name),
                3: lambda: rfc1902.Integer(6),
                4: lambda: rfc1902.Integer(1500),
                5: lambda: rfc1902.Gauge32(1000000000 if s.kind == "switch" else 100000000),
                6: lambda: rfc1902.OctetString(bytes.fromhex(s.mac.replace(":", ""))[:5] + bytes([idx % 256])),
                7: lambda: rfc1902.Integer(1),
                8: lambda: rfc1902.Integer(1 if up else 2),
                9: lambda: rfc1902.TimeTicks(self.last_change(d, idx, now)),
                10: lambda: c32(rate * uptime),
                11: lambda: c32(rate * uptime / 1100),
                13: lambda: c32(0),
                14: lambda: c32(err_rate * uptime),
                16: lambda: c32(rate * uptime * 0.1),
                17: lambda: c32(rate * uptime * 0.1 / 400),
                19: lambda: c32(0),
                20: lambda: c32(0),
            }[col]()
        if oid[:10] == IFX_ENTRY:
            col, idx = oid[10], oid[11]
            up = self.link_up(d, idx, now)
            rate = 40000 + _h(f"{s.serial}/{idx}", 400000) if up else 0
            dev = self.port_device(d, idx) if s.kind == "switch" else None
            alias = dev.spec.serial if dev is not None else ("uplink" if s.kind == "switch" and idx == s.ports else "")
            return {
                1: lambda: rfc1902.OctetString(f"GE0/0/{idx}" if s.kind == "switch" else "eth0"),
                6: lambda: rfc1902.Counter64(int(rate * uptime)),
                10: lambda: rfc1902.Counter64(int(rate * uptime * 0.1)),
                15: lambda: rfc1902.Gauge32(1000 if s.kind == "switch" else 100),
                18: lambda: rfc1902.OctetString(alias),
            }[col]()
        if oid[:10] == PETH_PORT:
            col, port = oid[10], oid[12]
            if col == 3:
                return rfc1902.Integer(1)       # pethPsePortAdminEnable: true
            dev = self.port_device(d, port)
            if dev is None:
                return rfc1902.Integer(2 if port != s.ports else 1)   # searching / disabled
            if "poe_fault" in dev.faults:
                return rfc1902.Integer(4)       # fault: the PSE cut the port's power
            return rfc1902.Integer(3 if dev.own_reach(now) != "drop" else 2)
        if oid[:9] == SNMP_ENGINE:
            return {1: lambda: rfc1902.OctetString(engine_id(s.enterprise, s.serial)),
                    2: lambda: rfc1902.Integer(1 + d.reboots),              # snmpEngineBoots
                    3: lambda: rfc1902.Integer(int(d.uptime_s(now)) % (1 << 31)),  # snmpEngineTime
                    4: lambda: rfc1902.Integer(65507)}[oid[9]]()
        if oid[:11] == PETH_MAIN:
            col = oid[11]
            powered = sum(1 for p in range(1, s.ports) if self.link_up(d, p, now) and self.port_device(d, p))
            return {2: lambda: rfc1902.Gauge32(370), 3: lambda: rfc1902.Integer(1),
                    4: lambda: rfc1902.Gauge32(6 * powered)}[col]()
        raise KeyError(oid)

    def last_change(self, d: DeviceState, idx: int, now: float) -> int:
        """sysUpTime (centiseconds) at the port's last status change."""
        if d.spec.kind != "switch":
            return 0
        dev = self.port_device(d, idx)
        if dev is None:
            return 0
        starts = [t for f, t in dev.faults.items()
                  if f in ("offline", "flap", "poe_fault") and t > d.boot_time]
        if not starts:
            return 0
        return int((max(starts) - d.boot_time) * 100) % (1 << 32)


class LoopbackUdpTransport(udp.UdpAsyncioTransport):
    """pysnmp transport fed from our own sockets, remembering which device address each
    request came to so the answer leaves from that address."""

    def __init__(self, loop: asyncio.AbstractEventLoop, gate: Callable[[str], bool],
                 select: Callable[[str], None] = lambda ip: None):
        super().__init__(loop=loop)
        self.loop = loop
        self.gate = gate            # gate(ip) -> True when the device should hear it
        self.select = select        # select(ip): make the engine speak as that device
        self.socks: dict[str, socket.socket] = {}
        self.wild: socket.socket | None = None
        self.port = 0
        # fast(data, src, ip) -> True when it took the datagram (snmp_fast.py); else pysnmp
        self.fast: Callable[[bytes, tuple, str], bool] | None = None

    # opening ---------------------------------------------------------------
    def open_wildcard(self, port: int) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, b"lo")
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("0.0.0.0", port))
        s.setblocking(False)
        self.wild, self.port = s, port
        self.loop.add_reader(s.fileno(), self._read_wild)

    def open_address(self, ip: str, port: int) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, port))
        s.setblocking(False)
        self.socks[ip], self.port = s, port
        self.loop.add_reader(s.fileno(), self._read_one, s, ip)

    def close_transport(self) -> None:
        for s in list(self.socks.values()) + ([self.wild] if self.wild else []):
            try:
                self.loop.remove_reader(s.fileno())
            except Exception:
                pass
            s.close()
        self.socks.clear()
        self.wild = None

    # receiving -------------------------------------------------------------
    def _read_wild(self) -> None:
        for _ in range(64):
            try:
                data, anc, _flags, src = self.wild.recvmsg(65535, socket.CMSG_SPACE(12))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            dst = None
            for level, typ, cdata in anc:
                if level == socket.IPPROTO_IP and typ == IP_PKTINFO and len(cdata) >= 12:
                    dst = socket.inet_ntoa(cdata[8:12])
            if dst is not None:
                self._deliver(data, src, dst)

    def _read_one(self, s: socket.socket, ip: str) -> None:
        for _ in range(64):
            try:
                data, src = s.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._deliver(data, src, ip)

    def _deliver(self, data: bytes, src, dst: str) -> None:
        if not self.gate(dst):
            return      # offline / not ours: silence, as a dead host gives
        if self.fast is not None and self.fast(data, src, dst):
            return
        addr = udp.UdpTransportAddress(src).set_local_address((dst, self.port))
        if self._callback_function is not None:
            try:
                self.select(dst)
                self._callback_function(self, addr, data)
            except Exception:
                pass    # a malformed datagram must never stop the agent

    # sending ---------------------------------------------------------------
    def send_message(self, outgoingMessage, transportAddress) -> None:
        self.send_from(transportAddress.get_local_address()[0],
                       (transportAddress[0], transportAddress[1]), outgoingMessage)

    def send_from(self, local_ip: str, dst, outgoingMessage: bytes) -> None:
        try:
            if self.wild is not None:
                pk = struct.pack("I4s4s", 0, socket.inet_aton(local_ip), b"\0" * 4)
                self.wild.sendmsg([outgoingMessage], [(socket.IPPROTO_IP, IP_PKTINFO, pk)], 0, dst)
            else:
                sock = self.socks.get(local_ip)
                if sock is not None:
                    sock.sendto(outgoingMessage, dst)
        except OSError:
            pass


class FleetResponder(cmdrsp.CommandResponderBase):
    """GET / GETNEXT / GETBULK / SET(refused) answered from the device's MibView."""

    SUPPORTED_PDU_TYPES = (rfc1905.GetRequestPDU.tagSet, rfc1905.GetNextRequestPDU.tagSet,
                           rfc1905.GetBulkRequestPDU.tagSet, rfc1905.SetRequestPDU.tagSet)
    max_varbinds = 64

    def __init__(self, snmp_engine, snmp_context, agent: "FleetAgent"):
        super().__init__(snmp_engine, snmp_context)
        self.agent = agent
        self.deferred: set = set()

    def release_state_information(self, stateReference):
        if stateReference in self.deferred:
            return
        super().release_state_information(stateReference)

    def _send_later(self, snmp_engine, ref, status, index, varbinds, ip: str) -> None:
        self.deferred.discard(ref)
        try:
            # Other datagrams were processed meanwhile: speak as this device again (the
            # USM stamps the answer with the current snmpEngineID).
            self.agent.select(ip)
            self.send_varbinds(snmp_engine, ref, status, index, varbinds)
        finally:
            super().release_state_information(ref)

    def handle_management_operation(self, snmpEngine, stateReference, contextName, PDU):
        _domain, address = snmpEngine.message_dispatcher.get_transport_info(stateReference)
        ip = address.get_local_address()[0]
        dev = self.agent.by_ip.get(ip)
        if dev is None:
            return
        ctx = snmpEngine.observer.get_execution_context("rfc3412.receiveMessage:request")
        model, sec_name, level = ctx["securityModel"], str(ctx["securityName"]), int(ctx["securityLevel"])
        if model in (1, 2):
            if sec_name != self.agent.community_secname(dev.spec.snmp_community):
                return              # another device's community: dropped, like a bad community
        elif model == 3:
            # The USM already checked the user's keys against this device's engine ID.
            v3 = dev.spec.snmp_v3
            if v3 is None or sec_name != v3.user or level != 3:
                return
        else:
            return
        now = self.agent.clock()
        view = self.agent.mib
        oids = oid_table(dev.spec.kind, dev.spec.ports)
        req = v2c.apiPDU.get_varbinds(PDU)
        tag = PDU.tagSet
        status, index = 0, 0
        if tag == rfc1905.GetRequestPDU.tagSet:
            out = [(o, self._get(view, dev, oids, tuple(o), now)) for o, _v in req]
        elif tag == rfc1905.GetNextRequestPDU.tagSet:
            out = [self._next(view, dev, oids, tuple(o), now) for o, _v in req]
        elif tag == rfc1905.GetBulkRequestPDU.tagSet:
            n = max(0, min(int(v2c.apiBulkPDU.get_non_repeaters(PDU)), len(req)))
            m = max(0, int(v2c.apiBulkPDU.get_max_repetitions(PDU)))
            r = len(req) - n
            out = [self._next(view, dev, oids, tuple(o), now) for o, _v in req[:n]]
            if r:
                m = min(m, max(1, self.max_varbinds // r))
                cur = [tuple(o) for o, _v in req[n:]]
                for _ in range(m):
                    row = [self._next(view, dev, oids, c, now) for c in cur]
                    out += row
                    cur = [tuple(o) for o, _v in row]
                    if all(isinstance(v, rfc1905.EndOfMibView) for _o, v in row):
                        break
        else:   # SET: everything here is read-only
            status, index, out = 17, 1, list(req)   # notWritable
        quirks = self.agent.quirks.get(ip)
        if quirks and tag != rfc1905.SetRequestPDU.tagSet:
            status, index, out = apply_quirks(quirks, tag, req, status, index, out)
        delay = self.agent.delay(dev)
        if delay > 0:
            self.deferred.add(stateReference)
            asyncio.get_running_loop().call_later(delay, self._send_later, snmpEngine,
                                                  stateReference, status, index, out, ip)
        else:
            self.send_varbinds(snmpEngine, stateReference, status, index, out)

    @staticmethod
    def _get(view: MibView, dev: DeviceState, oids, key, now):
        i = bisect.bisect_left(oids, key)
        if i < len(oids) and oids[i] == key:
            return view.value(dev, key, now)
        parent = key[:-1]
        if i < len(oids) and oids[i][:len(parent)] == parent or i > 0 and oids[i - 1][:len(parent)] == parent:
            return rfc1905.noSuchInstance
        return rfc1905.noSuchObject

    @staticmethod
    def _next(view: MibView, dev: DeviceState, oids, key, now):
        i = bisect.bisect_right(oids, key)
        if i >= len(oids):
            return (v2c.ObjectIdentifier(key), rfc1905.endOfMibView)
        return (v2c.ObjectIdentifier(oids[i]), view.value(dev, oids[i], now))


SNMP_QUIRKS = ("bulk_toobig", "get_toobig", "bulk_refused", "oid_loop", "nosuch_hole")
TOO_BIG_VARBINDS = 8


def apply_quirks(quirks, tag, req, status: int, index: int, out: list):
    """Opt-in misbehaviour of field agents (``FleetAgent.quirks[ip]``), for the probe's
    interop tests; the default fleet has none:
    bulk_toobig  - a GETBULK answer of more than TOO_BIG_VARBINDS varbinds is refused with
                   tooBig (as agents with a small buffer do) instead of being truncated;
    get_toobig   - a GET of more than one OID is refused with tooBig;
    bulk_refused - GETBULK answered with genErr (an agent that only does GETNEXT);
    oid_loop     - walking ifDescr past index 2 answers ifDescr.2 again (non-increasing);
    nosuch_hole  - ifInErrors.2 comes back as noSuchInstance inside a walk."""
    bulk = tag == rfc1905.GetBulkRequestPDU.tagSet
    if bulk and "bulk_refused" in quirks:
        return 5, 1, list(req)
    if bulk and "bulk_toobig" in quirks and len(out) > TOO_BIG_VARBINDS:
        return 1, 0, list(req)
    if tag == rfc1905.GetRequestPDU.tagSet:
        if "get_toobig" in quirks and len(out) > 1:
            return 1, 0, list(req)
        return status, index, out
    fixed = []
    for o, v in out:
        key = tuple(o)
        if "oid_loop" in quirks and key[:10] == IF_ENTRY + (2,) and len(key) > 10 and key[10] > 2:
            o = v2c.ObjectIdentifier(IF_ENTRY + (2, 2))
        if "nosuch_hole" in quirks and key == IF_ENTRY + (14, 2):
            v = rfc1905.noSuchInstance
        fixed.append((o, v))
    return status, index, fixed


def engine_id(enterprise: int, serial: str) -> bytes:
    """RFC 3411 SnmpEngineID of one device: the vendor's enterprise number with the high
    bit set, format 4 (administratively assigned text), the serial: unique per device,
    stable across restarts, as a real agent's is."""
    return (0x80000000 | enterprise).to_bytes(4, "big") + b"\x04" + serial.encode("ascii")[:27]


class FleetUsm(SnmpUSMSecurityModel):
    """pysnmp's USM with the user table (the LCD) answered from the fleet: (engine ID,
    user) -> that device's user with keys localised to its engine ID, computed on first
    use and cached. Registering a USM row per device in pysnmp's MIB instead cost ~5 ms
    and ~45 kB each (16 s and 140 MB for 3,200 v3 devices of a 10,000 fleet)."""

    def __init__(self, agent: "FleetAgent"):
        super().__init__()
        self.agent = agent
        self._local: dict[tuple[bytes, bytes], tuple] = {}

    # Overrides the base class's private (name-mangled) static lookup; it is called
    # as self.__get_user_info(mibInstrumController, securityEngineID, userName).
    def _SnmpUSMSecurityModel__get_user_info(self, _mib, securityEngineID, userName):
        key = (bytes(securityEngineID), bytes(userName))
        hit = self._local.get(key)
        if hit is None:
            hit = self.agent.usm_user(*key)
            if hit is None:
                raise NoSuchInstanceError(name=(), idx=())
            self._local[key] = hit
        return hit


def master_key_sha1(passphrase: str) -> bytes:
    """RFC 3414 A.2.2: SHA-1 over the passphrase repeated to 1 MiB."""
    pw = passphrase.encode("utf-8")
    if not pw:
        raise ValueError("empty SNMPv3 passphrase")
    n = 1 << 20
    return hashlib.sha1((pw * (n // len(pw) + 1))[:n]).digest()


class FleetAgent:
    """Owns the engine, the transport and the per-device lookups."""

    def __init__(self, states: dict[str, DeviceState], clock: Callable[[], float],
                 delay: Callable[[DeviceState], float], engine_seed: int = 0):
        self.states = states
        self.by_ip = {s.spec.ip: s for s in states.values()}
        self.clock = clock
        self.delay = delay
        self.mib = MibView(states)
        self.quirks: dict[str, set[str]] = {}   # ip -> SNMP_QUIRKS names (opt-in, tests)
        self.fast_path = True       # v1/v2c reads through snmp_fast.py; False: all pysnmp
        eid = hashlib.sha1(f"fleet-{engine_seed}".encode()).digest()[:8]
        # RFC 3411 engine ID: enterprise 8072 (net-snmp's) format 5 (octets).
        self.engine = engine.SnmpEngine(rfc1902.OctetString(b"\x80\x00\x1f\x88\x05" + eid))
        self._secnames: dict[str, str] = {}
        self.transport: LoopbackUdpTransport | None = None
        # One pysnmp engine serves every device; each device still has its own engine
        # ID: the engine's snmpEngineID is switched to the addressed device's before a
        # datagram is processed and before a delayed answer is sent (both synchronous on
        # the one event loop), and USM users are registered per device engine ID.
        self.engine_ids = {st.spec.ip: rfc1902.OctetString(engine_id(st.spec.enterprise, st.spec.serial))
                           for st in states.values()}
        self.by_engine = {bytes(eid): self.by_ip[ip] for ip, eid in self.engine_ids.items()}
        self.masters: dict[str, bytes] = {}
        (self._eid,) = self.engine.get_mib_builder().import_symbols(
            "__SNMP-FRAMEWORK-MIB", "snmpEngineID")
        self.engine.security_models[SnmpUSMSecurityModel.SECURITY_MODEL_ID] = FleetUsm(self)
        self._engine_mib = self.engine.get_mib_builder().import_symbols(
            "__SNMP-FRAMEWORK-MIB", "snmpEngineBoots", "snmpEngineTime", "snmpEngineMaxMessageSize")
        self._keys: dict[str, tuple[bytes, bytes, bytes]] = {}
        (self._unknown_engine_ids,) = self.engine.get_mib_builder().import_symbols(
            "__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs")

    def _master(self, phrase: str) -> bytes:
        m = self.masters.get(phrase)
        if m is None:       # per-device keys: derived on first use (~2 ms each)
            m = self.masters[phrase] = master_key_sha1(phrase)
        return m

    def usm_user(self, eid: bytes, user: bytes) -> tuple | None:
        """The LCD row of `user` at the device with engine ID `eid` (see FleetUsm)."""
        st = self.by_engine.get(eid)
        v3 = st.spec.snmp_v3 if st is not None else None
        if v3 is None or v3.user.encode() != user:
            return None
        auth, priv = config.USM_AUTH_HMAC96_SHA, config.USM_PRIV_CFB128_AES
        usm = SnmpUSMSecurityModel
        engine_oid = rfc1902.OctetString(eid)
        local_auth = usm.AUTH_SERVICES[auth].localize_key(
            rfc1902.OctetString(self._master(v3.auth_key)), engine_oid)
        local_priv = usm.PRIV_SERVICES[priv].localize_key(
            auth, rfc1902.OctetString(self._master(v3.priv_key)), engine_oid)
        name = rfc1902.OctetString(user)
        return (name, name, rfc1902.ObjectIdentifier(auth), rfc1902.OctetString(local_auth),
                rfc1902.ObjectIdentifier(priv), rfc1902.OctetString(local_priv))

    def select(self, ip: str) -> None:
        eid = self.engine_ids.get(ip)
        if eid is not None:
            self._eid.syntax = eid

    def community_secname(self, community: str) -> str:
        return self._secnames.setdefault(community, "c" + hashlib.sha1(community.encode()).hexdigest()[:12])

    def start(self, loop: asyncio.AbstractEventLoop, port: int, wildcard: bool,
              gate: Callable[[str], bool]) -> None:
        eng = self.engine
        for st in self.states.values():
            comm = st.spec.snmp_community
            if comm not in self._secnames:
                name = self.community_secname(comm)
                config.add_v1_system(eng, name, comm)
        # RFC 3414 password-to-key hashes 1 MiB per key: done on threads (hashlib
        # releases the GIL) and handed to pysnmp as master keys, which it only localizes.
        # Shared (per-contract) passphrases are derived up front; with per-device ones
        # (--snmp-v3-keys device) each is derived on the device's first v3 request.
        count: dict[str, int] = {}
        for st in self.states.values():
            if st.spec.snmp_v3 is not None:
                for k in (st.spec.snmp_v3.auth_key, st.spec.snmp_v3.priv_key):
                    count[k] = count.get(k, 0) + 1
        phrases = sorted(k for k, n in count.items() if n > 1 or len(count) <= 64)
        with ThreadPoolExecutor(max_workers=4) as pool:
            self.masters = dict(zip(phrases, pool.map(master_key_sha1, phrases)))
        # No USM rows: FleetUsm localises each device's keys on its first v3 request.
        self.transport = LoopbackUdpTransport(loop, gate, self.select)
        if wildcard:
            self.transport.open_wildcard(port)
        else:
            for st in self.states.values():
                self.transport.open_address(st.spec.ip, st.spec.snmp_port)
        if self.fast_path:
            from .snmp_fast import FastResponder
            self.fast = FastResponder(self.by_ip, self.mib, self.clock, self.quirks,
                                      self._fast_keys, self._engine_state, self._unknown_engine_id)
            self.transport.fast = self._fast
        config.add_transport(eng, udp.DOMAIN_NAME, self.transport)
        self.context = context.SnmpContext(eng)
        self.responder = FleetResponder(eng, self.context, self)
        # Requests name the addressed device's engine ID as contextEngineId: take any.
        eng.message_dispatcher.register_context_engine_id(
            b"", FleetResponder.SUPPORTED_PDU_TYPES, self.responder.process_pdu)

    def _fast_keys(self, dev: DeviceState) -> tuple[bytes, bytes, bytes] | None:
        """(engine ID, localised auth key, AES-128 key) of the device's v3 user (cached)."""
        hit = self._keys.get(dev.spec.ip)
        if hit is None and dev.spec.snmp_v3 is not None:
            eid = bytes(self.engine_ids[dev.spec.ip])
            row = self.usm_user(eid, dev.spec.snmp_v3.user.encode())
            if row is not None:
                hit = self._keys[dev.spec.ip] = (eid, bytes(row[3]), bytes(row[5])[:16])
        return hit

    def _engine_state(self) -> tuple[int, int, int]:
        """snmpEngineBoots, snmpEngineTime, snmpEngineMaxMessageSize as pysnmp's USM reads them."""
        boots, etime, size = self._engine_mib
        return int(boots.syntax), int(etime.syntax.clone()), int(size.syntax)

    def _unknown_engine_id(self) -> int:
        """Counts one discovery in pysnmp's usmStatsUnknownEngineIDs, as its USM does."""
        counter = self._unknown_engine_ids
        counter.syntax += 1
        return int(counter.syntax)

    def _fast(self, data: bytes, src, ip: str) -> bool:
        reply = self.fast.answer(data, ip)
        if reply is None:
            return False
        delay = self.delay(self.by_ip[ip])
        if delay > 0:
            self.transport.loop.call_later(delay, self.transport.send_from, ip, src, reply)
        else:
            self.transport.send_from(ip, src, reply)
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close_transport()
