"""Reports at city scale: the monthly PDF's build time, and a month's figures computed by the
platform (exact, from state intervals in the database) against the peer, a plain pandas pass
over raw probe samples (what a quick script does: count samples by observed state).

`.venv/bin/python -m bench.reports [--devices 20000] [--months 18] [--sample-s 900]` builds a
city on a fresh SQLite database (tests/reporting/city.py: communities of 20, two contracts,
18 months of history from supervisor.demo.history, written in bulk), then in the same run:

- platform: `reports.figures.figures` for the last full month, by city and by community
  (database load + exact clipping), timed;
- peer: raw samples of that month every `--sample-s` seconds for every device (the full
  tier's interval, generated from the same intervals, held in memory so the peer pays no
  database cost), then a pandas groupby counting samples per state: timed; its rates differ
  from the exact ones by the sampling error, printed too;
- the monthly PDF (`flask report monthly` path: figures, 12-month trends, ledgers, WeasyPrint).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEVICE_KEY = "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="
STATE_CODE = {"ok": 0, "degraded": 1, "offline": 2, "maintenance": 3, "unknown": 4}


def raw_samples(intervals: pd.DataFrame, device_ids: np.ndarray, lo: dt.datetime,
                hi: dt.datetime, every_s: int) -> pd.DataFrame:
    """Samples every `every_s` (a per-device phase) with the state of the interval holding
    each sample time: what the probes would have stored (no sample where no interval)."""
    lo_ns, hi_ns = pd.Timestamp(lo).value, pd.Timestamp(hi).value
    step = every_s * 1_000_000_000
    per_dev = (hi_ns - lo_ns) // step
    phase = (device_ids * 7919 % every_s) * 1_000_000_000
    dev = np.repeat(device_ids, per_dev)
    t = lo_ns + np.tile(np.arange(per_dev, dtype=np.int64) * step, len(device_ids)) + np.repeat(phase, per_dev)
    iv = intervals.sort_values(["device_id", "start_at"])
    end = iv["end_at"].fillna(pd.Timestamp(hi)).astype("datetime64[ns]").astype("int64").to_numpy()
    start = iv["start_at"].astype("datetime64[ns]").astype("int64").to_numpy()
    ivdev = iv["device_id"].to_numpy(dtype=np.int64)
    shift = np.int64(1) << np.int64(42)  # device id in the high bits, time offset below
    base = lo_ns - 40 * 86400 * 10**9
    key_iv = ivdev * shift + (start - base) // 1000
    key_s = dev * shift + (t - base) // 1000
    pos = np.searchsorted(key_iv, key_s, side="right") - 1
    valid = (pos >= 0) & (ivdev[pos.clip(0)] == dev) & (end[pos.clip(0)] > t)
    codes = iv["state"].map(STATE_CODE).to_numpy(dtype=np.int8)
    state = np.where(valid, codes[pos.clip(0)], STATE_CODE["unknown"]).astype(np.int8)
    return pd.DataFrame({"device_id": dev.astype(np.int32), "at": t, "observed": state})


def peer_figures(samples: pd.DataFrame) -> dict[str, float]:
    """The peer: count samples per observed state (maintenance and unknown left out)."""
    counts = samples.groupby("observed").size()
    ok, deg, off = (int(counts.get(STATE_CODE[s], 0)) for s in ("ok", "degraded", "offline"))
    measured = ok + deg + off
    measured_rows = samples[samples["observed"] < 3]
    by_dev = (measured_rows["observed"] != 2).groupby(measured_rows["device_id"]).mean()
    return {"online_rate": (ok + deg) / measured, "intact_rate": ok / measured,
            "devices": int(by_dev.size)}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench.reports")
    ap.add_argument("--devices", type=int, default=20000)
    ap.add_argument("--months", type=int, default=18)
    ap.add_argument("--sample-s", type=int, default=900)
    ap.add_argument("--db", default=None,
                    help="SQLite file to keep the city in (reused when it exists).")
    args = ap.parse_args(argv)

    from flask_migrate import upgrade

    from app import create_app
    from reports import monthly, periods
    from supervisor.reporting import context
    from reports.figures import figures, load_devices, load_intervals
    from supervisor.core.extensions import db
    from supervisor.profiles.loader import profile_for
    from tests.reporting.city import build_city

    now = dt.datetime(2026, 4, 2, 1)  # 2026-04-02 09:00 local
    month = periods.parse("2026-03")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "bench.db"
        reuse = path.exists()
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                          "SECRET_KEY": "bench", "DEVICE_SECRET_KEY": DEVICE_KEY})
        with app.app_context():
            upgrade()
            t0 = time.perf_counter()
            if reuse:
                from supervisor.models import Device, StateInterval
                city = {"devices": db.session.query(Device).count(),
                        "intervals": db.session.query(StateInterval).count()}
                print(f"city reused from {path}: {city['devices']} devices, "
                      f"{city['intervals']} intervals", flush=True)
            else:
                start_month = periods.add_months(month.first, -(args.months - 1))
                city = build_city(args.devices, args.months, now, start_month=start_month)
                print(f"city: {city['devices']} devices, {city['intervals']} intervals over "
                      f"{args.months} months, built in {time.perf_counter() - t0:.1f} s",
                      flush=True)
            targets = context.targets_of(context.city_profile())

            t0 = time.perf_counter()
            ours = figures(db.session, month.lo, month.hi, now, "city", targets)[0]
            t_city = time.perf_counter() - t0
            t0 = time.perf_counter()
            by_comm = figures(db.session, month.lo, month.hi, now, "community", targets)
            t_comm = time.perf_counter() - t0

            ivs = load_intervals(db.session, month.lo, month.hi)
            ids = load_devices(db.session)["device_id"].to_numpy(dtype=np.int64)
            samples = raw_samples(ivs, ids, month.lo, month.hi, args.sample_s)
            t0 = time.perf_counter()
            peer = peer_figures(samples)
            t_peer = time.perf_counter() - t0

            print(f"month {month.label}: platform (exact, from the database) by city "
                  f"{t_city:.2f} s, by community ({len(by_comm)} rows) {t_comm:.2f} s")
            print(f"peer: pandas pass over {len(samples):,} raw samples (every {args.sample_s} s, "
                  f"in memory) {t_peer:.2f} s")
            print(f"ratio platform/peer (by city): {t_city / t_peer:.2f}x")
            print(f"online rate: platform {ours['online_rate'] * 100:.4f}% vs peer "
                  f"{peer['online_rate'] * 100:.4f}% (sampling error "
                  f"{(peer['online_rate'] - ours['online_rate']) * 100:+.4f} points); "
                  f"intact {ours['intact_rate'] * 100:.4f}% vs {peer['intact_rate'] * 100:.4f}%")

            marks: list[tuple[float, str]] = []
            t0 = time.perf_counter()
            pdf, _ = monthly.build_pdf(db.session, month, now, context.city_profile(), profile_for,
                                       None, lambda p, s: marks.append((time.perf_counter() - t0, s)))
            t_pdf = time.perf_counter() - t0
            steps = ", ".join(f"{s} {t:.1f}s" for t, s in marks)
            print(f"monthly PDF for {city['devices']} devices: {t_pdf:.1f} s, {len(pdf):,} bytes "
                  f"({steps})")
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
