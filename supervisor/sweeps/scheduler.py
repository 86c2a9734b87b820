"""Sweeps on a schedule: one APScheduler job per probe tier, one scheduler per database.

How it works
- Each tier of the standard profile (`probe_tiers`: interval_s, jitter_s) gets one
  interval job `sweep:<tier>`. Jobs live in the database (`apscheduler_jobs`, APScheduler's
  SQLAlchemyJobStore) so that runs missed while the scheduler was down are known after a
  restart; `coalesce=True` turns any number of missed runs into one, and the misfire grace
  of one interval lets that one run. `max_instances=1`: a run of a tier never overlaps the
  previous run of the same tier (a run that is still busy makes the next one be skipped).
- A run does not probe every device at once: devices are placed on the interval by a
  stable hash of their serial ("phase") and dispatched in slices (one every `slice_s`,
  at least `min_per_slice` devices each) over `spread` of the interval, so the load is
  flat and each device is probed at the same point of every interval. The trigger's
  jitter shifts whole runs so tiers do not fall into step.
- A lease row in `scheduler_leases` (supervisor/sweeps/lease.py) makes sure only one scheduler
  owns a database; a second copy is refused with `LeaseHeld` (the CLI prints who holds it
  and exits with status 3, or waits as a standby with `--wait`). The owner renews the
  lease from its own thread; if a renewal finds another owner, or the lease runs out
  before a renewal gets through, it stops scheduling at once.

Used by `flask scheduler run` (foreground, SIGTERM/Ctrl-C stop it cleanly) and by
`start(app)` (background, for `make demo`). The sweep itself is supervisor/sweeps/pipeline.py's.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import Column, Float, LargeBinary, Table, Unicode, select

from supervisor.core.clock import now as utcnow
from supervisor.core.extensions import db
from supervisor.sweeps.lease import Lease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
JOB_PREFIX = "sweep:"
HOUSEKEEPING_JOB = "housekeeping"
HOUSEKEEPING_INTERVAL_S = 3600  # rollups of today stay fresh; the job is idempotent
EXIT_REFUSED = 3  # `flask scheduler run` when another scheduler owns the database

# APScheduler's job store table, declared here (as APScheduler 3.11 declares it) so that the
# models match migration 0003; the job store finds it existing and never creates it.
apscheduler_jobs = Table(
    "apscheduler_jobs", db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)

# A sweep runner: (app, tier, serials) -> anything. The default calls supervisor.sweeps.pipeline.
SweepRunner = Callable[[Flask, str, list[str]], Any]
DeviceLister = Callable[[Flask, str], list[str]]




# ---------------------------------------------------------------- pure planning

@dataclass(frozen=True)
class TierSchedule:
    """When one tier runs: every `interval_s`, each run delayed by up to `jitter_s`."""

    name: str
    interval_s: float
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.interval_s or self.interval_s <= 0:
            raise ValueError(f"tier {self.name!r}: interval_s must be positive")
        if self.jitter_s < 0 or self.jitter_s >= self.interval_s:
            raise ValueError(f"tier {self.name!r}: jitter_s must be in [0, interval_s)")


@dataclass(frozen=True)
class Slice:
    offset_s: float  # seconds after the run starts
    serials: list[str] = field(default_factory=list)


def phase(serial: str) -> float:
    """A device's stable place on the interval, in [0, 1): the same on every run and host."""
    digest = hashlib.blake2b(serial.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def plan_slices(serials: Iterable[str], interval_s: float, *, spread: float = 0.9,
                slice_s: float = 10.0, min_per_slice: int = 1) -> list[Slice]:
    """Split one run's devices into slices spaced evenly over `spread` of the interval.

    A slice every `slice_s` seconds (at least one slice), but no more slices than leave
    `min_per_slice` devices in each (each slice is a sweep with its own overhead and
    `sweep_runs` row); a device goes to the slice its phase falls in, so slices are about
    equal in size and a device keeps its slot from run to run. Empty slices are dropped.
    """
    serials = list(dict.fromkeys(serials))
    if not serials:
        return []
    window = max(0.0, min(1.0, spread)) * interval_s
    by_time = int(window // slice_s) if slice_s > 0 else 1
    n = max(1, min(by_time, len(serials) // max(1, min_per_slice)))
    buckets: list[list[str]] = [[] for _ in range(n)]
    for serial in serials:
        buckets[min(n - 1, int(phase(serial) * n))].append(serial)
    return [Slice(offset_s=i * window / n, serials=sorted(b)) for i, b in enumerate(buckets) if b]


def tiers_from_profile(profile: Any) -> list[TierSchedule]:
    """The tiers a profile defines (`probe_tiers`: name → interval_s, jitter_s)."""
    tiers = getattr(profile, "probe_tiers", None)
    if tiers is None and isinstance(profile, Mapping):
        tiers = profile.get("probe_tiers")
    if not tiers:
        raise ValueError("profile defines no probe_tiers")
    items = tiers.items() if isinstance(tiers, Mapping) else vars(tiers).items()
    out = []
    for name, spec in items:
        get = spec.get if isinstance(spec, Mapping) else (lambda k, d=None, s=spec: getattr(s, k, d))
        out.append(TierSchedule(str(name), float(get("interval_s")), float(get("jitter_s", 0) or 0)))
    return out


def tiers_from_config(config: Mapping[str, Any]) -> list[TierSchedule]:
    """SCHEDULER_TIERS from the app config (tests, demo) or else the profile's tiers."""
    override = config.get("SCHEDULER_TIERS")
    if override:
        return [TierSchedule(str(n), float(s["interval_s"]), float(s.get("jitter_s", 0) or 0))
                for n, s in override.items()]
    from supervisor.profiles import loader as profiles  # late: profiles may read the database

    return tiers_from_profile(profiles.load_profile(config.get("SCHEDULER_PROFILE", "default")))


# ---------------------------------------------------------------- defaults wired to the pipeline

def default_devices(app: Flask, tier: str) -> list[str]:
    """Every device not retired; the sweep itself picks the checks each kind gets."""
    from supervisor.inventory.models import Device

    rows = db.session.execute(
        select(Device.serial).where(Device.lifecycle != "retired").order_by(Device.serial))
    return [r[0] for r in rows]


def default_runner(app: Flask, tier: str, serials: list[str]) -> Any:
    """One slice through the same path as `flask sweep` (supervisor/sweeps/pipeline.py)."""
    from supervisor.sweeps import pipeline as sweep

    return sweep.run_sweep(tier=tier, serials=serials, trigger="scheduler",
                           settings=app.extensions["settings"])


# ---------------------------------------------------------------- the service

_SERVICE: "SchedulerService | None" = None
_SERVICE_LOCK = threading.Lock()


def run_tier_job(tier: str) -> None:
    """The job function stored in the job store (must be importable at module level)."""
    service = _SERVICE
    if service is None:
        log.warning("sweep:%s fired with no scheduler service in this process", tier)
        return
    service.run_tier(tier)


def run_housekeeping_job() -> None:
    """Rollups, sample retention, evidence pruning (supervisor.health.housekeeping)."""
    service = _SERVICE
    if service is not None:
        service.run_housekeeping()


# ---------------------------------------------------------------- jobs of other packages

@dataclass(frozen=True)
class RegisteredJob:
    """A periodic job another package asks the scheduler to run (tickets' clock scan, the
    monthly report, coverage snapshots). `target` is "module:function", imported only when
    the job fires and called with the app inside its context; `trigger(settings)` builds the
    APScheduler trigger, so its timing comes from the settings."""

    job_id: str
    target: str
    trigger: Callable[[Any], Any]
    name: str = ""


_REGISTERED: dict[str, RegisteredJob] = {}


def register_job(job_id: str, target: str, trigger: Callable[[Any], Any], name: str = "") -> None:
    """Called from a package's init_app; the scheduler adds the job when it starts."""
    _REGISTERED[job_id] = RegisteredJob(job_id, target, trigger, name or job_id)


def run_registered_job(job_id: str) -> None:
    """The job function stored in the job store for every registered job."""
    import importlib

    service = _SERVICE
    job = _REGISTERED.get(job_id)
    if service is None or job is None or service.stopped.is_set():
        log.warning("%s fired with no scheduler service or registration in this process", job_id)
        return
    module, _, function = job.target.partition(":")
    try:
        with service.app.app_context():
            getattr(importlib.import_module(module), function)(service.app)
            db.session.remove()
    except Exception:  # a failed run is retried by the next one
        log.exception("%s failed", job_id)


class ResilientScheduler(BackgroundScheduler):
    """APScheduler's background scheduler whose loop outlives a failing job store.

    APScheduler catches errors while reading due jobs but not while writing a job's next
    run time back, and its thread ends on the first one: a database busy beyond its lock
    timeout (SQLite) or a dropped connection would stop every sweep for good while the
    pages kept serving. Here the pass is logged and tried again shortly; due runs are
    coalesced, so nothing runs twice."""

    RETRY_S = 5.0

    def _process_jobs(self) -> Optional[float]:
        try:
            return super()._process_jobs()
        except Exception:
            log.exception("scheduler: the job store failed; trying again in %.0f s", self.RETRY_S)
            return self.RETRY_S


class SchedulerService:
    """APScheduler + lease + paced sweeps for one Flask app (one database)."""

    def __init__(self, app: Flask, *, tiers: Sequence[TierSchedule] | None = None,
                 runner: SweepRunner | None = None, devices: DeviceLister | None = None,
                 lease_ttl_s: float | None = None, spread: float | None = None,
                 slice_s: float | None = None, min_per_slice: int | None = None,
                 persistent: bool = True):
        cfg = app.config
        self.app = app
        self.tiers = {t.name: t for t in (tiers or tiers_from_config(cfg))}
        self.runner = runner or default_runner
        self.devices = devices or default_devices
        self.spread = float(spread if spread is not None else cfg.get("SCHEDULER_SPREAD", 0.9))
        self.slice_s = float(slice_s if slice_s is not None else cfg.get("SCHEDULER_SLICE_S", 10.0))
        self.min_per_slice = int(cfg.get("SCHEDULER_MIN_SLICE", 50) if min_per_slice is None
                                 else min_per_slice)
        ttl = float(lease_ttl_s if lease_ttl_s is not None else cfg.get("SCHEDULER_LEASE_TTL_S", 30))
        self.persistent = persistent
        self.housekeeping_s = float(cfg.get("SCHEDULER_HOUSEKEEPING_S", HOUSEKEEPING_INTERVAL_S))
        with app.app_context():
            self.engine = db.engine
        self.lease = Lease(self.engine, LEASE_NAME, ttl)
        self.stopped = threading.Event()   # set on shutdown or when the lease is lost
        self.lease_lost = threading.Event()
        self.skipped: dict[str, int] = {}  # tier -> runs skipped because one was still busy
        self.missed: dict[str, int] = {}
        self.scheduler: BackgroundScheduler | None = None
        self._renewer: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> "SchedulerService":
        """Take the lease (or raise LeaseHeld), then start the jobs. Returns self."""
        global _SERVICE
        with _SERVICE_LOCK:
            self.lease.acquire_or_raise(utcnow())  # first: a second copy learns who owns it
            if _SERVICE is not None and _SERVICE is not self:
                self.lease.release()
                raise RuntimeError("a scheduler service already runs in this process")
            _SERVICE = self
        try:
            self.scheduler = self._build_scheduler()
            self.scheduler.start(paused=True)  # sync the jobs before anything may fire
            self._sync_jobs()
            self.scheduler.resume()
        except BaseException:
            self.shutdown(wait=False)
            raise
        self._renewer = threading.Thread(target=self._renew_loop, name="scheduler-lease",
                                         daemon=True)
        self._renewer.start()
        log.info("scheduler started as %s with tiers %s", self.lease.owner,
                 ", ".join(f"{t.name}/{t.interval_s:g}s" for t in self.tiers.values()))
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop the jobs (a running slice finishes), then give the lease back."""
        global _SERVICE
        self.stopped.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if not self.lease_lost.is_set():
            self.lease.release()
        with _SERVICE_LOCK:
            if _SERVICE is self:
                _SERVICE = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until shut down or the lease is lost; True if stopped."""
        return self.stopped.wait(timeout)

    def next_runs(self) -> dict[str, dt.datetime | None]:
        assert self.scheduler is not None
        return {job.id[len(JOB_PREFIX):]: job.next_run_time
                for job in self.scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}

    # -- internals

    def _build_scheduler(self) -> BackgroundScheduler:
        store = (SQLAlchemyJobStore(engine=self.engine) if self.persistent else MemoryJobStore())
        scheduler = ResilientScheduler(
            jobstores={"default": store},
            # one thread per tier (tiers run side by side, a tier never beside itself), one for
            # housekeeping and one for the registered jobs
            executors={"default": ThreadPoolExecutor(max_workers=len(self.tiers) + 2)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=dt.timezone.utc,
        )
        scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        return scheduler

    def _sync_jobs(self) -> None:
        """Keep a stored job whose schedule is unchanged (so its missed runs are known);
        replace changed ones; drop tiers the profile no longer has."""
        assert self.scheduler is not None
        existing = {j.id: j for j in self.scheduler.get_jobs()}
        for tier in self.tiers.values():
            job_id = JOB_PREFIX + tier.name
            trigger = IntervalTrigger(seconds=tier.interval_s, jitter=tier.jitter_s or None,
                                      timezone=dt.timezone.utc)
            job = existing.get(job_id)
            if job is not None and _same_schedule(job.trigger, trigger):
                # Keep next_run_time (possibly long past): coalesce + grace make it run once.
                self.scheduler.modify_job(job_id, misfire_grace_time=_grace(tier))
                continue
            self.scheduler.add_job(
                run_tier_job, trigger, args=[tier.name], id=job_id, name=f"sweep {tier.name}",
                replace_existing=True, coalesce=True, max_instances=1,
                misfire_grace_time=_grace(tier),
                next_run_time=dt.datetime.now(dt.timezone.utc))  # first sweep right away
        for job_id in existing:
            if job_id.startswith(JOB_PREFIX) and job_id[len(JOB_PREFIX):] not in self.tiers:
                self.scheduler.remove_job(job_id)
        if self.housekeeping_s and HOUSEKEEPING_JOB not in existing:
            self.scheduler.add_job(
                run_housekeeping_job, IntervalTrigger(seconds=self.housekeeping_s,
                                                      timezone=dt.timezone.utc),
                id=HOUSEKEEPING_JOB, name="housekeeping", replace_existing=True,
                coalesce=True, max_instances=1, misfire_grace_time=int(self.housekeeping_s),
                # first run soon after start, so a fresh install has today's rollups
                next_run_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=60))
        elif not self.housekeeping_s and HOUSEKEEPING_JOB in existing:
            self.scheduler.remove_job(HOUSEKEEPING_JOB)
        settings = self.app.extensions["settings"]
        for job in _REGISTERED.values():
            if job.job_id not in existing:
                self.scheduler.add_job(
                    run_registered_job, job.trigger(settings), args=[job.job_id], id=job.job_id,
                    name=job.name, replace_existing=True, coalesce=True, max_instances=1,
                    misfire_grace_time=3600)

    def _on_event(self, event: Any) -> None:
        if not event.job_id.startswith(JOB_PREFIX):
            return
        tier = event.job_id[len(JOB_PREFIX):]
        counter = self.skipped if event.code == EVENT_JOB_MAX_INSTANCES else self.missed
        counter[tier] = counter.get(tier, 0) + 1
        # A skipped submission carries the run times it skipped; a missed run its one time.
        when = getattr(event, "scheduled_run_time", None) or (
            getattr(event, "scheduled_run_times", None) or [None])[-1]
        log.warning("sweep %s %s at %s", tier,
                    "skipped: the previous run is still busy" if counter is self.skipped
                    else "missed its run time", when)

    def _renew_loop(self) -> None:
        period = self.lease.ttl.total_seconds() / 3
        valid_until = time.monotonic() + self.lease.ttl.total_seconds()
        while not self.stopped.wait(period):
            now = time.monotonic()
            try:
                ok = self.lease.renew(utcnow())
            except Exception:  # database unreachable: keep trying until the lease runs out
                log.exception("scheduler lease renewal failed")
                ok = now < valid_until  # by our own clock the lease may still be ours
                if ok:
                    continue
            if not ok:
                log.error("scheduler lease lost (taken over, or not renewed in time); stopping")
                self._lose_lease()
                return
            valid_until = now + self.lease.ttl.total_seconds()

    def _lose_lease(self) -> None:
        self.lease_lost.set()
        self.stopped.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def run_tier(self, tier: str) -> int:
        """One run of a tier: its devices in slices paced over the interval.
        Returns the number of devices handed to the runner."""
        schedule = self.tiers.get(tier)
        if schedule is None or self.stopped.is_set():
            return 0
        with self.app.app_context():
            serials = self.devices(self.app, tier)
            db.session.remove()
        slices = plan_slices(serials, schedule.interval_s, spread=self.spread, slice_s=self.slice_s,
                             min_per_slice=self.min_per_slice)
        started = time.monotonic()
        handed = 0
        for part in slices:
            delay = started + part.offset_s - time.monotonic()
            if delay > 0 and self.stopped.wait(delay):
                break
            if self.stopped.is_set():
                break
            try:
                with self.app.app_context():
                    self.runner(self.app, tier, part.serials)
                    db.session.remove()
            except Exception:  # one bad slice must not end the schedule
                log.exception("sweep %s: a slice of %d devices failed", tier, len(part.serials))
            handed += len(part.serials)
        return handed


    def run_housekeeping(self) -> dict[str, int] | None:
        if self.stopped.is_set():
            return None
        from supervisor.health.housekeeping import housekeeping as health_housekeeping

        try:
            with self.app.app_context():
                out = health_housekeeping(settings=self.app.extensions["settings"])
                db.session.remove()
                out.update(_import_housekeeping(self.app))
        except Exception:  # a failed run is retried by the next one
            log.exception("housekeeping failed")
            return None
        log.info("housekeeping: %s", out)
        return out


def _import_housekeeping(app: Flask) -> dict[str, int]:
    """Unconfirmed import previews (encrypted files that may hold device passwords) are
    deleted on this timer whoever visits the site; jobs a dead process left are resumed."""
    from supervisor.inventory import jobs
    from supervisor.inventory.models import ImportJob
    from supervisor.people.models import User

    cfg = app.config
    folder = cfg.get("IMPORT_UPLOAD_DIR") or f"{app.instance_path}/imports"
    try:
        result = jobs.housekeep(db.session, folder, utcnow(),
                                max_preview_age_s=float(cfg.get("IMPORT_PREVIEW_MAX_AGE_S", 3600)),
                                stale_after_s=float(cfg.get("IMPORT_JOB_STALE_S", 3600)))
        if result.requeued:
            def actor_of(job: ImportJob) -> Any:
                return db.session.get(User, job.user_id) if job.user_id else None

            jobs.resume(db.session, folder, result.requeued, now=utcnow, actor_of=actor_of)
        return result.as_dict()
    finally:
        db.session.remove()


def _grace(tier: TierSchedule) -> int:
    return max(1, int(tier.interval_s + tier.jitter_s))


def _same_schedule(a: Any, b: IntervalTrigger) -> bool:
    return (isinstance(a, IntervalTrigger) and a.interval == b.interval
            and (a.jitter or None) == (b.jitter or None))


def start(app: Flask, **options: Any) -> SchedulerService:
    """Start the scheduler in the background (used by `make demo`). Raises LeaseHeld if
    another scheduler owns the database. Call `.shutdown()` on the result to stop."""
    return SchedulerService(app, **options).start()
