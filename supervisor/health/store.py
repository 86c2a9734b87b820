"""Storing health: samples, the status/interval/event writes of one batch, rollups, retention.

One batch of judged observations is written in ONE transaction by `write_batch`:
samples (insert-or-ignore on (device, tier, at): replays are no-ops), then per device the
state machine step, the closing/opening of intervals, the events and the device_status
row. The status row is updated compare-and-set on `last_sample_at`; if another writer
moved it meanwhile `StaleStatus` is raised and the caller retries the batch from fresh
rows. Because status, intervals and samples commit together, a crash at any point leaves
the database consistent and the next sweep simply carries on from device_status.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.health.rules import (
    MAINTENANCE,
    OFFLINE,
    OK,
    UNKNOWN,
    HealthRules,
    Observation,
    RulesBook,
    Status,
    clock_beyond,
    clock_uncertainty,
    findings_after,
    naive_utc,
    rules_for,
    seconds_by_state,
    status_reasons,
    step,
)

Rules = HealthRules | RulesBook
from supervisor.health.models import (
    DailyRollup,
    DeviceStatus,
    MaintenanceWindow,
    ProbeSample,
    StateEvent,
    StateInterval,
)


class StaleStatus(Exception):
    """A device_status row changed under us (another sweep wrote it): retry the batch."""


@dataclass
class StoredStatus:
    """A device's status as loaded: the machine state plus what judging needs."""

    status: Status
    findings: list[dict[str, Any]]
    last_uptime_s: Optional[float]
    exists: bool
    last_kept_at: Optional[dt.datetime] = None   # last stored fast-tier sample
    fast_skipped: int = 0                        # ok fast probes not stored since


def _insert(session: Session, table: sa.Table):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported engines
        raise RuntimeError(f"unsupported database {name}")
    return insert(table)


def _times(values: Iterable[Any]) -> list[dt.datetime]:
    out = []
    for v in values or []:
        try:
            out.append(dt.datetime.fromisoformat(v) if isinstance(v, str) else v)
        except ValueError:
            continue  # a corrupt entry costs flap memory, never the sweep
    return out


def load_statuses(session: Session, device_ids: Iterable[int]) -> dict[int, StoredStatus]:
    ids = list(device_ids)
    out: dict[int, StoredStatus] = {d: StoredStatus(Status(), [], None, False) for d in ids}
    for chunk in (ids[i:i + 900] for i in range(0, len(ids), 900)):
        for row in session.scalars(sa.select(DeviceStatus).where(DeviceStatus.device_id.in_(chunk))):
            out[row.device_id] = StoredStatus(
                status=Status(
                    state=row.state, since=row.since, cause=row.cause,
                    reasons=[r for r in (row.reasons or []) if r.get("code") != "flapping"],
                    flapping=bool(row.flapping), candidate_state=row.candidate_state,
                    candidate_cause=row.candidate_cause, candidate_since=row.candidate_since,
                    candidate_count=row.candidate_count or 0,
                    candidate_reasons=list(row.candidate_reasons or []),
                    recent_flips=_times(row.recent_flips), last_sample_at=row.last_sample_at,
                    last_observed=row.last_observed),
                findings=list(row.faults or []), last_uptime_s=row.last_uptime_s, exists=True,
                last_kept_at=row.last_kept_at, fast_skipped=row.fast_skipped or 0)
    return out


def maintenance_lookup(session: Session, device_community: Mapping[int, int], lo: dt.datetime,
                       hi: dt.datetime) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """Approved windows overlapping [lo, hi], per device (community windows fan out)."""
    rows = session.scalars(sa.select(MaintenanceWindow).where(
        MaintenanceWindow.start_at <= hi, MaintenanceWindow.end_at > lo)).all()
    by_comm: dict[int, list[int]] = {}
    for dev, comm in device_community.items():
        by_comm.setdefault(comm, []).append(dev)
    out: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for w in rows:
        targets = [w.device_id] if w.device_id is not None else by_comm.get(w.community_id, [])
        for dev in targets:
            if dev in device_community:
                out.setdefault(dev, []).append((w.start_at, w.end_at))
    return out


