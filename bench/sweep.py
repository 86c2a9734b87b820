"""Bench: five-year storage and the sweep pipeline.

1. Rollups: a month of daily rollups for 20,000 devices (600,000 rows) written the way
   the nightly job does (one transaction per day) and read back (every row, and the
   monthly per-device aggregate a report runs). Time and database size per device-year.
   Peer, measured in the same run and database: raw probe samples as the fast tier
   writes them (one a minute per device), for a subset, extrapolated to a device-year.
   This is the "history vs trends" decision in numbers.
2. Sweep: the full pipeline (probe -> judge -> store, supervisor.sweeps.pipeline.run_sweep) over a
   simulated fleet, in devices/s, for the local runner and for Celery with two worker
   processes on Redis, side by side on the same fleet and database.

    .venv/bin/python -m bench.sweep [--rollup-devices 20000] [--days 30]
        [--sweep-devices 300] [--tiers fast,full] [--rounds 2] [--skip-rollups] [--skip-sweep]

PostgreSQL is measured too when FSP_TEST_PG_URL is set; Redis comes from
FSP_TEST_REDIS_URL (`make bench` starts both). Loopback only: the fleet lives on
127.40.100.0/22 with its control API on 127.0.0.1:19190.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

ROOT = Path(__file__).resolve().parents[1]
DEVICE_KEY = "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="  # bench-only throwaway key


def _app(url: str, tmp: Path, **extra: Any):
    sys.path.insert(0, str(ROOT))
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "DEVICE_SECRET_KEY": DEVICE_KEY, "EVIDENCE_DIR": str(tmp / "evidence"),
                       **extra})


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f}"


# --------------------------------------------------------------------------- rollups

def _seed_devices(conn: sa.Connection, n: int) -> list[int]:
    from supervisor.inventory.models import Community, Device

    communities = max(1, n // 20)
    conn.execute(sa.insert(Community.__table__), [
        {"name": f"bench-{i}", "district": f"D{i % 12}", "type": "open"} for i in range(communities)])
    first = conn.execute(sa.select(sa.func.min(Community.__table__.c.id))).scalar()
    now = dt.datetime(2026, 1, 1)
    rows = [{"serial": f"BN{i:07d}", "name": f"bench {i}", "kind": "camera", "role": "road",
             "ip": f"127.41.{i // 250}.{i % 250 + 1}", "community_id": first + i % communities,
             "lifecycle": "accepted", "created_at": now, "updated_at": now} for i in range(n)]
    for i in range(0, n, 5000):
        conn.execute(sa.insert(Device.__table__), rows[i:i + 5000])
    return [r[0] for r in conn.execute(sa.select(Device.__table__.c.id).order_by("id"))]


def _rollup_rows(ids: list[int], day: dt.date, rnd: random.Random) -> list[dict[str, Any]]:
    out = []
    for dev in ids:
        off = rnd.choice((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, rnd.uniform(0, 7200)))
        deg = rnd.choice((0.0, 0.0, 0.0, rnd.uniform(0, 3600)))
        out.append({"device_id": dev, "day": day, "ok_s": 86400.0 - off - deg, "degraded_s": deg,
                    "offline_s": off, "upstream_offline_s": 0.0, "unknown_s": 0.0,
                    "maintenance_s": 0.0, "probes": 1536, "probes_failed": int(off // 60),
                    "clock_checks": 96, "clock_ok": 95 if deg else 96,
                    "worst_clock_offset_s": round(rnd.uniform(-0.8, 0.8), 3),
                    "fault_counts": {"blur": 2} if deg else None, "flips": 2 if off else 0})
    return out


def _db_size(engine: sa.Engine, table: str) -> int:
    """Bytes the table (with its indexes) takes: dbstat on SQLite, pg_total_relation_size."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return int(conn.execute(sa.text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar())
        idx = [r[0] for r in conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE tbl_name = :t AND type IN ('table', 'index')"),
            {"t": table})]
        try:
            return int(conn.execute(sa.text(
                f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({','.join(':n%d' % i for i in range(len(idx)))})"),
                {f"n{i}": n for i, n in enumerate(idx)}).scalar() or 0)
        except sa.exc.OperationalError:  # SQLite built without dbstat: whole-file estimate
            page = conn.execute(sa.text("PRAGMA page_size")).scalar()
            return int(conn.execute(sa.text("PRAGMA page_count")).scalar() * page)


def bench_rollups(url: str, label: str, n_devices: int, days: int, raw_devices: int,
                  tmp: Path) -> dict[str, float]:
    from flask_migrate import upgrade

    from supervisor.core.extensions import db
    from supervisor.health.models import DailyRollup, ProbeSample

    app = _app(url, tmp)
    with app.app_context():
        upgrade()
        engine = db.engine
        with engine.begin() as conn:
            ids = _seed_devices(conn, n_devices)
        rnd = random.Random(7)
        start = dt.date(2026, 1, 1)
        batches = [_rollup_rows(ids, start + dt.timedelta(days=d), rnd) for d in range(days)]
        table = DailyRollup.__table__
        t0 = time.perf_counter()
        for rows in batches:  # the nightly job: one transaction per day for the whole city
            with engine.begin() as conn:
                conn.execute(sa.insert(table), rows)
        write_s = time.perf_counter() - t0
        n_rows = n_devices * days
        t0 = time.perf_counter()
        with engine.connect() as conn:
            got = conn.execute(sa.select(table).where(table.c.day >= start)).fetchall()
        read_all_s = time.perf_counter() - t0
        assert len(got) == n_rows, (len(got), n_rows)
        del got
        t0 = time.perf_counter()
        with engine.connect() as conn:  # what a monthly report asks: per device, the month
            agg = conn.execute(
                sa.select(table.c.device_id, sa.func.sum(table.c.ok_s), sa.func.sum(table.c.offline_s),
                          sa.func.sum(table.c.degraded_s), sa.func.sum(table.c.probes),
                          sa.func.sum(table.c.clock_ok), sa.func.sum(table.c.clock_checks))
                .where(table.c.day >= start, table.c.day < start + dt.timedelta(days=days))
                .group_by(table.c.device_id)).fetchall()
        aggregate_s = time.perf_counter() - t0
        assert len(agg) == n_devices
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE daily_rollups"))
        rollup_bytes = _db_size(engine, "daily_rollups")
        per_row = rollup_bytes / n_rows
        rollup_year = per_row * 365

        # Peer: raw fast-tier samples, one a minute, as the sweep stores them for ok
        # results (no result JSON kept for an ok fast probe).
        samples = ProbeSample.__table__
        subset = ids[:raw_devices]
        t_day = dt.datetime(2026, 2, 1)
        per_day = 1440
        t0 = time.perf_counter()
        for minute0 in range(0, per_day, 240):
            rows = [{"device_id": dev, "at": t_day + dt.timedelta(minutes=m), "tier": "fast",
                     "observed": "ok", "rtt_ms": round(rnd.uniform(0.2, 3), 3)}
                    for m in range(minute0, min(per_day, minute0 + 240)) for dev in subset]
            with engine.begin() as conn:
                conn.execute(sa.insert(samples), rows)
        raw_write_s = time.perf_counter() - t0
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE probe_samples"))
        raw_bytes = _db_size(engine, "probe_samples")
        raw_per_row = raw_bytes / (raw_devices * per_day)
        raw_year = raw_per_row * per_day * 365
        db.session.remove()
        engine.dispose()

    print(f"rollups [{label}]: {n_devices:,} devices x {days} days = {n_rows:,} rows")
    print(f"  write        {write_s:8.2f} s   {n_rows / write_s:12,.0f} rows/s (one transaction per day)")
    print(f"  read back    {read_all_s:8.2f} s   {n_rows / read_all_s:12,.0f} rows/s (every row)")
    print(f"  month report {aggregate_s:8.2f} s   per-device sums over {days} days for {n_devices:,} devices")
    print(f"  size         {_fmt_bytes(per_row)} per row -> {_fmt_bytes(rollup_year)} per device-year, "
          f"{_fmt_bytes(rollup_year * 5 * n_devices)} for {n_devices:,} devices over 5 years")
    print(f"  peer raw samples (fast tier, 1/min): {_fmt_bytes(raw_per_row)} per sample -> "
          f"{_fmt_bytes(raw_year)} per device-year ({raw_devices} devices x 1 day written in "
          f"{raw_write_s:.2f} s)")
    print(f"  ratio raw samples / rollups per device-year: {raw_year / rollup_year:,.0f}x")
    return {"write_s": write_s, "read_s": read_all_s, "aggregate_s": aggregate_s,
            "bytes_per_device_year": rollup_year, "raw_bytes_per_device_year": raw_year}


# --------------------------------------------------------------------------- sweep

def _start_workers(redis_url: str, queue: str, n: int, logdir: Path) -> list[subprocess.Popen]:
    env = dict(os.environ, FLASK_CELERY_BROKER_URL=redis_url, FLASK_CELERY_QUEUE=queue,
               PYTHONUNBUFFERED="1")
    procs = []
    for i in range(n):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "supervisor.sweeps.celery_worker", "worker", "--pool",
             "solo", "-Q", queue, "-n", f"bench{i}-{queue}@localhost", "-l", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=(logdir / f"worker{i}.log").open("wb"),
            stderr=subprocess.STDOUT))
    return procs


