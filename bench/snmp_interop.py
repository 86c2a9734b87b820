"""What the SNMP interop hardening costs: the probe's v2c sweep with the octet-counter
columns (ifIn/OutOctets + ifHCIn/OutOctets, added for Counter32/64 deltas) against the
same probe with the earlier column set (the named peer), same fleet, same run.

`.venv/bin/python -m bench.snmp_interop [--devices 1000] [--rounds 2]` starts a simulated
fleet on 127.90.10.0/24 (control port 19790, SNMP 19781; no latency), then per round
sweeps every device SNMP-only (100 in flight) with each column set and prints client CPU
per device, wall time and the ratio new/old. The simulator shares this machine, so wall
time includes its extra work for the longer answers.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

EXTRA = ("in_octets", "out_octets", "hc_in_octets", "hc_out_octets")


async def _sweep(targets: list, columns: dict[str, str]) -> tuple[float, float, int]:
    import probes.snmp as ps
    saved = dict(ps.IF_COLUMNS)
    ps.IF_COLUMNS.clear()
    ps.IF_COLUMNS.update(columns)
    client, sem = ps.SnmpClient(), asyncio.Semaphore(100)

    async def one(t):
        async with sem:
            return await client.probe(t, 4.0)
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        res = await asyncio.gather(*[one(t) for t in targets])
        return time.process_time() - c0, time.perf_counter() - w0, sum(r.ok for r in res)
    finally:
        client.close()
        ps.IF_COLUMNS.clear()
        ps.IF_COLUMNS.update(saved)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench.snmp_interop")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args(argv)
    import probes.snmp as ps
    from probes.model import DeviceTarget
    from simulator.testing import FleetProcess
    new = dict(ps.IF_COLUMNS)
    old = {k: v for k, v in new.items() if k not in EXTRA}
    with FleetProcess(devices=a.devices, seed=3, base_address="127.90.10.1", control_port=19790,
                      tmp_dir=Path(tempfile.mkdtemp()), onvif_port=19780,
                      snmp_port=19781) as fleet:
        targets = [DeviceTarget(d["serial"], d["ip"], kind=d["kind"], snmp_port=d["snmp_port"],
                                snmp_community=d["snmp_community"]) for d in fleet.devices()]
        n = len(targets)
        for r in range(a.rounds):
            figs = {}
            for name, cols in (("earlier columns (peer)", old), ("with octet counters", new)):
                cpu, wall, ok = asyncio.run(_sweep(targets, cols))
                figs[name] = (cpu, wall)
                print(f"round {r + 1} {name:24s} client CPU {cpu * 1000 / n:.2f} ms/device, "
                      f"wall {wall:.2f} s ({n / wall:.0f} devices/s), ok {ok}/{n}")
            (oc, ow), (nc, nw) = figs.values()
            print(f"round {r + 1} ratio new/peer: CPU {nc / oc:.2f}x, wall {nw / ow:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
