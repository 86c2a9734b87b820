"""Diagnostic: how many healthy simulated devices does the runner alone report failed?

    .venv/bin/python -m bench.probe_truth [--devices 1000] [--checks onvif,snmp]
        [--v3-only] [--concurrency 200] [--clock-only] [--v3-keys contract|device]
        [--v3-codec auto|usm|pysnmp] [--sim-snmp-agent fast|pysnmp]

Run it inside a private network namespace (``unshare -n``, loopback up) so the fleet's
addresses collide with nobody. One simulated fleet (no fault injected, answers at
loopback speed), ``probes.runner.run_batch`` over it with the given checks (v3
credentials where the device has them); prints failures by check and kind, checks not
measured (our overload), the loop's lag, the CPU of this process and the simulator, and
the SNMP answers that arrived after their request had timed out (the device answered,
late: with answers at loopback speed, a sign the one-process simulator could not keep
up with the requests in flight).
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
    p.add_argument("--v3-codec", choices=("auto", "usm", "pysnmp"), default="auto",
                   help="SNMPv3 through our USM codec (auto/usm) or pysnmp")
    p.add_argument("--sim-nice", type=int, default=0,
                   help="scheduling priority change for the simulator (e.g. -5: the fleet "
                        "stands in for devices with CPUs of their own)")
    p.add_argument("--sim-snmp-agent", choices=("fast", "pysnmp"), default="fast",
                   help="the simulator's SNMP agent (simulator --snmp-agent)")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from probes.config import Limits, TierSpec
    from probes.context import ProbeContext
    from probes.model import DeviceTarget
    from probes.runner import BatchStats, run_batch
    from probes.snmp import SnmpClient
    from simulator.testing import FleetProcess

    out_dir = ROOT / "bench" / "out" / "truth"
    with FleetProcess(devices=a.devices, seed=11, base_address="127.30.0.1",
                      control_port=18001, tmp_dir=out_dir, truth=False,
                      start_timeout=600,
                      extra_args=["--snmp-v3-keys", a.v3_keys,
                                  "--snmp-agent", a.sim_snmp_agent]) as fleet:
        if a.sim_nice:
            for task in Path(f"/proc/{fleet.proc.pid}/task").iterdir():
                os.setpriority(os.PRIO_PROCESS, int(task.name), a.sim_nice)
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
        late: dict[str, int] = {}

        async def go():
            ctx = ProbeContext(Limits(global_limit=a.concurrency))
            ctx._snmp = client = SnmpClient(v3_codec=a.v3_codec)
            try:
                return [r async for r in run_batch(targets, spec, stats=stats,
                                                   deadline_s=1800, context=ctx)]
            finally:
                late.update(client.late_answers())
                await ctx.aclose()

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
        print(f"SNMP answers that came after their request timed out: {late} "
              f"(SNMPv3 codec: {a.v3_codec}; simulator's SNMP agent: {a.sim_snmp_agent})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
