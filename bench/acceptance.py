"""Bench: accepting one community of about 50 cameras (plus its switch, NVR and speakers).

Measures `run_acceptance` end to end (probe every device incl. PTZ moves, default-login
attempts, MAC, image diagnosis in the process pool, store, lifecycle, coverage) on a
simulated community. Peer, measured in the same run on the same devices and database: the
platform's own full sweep (`run_sweep("full")`: reach + ONVIF + SNMP, judged and stored),
i.e. what acceptance costs over a routine probe of the same community.

    .venv/bin/python -m bench.acceptance [--devices 57] [--rounds 2]

Loopback only: the fleet lives on 127.151.1.0/24, control API on 127.0.0.1:19590. Run it
in a private network namespace on a shared machine:
    unshare -n bash -c 'ip link set lo up && .venv/bin/python -m bench.acceptance'
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
DEVICE_KEY = "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="  # bench-only throwaway key


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench.acceptance")
    p.add_argument("--devices", type=int, default=57)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from simulator.testing import FleetProcess

    with tempfile.TemporaryDirectory(prefix="bench-acc-") as tmp_s:
        tmp = Path(tmp_s)
        with FleetProcess(devices=a.devices, seed=3, communities=1, base_address="127.151.1.1",
                          control_port=19590, snmp_port=19591, onvif_port=19592, truth=False,
                          tmp_dir=tmp, start_timeout=120) as fleet:
            return _measure(fleet, tmp, a.rounds)


def _measure(fleet, tmp: Path, rounds: int) -> int:
    from flask_migrate import upgrade

    from app import create_app
    from supervisor.acceptance.run import run_acceptance
    from supervisor.core.extensions import db
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.inventory.models import Community, Device
    from supervisor.sweeps.pipeline import run_sweep

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "SECRET_KEY": "bench", "DEVICE_SECRET_KEY": DEVICE_KEY,
                      "EVIDENCE_DIR": str(tmp / "evidence")})
    with app.app_context():
        upgrade()
        plan = parse_upload("fleet.csv", Path(fleet.inventory_path).read_bytes(),
                            create_contracts=True, contractor="Bench")
        assert plan.ok, plan.error_lines()
        apply_plan(plan, "bench")
        community = db.session.scalars(sa.select(Community)).one()
        kinds = dict(db.session.execute(sa.select(Device.kind, sa.func.count()).group_by(Device.kind)).all())
        serials = list(db.session.scalars(sa.select(Device.serial)))
        acc_t, sweep_t = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            run_sweep("full", serials=serials, trigger="bench", deadline_s=120)
            sweep_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run = run_acceptance(db.session, community, actor="bench",
                                 evidence_dir=app.config["EVIDENCE_DIR"])
            acc_t.append(time.perf_counter() - t0)
            passed = sum(1 for r in run.results if r.verdict == "pass")
        acc, sweep = statistics.median(acc_t), statistics.median(sweep_t)
        n = sum(kinds.values())
        print(f"community: {n} devices ({kinds.get('camera', 0)} cameras, "
              f"{kinds.get('nvr', 0)} NVR, {kinds.get('switch', 0)} switch, "
              f"{kinds.get('speaker', 0)} speakers); {passed} passed the last run")
        print(f"acceptance (run_acceptance, whole community): median {acc:.1f} s over {rounds} "
              f"rounds {['%.1f' % t for t in acc_t]}; {acc / n * 1000:.0f} ms per device")
        print(f"peer: full sweep of the same devices (run_sweep full): median {sweep:.1f} s "
              f"{['%.1f' % t for t in sweep_t]}")
        print(f"ratio acceptance / full sweep: {acc / sweep:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
