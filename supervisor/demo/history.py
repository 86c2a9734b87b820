"""`flask history backfill --months N [--seed S]`: a realistic past for the devices in the
inventory, so every report has something true to show.

A seeded generator plans each device's past as segments (outages, image faults, clock drift,
flapping bursts, switch outages that put the cameras behind them offline with cause
`upstream`, approved maintenance windows per community) from its acceptance date to now.
The plan is then written through the live path: observations, N agreeing probes per change
(the profile's hysteresis), judged by `health.store.write_batch` with the maintenance windows
as stored rows, exactly as sweeps write. `write_bulk` writes the same plan straight as
intervals (for benchmarks at 20,000 devices × 18 months, where the live path would take an
hour); a test checks both give the same intervals. The live path also writes the tickets
the faults would have raised (supervisor/demo/ticket_history.py).

Devices that already have a state history are left alone (the state machine never rewrites
the past); devices without an acceptance date get one near the start of the history.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from supervisor.core import clock, localtime
from supervisor.core.choices import IMAGE_FAULTS
from supervisor.health.models import DeviceStatus, MaintenanceWindow, StateInterval
from supervisor.health.rules import CAUSE_UPSTREAM, HealthRules, Observation
from supervisor.health.store import BatchItem, load_statuses, maintenance_lookup, write_batch
from supervisor.inventory.models import Device

PROBE_GAP = dt.timedelta(seconds=60)
MIN_SPAN = dt.timedelta(minutes=10)
HISTORY_FAULTS = tuple(f for f in IMAGE_FAULTS if f not in ("scene_change",))


@dataclass(frozen=True)
class Segment:
    start: dt.datetime
    end: dt.datetime
    state: str            # offline | degraded | maintenance
    cause: str
    reasons: tuple[dict[str, Any], ...] = ()


@dataclass
class DevicePlan:
    device_id: int
    begin: dt.datetime           # first probe: local midnight of the acceptance date
    segments: list[Segment]      # sorted, non-overlapping, each at least MIN_SPAN apart


def _rng(seed: int, key: str) -> random.Random:
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def _duration(r: random.Random, median_h: float = 3.0) -> dt.timedelta:
    hours = min(96.0, max(0.25, r.lognormvariate(0, 1.2) * median_h))
    return dt.timedelta(seconds=int(hours * 3600))


def _events(r: random.Random, begin: dt.datetime, end: dt.datetime, per_month: float
            ) -> list[tuple[dt.datetime, dt.timedelta]]:
    span = (end - begin).total_seconds()
    if span <= 3600:
        return []
    n = 0
    expected = per_month * span / (30 * 86400)
    # Poisson count by inversion (small means)
    import math
    p, k, u = math.exp(-expected), 0, r.random()
    cum = p
    while u > cum and k < 500:
        k += 1
        p *= expected / k
        cum += p
    n = k
    out = []
    for _ in range(n):
        start = begin + dt.timedelta(seconds=int(r.uniform(0, span - 3600)))
        out.append((start.replace(microsecond=0), _duration(r)))
    return sorted(out)


def _fits(segs: list[Segment], start: dt.datetime, end: dt.datetime) -> bool:
    return all(end + MIN_SPAN <= s.start or start >= s.end + MIN_SPAN for s in segs)


def plan_history(devices: Sequence[Any], start: dt.datetime, now: dt.datetime, seed: int,
                 maintenance: dict[int, list[tuple[dt.datetime, dt.datetime]]] | None = None
                 ) -> list[DevicePlan]:
    """Segments per device (pure). `devices` need id, serial, kind, upstream_id, community_id,
    accepted_on. Maintenance windows (per community) win, then upstream outages, then the
    device's own faults; nothing overlaps."""
    maintenance = maintenance or {}
    begin_of: dict[int, dt.datetime] = {}
    for d in devices:
        acc = d.accepted_on
        b = localtime.local_to_utc(dt.datetime.combine(acc, dt.time())) if acc else start
        begin_of[d.id] = max(b, start)
    own: dict[int, list[Segment]] = {}
    for d in devices:
        r = _rng(seed, d.serial)
        bad = r.random() < 0.08            # a few devices fail often
        per_month = r.uniform(3, 8) if bad else r.uniform(0.2, 1.6)
        segs: list[Segment] = []
        for w in maintenance.get(d.community_id, []):
            if w[0] >= begin_of[d.id] + MIN_SPAN and w[1] < now - MIN_SPAN:
                segs.append(Segment(w[0], w[1], "maintenance", "maintenance"))
        for t, length in _events(r, begin_of[d.id] + MIN_SPAN, now - MIN_SPAN, per_month):
            end = min(t + length, now - MIN_SPAN)
            if end - t < MIN_SPAN or not _fits(segs, t, end):
                continue
            roll = r.random()
            if roll < 0.55 or d.kind != "camera":
                segs.append(Segment(t, end, "offline", "unreachable",
                                    ({"check": "reach", "code": "timeout"},)))
            elif roll < 0.85:
                fault = r.choice(HISTORY_FAULTS)
                segs.append(Segment(t, end, "degraded", "image_fault",
                                    ({"check": "frame", "code": "image_fault", "fault": fault},)))
            elif roll < 0.95:
                off = round(r.uniform(1.5, 30), 1)
                segs.append(Segment(t, end, "degraded", "clock_drift",
                                    ({"check": "onvif", "code": "clock_drift", "value": off,
                                      "limit": 1.0},)))
            else:  # a flapping burst: short alternations, each long enough to be confirmed
                cur = t
                while cur + MIN_SPAN * 2 <= end:
                    segs.append(Segment(cur, cur + MIN_SPAN, "offline", "unreachable",
                                        ({"check": "reach", "code": "timeout"},)))
                    cur += MIN_SPAN * 2 + MIN_SPAN
        own[d.id] = sorted(segs, key=lambda s: s.start)
    # Upstream: the switch's offline spans put the devices behind it offline (cause upstream).
    serial = {d.id: d.serial for d in devices}
    for d in devices:
        up = d.upstream_id
        if up is None or up not in own:
            continue
        mine = own[d.id]
        for s in own[up]:
            if s.state != "offline" or s.start < begin_of[d.id] + MIN_SPAN:
                continue
            mine = [m for m in mine if m.state == "maintenance" or not (
                m.start < s.end + MIN_SPAN and s.start < m.end + MIN_SPAN)]
            if _fits(mine, s.start, s.end):
                mine.append(Segment(s.start, s.end, "offline", CAUSE_UPSTREAM, (
                    {"check": "upstream", "code": "upstream_down", "upstream": serial[up]},)))
        own[d.id] = sorted(mine, key=lambda s: s.start)
    return [DevicePlan(d.id, begin_of[d.id], own[d.id]) for d in devices]