def _maintenance_ended_at(session: Session, device_id: int, since: Optional[dt.datetime],
                          until: dt.datetime) -> Optional[dt.datetime]:
    """When the device's maintenance really ended: the latest end, in (since, until], of the
    windows that cover it (its own or its community's). Only asked when a device leaves
    maintenance, so one small query per exit."""
    from supervisor.inventory.models import Device

    community = sa.select(Device.community_id).where(Device.id == device_id).scalar_subquery()
    q = sa.select(sa.func.max(MaintenanceWindow.end_at)).where(
        sa.or_(MaintenanceWindow.device_id == device_id,
               MaintenanceWindow.community_id == community),
        MaintenanceWindow.end_at <= naive_utc(until))
    if since is not None:
        q = q.where(MaintenanceWindow.end_at > naive_utc(since))
    return session.scalar(q)


def window_at(windows: Sequence[tuple[dt.datetime, dt.datetime]], at: dt.datetime
              ) -> Optional[tuple[dt.datetime, dt.datetime]]:
    for start, end in windows:
        if start <= at < end:
            return (start, end)
    return None


@dataclass
class BatchItem:
    device_id: int
    tier: str
    obs: Observation
    result: Optional[dict[str, Any]]   # ProbeResult.to_dict(), or None to keep it small


def _existing_samples(session: Session, items: Sequence[BatchItem]) -> set[tuple[int, str, dt.datetime]]:
    """Keys of this batch's samples already stored (replays after a crash)."""
    ps = ProbeSample.__table__
    keys = {(i.device_id, i.tier, i.obs.at) for i in items}
    found: set[tuple[int, str, dt.datetime]] = set()
    devs = sorted({k[0] for k in keys})
    times = sorted({k[2] for k in keys})
    for chunk in (devs[i:i + 500] for i in range(0, len(devs), 500)):
        q = sa.select(ps.c.device_id, ps.c.tier, ps.c.at).where(
            ps.c.device_id.in_(chunk), ps.c.at >= times[0], ps.c.at <= times[-1])
        found |= {tuple(r) for r in session.execute(q)} & keys  # type: ignore[arg-type]
    return found


_STATUS_COLUMNS = (
    "state", "since", "cause", "reasons", "flapping", "candidate_state", "candidate_cause",
    "candidate_since", "candidate_count", "candidate_reasons", "recent_flips", "last_sample_at",
    "last_observed", "last_rtt_ms", "last_clock_offset_s", "faults", "last_uptime_s", "updated_at",
    "last_kept_at", "fast_skipped")


def _thin(status: Status, new: Status, obs: Observation, tier: str, flips: list,
          kept: Optional[dt.datetime], keep_every_s: float) -> bool:
    """True when this sample may be left out: an ok fast probe agreeing with a settled ok
    state, within `keep_every_s` of the last stored one and on the same UTC day."""
    return (keep_every_s > 0 and tier == "fast" and obs.state == OK and not flips
            and new.state == OK and new.candidate_state is None and new is not status
            and kept is not None and kept.date() == obs.at.date()
            and (obs.at - kept).total_seconds() < keep_every_s)


