"""The SNMP fast path (simulator/snmp_fast.py) against the pysnmp agent it stands in front of.

One in-process FleetAgent on per-device UDP sockets with a pinned clock (so uptime and
counters read the same twice); every request is sent twice over a real socket, once with
the fast path on and once with it off (pysnmp's engine answers), and the two datagrams
must be equal byte for byte, or both absent. Requests are built with pysnmp's own
encoder, so the fast decoder is tested against an independent encoding.
"""
from __future__ import annotations

import asyncio
import random
import socket

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1905
from pysnmp.proto.api import verdec

from sim_helpers import slot
from simulator.faults import DeviceState
from simulator.fleet import generate
from simulator.snmp import FleetAgent, oid_table
from simulator.snmp_fast import NotOurs, decode_request, enc_oid, tlv

PORT = 19391
V1, V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_1], api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IF_DESCR, IF_OPER = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2), (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
IF_HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
IF_ALIAS = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18)
PETH_DETECT = (1, 3, 6, 1, 2, 1, 105, 1, 1, 1, 6, 1)
MISSING = [(1, 3, 6, 1, 2, 1, 1, 1),            # sysDescr without .0: noSuchInstance
           (1, 3, 6, 1, 2, 1, 1, 5, 1),         # noSuchInstance
           (1, 3, 6, 1, 4, 1, 9, 9, 1, 0),      # noSuchObject
           (1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 999), (0, 0), (2, 999, 3)]


def _msg(mod, community: bytes, pdu_cls, oids, rid: int = 4242, bulk: tuple[int, int] | None = None) -> bytes:
    pdu = pdu_cls()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, rid)
    if bulk is not None:
        mod.apiBulkPDU.set_non_repeaters(pdu, bulk[0])
        mod.apiBulkPDU.set_max_repetitions(pdu, bulk[1])
    mod.apiPDU.set_varbinds(pdu, [(o, mod.Null("")) for o in oids])
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, community)
    mod.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


def get(community, oids, v=V2C, rid=4242):
    return _msg(v, community, v.GetRequestPDU, oids, rid)


def getnext(community, oids, v=V2C, rid=4242):
    return _msg(v, community, v.GetNextRequestPDU, oids, rid)


def getbulk(community, nonrep, maxrep, oids, rid=4242):
    return _msg(V2C, community, V2C.GetBulkRequestPDU, oids, rid, (nonrep, maxrep))


class Rig:
    """The agent and `ask(data, ip)` -> (fast answer, pysnmp answer); `ask_many` for many
    datagrams at once."""

    def __init__(self, agent: FleetAgent, states, now: float):
        self.agent, self.states, self.now = agent, states, now

    async def _many(self, datas: list[bytes], ip: str, wait: float) -> list[bytes | None]:
        """Each datagram from its own socket, all at once: the replies are told apart by
        the socket they come back to, and the unanswered ones share one wait."""
        loop = asyncio.get_running_loop()
        socks = []
        for _ in datas:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            socks.append(s)

        async def one(s: socket.socket, data: bytes) -> bytes | None:
            await loop.sock_sendto(s, data, (ip, PORT))
            try:
                reply, src = await asyncio.wait_for(loop.sock_recvfrom(s, 65535), wait)
                assert src == (ip, PORT)        # answered from the device's own address
                return reply
            except asyncio.TimeoutError:
                return None

        try:
            return list(await asyncio.gather(*(one(s, d) for s, d in zip(socks, datas))))
        finally:
            for s in socks:
                s.close()

    async def ask_many(self, datas: list[bytes], ip: str, wait: float = 1.0
                       ) -> list[tuple[bytes | None, bytes | None]]:
        """Each datagram through the fast path, then through pysnmp (all at once each)."""
        t = self.agent.transport
        t.fast = self.agent._fast
        fast = await self._many(datas, ip, wait)
        t.fast = None
        slow = await self._many(datas, ip, wait)
        t.fast = self.agent._fast
        return list(zip(fast, slow))

    async def ask(self, data: bytes, ip: str, wait: float = 1.0) -> tuple[bytes | None, bytes | None]:
        return (await self.ask_many([data], ip, wait))[0]

    async def same(self, data: bytes, ip: str, *, answered: bool = True, fast_used: bool = True) -> bytes | None:
        before = self.agent.fast.answered
        fast, slow = await self.ask(data, ip, 1.0 if answered else 0.3)
        assert fast == slow, (fast and decode(fast), slow and decode(slow))
        assert (fast is not None) == answered
        assert (self.agent.fast.answered > before) == fast_used, data.hex()
        return fast


