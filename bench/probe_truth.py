"""Diagnostic: how many healthy simulated devices does the runner alone report failed?

    .venv/bin/python -m bench.probe_truth [--devices 1000] [--checks onvif,snmp]
        [--v3-only] [--concurrency 200] [--clock-only] [--v3-keys contract|device]

Run it inside a private network namespace (``unshare -n``, loopback up) so the fleet's
addresses collide with nobody. One simulated fleet (no fault injected, answers at
loopback speed), ``probes.runner.run_batch`` over it with the given checks (v3
credentials where the device has them); prints failures by check and kind, checks not
measured (our overload), the loop's lag, and the CPU of this process and the simulator.
Every device is healthy, so every failure printed is false. Not a peer benchmark: the
peer comparison lives in bench.probes and bench.city_sweep.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.probe_truth")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--checks", default="onvif,snmp")
    p.add_argument("--v3-only", action="store_true")
    p.add_argument("--clock-only", action="store_true", help="ONVIF asks the clock only")
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--v3-keys", choices=("contract", "device"), default="contract",
                   help="the simulator's SNMPv3 passphrases: one set per contract or per device")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from probes.config import Limits, TierSpec
    from probes.model import DeviceTarget
    from probes.runner import BatchStats, run_batch
    from simulator.testing import FleetProcess

    out_dir = ROOT / "bench" / "out" / "truth"
    with FleetProcess(devices=a.devices, seed=11, base_address="127.30.0.1",
                      control_port=18001, tmp_dir=out_dir, truth=False,
                      start_timeout=600,
                      extra_args=["--snmp-v3-keys", a.v3_keys]) as fleet:
        targets = []
        for d in fleet.devices():
            t = DeviceTarget(serial=d["serial"], host=d["ip"], kind=d["kind"],
                             onvif_port=d.get("onvif_port"), username=d.get("username"),
                             password=d.get("password"), snmp_port=d.get("snmp_port"),
                             snmp_community=d.get("snmp_community"))
            u = d.get("snmp_v3")
            if u:
                t.snmp_version, t.snmp_user = "3", u["user"]
                t.snmp_auth_key, t.snmp_priv_key = u["auth_key"], u["priv_key"]
            if a.clock_only:
                t.onvif_ask = ["clock"]
            if not a.v3_only or u:
                targets.append(t)
        spec = TierSpec("truth", a.checks.split(","),
                        timeouts={"reach": 2, "onvif": 8, "snmp": 2, "frame": 10})
        stats = BatchStats()

        async def go():
            return [r async for r in run_batch(
                targets, spec, limits=Limits(global_limit=a.concurrency), stats=stats,
                deadline_s=1800)]

        def sim_cpu() -> float:
            f = Path(f"/proc/{fleet.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        s0, c0, t0 = sim_cpu(), time.process_time(), time.perf_counter()
        results = asyncio.run(go())
        wall, cpu, sim = time.perf_counter() - t0, time.process_time() - c0, sim_cpu() - s0
        failed = collections.Counter((e.check, e.kind) for r in results for e in r.errors()
                                     if e.kind != "not_measured")
        print(f"{len(targets)} healthy devices, checks {a.checks}: {wall:.1f} s, CPU "
              f"{1000 * cpu / len(targets):.1f} ms/device here, simulator "
              f"{1000 * sim / len(targets):.1f} ms/device; load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"reported failed: {sum(1 for r in results if any(e.kind != 'not_measured' for e in r.errors()))} "
              f"{dict(failed)}")
        print(f"not measured (our overload): {dict(stats.not_measured)}; checks tried "
              f"again after an overload: {stats.overload_retries}; event-loop lag "
              f"{stats.lag}; fewest in flight {stats.limit_lowest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