def write_batch(session: Session, sweep_id: Optional[int], items: Sequence[BatchItem],
                stored: Mapping[int, StoredStatus], rules: Rules, now: dt.datetime,
                windows: Mapping[int, Sequence[tuple[dt.datetime, dt.datetime]]] | None = None,
                keep_every_s: float = 0.0) -> int:
    """Write one batch (the caller commits). Returns the number of transitions.

    Items of one device must be in probe-time order. Raises StaleStatus when a status
    row moved since `stored` was loaded. Samples and status rows go in executemany
    statements (one round of SQL per table per batch); transitions are rare and row by row.

    `keep_every_s` > 0 thins the fast tier: an ok probe that agrees with a settled ok state
    is stored only every `keep_every_s` (and the first of each UTC day); the probes left
    out are counted in the next stored row's `weight`, so rollup probe counts stay exact.
    Every observation still goes through the state machine: intervals are unaffected.
    """
    if not items:
        return 0
    windows = windows or {}
    transitions = 0
    done = _existing_samples(session, items)
    samples: list[dict[str, Any]] = []
    touched: dict[int, tuple] = {}
    for item in items:
        obs = item.obs
        key = (item.device_id, item.tier, obs.at)
        if key in done:
            continue  # this very sample was already applied: a replay after a crash
        done.add(key)
        base = stored[item.device_id]
        prev = touched.get(item.device_id)
        status = prev[1] if prev else base.status
        findings = prev[2] if prev else base.findings
        uptime = prev[3] if prev else base.last_uptime_s
        kept, skipped = (prev[5], prev[6]) if prev else (base.last_kept_at, base.fast_skipped)
        window = window_at(windows.get(item.device_id, ()), obs.at)
        ended_at = (_maintenance_ended_at(session, item.device_id, status.since, obs.at)
                    if window is None and status.state == MAINTENANCE else None)
        new, flips = step(status, obs, rules_for(rules, item.device_id), maintenance=window,
                          maintenance_ended_at=ended_at)
        # A sample older than the last applied one (a slow tier finishing late) leaves the
        # state machine alone (step ignores it) but its sub-check findings still count.
        findings = findings_after(obs, findings) if obs.state != UNKNOWN else findings
        if obs.uptime_s is not None:
            uptime = obs.uptime_s
        for t in flips:
            _apply_transition(session, item.device_id, t, now)
            transitions += 1
        if _thin(status, new, obs, item.tier, flips, kept, keep_every_s):
            skipped += 1
        elif keep_every_s > 0 and item.tier == "fast" and obs.state == OK and new is status:
            # Ignored by the state machine (at or before the last applied probe): with
            # thinning on, this may be the replay of a probe already counted as skipped,
            # so it is neither stored nor counted (at worst one probe uncounted in a race).
            pass
        else:
            weight = 1
            if item.tier == "fast" and new is not status:
                weight, skipped, kept = 1 + skipped, 0, obs.at
            samples.append(dict(
                device_id=item.device_id, at=obs.at, tier=item.tier, sweep_id=sweep_id,
                observed=obs.state, rtt_ms=obs.rtt_ms, clock_offset_s=obs.clock_offset_s,
                error_kind=obs.error_kind, faults=list(obs.faults) or None,
                reasons=list(obs.reasons) or None, result=item.result, weight=weight))
        touched[item.device_id] = (base, new, findings, uptime, obs, kept, skipped)
    if samples:
        ins = _insert(session, ProbeSample.__table__).on_conflict_do_nothing(
            index_elements=["device_id", "tier", "at"])
        session.execute(ins, samples)
    _save_statuses(session, touched, rules, now)
    return transitions


def _apply_transition(session: Session, device_id: int, t: Any, now: dt.datetime) -> None:
    ivs = StateInterval.__table__
    open_iv = session.execute(sa.select(ivs.c.id, ivs.c.start_at).where(
        ivs.c.device_id == device_id, ivs.c.end_at.is_(None))).all()
    for iv_id, start in open_iv:
        if start >= t.at:
            session.execute(ivs.delete().where(ivs.c.id == iv_id))  # would be empty
        else:
            session.execute(ivs.update().where(ivs.c.id == iv_id).values(end_at=t.at))
    session.execute(ivs.insert().values(
        device_id=device_id, state=t.new, cause=t.cause, reasons=list(t.reasons) or None,
        flapping=bool(t.flapping), start_at=t.at, end_at=None))
    ev = StateEvent.__table__
    session.execute(_insert(session, ev).values(
        device_id=device_id, at=t.at, old=t.old, new=t.new, cause=t.cause,
        reasons=list(t.reasons) or None, flapping=bool(t.flapping), recorded_at=now,
    ).on_conflict_do_nothing(index_elements=["device_id", "at"]))