def decode(reply: bytes):
    version = int(verdec.decode_message_version(reply))
    mod = api.PROTOCOL_MODULES[version]
    msg, rest = decoder.decode(reply, asn1Spec=mod.Message())
    assert not rest
    pdu = mod.apiMessage.get_pdu(msg)
    return (int(mod.apiPDU.get_error_status(pdu)), int(mod.apiPDU.get_error_index(pdu)),
            [(tuple(o), v) for o, v in mod.apiPDU.get_varbinds(pdu)])


@pytest.fixture(scope="module")
def fleet_specs():
    base = f"127.51.{slot()}.1"
    specs = generate(24, seed=5, communities=1, base_address=base, snmp_port=PORT, v3_share=0.0)
    return specs


def run_rig(specs, body, delay=lambda _d: 0.0):
    async def main():
        states = {s.serial: DeviceState(spec=s, boot_time=1_700_000_000.0) for s in specs}
        for st in states.values():
            if st.spec.upstream:
                st.upstream_state = states.get(st.spec.upstream)
        now = 1_700_000_000.0 + 123_456.78
        agent = FleetAgent(states, lambda: now, delay)
        agent.start(asyncio.get_running_loop(), PORT, wildcard=False,
                    gate=lambda ip: agent.by_ip[ip].reach(now) == "up")
        rig = Rig(agent, states, now)
        try:
            await body(rig)
        finally:
            agent.close()
    asyncio.run(asyncio.wait_for(main(), 120))


def _kinds(specs):
    return [next(s for s in specs if s.kind == k) for k in ("camera", "nvr", "switch")]


def test_every_object_get_getnext_getbulk_byte_for_byte(fleet_specs):
    async def body(rig: Rig):
        for spec in _kinds(fleet_specs):
            ip, c = spec.ip, spec.snmp_community.encode()
            table = oid_table(spec.kind, spec.ports)
            for k in range(0, len(table), 7):           # GET of every object, 7 at a time
                await rig.same(get(c, table[k:k + 7]), ip)
            for o in MISSING:                             # noSuchObject / noSuchInstance
                assert (await rig.same(get(c, [o, SYS_UPTIME]), ip))
            await rig.same(get(c, []), ip)                # no varbinds at all
            cur, n = (1, 3), 0                            # a GETNEXT walk to endOfMibView
            while True:
                reply = await rig.same(getnext(c, [cur, IF_OPER], rid=n), ip)
                (o, v), _ = decode(reply)[2]
                if isinstance(v, rfc1905.EndOfMibView):
                    break
                cur, n = o, n + 1
            assert n == len(table)
            for nonrep, maxrep, oids in [(0, 25, [IF_DESCR]), (1, 10, [SYS_UPTIME, IF_OPER, IF_ALIAS]),
                                         (0, 100, [(1, 3)]), (5, 3, [SYS_UPTIME, IF_DESCR]),
                                         (0, 0, [IF_DESCR]), (2, 4, [(1, 3, 6, 1, 6, 3, 10, 2, 1, 4, 0)] * 3),
                                         (0, 2147483647, [IF_HC_IN, PETH_DETECT])]:
                await rig.same(getbulk(c, nonrep, maxrep, oids, rid=-7), ip)
            for rid in (0, 1, 127, 128, 255, 65535, -1, -128, -(1 << 31), (1 << 31) - 1):
                await rig.same(get(c, [SYS_UPTIME], rid=rid), ip)
            vb = tlv(0x30, tlv(0x30, enc_oid(SYS_UPTIME) + b"\x05\x00"))
            loose = tlv(0x30, b"\x02\x01\x01" + tlv(0x04, c)     # request-id 5 written 00 00 05
                        + tlv(0xA0, b"\x02\x03\x00\x00\x05\x02\x01\x00\x02\x01\x00" + vb))
            assert decode_request(loose)[3] == 5
            await rig.same(loose, ip)
    run_rig(fleet_specs, body)