def _wait_workers(executor: Any, queue: str, n: int, timeout: float = 60) -> None:
    names = {f"bench{i}-{queue}@localhost" for i in range(n)}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = executor.celery.control.ping(destination=list(names), timeout=0.5)
        if {k for d in answered for k in d} >= names:
            return
    raise RuntimeError("celery workers did not answer in time")


def bench_sweep(n_devices: int, tiers: list[str], rounds: int, tmp: Path, redis_url: str | None) -> None:
    from flask_migrate import upgrade

    from simulator.testing import FleetProcess
    from supervisor.core.extensions import db
    from supervisor.inventory.importer import apply_plan, parse_upload
    from supervisor.profiles.loader import load_profile
    from supervisor.sweeps import pipeline as sweep
    from supervisor.sweeps.celery_executor import CeleryExecutor
    from supervisor.sweeps.executors import LocalExecutor

    # One profile for the whole bench, read before anything records its use.
    profile = load_profile(check_in_use=False)
    app = _app(f"sqlite:///{tmp / 'sweep.db'}", tmp)
    with FleetProcess(devices=n_devices, seed=11, base_address="127.40.100.1",
                      control_port=19190, tmp_dir=tmp / "fleet", start_timeout=180) as fleet, \
            app.app_context():
        upgrade()
        data = Path(fleet.inventory_path).read_bytes()
        plan = parse_upload(Path(fleet.inventory_path).name, data, create_contracts=True,
                            contractor="Bench contractor")
        if plan.errors:
            raise RuntimeError(f"fleet inventory rejected: {plan.errors[:3]}")
        apply_plan(plan, "bench")
        runners: list[tuple[str, Any]] = [("local", LocalExecutor())]
        workers: list[subprocess.Popen] = []
        if redis_url:
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            workers = _start_workers(redis_url, queue, 2, tmp)
            celery_exec = CeleryExecutor(broker_url=redis_url, queue=queue, chunk_size=50)
            _wait_workers(celery_exec, queue, 2)
            runners.append(("celery", celery_exec))
        try:
            for tier in tiers:
                results: dict[str, list[Any]] = {"local": [], "celery": []}
                # warm-up: WSDLs parsed, connections opened, device_status rows created
                for name, executor in runners:
                    sweep.run_sweep(tier, executor=executor, trigger="bench", profile=profile, settings=current_app.extensions["settings"])
                for _ in range(rounds):  # alternate so both see the same machine state
                    for name, executor in runners:
                        results[name].append(sweep.run_sweep(tier, executor=executor,
                                                             trigger="bench", profile=profile, settings=current_app.extensions["settings"]))
                _print_sweep(tier, n_devices, rounds, results)
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                try:
                    w.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    w.kill()
            db.session.remove()


