"""What the sweep status page and its JSON read: the last run of each tier, the totals of a
tier's last interval, the recent runs and the platform's own load during each."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supervisor.sweeps.models import SweepRun


def sweep_status(session: Session, now: dt.datetime, tier_intervals: Mapping[str, float],
                 recent: int = 30) -> dict[str, Any]:
    """The last run of each tier, totals over each tier's last interval, and the most recent
    runs, as plain data (page + JSON)."""
    runs = session.scalars(select(SweepRun).order_by(SweepRun.started_at.desc(),
                                                     SweepRun.id.desc()).limit(recent)).all()
    last_ids = select(func.max(SweepRun.id)).group_by(SweepRun.tier)
    last = session.scalars(select(SweepRun).where(SweepRun.id.in_(last_ids))
                           .order_by(SweepRun.tier)).all()
    tiers = []
    for run in last:
        row = run_dict(run, now)
        row["interval"] = interval_totals(session, run.tier, tier_intervals.get(run.tier), now)
        tiers.append(row)
    return {"now": now.isoformat(), "tiers": tiers, "recent": [run_dict(r, now) for r in runs]}


def interval_totals(session: Session, tier: str, interval_s: float | None, now: dt.datetime
                    ) -> dict[str, Any] | None:
    """The scheduler sweeps a tier in slices over its interval (one sweep_runs row each):
    sum the runs that started within the last interval, so the page shows a whole cycle."""
    if not interval_s:
        return None
    since = now - dt.timedelta(seconds=interval_s)
    rows = session.scalars(select(SweepRun).where(SweepRun.tier == tier,
                                                  SweepRun.started_at >= since)).all()
    if not rows:
        return None
    failures: dict[str, int] = {}
    busy = 0.0
    for r in rows:
        busy += ((r.finished_at or now) - r.started_at).total_seconds()
        for k, v in (r.failures_by_reason or {}).items():
            failures[k] = failures.get(k, 0) + int(v)
    devices = sum(r.devices for r in rows)
    return {"interval_s": interval_s, "runs": len(rows), "devices": devices,
            "ok": sum(r.ok for r in rows), "failed": sum(r.failed for r in rows),
            "busy_s": round(busy, 2),
            "devices_per_s": round(devices / busy, 2) if busy > 0 else None,
            "failures_by_reason": dict(sorted(failures.items(), key=lambda kv: -kv[1]))}


def run_dict(run: SweepRun, now: dt.datetime) -> dict[str, Any]:
    end = run.finished_at or now
    return {
        "id": run.id, "tier": run.tier, "trigger": run.trigger, "executor": run.executor,
        "status": run.status, "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_s": round((end - run.started_at).total_seconds(), 2),
        "devices": run.devices, "ok": run.ok, "failed": run.failed,
        "devices_per_s": run.devices_per_s,
        "failures_by_reason": run.failures_by_reason or {},
        "age_s": round((now - run.started_at).total_seconds(), 1),
        "error": run.error,
        "platform": platform_load(run.platform),
    }


def platform_load(platform: dict[str, Any] | None) -> dict[str, Any]:
    """The run's own load, for the operator: lag figures, checks not measured by check,
    and whether to warn (checks not measured, or the loop's lag p99 beyond its bound)."""
    p = platform or {}
    lag = p.get("lag") or {}
    nm = {k: int(v) for k, v in (p.get("not_measured") or {}).items()}
    p99, bound = lag.get("p99_s"), lag.get("bound_s")
    return {"lag_p50_s": lag.get("p50_s"), "lag_p99_s": p99, "lag_max_s": lag.get("max_s"),
            "lag_bound_s": bound, "not_measured": nm, "not_measured_total": sum(nm.values()),
            "overload_retries": int(p.get("overload_retries") or 0),
            "warn": bool(sum(nm.values())) or (p99 is not None and bound is not None
                                               and p99 > bound)}