def _save_statuses(session: Session, touched: Mapping[int, tuple], rules: Rules,
                   now: dt.datetime) -> None:
    """Insert new status rows, compare-and-set the others on last_sample_at (executemany;
    the summed rowcount must match, else someone else moved a row: StaleStatus)."""
    table = DeviceStatus.__table__
    fresh, by_old, from_null, flapping = [], [], [], []
    for device_id, (base, new, findings, uptime, obs, kept, skipped) in touched.items():
        values = dict(
            state=new.state, since=new.since, cause=new.cause,
            reasons=status_reasons(new, rules_for(rules, device_id)) or None, flapping=new.flapping,
            candidate_state=new.candidate_state, candidate_cause=new.candidate_cause,
            candidate_since=new.candidate_since, candidate_count=new.candidate_count,
            candidate_reasons=new.candidate_reasons or None,
            recent_flips=[t.isoformat() for t in new.recent_flips] or None,
            last_sample_at=new.last_sample_at, last_observed=new.last_observed,
            last_rtt_ms=obs.rtt_ms, last_clock_offset_s=obs.clock_offset_s,
            faults=findings or None, last_uptime_s=uptime, updated_at=now,
            last_kept_at=kept, fast_skipped=skipped)
        if new.flapping:
            flapping.append(device_id)
        if not base.exists:
            fresh.append(dict(device_id=device_id, **values))
        elif base.status.last_sample_at is None:
            from_null.append(dict(b_device_id=device_id, **values))
        else:
            by_old.append(dict(b_device_id=device_id, b_old=base.status.last_sample_at, **values))
    if flapping:
        ivs = StateInterval.__table__
        session.execute(ivs.update().where(ivs.c.device_id.in_(flapping), ivs.c.end_at.is_(None))
                        .values(flapping=True))
    if fresh:
        # RETURNING counts the rows really inserted (a batched multi-VALUES insert does not
        # report a reliable rowcount on every driver).
        ins = _insert(session, table).on_conflict_do_nothing(
            index_elements=["device_id"]).returning(table.c.device_id)
        if len(session.connection().execute(ins, fresh).all()) != len(fresh):
            raise StaleStatus("a status row was created meanwhile")
    setters = {c: sa.bindparam(c) for c in _STATUS_COLUMNS}
    for rows, cond in ((by_old, table.c.last_sample_at == sa.bindparam("b_old")),
                       (from_null, table.c.last_sample_at.is_(None))):
        if not rows:
            continue
        upd = table.update().where(table.c.device_id == sa.bindparam("b_device_id"), cond).values(setters)
        # Core executemany on the session's connection: the ORM's bulk-update path would
        # want primary keys by name and would not give us the summed rowcount.
        res = session.connection().execute(upd, rows)
        if res.rowcount != len(rows):
            raise StaleStatus("a status row moved meanwhile")


# --------------------------------------------------------------------------- rollups

def rollup_day(session: Session, day: dt.date, now: dt.datetime, rules: Rules,
               device_ids: Optional[Sequence[int]] = None) -> int:
    """(Re)compute the daily rollup of `day` (UTC) for every device with data. Idempotent."""
    lo = dt.datetime.combine(day, dt.time())
    hi = lo + dt.timedelta(days=1)
    ivs = StateInterval.__table__
    q = sa.select(ivs.c.device_id, ivs.c.state, ivs.c.cause, ivs.c.start_at, ivs.c.end_at).where(
        ivs.c.start_at < hi, sa.or_(ivs.c.end_at.is_(None), ivs.c.end_at > lo))
    ps = ProbeSample.__table__
    sq = sa.select(ps.c.device_id, ps.c.observed, ps.c.clock_offset_s, ps.c.faults, ps.c.weight,
                   ps.c.result).where(ps.c.at >= lo, ps.c.at < hi)
    ev = StateEvent.__table__
    eq = sa.select(ev.c.device_id, sa.func.count()).where(
        ev.c.at >= lo, ev.c.at < hi, ev.c.old != ev.c.new).group_by(ev.c.device_id)
    if device_ids is not None:
        q = q.where(ivs.c.device_id.in_(device_ids))
        sq = sq.where(ps.c.device_id.in_(device_ids))
        eq = eq.where(ev.c.device_id.in_(device_ids))
    per: dict[int, dict[str, Any]] = {}

    def acc(dev: int) -> dict[str, Any]:
        return per.setdefault(dev, {"intervals": [], "probes": 0, "failed": 0, "clock": 0,
                                    "clock_ok": 0, "worst": None, "faults": {}, "flips": 0})

    for row in session.execute(q):
        acc(row.device_id)["intervals"].append(row._mapping)
    for row in session.execute(sq):
        a = acc(row.device_id)
        a["probes"] += row.weight or 1   # thinned ok probes ride on the next stored row
        a["failed"] += int(row.observed == OFFLINE)
        if row.clock_offset_s is not None:
            a["clock"] += 1
            tol = rules_for(rules, row.device_id).clock_tolerance_s
            # Accurate unless beyond the tolerance by more than the reading's uncertainty,
            # the same rule that judges clock drift.
            onvif = (row.result or {}).get("onvif") or {}
            unc = clock_uncertainty(SimpleNamespace(
                clock_uncertainty_s=onvif.get("clock_uncertainty_s"),
                clock_rtt_s=onvif.get("clock_rtt_s")))
            a["clock_ok"] += int(not clock_beyond(row.clock_offset_s, unc, tol))
            if a["worst"] is None or abs(row.clock_offset_s) > abs(a["worst"]):
                a["worst"] = row.clock_offset_s
        for f in row.faults or []:
            a["faults"][f] = a["faults"].get(f, 0) + 1
    for dev, n in session.execute(eq):
        acc(dev)["flips"] = n
    table = DailyRollup.__table__
    for dev, a in per.items():
        secs = seconds_by_state(a["intervals"], lo, hi, min(now, hi))
        values = dict(
            ok_s=secs.get("ok", 0.0), degraded_s=secs.get("degraded", 0.0),
            offline_s=secs.get("offline", 0.0), upstream_offline_s=secs.get("offline:upstream", 0.0),
            unknown_s=secs.get("unknown", 0.0), maintenance_s=secs.get("maintenance", 0.0),
            probes=a["probes"], probes_failed=a["failed"], clock_checks=a["clock"],
            clock_ok=a["clock_ok"], worst_clock_offset_s=a["worst"],
            fault_counts=a["faults"] or None, flips=a["flips"])
        ins = _insert(session, table).values(device_id=dev, day=day, **values)
        session.execute(ins.on_conflict_do_update(index_elements=["device_id", "day"], set_=values))
    return len(per)