def test_snmpv1_error_status_as_pysnmp(fleet_specs):
    async def body(rig: Rig):
        for spec in _kinds(fleet_specs):
            ip, c = spec.ip, spec.snmp_community.encode()
            table = oid_table(spec.kind, spec.ports)
            plain = [o for o in table if o[:10] != IF_HC_IN[:10] or o[10] not in (6, 10)]
            for k in range(0, len(plain), 5):
                await rig.same(get(c, plain[k:k + 5], v=V1), ip)
            status, index, vbs = decode(await rig.same(get(c, [SYS_UPTIME] + MISSING[:3], v=V1), ip))
            assert (status, index) == (2, 2)              # noSuchName at the first missing one
            await rig.same(getnext(c, [table[-1]], v=V1), ip)    # past the end: noSuchName
            await rig.same(getnext(c, [(1, 3), IF_DESCR], v=V1), ip)
            # A Counter64 in a v1 answer: pysnmp's own rules, not the fast path.
            await rig.same(get(c, [IF_HC_IN + (1,)], v=V1), ip, fast_used=False)
            await rig.same(getnext(c, [IF_HC_IN], v=V1), ip, answered=False, fast_used=False)
    run_rig(fleet_specs, body)


def test_wrong_community_and_offline_device_get_no_answer(fleet_specs):
    async def body(rig: Rig):
        cam, nvr, sw = _kinds(fleet_specs)
        await rig.same(get(b"not-the-community", [SYS_UPTIME]), cam.ip, answered=False, fast_used=False)
        other = next(s for s in fleet_specs if s.snmp_community != cam.snmp_community
                     and s.kind != "switch") if len({s.snmp_community for s in fleet_specs}) > 1 else None
        if other is not None:
            await rig.same(get(cam.snmp_community.encode(), [SYS_UPTIME]), other.ip,
                           answered=False, fast_used=False)
        rig.states[cam.serial].faults["offline"] = rig.now - 10
        await rig.same(get(cam.snmp_community.encode(), [SYS_UPTIME]), cam.ip, answered=False, fast_used=False)
        await rig.same(get(sw.snmp_community.encode(), [SYS_UPTIME]), sw.ip)
    run_rig(fleet_specs, body)


def test_faults_read_the_same_device_state(fleet_specs):
    async def body(rig: Rig):
        sw = next(s for s in fleet_specs if s.kind == "switch")
        c = sw.snmp_community.encode()
        cam = rig.states[sw.downstream[0]]
        baseline = decode(await rig.same(getbulk(c, 0, 30, [PETH_DETECT, IF_OPER]), sw.ip))[2]
        cam.faults["poe_fault"] = rig.now - 30
        faulted = decode(await rig.same(getbulk(c, 0, 30, [PETH_DETECT, IF_OPER]), sw.ip))[2]
        port = cam.spec.switch_port
        assert int(dict(baseline)[PETH_DETECT + (port,)]) == 3
        assert int(dict(faulted)[PETH_DETECT + (port,)]) == 4          # fault(4)
        assert int(dict(faulted)[IF_OPER + (port,)]) == 2               # link down
        del cam.faults["poe_fault"]
        swst = rig.states[sw.serial]
        swst.reboots, swst.boot_time = 3, rig.now - 42.5                # rebooted 42.5 s ago
        up = decode(await rig.same(get(c, [SYS_UPTIME, (1, 3, 6, 1, 6, 3, 10, 2, 1, 2, 0)]), sw.ip))[2]
        assert [int(v) for _o, v in up] == [4250, 4]
        cam.faults["flap"] = rig.now - 1.0                               # in its "up" half
        await rig.same(getbulk(c, 0, 30, [IF_OPER]), sw.ip)
    run_rig(fleet_specs, body)


def test_quirky_device_and_delayed_answers(fleet_specs):
    async def body(rig: Rig):
        sw = next(s for s in fleet_specs if s.kind == "switch")
        c = sw.snmp_community.encode()
        rig.agent.quirks[sw.ip] = {"bulk_toobig"}                        # pysnmp path keeps quirks
        status, _i, vbs = decode(await rig.same(getbulk(c, 0, 20, [IF_DESCR]), sw.ip, fast_used=False))
        assert status == 1 and len(vbs) == 1                              # tooBig
        rig.agent.quirks.clear()
        rig.agent.delay = lambda _d: 0.2
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await rig.same(get(c, [SYS_UPTIME]), sw.ip)
        assert loop.time() - t0 >= 0.4          # both answers waited the device's service time
    run_rig(fleet_specs, body)