def plan_maintenance(community_ids: Iterable[int], start: dt.datetime, now: dt.datetime,
                     seed: int) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """About one approved window every three months per community, 2–4 h from 09:00 local."""
    out: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    days = max(1, (now - start).days)
    for cid in community_ids:
        r = _rng(seed, f"community:{cid}")
        wins = []
        for _ in range(max(0, int(round(days / 90 * r.uniform(0.5, 1.5))))):
            day = (start + dt.timedelta(days=r.randrange(days))).date()
            local = dt.datetime.combine(day, dt.time(9, 0))
            a = localtime.local_to_utc(local)
            wins.append((a, a + dt.timedelta(hours=r.choice((2, 3, 4)))))
        wins.sort()
        keep = []
        for w in wins:
            if not keep or w[0] > keep[-1][1] + dt.timedelta(days=1):
                keep.append(w)
        out[cid] = keep
    return out


# ------------------------------------------------------------------ writers

def observations(plan: DevicePlan, rules: HealthRules) -> list[Observation]:
    """The probes the live path would have seen: N agreeing probes at each change."""
    def burst(at: dt.datetime, state: str, cause: str | None, reasons=(), n: int | None = None,
              checks: tuple[str, ...] = ("reach",)) -> list[Observation]:
        k = n if n is not None else rules.confirmations(state)
        faults = tuple(r["fault"] for r in reasons if r.get("fault"))
        off = next((r["value"] for r in reasons if r.get("code") == "clock_drift"), 0.05)
        return [Observation(at=at + PROBE_GAP * i, state=state, cause=cause, reasons=tuple(reasons),
                            faults=faults, checks=checks, rtt_ms=3.0,
                            clock_offset_s=off if state != "offline" else None)
                for i in range(k)]

    out = burst(plan.begin, "ok", None)
    for s in plan.segments:
        if s.state == "maintenance":
            out.append(Observation(at=s.start, state="ok", checks=("reach",), rtt_ms=3.0))
            out += burst(s.end, "ok", None)
            continue
        # The probes that end a fault ran the check that found it (a clean frame ends a
        # picture fault, a good clock read ends drift): a reach-only "ok" would leave the
        # finding stored, and the first live sweep would carry it back as a fault.
        ran = tuple(dict.fromkeys(("reach",) + tuple(
            str(r["check"]) for r in s.reasons if r.get("check") in ("onvif", "snmp", "frame"))))
        out += burst(s.start, s.state, s.cause, s.reasons, checks=ran)
        out += burst(s.end, "ok", None, checks=ran)
    return out


def write_live(session: Session, plans: Sequence[DevicePlan], rules: HealthRules,
               community_of: dict[int, int], now: dt.datetime,
               progress: Callable[[int], None] = lambda n: None, chunk: int = 200) -> int:
    """Through health.store.write_batch, as sweeps write. Returns transitions written."""
    total = 0
    for i in range(0, len(plans), chunk):
        part = plans[i:i + chunk]
        ids = [p.device_id for p in part]
        items = [BatchItem(p.device_id, "full", o, None)
                 for p in part for o in observations(p, rules)]
        if not items:
            continue
        lo = min(o.obs.at for o in items)
        windows = maintenance_lookup(session, {d: community_of[d] for d in ids}, lo, now)
        stored = load_statuses(session, ids)
        total += write_batch(session, None, items, stored, rules, now, windows)
        session.commit()
        progress(min(i + chunk, len(plans)))
    return total