def prune_samples(session: Session, now: dt.datetime, raw_days: float, rules: Rules) -> int:
    """Drop samples older than raw_days, after making sure their days are rolled up."""
    cutoff = now - dt.timedelta(days=raw_days)
    ps = ProbeSample.__table__
    oldest = session.scalar(sa.select(sa.func.min(ps.c.at)).where(ps.c.at < cutoff))
    if oldest is None:
        return 0
    day = oldest.date()
    rolled = {d for (d,) in session.execute(sa.select(DailyRollup.day).distinct().where(
        DailyRollup.day >= day, DailyRollup.day <= cutoff.date()))}
    while day <= cutoff.date():
        if day not in rolled:
            rollup_day(session, day, now, rules)
        day += dt.timedelta(days=1)
    # The cutoff day is partly kept: recompute it later from intervals + remaining samples
    # would under-count probes, so its rollup is done above before anything is deleted.
    return session.execute(ps.delete().where(ps.c.at < cutoff)).rowcount or 0


def housekeeping(session: Session, now: dt.datetime, rules: Rules, raw_days: float) -> dict[str, int]:
    """Roll up yesterday and today, drop expired samples. Idempotent; the caller commits."""
    today = now.date()
    out = {"rolled_yesterday": rollup_day(session, today - dt.timedelta(days=1), now, rules),
           "rolled_today": rollup_day(session, today, now, rules)}
    out["samples_dropped"] = prune_samples(session, now, raw_days, rules)
    out["sweep_runs_dropped"] = prune_sweep_runs(session, now, raw_days)
    return out


def prune_sweep_runs(session: Session, now: dt.datetime, raw_days: float) -> int:
    """Sweep-run rows are operational history (the status page): kept as long as raw samples.
    The scheduler writes one per slice, thousands a day, so without this the table only grows."""
    from supervisor.sweeps.models import SweepRun

    cutoff = naive_utc(now) - dt.timedelta(days=raw_days)
    res = session.execute(sa.delete(SweepRun).where(SweepRun.started_at < cutoff,
                                                    SweepRun.status != "running"))
    return res.rowcount or 0


def intervals(session: Session, since: Optional[dt.datetime] = None,
              until: Optional[dt.datetime] = None, device_id: Optional[int] = None):
    """State intervals overlapping [since, until), ordered by device then start."""
    from supervisor.inventory.models import Device

    ivs = StateInterval.__table__
    q = (sa.select(Device.serial, ivs.c.state, ivs.c.cause, ivs.c.reasons, ivs.c.flapping,
                   ivs.c.start_at, ivs.c.end_at)
         .join(Device, Device.id == ivs.c.device_id)
         .order_by(Device.serial, ivs.c.start_at))
    if since is not None:
        q = q.where(sa.or_(ivs.c.end_at.is_(None), ivs.c.end_at > naive_utc(since)))
    if until is not None:
        q = q.where(ivs.c.start_at < naive_utc(until))
    if device_id is not None:
        q = q.where(ivs.c.device_id == device_id)
    return session.execute(q)
