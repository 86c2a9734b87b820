"""Bad input never crashes: the SNMPv2c codec on garbage, a garbage-answering agent, and
snapshot auth variants (Basic-only camera) over real loopback sockets."""
from __future__ import annotations

import asyncio
import base64
import random

import cv2
import httpx
import numpy as np
import pytest

from probes.frame import grab_snapshot
from probes.model import DeviceTarget
from probes.snmp import SnmpClient
from probes.snmp_ber import (BerError, GETBULK, decode_response, encode_request)
from probe_helpers import run


def test_requests_decode_with_pysnmp_a_third_party_codec():
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api
    msg = encode_request("pub-λ", 4242, ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.2.1.8"],
                         pdu=GETBULK, max_repetitions=17)
    p = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    req, rest = decoder.decode(msg, asn1Spec=p.Message())
    assert rest == b""
    assert bytes(p.apiMessage.get_community(req)) == "pub-λ".encode()
    pdu = p.apiMessage.get_pdu(req)
    assert int(p.apiBulkPDU.get_request_id(pdu)) == 4242
    assert int(p.apiBulkPDU.get_max_repetitions(pdu)) == 17
    oids = [str(o) for o, _ in p.apiBulkPDU.get_varbinds(pdu)]
    assert oids == ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.2.1.8"]


def test_garbage_and_truncations_only_ever_raise_ber_error():
    rng = random.Random(7)
    good = encode_request("c", 1, ["1.3.6.1.2.1.1.1.0"])
    samples = [good[:n] for n in range(len(good))]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
                for _ in range(2000)]
    samples += [bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.1 else b for b in good)
                for _ in range(500)]
    for data in samples:
        try:
            decode_response(data)
        except BerError:
            pass


def test_agent_answering_garbage_is_a_malformed_error_not_a_crash():
    async def go():
        loop = asyncio.get_running_loop()

        class Garbage(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.t = transport

            def datagram_received(self, data, addr):
                self.t.sendto(b"\x30\x82\xff\xff\x02\x01", addr)     # truncated SEQUENCE
        transport, _ = await loop.create_datagram_endpoint(Garbage,
                                                           local_addr=("127.20.8.1", 11650))
        client = SnmpClient()
        try:
            return await client.probe(DeviceTarget("G", "127.20.8.1", snmp_port=11650,
                                                   snmp_community="x"), 2.0)
        finally:
            client.close()
            transport.close()
    res = run(go(), 6)
    assert not res.ok and res.error.kind == "malformed"


@pytest.fixture
def basic_camera():
    """A loopback HTTP server that accepts only Basic auth (admin / pw-1), serving a JPEG."""
    ok, jpg = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))
    body = jpg.tobytes()
    good = "Basic " + base64.b64encode(b"admin:pw-1").decode()

    async def handle(reader, writer):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        auth = [line.split(":", 1)[1].strip() for line in head.split("\r\n")
                if line.lower().startswith("authorization:")]
        if auth and auth[0] == good:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        else:
            writer.write(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\n'
                         b"Content-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
    return handle


def _snap(handle, user, password):
    async def go():
        server = await asyncio.start_server(handle, "127.20.8.2", 18972)
        async with server, httpx.AsyncClient() as http:
            return await grab_snapshot(http, "http://127.20.8.2:18972/snap.jpg", user, password, 5)
    return run(go(), 10)


def test_basic_only_camera_is_answered_with_basic(basic_camera):
    res = _snap(basic_camera, "admin", "pw-1")
    assert res.ok and (res.width, res.height) == (64, 48)


def test_basic_only_camera_with_a_wrong_password_is_auth(basic_camera):
    res = _snap(basic_camera, "admin", "nope")
    assert res.error.kind == "auth"
