"""The scheduler service in-process: runs never overlap, missed runs are coalesced after a
restart, a run is paced over its interval, and losing the lease stops everything."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from supervisor.core.extensions import db
from supervisor.sweeps import scheduler as scheduling
from supervisor.sweeps.lease import LeaseHeld
from supervisor.sweeps.scheduler import TierSchedule

DEVICES = ["CAM-A", "CAM-B", "CAM-C", "SW-1"]


def lister(app, tier):
    return list(DEVICES)


def test_runs_of_a_tier_never_overlap(make_service, recorder, wait_for, caplog):
    import logging
    caplog.set_level(logging.WARNING)
    recorder.release.clear()  # the first run blocks: later due runs must be skipped
    service = make_service(tiers=[TierSchedule("fast", 1.0)], runner=recorder, devices=lister,
                           spread=0.0, persistent=False)
    assert wait_for(lambda: service.skipped.get("fast", 0) >= 2, timeout=10)
    # each skip is logged with its run time (the listener itself never fails)
    skips = [r for r in caplog.records if "skipped: the previous run is still busy" in r.getMessage()]
    assert skips and all(" at None" not in r.getMessage() for r in skips)
    assert not [r for r in caplog.records if "Error notifying listener" in r.getMessage()]
    assert recorder.count("fast") == 1 and recorder.max_running == 1
    recorder.release.set()
    # after the busy run ends, the schedule carries on
    assert wait_for(lambda: recorder.count("fast") >= 2, timeout=5)
    assert recorder.max_running == 1


def test_tiers_run_side_by_side(make_service, recorder, wait_for):
    recorder.release.clear()
    make_service(tiers=[TierSchedule("fast", 30.0), TierSchedule("full", 30.0)],
                 runner=recorder, devices=lister, spread=0.0, persistent=False)
    # both first runs start at once, each tier in its own thread
    assert wait_for(lambda: recorder.running == 2, timeout=5)
    recorder.release.set()


def _push_back_stored_job(app, job_id: str, seconds: float) -> None:
    """Pretend the scheduler was down: move the stored job's next run into the past,
    straight in the job store (no scheduler running that could act on it)."""
    with app.app_context():
        store = SQLAlchemyJobStore(engine=db.engine)
        store.start(BackgroundScheduler(timezone=dt.timezone.utc), "default")
        job = store.lookup_job(job_id)
        job.next_run_time = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
        store.update_job(job)


def test_missed_runs_are_coalesced_after_a_restart(app, make_service, recorder, wait_for):
    tier = TierSchedule("full", 60.0)
    first = make_service(tiers=[tier], runner=recorder, devices=lister, spread=0.0)
    assert wait_for(lambda: recorder.count() == 1)  # a new job runs at once
    next_before = first.next_runs()["full"]
    first.shutdown(wait=True)
    assert next_before > dt.datetime.now(dt.timezone.utc)  # the job outlives the process

    _push_back_stored_job(app, "sweep:full", seconds=10 * 60 + 5)  # ten runs missed
    second = make_service(tiers=[tier], runner=recorder, devices=lister, spread=0.0)
    assert wait_for(lambda: recorder.count() == 2)
    second.scheduler.shutdown(wait=True)  # let anything already submitted finish
    assert recorder.count() == 2, "ten missed runs must become exactly one"
    assert second.missed.get("full", 0) == 0


def test_a_changed_interval_replaces_the_stored_job(app, make_service, recorder):
    first = make_service(tiers=[TierSchedule("full", 60.0), TierSchedule("old", 60.0)],
                         runner=recorder, devices=lister, spread=0.0)
    first.shutdown(wait=True)
    second = make_service(tiers=[TierSchedule("full", 120.0)], runner=recorder, devices=lister,
                          spread=0.0)
    jobs = {j.id: j for j in second.scheduler.get_jobs()}
    assert {j for j in jobs if j.startswith("sweep:")} == {"sweep:full"}
    assert scheduling.HOUSEKEEPING_JOB in jobs  # rollups/retention run on the schedule too
    assert jobs["sweep:full"].trigger.interval == dt.timedelta(seconds=120)


def test_a_run_is_paced_over_the_interval(app, recorder):
    service = scheduling.SchedulerService(
        app, tiers=[TierSchedule("fast", 2.0)], runner=recorder,
        devices=lambda a, t: [f"D{i:03d}" for i in range(40)], spread=0.5, slice_s=0.25,
        min_per_slice=1,
        persistent=False)
    plan = scheduling.plan_slices([f"D{i:03d}" for i in range(40)], 2.0, spread=0.5, slice_s=0.25)
    started = time.monotonic()
    handed = service.run_tier("fast")  # called directly: no scheduler thread involved
    assert handed == 40 and len(recorder.calls) == len(plan) == 4
    for (at, _tier, batch), part in zip(recorder.calls, plan):
        assert batch == part.serials
        assert at - started >= part.offset_s - 0.01  # never early: the load is spread


def test_a_failing_slice_does_not_stop_the_run(app):
    seen = []

    def runner(a, tier, serials):
        seen.append(serials)
        if len(seen) == 1:
            raise RuntimeError("boom")

    service = scheduling.SchedulerService(
        app, tiers=[TierSchedule("fast", 1.0)], runner=runner,
        devices=lambda a, t: [f"D{i:03d}" for i in range(20)], spread=0.2, slice_s=0.05,
        min_per_slice=1,
        persistent=False)
    assert service.run_tier("fast") == 20 and len(seen) == 4


def test_second_service_is_refused_and_lost_lease_stops_the_owner(app, make_service, recorder, wait_for):
    from sqlalchemy import update

    from supervisor.sweeps.models import SchedulerLease

    owner = make_service(tiers=[TierSchedule("fast", 30.0)], runner=recorder, devices=lister,
                         spread=0.0, persistent=False, lease_ttl_s=0.6)
    other = scheduling.SchedulerService(app, tiers=[TierSchedule("fast", 30.0)], runner=recorder,
                                        devices=lister, persistent=False)
    with pytest.raises(LeaseHeld):
        other.start()
    # Someone takes the row (as if our renewals had stopped reaching the database).
    with db.engine.begin() as conn:
        conn.execute(update(SchedulerLease).values(
            owner="thief", expires_at=dt.datetime.utcnow() + dt.timedelta(hours=1)))
    assert owner.wait(timeout=5), "the owner must stop when its lease is gone"
    assert owner.lease_lost.is_set()
    assert wait_for(lambda: not owner.scheduler.running, timeout=5)
    assert owner.lease.holder().owner == "thief"  # and it did not delete the thief's row


def test_unrenewable_lease_stops_the_owner_when_it_runs_out(app, make_service, recorder, wait_for):
    """The database stops answering: once the lease has run out by our own clock another
    scheduler may own it, so this one stops rather than risk two schedulers."""
    owner = make_service(tiers=[TierSchedule("fast", 30.0)], runner=recorder, devices=lister,
                         spread=0.0, persistent=False, lease_ttl_s=0.9)

    def unreachable(now):
        raise ConnectionError("database unreachable")

    owner.lease.renew = unreachable
    started = time.monotonic()
    assert owner.wait(timeout=10) and owner.lease_lost.is_set()
    assert time.monotonic() - started >= 0.9 * 0.6  # not before the lease could have run out


def test_housekeeping_job_rolls_up_and_prunes_old_sweep_runs(app, recorder):
    from supervisor.profiles.loader import load_profile
    from supervisor.sweeps.models import SweepRun

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    raw_days = load_profile().retention.raw_days
    old = now - dt.timedelta(days=raw_days + 1)
    db.session.add_all([
        SweepRun(tier="fast", status="done", started_at=old, finished_at=old),
        SweepRun(tier="fast", status="done", started_at=now, finished_at=now),
    ])
    db.session.commit()
    service = scheduling.SchedulerService(app, tiers=[TierSchedule("fast", 60.0)],
                                          runner=recorder, devices=lister, persistent=False)
    out = service.run_housekeeping()
    assert out is not None and out["sweep_runs_dropped"] == 1
    db.session.expire_all()
    assert [r.started_at for r in db.session.query(SweepRun)] == [now]


REGISTERED_CALLS: list[tuple[str, bool]] = []


def registered_job_target(app) -> None:
    """A registered job's target: records that it ran, and whether in the app's context."""
    from flask import current_app

    REGISTERED_CALLS.append((app.name, current_app._get_current_object() is app))


def test_a_registered_job_runs_inside_the_apps_context(make_service, recorder, wait_for):
    from apscheduler.triggers.interval import IntervalTrigger

    REGISTERED_CALLS.clear()
    scheduling.register_job("test:registered", f"{__name__}:registered_job_target",
                            lambda settings: IntervalTrigger(seconds=0.2))
    try:
        service = make_service(tiers=[TierSchedule("fast", 3600.0)], runner=recorder,
                               devices=lister, spread=0.0, persistent=False)
        assert "test:registered" in {j.id for j in service.scheduler.get_jobs()}
        assert wait_for(lambda: len(REGISTERED_CALLS) >= 2, timeout=10)
        assert all(in_context for _name, in_context in REGISTERED_CALLS)
    finally:
        scheduling._REGISTERED.pop("test:registered", None)


def test_the_ticket_job_is_registered_by_the_tickets_package(app):
    assert scheduling._REGISTERED["tickets:run"].target == "supervisor.tickets.cli:run_job"


def test_a_failing_job_store_write_does_not_stop_the_scheduler(make_service, recorder, wait_for):
    """A database busy past its lock timeout while the scheduler writes a job's next run
    (what killed the demo's scheduler thread) is logged and retried; sweeps go on."""
    import sqlalchemy.exc

    service = make_service(tiers=[TierSchedule("fast", 1.0)], runner=recorder, devices=lister,
                           spread=0.0)
    assert wait_for(lambda: recorder.count("fast") >= 1, timeout=10)
    store = service.scheduler._lookup_jobstore("default")
    real_update = store.update_job
    failures = []

    def busy_then_fine(job):
        if len(failures) < 2:
            failures.append(job.id)
            raise sqlalchemy.exc.OperationalError("UPDATE apscheduler_jobs", {},
                                                  Exception("database is locked"))
        return real_update(job)

    store.update_job = busy_then_fine
    service.scheduler.RETRY_S = 0.2
    seen = recorder.count("fast")
    assert wait_for(lambda: len(failures) == 2, timeout=10)
    assert wait_for(lambda: recorder.count("fast") >= seen + 2, timeout=15)
    assert service.scheduler._thread.is_alive()
