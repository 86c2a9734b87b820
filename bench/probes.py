"""Probe sweeps over a simulated fleet: our asyncio runner vs the naive onvif-zeep loop.

`.venv/bin/python -m bench.probes [--sizes 1000,5000] [--fast 10000] [--peer-devices 40]
[--concurrency 200] [--latency SPEC]` starts one simulated fleet (simulator/, on
127.20.128.0/17, with the latency distributions below switched on), then measures,
each in a fresh subprocess so peak RSS belongs to that run alone:

* ours, full tier (reach + ONVIF + SNMP + frame grab + JPEG decode) over 1,000 and 5,000
  devices: devices/s and peak RSS;
* the peer: the original synchronous `onvif-zeep` 0.2.12, an `ONVIFCamera` per device in
  a loop (device info, clock, profiles, stream + snapshot URIs, Digest snapshot; no
  SNMP, so it does less than we do). It runs in its own virtualenv under
  bench/out/peer-venv that this bench creates, on a subset of cameras/NVRs of the same
  fleet (``--peer-devices``); its devices/s is a rate, so the ratio compares rates;
  its time for the whole fleet is extrapolated and marked as such;
* ours, fast tier (TCP reach) over 10,000 devices: seconds (target < 60 s).
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PEER_VENV = OUT / "peer-venv"
PEER_PACKAGE = "onvif-zeep==0.2.12"
# Realistic service times (the simulator's documented example): ONVIF calls ~80 ms,
# snapshots ~250 ms (median, lognormal), SNMP 5 ms.
LATENCY = "onvif=lognormal:80ms,snapshot=lognormal:250ms,snmp=5ms"
BASE = "127.20.128.1"
CONTROL_PORT, ONVIF_PORT, SNMP_PORT = 18990, 18081, 18162


def load_targets(inventory: Path, limit: Optional[int] = None) -> list[Any]:
    from probes.model import DeviceTarget
    out = []
    with open(inventory, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.append(DeviceTarget(
                serial=row["serial"], host=row["ip"], kind=row["kind"],
                onvif_port=int(row["onvif_port"]) if row["onvif_port"] else None,
                username=row["username"] or None, password=row["password"] or None,
                snmp_port=int(row["snmp_port"]) if row["snmp_port"] else None,
                snmp_community=row["snmp_community"] or None))
            if limit and len(out) >= limit:
                break
    return out


# ---------------------------------------------------------------- worker (subprocess)

def worker(inventory: Path, n: int, tier: str, concurrency: int) -> dict[str, Any]:
    from probes.config import Limits, TierSpec, resolve_tier
    from probes.runner import BatchStats, run_batch
    targets = load_targets(inventory, n)
    spec = resolve_tier(tier)
    if tier == "full":
        # Timeouts large enough that realistic latency never trips them.
        spec = TierSpec("full", ["reach", "onvif", "snmp", "frame"],
                        timeouts={"reach": 5, "onvif": 20, "snmp": 5, "frame": 20},
                        retries={"snmp": 0})
    # Default per-protocol limits (snapshots 50 at a time): letting 200 snapshot renders
    # pile onto the one simulator process made everything behind them time out.
    limits = Limits(global_limit=concurrency)
    stats = BatchStats()

    async def go() -> int:
        n_ok = 0
        async for res in run_batch(targets, spec, limits=limits, stats=stats,
                                   deadline_s=600):
            n_ok += int(res.ok)
            if res.frame is not None:
                res.frame.image = res.frame.jpeg = None   # a sweep hands pixels on, then drops them
        return n_ok

    t0 = time.perf_counter()
    ok = asyncio.run(go())
    elapsed = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"devices": len(targets), "seconds": elapsed, "ok": ok,
            "errors": dict(stats.by_error_kind), "peak_in_flight": stats.peak_in_flight,
            "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}


def run_worker(inventory: Path, n: int, tier: str, concurrency: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.probes", "--worker", str(inventory), str(n), tier,
           str(concurrency)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- peer

def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import onvif, zeep; print(onvif.__file__)"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return python
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"creating {PEER_VENV} with {PEER_PACKAGE} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_PACKAGE], check=True)
    return python


def run_peer(inventory: Path, n: int) -> dict[str, Any]:
    python = ensure_peer_venv()
    out = subprocess.run([str(python), str(ROOT / "bench" / "_probes_peer.py"), str(inventory),
                          str(n)], capture_output=True, text=True, timeout=1800,
                         cwd=tempfile.gettempdir())   # keep our ./probes off its path
    if out.returncode != 0:
        raise RuntimeError(f"peer failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- main

def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.probes")
    p.add_argument("--worker", nargs=4, metavar=("INVENTORY", "N", "TIER", "CONCURRENCY"),
                   help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="1000,5000")
    p.add_argument("--fast", type=int, default=10000)
    p.add_argument("--peer-devices", type=int, default=40)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--latency", default=LATENCY)
    a = p.parse_args(argv)
    if a.worker:
        inv, n, tier, conc = a.worker
        print(json.dumps(worker(Path(inv), int(n), tier, int(conc))))
        return 0

    sys.path.insert(0, str(ROOT))
    from simulator.testing import FleetProcess
    sizes = [int(s) for s in a.sizes.split(",") if s]
    fleet_n = max(sizes + [a.fast])
    ensure_peer_venv()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"fleet: {fleet_n} simulated devices on {BASE}.., latency {a.latency}; "
          f"our concurrency {a.concurrency}; 2-core machine, simulator on the same host",
          flush=True)
    t0 = time.perf_counter()
    with FleetProcess(devices=fleet_n, seed=11, base_address=BASE, control_port=CONTROL_PORT,
                      onvif_port=ONVIF_PORT, snmp_port=SNMP_PORT, truth=False,
                      tmp_dir=OUT / "fleet", start_timeout=300,
                      extra_args=["--latency", a.latency]) as fleet:
        print(f"fleet ready in {time.perf_counter() - t0:.1f} s", flush=True)
        inv = Path(fleet.inventory_path)
        print(f"load average before: {os.getloadavg()[0]:.1f} (others share this machine)")
        peer = run_peer(inv, a.peer_devices)
        peer_dps = peer["devices"] / peer["seconds"]
        print(f"peer  onvif-zeep 0.2.12, ONVIFCamera per device, sequential: "
              f"{peer['devices']} devices in {peer['seconds']:.1f} s = {peer_dps:.2f} devices/s, "
              f"CPU {1000 * peer['cpu_s'] / max(1, peer['devices']):.0f} ms/device, "
              f"ok {peer['ok']}, errors {peer['errors']}, peak RSS {peer['peak_rss_mb']:.0f} MB",
              flush=True)
        for n in sizes:
            ours = run_worker(inv, n, "full", a.concurrency)
            dps = ours["devices"] / ours["seconds"]
            print(f"ours  full tier {ours['devices']:>6} devices: {ours['seconds']:.1f} s = "
                  f"{dps:.1f} devices/s, CPU {1000 * ours['cpu_s'] / ours['devices']:.0f} "
                  f"ms/device, ok {ours['ok']}, errors {ours['errors']}, "
                  f"peak RSS {ours['peak_rss_mb']:.0f} MB (in flight <= {ours['peak_in_flight']}); "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
            print(f"      ratio vs peer: {dps / peer_dps:.0f}x devices/s; peer would need "
                  f"~{n / peer_dps / 60:.0f} min for {n} devices (extrapolated from "
                  f"{peer['devices']}), we took {ours['seconds'] / 60:.1f} min", flush=True)
        if a.fast:
            fast = run_worker(inv, a.fast, "fast", max(a.concurrency, 500))
            print(f"ours  fast tier {fast['devices']:>6} devices: {fast['seconds']:.1f} s "
                  f"(target < 60 s) = {fast['devices'] / fast['seconds']:.0f} devices/s, "
                  f"ok {fast['ok']}, errors {fast['errors']}, peak RSS {fast['peak_rss_mb']:.0f} MB",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