def intervals_of(plan: DevicePlan) -> list[dict[str, Any]]:
    """The intervals the live path produces for a plan (what write_bulk stores)."""
    out, cur = [], plan.begin
    for s in plan.segments:
        out.append(dict(state="ok", cause=None, reasons=None, start_at=cur, end_at=s.start))
        out.append(dict(state=s.state, cause=s.cause, reasons=list(s.reasons) or None,
                        start_at=s.start, end_at=s.end))
        cur = s.end
    out.append(dict(state="ok", cause=None, reasons=None, start_at=cur, end_at=None))
    return out


def write_bulk(session: Session, plans: Sequence[DevicePlan]) -> int:
    """The plan straight as interval rows (benchmarks). Returns rows written."""
    rows = [dict(device_id=p.device_id, flapping=False, **iv) for p in plans
            for iv in intervals_of(p)]
    for i in range(0, len(rows), 20000):
        session.execute(sa.insert(StateInterval), rows[i:i + 20000])
    session.commit()
    return len(rows)


# ------------------------------------------------------------------ the command

def backfill(session: Session, months: int, seed: int, now: dt.datetime, rules: HealthRules,
             bulk: bool = False, progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    local_today = localtime.to_local(now).date().replace(day=1)
    idx = local_today.year * 12 + local_today.month - 1 - months
    first = dt.date(idx // 12, idx % 12 + 1, 1)
    start = localtime.local_to_utc(dt.datetime.combine(first, dt.time()))
    has_history = set(session.scalars(sa.select(StateInterval.device_id).distinct())) | set(
        session.scalars(sa.select(DeviceStatus.device_id)))
    devices = [d for d in session.scalars(sa.select(Device).order_by(Device.id))
               if d.id not in has_history and d.lifecycle != "retired"]
    for d in devices:
        if d.accepted_on is None:
            r = _rng(seed, "accept:" + d.serial)
            d.accepted_on = first + dt.timedelta(days=r.randrange(0, 20))
            d.lifecycle = "accepted"
    session.flush()
    communities = sorted({d.community_id for d in devices})
    maint = plan_maintenance(communities, start, now, seed)
    for cid, wins in maint.items():
        for a, b in wins:
            session.add(MaintenanceWindow(community_id=cid, start_at=a, end_at=b,
                                          reason="例行维护（历史回填）", approved_by="history",
                                          created_at=a - dt.timedelta(days=2)))
    session.commit()
    plans = plan_history(devices, start, now, seed, maint)
    progress(f"{len(devices)} devices, {sum(len(p.segments) for p in plans)} events planned")
    if bulk:
        n = write_bulk(session, plans)
        return {"devices": len(devices), "intervals": n}
    n = write_live(session, plans, rules, {d.id: d.community_id for d in devices}, now,
                   lambda k: progress(f"{k}/{len(plans)} devices written"))
    from supervisor.demo.ticket_history import write_tickets
    tickets = write_tickets(session, plans, now, seed, tz=localtime.zone_name(),
                            progress=lambda k: progress(f"tickets: {k}/{len(plans)} devices"))
    return {"devices": len(devices), "transitions": n, "tickets": tickets}


history_cli = AppGroup("history", help="History of device states (demo, benchmarks).")


@history_cli.command("backfill")
@click.option("--months", type=click.IntRange(1, 72), default=6, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--bulk", is_flag=True, help="Write intervals directly (benchmarks) instead of "
                                           "through the live state machine.")
def backfill_command(months: int, seed: int, bulk: bool) -> None:
    """Fill a realistic past for devices that have no state history yet."""
    from supervisor.core.extensions import db
    from supervisor.profiles.loader import load_profile

    settings = current_app.extensions["settings"]
    rules = HealthRules.from_profile(load_profile(settings.SCHEDULER_PROFILE, check_in_use=False))
    out = backfill(db.session, months, seed, clock.now(), rules, bulk,
                   lambda s: click.echo(f"[history] {s}", err=True))
    click.echo(" ".join(f"{k}={v}" for k, v in out.items()))


def init_app(app: Flask) -> None:
    app.cli.add_command(history_cli)


def demo_backfill(say: Callable[[str], None], months: int = 6, seed: int = 1) -> None:
    """The demo's one call (inside an app context): months of history for the imported
    devices, so the reports have something to show. Never stops the demo."""
    from supervisor.core.extensions import db
    from supervisor.profiles.loader import load_profile

    try:
        settings = current_app.extensions["settings"]
        rules = HealthRules.from_profile(load_profile(settings.SCHEDULER_PROFILE,
                                                      check_in_use=False))
        out = backfill(db.session, months, seed, clock.now(), rules, False, say)
        say(f"history: {out}")
    except Exception as exc:  # the demo goes on without history, and says why
        db.session.rollback()
        say(f"history not filled: {type(exc).__name__}: {exc}")