def _print_sweep(tier: str, n_devices: int, rounds: int, results: dict[str, list[Any]]) -> None:
    def best(name: str) -> Any:
        return max(results[name], key=lambda s: s.devices_per_s)

    local = best("local")
    print(f"sweep pipeline (probe -> judge -> store), tier {tier!r}, {n_devices} simulated devices, "
          f"best of {rounds} after a warm-up, SQLite:")
    print(f"  local runner        {local.devices_per_s:8.1f} devices/s  ({local.duration_s:.2f} s, "
          f"{local.failed} failed: {local.failures_by_reason or '-'})")
    if results["celery"]:
        cel = best("celery")
        print(f"  celery, 2 workers   {cel.devices_per_s:8.1f} devices/s  ({cel.duration_s:.2f} s, "
              f"{cel.failed} failed: {cel.failures_by_reason or '-'})")
        print(f"  ratio celery(2 workers) / local: {cel.devices_per_s / local.devices_per_s:.2f}x "
              f"(same machine: {os.cpu_count()} cores shared by fleet, workers and platform)")
    else:
        print("  celery: skipped (set FSP_TEST_REDIS_URL or run `make bench`)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n")[0])
    parser.add_argument("--rollup-devices", type=int, default=20000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--raw-devices", type=int, default=200)
    parser.add_argument("--sweep-devices", type=int, default=300)
    parser.add_argument("--tiers", default="fast,full", help="comma-separated tiers to sweep")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-rollups", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        if not args.skip_rollups:
            bench_rollups(f"sqlite:///{tmp / 'rollups.db'}", "SQLite", args.rollup_devices,
                          args.days, args.raw_devices, tmp)
            pg = os.environ.get("FSP_TEST_PG_URL")
            if pg:
                admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
                name = f"fsp_bench_{uuid.uuid4().hex[:8]}"
                with admin.connect() as conn:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                try:
                    bench_rollups(pg.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL",
                                  args.rollup_devices, args.days, args.raw_devices, tmp)
                finally:
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
        if not args.skip_sweep:
            bench_sweep(args.sweep_devices, [t for t in args.tiers.split(",") if t], args.rounds, tmp,
                        os.environ.get("FSP_TEST_REDIS_URL"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