def _malformed(c: bytes) -> list[bytes]:
    ok = get(c, [SYS_UPTIME, IF_DESCR + (1,)])
    bulk = getbulk(c, 0, 5, [IF_DESCR])
    rng = random.Random(3)
    cases = [b"", b"\x30", b"\x30\x00", ok[:-1], ok + b"\x00", ok[:10], b"\xff" * 40,
             ok.replace(b"\x30", b"\x30\x80", 1) + b"\x00\x00",                 # indefinite length
             b"\x30\x81" + bytes([len(ok) - 2]) + ok[2:],                        # non-minimal length
             ok.replace(b"\x05\x00", b"\x02\x01\x07", 1).replace(bytes([ok[1]]), bytes([ok[1] + 1]), 1),
             bulk.replace(b"\xa5", b"\xa3", 1),                                   # SET
             bulk.replace(b"\xa5", b"\xa4", 1),                                   # v1 trap tag
             bulk.replace(b"\x02\x01\x01", b"\x02\x01\x00", 1),                   # GETBULK in v1
             bulk.replace(b"\x02\x01\x01", b"\x02\x01\x02", 1),                   # version 2
             ok.replace(b"\x06\x08\x2b", b"\x06\x09\x2b\x80", 1)]                 # OID padding
    for _ in range(60):
        b = bytearray(ok if rng.random() < 0.5 else bulk)
        for _k in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        cases.append(bytes(b))
    return cases


def test_malformed_datagrams_keep_pysnmps_behaviour(fleet_specs):
    async def body(rig: Rig):
        for spec in _kinds(fleet_specs)[::2]:
            c = spec.snmp_community.encode()
            answered = 0
            datas = _malformed(c)
            for data, (fast, slow) in zip(datas, await rig.ask_many(datas, spec.ip)):
                assert fast == slow, data.hex()
                answered += fast is not None
            assert answered > 0                 # some mutations stay valid requests
            assert rig.agent.fast.errors == 0
            await rig.same(get(c, [SYS_UPTIME]), spec.ip)       # still serving
    run_rig(fleet_specs, body)


def test_decoder_refuses_what_it_does_not_read():
    c = b"public"
    v, comm, tag, rid, nonrep, maxrep, vbs = decode_request(getbulk(c, 1, 9, [SYS_UPTIME, IF_DESCR], rid=-5))
    assert (v, comm, tag, rid, nonrep, maxrep) == (1, c, 0xA5, -5, 1, 9)
    assert [o for o, _n in vbs] == [SYS_UPTIME, IF_DESCR]
    for bad in _malformed(c)[:10]:
        with pytest.raises(NotOurs):
            decode_request(bad)


# ----------------------------------------------------------------------------- SNMPv3

def _v3_client(spec, auth_key=None, priv_key=None):
    from pysnmp.hlapi.v3arch.asyncio import (UsmUserData, usmAesCfb128Protocol,
                                             usmHMACSHAAuthProtocol)
    u = spec.snmp_v3
    return UsmUserData(u.user, auth_key or u.auth_key, priv_key or u.priv_key,
                       authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol)


async def _v3_ask(spec, kind: str, oids, **keys):
    from pysnmp.hlapi.v3arch.asyncio import (ContextData, ObjectIdentity, ObjectType, SnmpEngine,
                                             UdpTransportTarget, bulk_cmd, get_cmd, next_cmd)
    target = await UdpTransportTarget.create((spec.ip, PORT), timeout=1, retries=0)
    args = (SnmpEngine(), _v3_client(spec, **keys), target, ContextData())
    vbs = [ObjectType(ObjectIdentity(o)) for o in oids]
    if kind == "get":
        err, status, index, out = await get_cmd(*args, *vbs)
    elif kind == "next":
        err, status, index, out = await next_cmd(*args, *vbs)
    else:
        err, status, index, out = await bulk_cmd(*args, 1, 12, *vbs)
    return (str(err) if err else None, int(status), int(index),
            [(tuple(o), v.__class__.__name__, v.prettyPrint()) for o, v in out])


