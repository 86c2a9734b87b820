"""City-scale sweep: the whole pipeline (probe → judge → store) over a healthy simulated city.

    .venv/bin/python -m bench.city_sweep [--devices 20000] [--tiers fast,full,frame]
        [--peer-devices 40] [--latency SPEC] [--executor local|process] [--db URL]

One simulated fleet (simulator/, no fault injected, answering at loopback speed unless
``--latency`` is given) on 127.50.0.0/16 of this machine, imported into a fresh database
from its own inventory CSV; then each tier is swept once by ``run_sweep`` in its own
subprocess (so peak memory belongs to that sweep). Printed per tier:

* devices/s (wall time of the sweep);
* CPU ms per device in the platform's processes: the sweeping process and its children
  (probe processes, the image-diagnosis pool), user + system; the simulator's CPU apart;
* peak memory: the sweeping process's peak RSS, and the largest child's;
* the probing event loop's lag p50/p99/max and the checks not measured (our overload);
* failures reported on healthy devices (must be 0), by reason;
* the ratio against the naive peer measured in the same run (bench.probes' onvif-zeep
  0.2.12 loop, ONVIF + snapshot per device, sequential, on ``--peer-devices`` cameras).

The full tier runs twice: the first sweep of a new inventory asks every device everything
(identity, services, profiles, URIs); the second is the steady state (the clock every
time, the rest once a day), and it is that one the 15-minute target counts. A frame
sweep follows (it reuses the URIs the full sweep found).
``--worker`` is the per-tier subprocess (internal).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "city"
DEVICE_KEY = "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="  # bench-only throwaway key
BASE = "127.50.0.1"
CONTROL_PORT, ONVIF_PORT, SNMP_PORT = 19290, 19281, 19262


def _app(url: str, evidence: Path) -> Any:
    sys.path.insert(0, str(ROOT))
    from app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "DEVICE_SECRET_KEY": DEVICE_KEY, "EVIDENCE_DIR": str(evidence)})


def _cpu(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def _proc_cpu(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# ---------------------------------------------------------------- worker (one tier)

def worker(url: str, evidence: Path, tier: str, executor_name: str,
           deadline_s: float, cameras: int = 0) -> dict[str, Any]:
    """Sweep ``tier`` once over every device (or the first ``cameras`` cameras); figures
    as one JSON-able dict."""
    app = _app(url, evidence)
    with app.app_context():
        from supervisor.profiles.loader import load_profile
        from supervisor.sweeps import pipeline
        from supervisor.sweeps.executors import get_executor
        profile = load_profile(check_in_use=False)
        executor = get_executor(executor_name)
        serials = None
        if cameras:
            import sqlalchemy as sa

            from supervisor.core.extensions import db
            from supervisor.inventory.models import Device
            serials = list(db.session.scalars(sa.select(Device.serial).where(
                Device.kind == "camera").order_by(Device.id).limit(cameras)))
        c0, cc0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        s = pipeline.run_sweep(tier, serials, executor=executor, trigger="bench",
                               profile=profile, deadline_s=deadline_s)
        wall = time.perf_counter() - t0
        if pipeline._POOL is not None:      # reap the diagnosis pool: its CPU counts
            pipeline._POOL.shutdown(wait=True)
            pipeline._POOL = None
        cpu_self = _cpu(resource.RUSAGE_SELF) - c0
        cpu_children = _cpu(resource.RUSAGE_CHILDREN) - cc0
    return {"tier": tier, "devices": s.devices, "seconds": wall,
            "devices_per_s": s.devices / wall if wall else 0.0,
            "ok": s.ok, "degraded": s.degraded, "offline": s.offline, "unknown": s.unknown,
            "failed": s.failed, "failures_by_reason": s.failures_by_reason,
            "not_measured": s.not_measured, "not_measured_by_check": s.not_measured_by_check,
            "loop_lag": s.loop_lag, "overload_retries": s.overload_retries,
            "cpu_self_s": cpu_self, "cpu_children_s": cpu_children,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "executor": executor_name}


def run_worker(url: str, evidence: Path, tier: str, executor: str,
               deadline_s: float, timeout: float = 3600, cameras: int = 0) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.city_sweep", "--worker", url, str(evidence), tier,
           executor, str(deadline_s), str(cameras)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{tier} worker failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- setup

def prepare_database(url: str, inventory: Path, evidence: Path) -> float:
    app = _app(url, evidence)
    t0 = time.perf_counter()
    with app.app_context():
        from flask_migrate import upgrade

        from supervisor.core.extensions import db
        from supervisor.inventory.importer import apply_plan, parse_upload
        upgrade()
        plan = parse_upload(inventory.name, inventory.read_bytes(), create_contracts=True,
                            contractor="Bench contractor")
        if plan.errors:
            raise RuntimeError(f"fleet inventory rejected: {[str(e) for e in plan.errors[:3]]}")
        apply_plan(plan, "bench")
        db.session.remove()
    return time.perf_counter() - t0


def _line(r: dict[str, Any], sim_cpu_s: float, peer_dps: Optional[float]) -> str:
    n = max(1, r["devices"])
    cpu_ms = 1000 * (r["cpu_self_s"] + r["cpu_children_s"]) / n
    lag = r.get("loop_lag") or {}
    ratio = f"{r['devices_per_s'] / peer_dps:.0f}x the peer's devices/s" if peer_dps else "peer n/a"
    return (f"{r['tier']:>5} {r['devices']:>6} devices: {r['seconds']:7.1f} s = "
            f"{r['devices_per_s']:6.1f} devices/s ({ratio}); CPU {cpu_ms:5.1f} ms/device "
            f"(sweep {1000 * r['cpu_self_s'] / n:.1f} + children "
            f"{1000 * r['cpu_children_s'] / n:.1f}; simulator {1000 * sim_cpu_s / n:.1f} apart); "
            f"peak RSS {r['peak_rss_mb']:.0f} MB (largest child {r['peak_child_rss_mb']:.0f} MB); "
            f"loop lag p50 {lag.get('p50_s')} p99 {lag.get('p99_s')} max {lag.get('max_s')} s; "
            f"FAILED on healthy devices: {r['failed']} {r['failures_by_reason'] or ''}; "
            f"not measured {r['not_measured']} {r['not_measured_by_check'] or ''}; "
            f"states ok {r['ok']} degraded {r['degraded']} offline {r['offline']} "
            f"unknown {r['unknown']}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.city_sweep")
    p.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    p.add_argument("--devices", type=int, default=20000)
    p.add_argument("--tiers", default="fast,full,frame")
    p.add_argument("--peer-devices", type=int, default=40)
    p.add_argument("--latency", default=None, help="simulator service times (default: none)")
    p.add_argument("--executor", default="local")
    p.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    p.add_argument("--deadline", type=float, default=3600.0)
    a = p.parse_args(argv)
    if a.worker:
        url, evidence, tier, executor, deadline, cameras = a.worker
        print(json.dumps(worker(url, Path(evidence), tier, executor, float(deadline),
                                int(cameras))))
        return 0

    sys.path.insert(0, str(ROOT))
    from bench.probes import ensure_peer_venv, run_peer
    from simulator.testing import FleetProcess
    tiers = [t for t in a.tiers.split(",") if t]
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    db_file = OUT / f"city-{stamp}.db"
    url = a.db or f"sqlite:///{db_file}"
    evidence = OUT / f"evidence-{stamp}"
    peer_dps = None
    if a.peer_devices:
        ensure_peer_venv()
    extra = ["--latency", a.latency] if a.latency else []
    print(f"city sweep: {a.devices} simulated devices (healthy, "
          f"{'latency ' + a.latency if a.latency else 'loopback speed'}), executor "
          f"{a.executor}, {os.cpu_count()} cores shared with the simulator; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    t0 = time.perf_counter()
    with FleetProcess(devices=a.devices, seed=20, base_address=BASE, control_port=CONTROL_PORT,
                      onvif_port=ONVIF_PORT, snmp_port=SNMP_PORT, truth=False,
                      tmp_dir=OUT / "fleet", start_timeout=900, extra_args=extra) as fleet:
        print(f"fleet ready in {time.perf_counter() - t0:.0f} s", flush=True)
        inv = Path(fleet.inventory_path)
        print(f"inventory imported in {prepare_database(url, inv, evidence):.0f} s", flush=True)
        if a.peer_devices:
            peer = run_peer(inv, a.peer_devices)
            peer_dps = peer["devices"] / peer["seconds"]
            print(f"peer  onvif-zeep 0.2.12 sequential loop: {peer['devices']} cameras in "
                  f"{peer['seconds']:.1f} s = {peer_dps:.2f} devices/s, CPU "
                  f"{1000 * peer['cpu_s'] / max(1, peer['devices']):.0f} ms/device, ok "
                  f"{peer['ok']}, errors {peer['errors']}", flush=True)
        total = 0.0
        runs = [t for tier in tiers for t in ((["full*"] if tier == "full" else []) + [tier])]
        for tier in runs:
            s0 = _proc_cpu(fleet.proc.pid)
            r = run_worker(url, evidence, tier.rstrip("*"), a.executor, a.deadline)
            r["tier"] = tier
            sim = _proc_cpu(fleet.proc.pid) - s0
            if tier in ("full", "frame"):
                total += r["seconds"]
            print(_line(r, sim, peer_dps), flush=True)
        print("full* = first full sweep of the inventory (everything asked); full = steady "
              "state (clock every sweep, identity/profiles/URIs once a day)", flush=True)
        if "full" in tiers and "frame" in tiers:
            print(f"full + frame: {total / 60:.1f} min (target: within 15 min for 20,000)",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
