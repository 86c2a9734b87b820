"""One sweep: targets from the database → executor → image diagnosis → judge → store.

The same function runs from `flask sweep`, from the scheduler and from benches:

    summary = run_sweep("fast", serials=None, settings=settings, executor=None, progress=None)

Results are written in batches (`batch_size`), each batch ONE transaction (see
health.store.write_batch). An offline result whose upstream device is part of this sweep
but has not reported yet is held back until it has (or the sweep ends), so the camera
behind a dead switch gets cause `upstream` in the same sweep, not one later.

The clock is read once for the sweep (`started_at`) and once at the end; observations are
timed by the probe's own start time.
"""
from __future__ import annotations

import json
import datetime as dt
import logging
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import sqlalchemy as sa

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget, ProbeResult

from supervisor.health import calibration, evidence
from supervisor.core.choices import Lifecycle
from supervisor.core.extensions import db
from supervisor.health.rules import (
    DEGRADED,
    OFFLINE,
    OK,
    HealthRules,
    Observation,
    RulesBook,
    attribute_upstream,
    carry_findings,
    judge,
    naive_utc,
    recording_down,
)
from supervisor.health.models import DeviceStatus
from supervisor.sweeps.models import SweepRun
from supervisor.health.rulebook import rules_book
from supervisor.health.store import (
    BatchItem,
    StaleStatus,
    load_statuses,
    maintenance_lookup,
    write_batch,
)
from supervisor.inventory.models import Device
from supervisor.core.clock import now as clock_now
from supervisor.core.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class SweepSummary:
    sweep_id: int
    tier: str
    executor: str
    devices: int
    ok: int = 0
    degraded: int = 0
    offline: int = 0
    unknown: int = 0
    failed: int = 0                      # results carrying any probe error
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    # Our overload, never the devices': checks (by check; "device" for a device the
    # batch never got to) the platform could not measure, and the probing loop's lag.
    not_measured: int = 0
    not_measured_by_check: dict[str, int] = field(default_factory=dict)
    loop_lag: dict[str, float] = field(default_factory=dict)
    overload_retries: int = 0
    transitions: int = 0
    flapping: int = 0
    duration_s: float = 0.0
    devices_per_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- profile glue

def tier_settings(profile: Any, tier: str) -> tuple[TierSpec, Limits, float]:
    """TierSpec, Limits and the tier interval (the sweep's default deadline) from a profile."""
    t = profile.probe_tiers.get(tier)
    spec = TierSpec.from_mapping(tier, {"checks": list(t.checks), "timeouts": dict(t.timeouts_s),
                                        "retries": dict(t.retries)})
    # The probe refines a clock reading that straddles the tolerance it will be judged by.
    spec.clock_tolerance_s = HealthRules.from_profile(profile).clock_tolerance_s
    # Frames are decoded by the diagnosis pool from their JPEG; a decoded copy held by
    # every result waiting to be written is what made memory grow with the batch.
    spec.decode_frame = False
    conc = t.concurrency
    limits = Limits(global_limit=int(conc.total), per_host=int(conc.per_host),
                    per_protocol={**Limits().per_protocol, **dict(conc.per_protocol)})
    return spec, limits, float(t.interval_s)


