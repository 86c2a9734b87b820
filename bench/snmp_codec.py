"""SNMP codecs: ours (probes/snmp_ber.py, probes/snmp_usm.py) against pysnmp's, same run.

A full-tier SNMP probe of a switch sends a few GET/GETBULK requests and decodes their
answers; the codec is where pysnmp spends most of its CPU at fleet scale.

1. SNMPv2c, the codec alone (no sockets, no event loop), on the messages a 16-port
   switch's probe exchanges: one GET of the system group and a GETBULK answer of 13
   interface columns × 16 ports.
2. SNMPv3 authPriv (SHA/AES, the simulator's switches), whole probes: ``SnmpClient.probe``
   of every v3 switch of a small simulated fleet (system group, ifTable/ifXTable and PoE
   walks, discovery included), once through our USM codec and once through pysnmp, CPU of
   this process only (the simulator runs in its own; pysnmp's engine is made before the
   clock starts, as a batch makes it once). Needs the simulator's loopback
   addresses: run it in a private network namespace. ``--v3-devices 0`` skips it.

    unshare -n bash -c 'ip link set lo up && .venv/bin/python -m bench.snmp_codec \
        [--rounds N] [--v3-devices 300] [--v3-rounds 3]'

Prints CPU per probe for each codec, the ratio, and the peer's version, so the reason we
keep our own codecs is re-measured with every pysnmp release.
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


def v3_probes(devices: int, rounds: int) -> int:
    """Part 2: whole v3 probes of the simulator's switches through each codec."""
    import asyncio
    import os
    from pathlib import Path

    from probes.model import DeviceTarget
    from probes.snmp import SnmpClient
    from simulator.testing import FleetProcess

    root = Path(__file__).resolve().parents[1]
    with FleetProcess(devices=devices, seed=12, base_address="127.31.0.1",
                      control_port=18003, tmp_dir=root / "bench" / "out" / "snmp_codec",
                      truth=False, start_timeout=120) as fleet:
        targets = []
        for d in fleet.devices():
            u = d.get("snmp_v3")
            if u and d["kind"] == "switch":
                targets.append(DeviceTarget(
                    d["serial"], d["ip"], kind="switch", snmp_port=d.get("snmp_port"),
                    snmp_version="3", snmp_user=u["user"], snmp_auth_key=u["auth_key"],
                    snmp_priv_key=u["priv_key"], snmp_auth_protocol=u["auth_protocol"],
                    snmp_priv_protocol=u["priv_protocol"]))
        if not targets:
            print("no v3 switch in the fleet")
            return 1

        async def sweep(codec: str) -> tuple[float, list]:
            client = SnmpClient(v3_codec=codec)     # one per sweep, as a batch has
            if codec == "pysnmp":
                client.engine      # made before timing (~60 ms, once per batch in a sweep)
            out = []
            t0 = time.process_time()
            try:
                for t in targets:                   # one at a time: CPU, not waiting
                    out.append(await client.probe(t, 2.0))
            finally:
                client.close()
            return time.process_time() - t0, out

        def measure(codec: str) -> tuple[float, list]:
            asyncio.run(sweep(codec))               # warm: imports, WSDL-free caches
            cpu, res = 0.0, []
            for _ in range(rounds):
                c, res = asyncio.run(sweep(codec))
                cpu += c
            return cpu / (rounds * len(targets)) * 1e3, res

        theirs, res_p = measure("pysnmp")
        mine, res_u = measure("usm")
        same = [(r.ok, r.sys_name, len(r.ports), len(r.poe)) for r in res_u] == \
               [(r.ok, r.sys_name, len(r.ports), len(r.poe)) for r in res_p]
        ports = sum(len(r.ports) for r in res_u) / len(res_u)
        print(f"SNMPv3 authPriv {targets[0].snmp_auth_protocol}/"
              f"{targets[0].snmp_priv_protocol}, whole probe of a simulated switch "
              f"({len(targets)} switches, {ports:.0f} ports each on average, {rounds} "
              f"rounds), CPU of this process per probe; load average "
              f"{os.getloadavg()[0]:.1f}:")
        print(f"  ours (probes.snmp_usm)            {mine:9.2f} ms")
        print(f"  peer pysnmp {version('pysnmp'):<8} pyasn1 {version('pyasn1'):<8} "
              f"{theirs:9.2f} ms")
        print(f"  ratio peer/ours                   {theirs / mine:9.1f}x")
        print(f"  same results through both: {same}; ok {sum(r.ok for r in res_u)}"
              f"/{len(res_u)}")
        return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--v3-devices", type=int, default=300,
                    help="simulated fleet size for the v3 part (0: skip it)")
    ap.add_argument("--v3-rounds", type=int, default=3)
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
    if args.v3_devices > 0:
        return v3_probes(args.v3_devices, args.v3_rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
