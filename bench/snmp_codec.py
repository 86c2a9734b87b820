"""SNMPv2c codec: our BER encoder/decoder (probes/snmp_ber.py) against pysnmp's, same run.

A full-tier SNMP probe of a switch sends a few GET/GETBULK requests and decodes their
answers; the codec is where pysnmp spends most of its CPU at fleet scale. This measures only
the codec (no sockets, no event loop), on the messages a 16-port switch's probe exchanges:
one GET of the system group and a GETBULK answer of 13 interface columns × 16 ports.

    .venv/bin/python -m bench.snmp_codec [--rounds N]

Prints microseconds per probe's worth of messages for each codec, the ratio, and the peer's
version, so the reason we keep our own codec is re-measured with every pysnmp release.
"""
from __future__ import annotations

import argparse
import time
from importlib.metadata import version

from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api

from probes.snmp_ber import GETBULK, decode_response, encode_request

SYSTEM = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]
IF_COLUMNS = [f"1.3.6.1.2.1.2.2.1.{c}" for c in (2, 5, 7, 8, 10, 14, 16, 20)] + \
             [f"1.3.6.1.2.1.31.1.1.1.{c}" for c in (1, 6, 10, 15, 18)]
PORTS = 16
P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def _answer_bytes() -> tuple[bytes, bytes]:
    """A GET answer for the system group and a GETBULK answer of the interface table, as an
    agent sends them (built with pysnmp, so neither codec decodes its own output)."""
    def response(binds: list[tuple[str, object]], request_id: int) -> bytes:
        pdu = P.GetResponsePDU()
        P.apiPDU.set_defaults(pdu)
        P.apiPDU.set_request_id(pdu, request_id)
        P.apiPDU.set_varbinds(pdu, binds)
        msg = P.Message()
        P.apiMessage.set_defaults(msg)
        P.apiMessage.set_community(msg, "public")
        P.apiMessage.set_pdu(msg, pdu)
        return encoder.encode(msg)

    system = response([(SYSTEM[0], P.OctetString("H3C S5120-28P-PWR-LI Comware 7.1")),
                       (SYSTEM[1], P.TimeTicks(123456789)),
                       (SYSTEM[2], P.OctetString("sw-community-01"))], 1)
    rows = []
    for port in range(1, PORTS + 1):
        for col in IF_COLUMNS:
            value = (P.OctetString(f"GigabitEthernet1/0/{port}") if col.endswith((".2", ".1"))
                     else P.Counter64(10 ** 9 + port) if col.startswith("1.3.6.1.2.1.31.1.1.1.")
                     else P.Integer(1))
            rows.append((f"{col}.{port}", value))
    return system, response(rows, 2)


def ours(system: bytes, table: bytes) -> int:
    a = encode_request("public", 1, SYSTEM)
    b = encode_request("public", 2, IF_COLUMNS, pdu=GETBULK, max_repetitions=PORTS)
    return len(a) + len(b) + len(decode_response(system).varbinds) + len(decode_response(table).varbinds)


def peer(system: bytes, table: bytes) -> int:
    def request(oids: list[str], bulk: bool, request_id: int) -> bytes:
        pdu = P.GetBulkRequestPDU() if bulk else P.GetRequestPDU()
        P.apiPDU.set_defaults(pdu)
        P.apiPDU.set_request_id(pdu, request_id)
        if bulk:
            P.apiBulkPDU.set_max_repetitions(pdu, PORTS)
        P.apiPDU.set_varbinds(pdu, [(o, univ.Null("")) for o in oids])
        msg = P.Message()
        P.apiMessage.set_defaults(msg)
        P.apiMessage.set_community(msg, "public")
        P.apiMessage.set_pdu(msg, pdu)
        return encoder.encode(msg)

    n = len(request(SYSTEM, False, 1)) + len(request(IF_COLUMNS, True, 2))
    for data in (system, table):
        msg, _ = decoder.decode(data, asn1Spec=P.Message())
        n += len(P.apiPDU.get_varbinds(P.apiMessage.get_pdu(msg)))
    return n


def _time(fn, args: tuple, rounds: int) -> float:
    fn(*args)  # warm caches (pyasn1 builds its codec maps on first use)
    t0 = time.process_time()
    for _ in range(rounds):
        fn(*args)
    return (time.process_time() - t0) / rounds * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args(argv)
    system, table = _answer_bytes()
    assert ours(system, table) and peer(system, table)
    mine = _time(ours, (system, table), args.rounds)
    theirs = _time(peer, (system, table), max(20, args.rounds // 10))
    print(f"SNMPv2c codec, one switch probe's messages ({len(SYSTEM)} GET + "
          f"{len(IF_COLUMNS)}x{PORTS} GETBULK answer), CPU per probe:")
    print(f"  ours (probes.snmp_ber)            {mine:9.1f} us")
    print(f"  peer pysnmp {version('pysnmp'):<8} pyasn1 {version('pyasn1'):<8} {theirs:9.1f} us")
    print(f"  ratio peer/ours                   {theirs / mine:9.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