def test_v3_authpriv_reads_equal_pysnmp(fleet_specs_v3):
    async def body(rig: Rig):
        t = rig.agent.transport
        for spec in [s for s in fleet_specs_v3 if s.snmp_v3 is not None][:3]:
            table = oid_table(spec.kind, spec.ports)
            for kind, oids in [("get", list(table[:6]) + MISSING[:3]), ("next", [(1, 3), IF_OPER]),
                               ("bulk", [SYS_UPTIME, IF_DESCR, PETH_DETECT]), ("bulk", [table[-2]])]:
                before = rig.agent.fast.answered
                t.fast = rig.agent._fast
                fast = await _v3_ask(spec, kind, oids)
                used = rig.agent.fast.answered - before
                t.fast = None
                slow = await _v3_ask(spec, kind, oids)
                t.fast = rig.agent._fast
                assert fast == slow and fast[0] is None
                assert used == 2        # the client's engine discovery and its read
            for wrong in ({"auth_key": "not-the-auth-key"}, {"priv_key": "not-the-priv-key"}):
                before = rig.agent.fast.answered
                err, *_ = await _v3_ask(spec, "get", [SYS_UPTIME], **wrong)
                # the discovery is answered here, the request with a wrong key by pysnmp
                assert err is not None and rig.agent.fast.answered == before + 1
    run_rig(fleet_specs_v3, body)


@pytest.fixture(scope="module")
def fleet_specs_v3():
    return generate(40, seed=6, communities=2, base_address=f"127.51.{slot()}.101", snmp_port=PORT,
                    v3_share=0.5)


def test_v3_with_the_platforms_codec_discovery_stale_time_and_reads(fleet_specs_v3):
    """The platform's own USM codec (probes/snmp_usm.py, written apart from the simulator):
    discovery is answered with pysnmp's Report byte for byte (but for the shared counter,
    one higher in pysnmp's answer, sent second); a stale engine time gets pysnmp's
    notInTimeWindow report; a request inside the window is read by the fast path and
    decodes to pysnmp's values."""
    from probes import snmp_usm as usm
    from probes.snmp_ber import GET, GETBULK

    async def body(rig: Rig):
        spec = next(s for s in fleet_specs_v3 if s.snmp_v3 is not None)
        user = usm.UsmUser(spec.snmp_v3.user, spec.snmp_v3.auth_key, spec.snmp_v3.priv_key, "SHA", "AES")
        before = rig.agent.fast.answered
        for _attempt in range(3):       # the engine's time may tick between the two answers
            fast, slow = await rig.ask(usm.encode_discovery(11, 12), spec.ip)
            if usm.parse_message(fast).time == usm.parse_message(slow).time:
                break
        reports = [usm.open_pdu(usm.parse_message(x), None) for x in (fast, slow)]
        assert all(r.is_report and r.report_indication() == "unknownEngineID" for r in reports)
        (o1, n1), (o2, n2) = reports[0].varbinds[0], reports[1].varbinds[0]
        assert o1 == o2 and int(n2) == int(n1) + 1 and n1 < 127
        assert fast[:-1] == slow[:-1] and len(fast) == len(slow)     # all but the count
        assert rig.agent.fast.answered == before + _attempt + 1
        before = rig.agent.fast.answered
        found = usm.parse_message(slow)
        eid, boots, etime = found.engine_id, found.boots, found.time
        stale = usm.encode_request(user, eid, boots, etime + 1000, 13, 14, ["1.3.6.1.2.1.1.5.0"])
        fast, slow = await rig.ask(stale, spec.ip)
        for x in (fast, slow):
            r = usm.open_pdu(usm.parse_message(x), user)
            assert r.is_report and r.report_indication() == "notInTimeWindow"
        assert rig.agent.fast.answered == before       # reports are pysnmp's
        for kind, oids, reps in [(GET, ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.9.9"], 0),
                                 (GETBULK, ["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.31.1.1.1.6"], 9)]:
            req = usm.encode_request(user, eid, boots, etime, 15, 16, oids, pdu=kind, max_repetitions=reps)
            fast, slow = await rig.ask(req, spec.ip)
            got = [usm.open_pdu(usm.parse_message(x), user) for x in (fast, slow)]
            assert [(p.tag, p.request_id, p.error_status, p.varbinds) for p in got[:1]] == \
                   [(p.tag, p.request_id, p.error_status, p.varbinds) for p in got[1:]]
            assert got[0].varbinds and got[0].error_status == 0 and not got[0].is_report
            assert usm.parse_message(fast).salt != usm.parse_message(slow).salt
        assert rig.agent.fast.answered == before + 2
    run_rig(fleet_specs_v3, body)