def latest_onvif(session: Any, device_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per device, the ONVIF part of its newest full-tier sample that was not offline."""
    from supervisor.health.models import ProbeSample

    ps = ProbeSample.__table__
    out: dict[int, dict[str, Any]] = {}
    for chunk in (device_ids[i:i + 500] for i in range(0, len(device_ids), 500)):
        newest = (sa.select(ps.c.device_id, sa.func.max(ps.c.at).label("at"))
                  .where(ps.c.device_id.in_(chunk), ps.c.tier.in_(("full",)),
                         ps.c.observed != OFFLINE)
                  .group_by(ps.c.device_id).subquery())
        rows = session.execute(sa.select(ps.c.device_id, ps.c.result).join(
            newest, sa.and_(ps.c.device_id == newest.c.device_id, ps.c.at == newest.c.at))
            .where(ps.c.tier == "full"))
        for dev, result in rows:
            onvif = (result or {}).get("onvif")
            if onvif:
                out[dev] = onvif
    return out


def known_media_uris(session: Any, device_ids: list[int]) -> dict[int, tuple[Optional[str], Optional[str]]]:
    """Per device, the snapshot/stream URIs from its newest sample that ran ONVIF."""
    return {dev: (o.get("snapshot_uri"), o.get("stream_uri"))
            for dev, o in latest_onvif(session, device_ids).items()
            if o.get("snapshot_uri") or o.get("stream_uri")}


# What a clock-only ONVIF answer takes over from the last full one (it did not ask).
CARRIED_ONVIF = ("manufacturer", "model", "firmware_version", "serial_number", "hardware_id",
                 "serial_mismatch", "services", "capabilities", "service_addresses",
                 "profiles", "snapshot_uri", "stream_uri", "identity_read_at")


def plan_onvif_asks(devices: Sequence[Any], targets: Sequence[DeviceTarget],
                    previous: dict[int, dict[str, Any]], now: dt.datetime,
                    every_s: float) -> dict[int, dict[str, Any]]:
    """Ask the clock only where identity, services and media were read within
    ``every_s`` by a probe that succeeded; everything else (new devices, NVRs whose
    recordings are a health check, a device whose last answer failed) is asked in full.
    Returns the previous answers the clock-only ones will take their other fields from."""
    carry: dict[int, dict[str, Any]] = {}
    for d, t in zip(devices, targets):
        prev = previous.get(d.id)
        if not prev or not prev.get("ok") or d.kind == "nvr" or every_s <= 0:
            continue
        read_at = prev.get("identity_read_at")
        try:
            when = naive_utc(dt.datetime.fromisoformat(read_at)) if read_at else None
        except ValueError:
            when = None
        if when is None or (naive_utc(now) - when).total_seconds() > every_s:
            continue
        t.onvif_ask = ["clock"]
        carry[d.id] = prev
    return carry


def carry_onvif(res: ProbeResult, prev: Optional[dict[str, Any]]) -> None:
    """Fill a clock-only ONVIF answer with what the last full one learnt."""
    onvif = res.onvif
    if prev is None or onvif is None or not onvif.ok or onvif.asked != ["clock"]:
        return
    from probes.model import OnvifResult

    known = OnvifResult.from_dict({k: prev.get(k) for k in CARRIED_ONVIF
                                   if prev.get(k) is not None} | {"ok": True})
    for k in CARRIED_ONVIF:
        if getattr(onvif, k) in (None, [], {}):
            setattr(onvif, k, getattr(known, k))


def _target(dev: Device) -> DeviceTarget:
    return DeviceTarget(serial=dev.serial, host=dev.ip, kind=dev.kind, onvif_port=dev.onvif_port,
                        username=dev.username, password=dev.password, snmp_port=dev.snmp_port,
                        snmp_community=dev.snmp_community,
                        snmp_version=dev.snmp_version or "2c", snmp_user=dev.snmp_user,
                        snmp_auth_key=dev.snmp_auth_key, snmp_priv_key=dev.snmp_priv_key,
                        # None: the probe's defaults (SHA / AES), as on most switches
                        snmp_auth_protocol=dev.snmp_auth_protocol or "SHA",
                        snmp_priv_protocol=dev.snmp_priv_protocol or "AES")


# --------------------------------------------------------------------------- image diagnosis

_POOL: Optional[ProcessPoolExecutor] = None
_POOL_SECTION: Optional[str] = None  # the image_quality section its workers were started with
_WORKER_THRESHOLDS: Any = None


def _init_worker(section: Optional[dict[str, Any]]) -> None:
    global _WORKER_THRESHOLDS
    from probes.quality import Thresholds

    _WORKER_THRESHOLDS = Thresholds.from_mapping(section) if section else Thresholds.default()
    from probes.quality.cores import hold_to_one_core
    from probes.quality.pool import keep_freed_memory

    hold_to_one_core()  # one worker = one core
    keep_freed_memory()  # as the quality pool's workers: no page faults frame after frame


def _pool(section: Optional[dict[str, Any]]) -> ProcessPoolExecutor:
    """One pool per platform process. `spawn`, not fork: the probe loop runs in a thread,
    and forking a threaded process can copy a held lock into the child."""
    global _POOL, _POOL_SECTION
    # The workers read their figures once, when they start: a pool made for another
    # image_quality section (a new profile version, another profile) is replaced, so a
    # frame is never judged by figures that are no longer in force.
    key = json.dumps(section, sort_keys=True, default=str)
    if _POOL is not None and _POOL_SECTION != key:
        _POOL.shutdown(wait=True)
        _POOL = None
    if _POOL is None:
        import multiprocessing as mp

        workers = max(1, min(4, (os.cpu_count() or 2)))
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                    initializer=_init_worker, initargs=(section,))
        _POOL_SECTION = key
    return _POOL


def diagnose_job(jpeg: bytes, previous: Optional[str], reference: Optional[str],
                 captured_at: Optional[str],
                 calibration: Optional[dict[str, Any]] = None,
                 learning: bool = False) -> dict[str, Any]:
    """Runs in a pool worker: diagnose against the previous/reference frame files. A camera
    with a reference is judged against it; one without, against its learned normal range
    (``calibration``: ``Calibration.as_dict()``) when it has one. ``learning``: the camera
    is still learning it, so the answer carries the frame's packed structure map too
    (``probes.quality.calibration.STRUCTURE_KEY``)."""
    from probes.quality import Thresholds, diagnose
    from probes.quality.calibration import Calibration

    cal = None
    if calibration and reference is None:
        try:
            cal = Calibration.from_dict(calibration)
        except (ValueError, KeyError, TypeError) as exc:  # stored by another version: fixed figures
            log.warning("calibration not usable, judged by the fixed figures: %s", exc)
    try:
        when = dt.datetime.fromisoformat(captured_at) if captured_at else None
        th = _WORKER_THRESHOLDS or Thresholds.default()
        return diagnose(jpeg, previous, reference, th, when, calibration=cal,
                        keep_structure=learning).as_dict()
    except Exception as exc:  # a corrupt frame is a finding, never a crash of the sweep
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300], "faults": []}


def _diagnose_all(results: Sequence[tuple[int, ProbeResult]], paths: dict[int, dict[str, Path]],
                  section: Optional[dict[str, Any]],
                  normals: Optional[dict[int, dict[str, Any]]] = None
                  ) -> dict[int, Optional[dict[str, Any]]]:
    jobs = {}
    for dev_id, res in results:
        fr = res.frame
        if fr is None or not fr.ok or not fr.jpeg:
            continue
        p = paths.get(dev_id, {})
        when = naive_utc(fr.grabbed_at or res.started_at).isoformat()
        normal = None if "reference" in p else (normals or {}).get(dev_id)
        jobs[dev_id] = (fr.jpeg, str(p["previous"]) if "previous" in p else None,
                        str(p["reference"]) if "reference" in p else None, when, normal,
                        "reference" not in p and normal is None)
    if not jobs:
        return {}
    pool = _pool(section)
    futures = {dev: pool.submit(diagnose_job, *args) for dev, args in jobs.items()}
    out = {}
    for dev, fut in futures.items():
        try:
            out[dev] = fut.result(timeout=60)
        except Exception as exc:  # a dead worker must not lose the batch
            out[dev] = {"error": f"{type(exc).__name__}: {exc}"[:300], "faults": []}
    return out


# --------------------------------------------------------------------------- the sweep

FRAME_BATCH = 32


def _failure_key(res: ProbeResult) -> Optional[str]:
    errs = [e for e in res.errors() if e.kind != "not_measured"]
    if not errs:
        return None
    e = errs[0]
    return f"{e.check or 'batch'}:{e.kind}"


def _ancestors(devices: Iterable[int], upstream_of: dict[int, Optional[int]]) -> set[int]:
    """Every device on the upstream chains of ``devices`` (not the devices themselves)."""
    out: set[int] = set()
    for dev in devices:
        cur, seen = upstream_of.get(dev), {dev}
        while cur is not None and cur not in seen:
            seen.add(cur)
            out.add(cur)
            cur = upstream_of.get(cur)
    return out


def _not_measured(res: ProbeResult) -> list[str]:
    """The checks of this result the platform could not measure (its own overload or
    the batch deadline): the check names, or "device" for the whole device."""
    out = [e.check or "device" for e in res.not_measured]
    if res.error is not None and res.error.kind == "not_measured" and not res.not_measured:
        out.append("device")
    return out


def _note_recording(session: Any, obs: dict[int, Observation], context: dict[int, Observation],
                    recorded_by: dict[int, int], serial_of: dict[int, str]
                    ) -> dict[int, Observation]:
    """Adds "not recorded" (information, never a fault) to the answering cameras whose
    recording NVR is offline: judged in this sweep, else its stored state decides."""
    cams = {dev: recorded_by[dev] for dev, o in obs.items()
            if dev in recorded_by and o.state in (OK, DEGRADED)}
    if not cams:
        return obs
    nvrs = set(cams.values())
    states = {n: context[n].state for n in nvrs if n in context}
    rest = nvrs - set(states)
    if rest:
        states.update(dict(session.execute(sa.select(DeviceStatus.device_id, DeviceStatus.state)
                                           .where(DeviceStatus.device_id.in_(rest))).all()))
    notes = recording_down(states, cams, serial_of)
    return {dev: (replace(o, reasons=tuple(o.reasons) + (notes[dev],)) if dev in notes else o)
            for dev, o in obs.items()}


def run_sweep(tier: str, serials: Optional[Iterable[str]] = None, *, settings: Settings,
              executor: Any = None, profile: Any = None, progress: Optional[Progress] = None, trigger: str = "cli",
              batch_size: int = 200, deadline_s: Optional[float] = None,
              clock: Callable[[], dt.datetime] = clock_now,
              after_batch: Optional[Callable[[int], None]] = None) -> SweepSummary:
    """Run one sweep of `tier` over all non-retired devices (or `serials`).

    Writes through `db.session` (the caller provides the app context and its database);
    evidence folder, executor and sample thinning come from `settings`."""
    from supervisor.sweeps.executors import get_executor
    from supervisor.profiles.loader import load_profile

    session = db.session
    per_contract = profile is None  # an explicit profile (tests, benches) judges every device
    profile = profile if profile is not None else load_profile()
    spec, limits, interval_s = tier_settings(profile, tier)
    executor = executor or get_executor(settings.PROBE_EXECUTOR, settings)
    iq = getattr(profile, "image_quality", None)
    iq_section = iq.model_dump() if hasattr(iq, "model_dump") else (iq or None)

    q = sa.select(Device).where(Device.lifecycle != Lifecycle.RETIRED).order_by(Device.id)
    if serials is not None:
        wanted = sorted({s.strip() for s in serials if s and s.strip()})
        q = q.where(Device.serial.in_(wanted))
    devices = session.scalars(q).all()
    if serials is not None:
        missing = set(wanted) - {d.serial for d in devices}
        if missing:
            raise ValueError(f"unknown or retired device serial(s): {', '.join(sorted(missing))}")
    by_serial = {d.serial: d.id for d in devices}
    upstream_of = {d.id: d.upstream_id for d in devices}
    community_of = {d.id: d.community_id for d in devices}
    serial_of = {d.id: d.serial for d in devices}
    # Upstreams outside this sweep: their stored state decides (attribute_upstream).
    outside = {u for u in upstream_of.values() if u is not None and u not in upstream_of}
    while outside:
        extra = session.execute(sa.select(Device.id, Device.serial, Device.upstream_id)
                                .where(Device.id.in_(outside))).all()
        outside = set()
        for did, ser, up in extra:
            serial_of[did] = ser
            upstream_of.setdefault(did, up)
            if up is not None and up not in upstream_of:
                outside.add(up)
    # Cameras recorded by an NVR: when it is down they carry "not recorded" (information).
    recorded_by = {d.id: d.recorded_by_id for d in devices if d.recorded_by_id is not None}
    for did, ser in session.execute(sa.select(Device.id, Device.serial).where(
            Device.id.in_(set(recorded_by.values()) - set(serial_of)))).all():
        serial_of[did] = ser
    rules = (rules_book(session, profile, None if serials is None else [d.id for d in devices])
             if per_contract
             else RulesBook(HealthRules.from_profile(profile)))
    targets = [_target(d) for d in devices]
    carry: dict[int, dict[str, Any]] = {}
    if "onvif" in spec.checks:
        every = float(settings.ONVIF_IDENTITY_EVERY_S or 0)
        carry = plan_onvif_asks(devices, targets, latest_onvif(session, [d.id for d in devices]),
                                clock(), every)
    if "frame" in spec.checks and "onvif" not in spec.checks:
        # A frame-only tier needs the snapshot/stream URI an earlier ONVIF probe found.
        uris = known_media_uris(session, [d.id for d in devices])
        for d, t in zip(devices, targets):
            t.snapshot_uri, t.stream_uri = uris.get(d.id, (None, None))
    session.rollback()  # release the read transaction before the long probe phase
    # Every commit expires every object the session still holds: 20,000 devices kept in
    # it made each batch's commit cost as much as the sweep is large.
    del devices

    started = clock()
    # A run still "running" long after its tier's interval died with its process (crash,
    # SIGKILL): say so, so the status page doesn't show it as live forever.
    session.execute(sa.update(SweepRun).where(
        SweepRun.tier == tier, SweepRun.status == "running",
        SweepRun.started_at < started - dt.timedelta(seconds=max(3 * interval_s, 60)))
        .values(status="interrupted"))
    run = SweepRun(tier=tier, trigger=trigger, executor=getattr(executor, "name", "?"),
                   status="running", started_at=started, devices=len(targets))
    session.add(run)
    session.commit()
    run_id = run.id
    summary = SweepSummary(sweep_id=run_id, tier=tier, executor=run.executor, devices=len(targets))
    failures: Counter[str] = Counter()
    not_measured: Counter[str] = Counter()
    seen_obs: dict[int, Observation] = {}       # this sweep's observations so far
    deferred: list[tuple[int, ProbeResult]] = []
    buffer: list[tuple[int, ProbeResult]] = []
    done = 0
    mono0 = time.monotonic()
    ev_root = Path(settings.EVIDENCE_DIR)
    keep_every_s = float(settings.HEALTH_FAST_SAMPLE_EVERY_S or 0)

    def flush(items: list[tuple[int, ProbeResult]], final: bool) -> None:
        nonlocal deferred
        items = deferred + items
        ready, deferred = [], []
        here = {d for d, _ in items}
        waiting: set[int] = set()
        changed = not final
        while changed:  # to a fixed point: waiting for a waiting upstream is waiting too
            changed = False
            for dev, res in items:
                up = upstream_of.get(dev)
                if (dev not in waiting and res.reachable is False and up in community_of
                        and up not in seen_obs and (up not in here or up in waiting)):
                    waiting.add(dev)
                    changed = True
        for dev, res in items:
            (deferred if dev in waiting else ready).append((dev, res))
        if ready:
            _write(ready)

    def _write(items: list[tuple[int, ProbeResult]]) -> None:
        ids = [d for d, _ in items]
        has_frames = any(r.frame is not None and r.frame.jpeg for _, r in items)
        paths = evidence.latest_paths(session, ev_root, ids) if has_frames else {}
        normals = calibration.in_force(session, ids) if has_frames else {}
        diagnoses = _diagnose_all(items, paths, iq_section, normals) if has_frames else {}
        # a learning camera's structure map is kept with its measures, not in its evidence
        structures = {d: diag.pop(calibration.STRUCTURE_KEY) for d, diag in diagnoses.items()
                      if diag and calibration.STRUCTURE_KEY in diag}
        times = [naive_utc(r.started_at) for _, r in items]
        windows = maintenance_lookup(session, {d: community_of[d] for d in ids},
                                     min(times), max(times))
        for attempt in range(5):
            try:
                stored = load_statuses(session, ids)
                obs = {}
                for dev, res in items:
                    st = stored[dev]
                    o = judge(res, rules.for_device(dev), diagnosis=diagnoses.get(dev),
                              previous_uptime_s=st.last_uptime_s)
                    obs[dev] = carry_findings(o, st.findings)
                # Only offline devices are attributed, through their upstream chains:
                # the chain's devices judged in earlier batches of this sweep, the others
                # by their stored state (a query of the chains, not of every upstream).
                chain = _ancestors([d for d, o in obs.items() if o.state == OFFLINE], upstream_of)
                context = {**{u: seen_obs[u] for u in chain if u in seen_obs}, **obs}
                missing = sorted(u for u in chain if u not in context)
                known = dict(session.execute(sa.select(DeviceStatus.device_id, DeviceStatus.state)
                                             .where(DeviceStatus.device_id.in_(missing))).all()
                             ) if missing else {}
                attributed = attribute_upstream(context, upstream_of, known, serial_of)
                obs = {dev: attributed[dev] for dev in obs}
                obs = _note_recording(session, obs, context, recorded_by, serial_of)
                batch = []
                for dev, res in items:
                    o = obs[dev]
                    keep = res.to_dict() if (res.tier != "fast" or o.state != OK) else None
                    batch.append(BatchItem(dev, tier, o, keep))
                summary.transitions += write_batch(session, run_id, batch, stored, rules,
                                                   clock(), windows, keep_every_s)
                if diagnoses:  # cameras still learning their normal range keep the measures
                    calibration.record_frames(
                        session, diagnoses,
                        {d: naive_utc(r.frame.grabbed_at or r.started_at) for d, r in items
                         if d in diagnoses and r.frame is not None},
                        has_reference=[d for d in diagnoses if "reference" in paths.get(d, {})],
                        calibrated=normals, structures=structures)
                for dev, res in items:
                    if dev in diagnoses and res.frame is not None and res.frame.jpeg:
                        evidence.save_frame(session, ev_root, dev, "latest", res.frame.jpeg,
                                            naive_utc(res.frame.grabbed_at or res.started_at),
                                            diagnoses[dev])
                session.commit()
                break
            except StaleStatus:
                session.rollback()
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        for dev, res in items:
            o = obs[dev]
            seen_obs[dev] = o
            setattr(summary, o.state, getattr(summary, o.state, 0) + 1)
            key = _failure_key(res)
            if key:
                summary.failed += 1
                failures[key] += 1
            for check in _not_measured(res):
                not_measured[check] += 1
        if after_batch is not None:
            after_batch(len(items))

    try:
        stream = executor.iter_results(targets, spec, limits,
                                       deadline_s if deadline_s is not None else interval_s)
        last_flush = time.monotonic()
        frames_waiting = 0
        # Frames go on to diagnosis and disk in small batches as they come, so memory is
        # bounded by what is in flight (the executor's queue, one frame batch), never by
        # the size of the sweep.
        frame_batch = max(1, min(batch_size, FRAME_BATCH))
        for res in stream:
            dev = by_serial.get(res.serial)
            if dev is None:
                continue  # not ours (an executor bug); never trust a foreign serial
            carry_onvif(res, carry.get(dev))
            buffer.append((dev, res))
            done += 1
            if progress is not None:
                progress(done, len(targets))
            if res.frame is not None:
                res.frame.image = None      # the pool decodes from the JPEG
                frames_waiting += 1 if res.frame.jpeg else 0
            if (len(buffer) >= batch_size or frames_waiting >= frame_batch
                    or time.monotonic() - last_flush > 2.0):
                frames_waiting = 0
                flush(buffer, final=False)
                buffer = []
                last_flush = time.monotonic()
        flush(buffer, final=True)
        summary.flapping = session.scalar(sa.select(sa.func.count()).select_from(DeviceStatus).where(
            DeviceStatus.flapping.is_(True), DeviceStatus.device_id.in_(list(serial_of)))) or 0
        status = "done"
        error = None
    except BaseException as exc:
        session.rollback()
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        summary.duration_s = time.monotonic() - mono0
        summary.devices_per_s = done / summary.duration_s if summary.duration_s > 0 else 0.0
        summary.failures_by_reason = dict(failures.most_common())
        summary.not_measured_by_check = dict(not_measured.most_common())
        summary.not_measured = sum(not_measured.values())
        load = executor.platform_load() if hasattr(executor, "platform_load") else None
        summary.loop_lag = dict((load or {}).get("lag") or {})
        summary.overload_retries = int((load or {}).get("overload_retries") or 0)
        platform = {**(load or {}), "not_measured": summary.not_measured_by_check}
        try:
            session.execute(sa.update(SweepRun).where(SweepRun.id == run_id).values(
                status=status if "status" in locals() else "failed", finished_at=clock(),
                ok=summary.ok, failed=summary.failed, failures_by_reason=summary.failures_by_reason,
                devices_per_s=round(summary.devices_per_s, 2), platform=platform,
                error=error if "error" in locals() else None))
            session.commit()
        except Exception:  # pragma: no cover - the database itself is gone
            session.rollback()
            log.exception("could not record the end of sweep %s", run_id)
    return summary
