"""`flask sweep` (one sweep now, the scheduler's path) and `flask scheduler run|status`."""
from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from typing import Any, Optional

import click
from flask import Flask, current_app

from supervisor.core.clock import now as utcnow
from supervisor.core.extensions import db
from supervisor.sweeps.lease import Lease, LeaseHeld
from supervisor.sweeps.scheduler import EXIT_REFUSED, LEASE_NAME, SchedulerService, register_job


@click.command("sweep")
@click.option("--tier", type=click.Choice(["fast", "full", "frame"]), default="fast",
              show_default=True, help="Probe tier from the standard profile.")
@click.option("--devices", default=None, help="Comma-separated serials (default: every device).")
@click.option("--deadline", type=float, default=None,
              help="Seconds for the whole sweep (default: the tier's interval).")
@click.option("--quiet", is_flag=True, help="No progress bar, summary only.")
def sweep_command(tier: str, devices: Optional[str], deadline: Optional[float], quiet: bool) -> None:
    """Run one sweep now, through the same path as the scheduler."""
    from supervisor.sweeps.pipeline import run_sweep

    serials = [s for s in devices.split(",")] if devices else None
    state = {"last": 0}
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = click.progressbar(length=total, label=f"sweep {tier}", file=sys.stderr)
            bar.__enter__()
        bar.update(done - state["last"])
        state["last"] = done

    from supervisor.profiles.loader import ProfileError

    try:
        summary = run_sweep(tier, serials, progress=progress, deadline_s=deadline, trigger="cli",
                            settings=current_app.extensions["settings"])
    except (ValueError, ProfileError) as exc:
        raise click.ClickException(str(exc))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    s = summary
    click.echo(f"sweep #{s.sweep_id} tier={s.tier} executor={s.executor}: {s.devices} devices "
               f"in {s.duration_s:.1f}s ({s.devices_per_s:.1f}/s)")
    click.echo(f"  ok={s.ok} degraded={s.degraded} offline={s.offline} unknown={s.unknown} "
               f"state changes={s.transitions} flapping={s.flapping}")
    if s.failures_by_reason:
        click.echo("  failures: " + ", ".join(f"{k}={v}" for k, v in s.failures_by_reason.items()))
    lag = s.loop_lag or {}
    if lag:
        click.echo(f"  platform: event-loop lag p50 {lag.get('p50_s')} s, p99 {lag.get('p99_s')} s, "
                   f"max {lag.get('max_s')} s (bound {lag.get('bound_s')} s); "
                   f"{s.overload_retries} checks tried again after an overload")
    if s.not_measured:
        click.echo("  WARNING platform overloaded: checks not measured (not counted against "
                   "devices): " + ", ".join(f"{k}={v}" for k, v in s.not_measured_by_check.items()),
                   err=True)


@click.group("scheduler", help="Run the sweep scheduler (one per database).")
def scheduler_cli() -> None:
    pass


@scheduler_cli.command("run")
@click.option("--wait", "wait_for_lease", is_flag=True,
              help="If another scheduler owns the database, wait for its lease instead of "
                   "exiting (a standby that takes over when the owner dies).")
def run_command(wait_for_lease: bool) -> None:
    """Run the scheduler in the foreground until SIGTERM/Ctrl-C."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    service = SchedulerService(app)
    interrupted = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        interrupted.set()
        service.stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announced = False
    while True:
        try:
            service.start()
            break
        except LeaseHeld as refused:
            if not wait_for_lease:
                click.echo(f"scheduler refused: {refused}. Exiting.", err=True)
                raise SystemExit(EXIT_REFUSED)
            if not announced:
                click.echo(f"scheduler waiting: {refused}.", err=True)
                announced = True
            if interrupted.wait(service.lease.ttl.total_seconds() / 3):
                click.echo("scheduler: stopped while waiting.", err=True)
                return
    for name, at in sorted(service.next_runs().items()):
        click.echo(f"scheduler: tier {name} every {service.tiers[name].interval_s:g}s, "
                   f"next run {at:%Y-%m-%d %H:%M:%S} UTC" if at else f"scheduler: tier {name} paused")
    click.echo(f"scheduler: running as {service.lease.owner}; Ctrl-C to stop", err=True)
    while not service.wait(1.0):
        pass
    lost = service.lease_lost.is_set()
    service.shutdown(wait=True)
    if lost:
        click.echo("scheduler: lease lost to another scheduler; stopped.", err=True)
        raise SystemExit(EXIT_REFUSED)
    click.echo("scheduler: stopped.", err=True)


@scheduler_cli.command("status")
def status_command() -> None:
    """Who holds the scheduler lease, and until when."""
    lease = Lease(db.engine, LEASE_NAME, 1)
    holder = lease.holder()
    now = utcnow()
    if holder is None or holder.expires_at <= now:
        click.echo("scheduler: no live scheduler owns this database")
    else:
        click.echo(f"scheduler: {holder.owner} since {holder.acquired_at:%Y-%m-%d %H:%M:%S}, "
                   f"lease until {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC")


def _calibrate_trigger(settings) -> object:
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(seconds=3600, timezone=dt.timezone.utc)


def init_app(app: Flask) -> None:
    app.cli.add_command(sweep_command)
    app.cli.add_command(scheduler_cli)
    # Cameras without an acceptance reference learn their normal image range from the
    # frames the sweeps keep for them (supervisor/health/calibration.py); hourly is the
    # frame tier's pace, so a camera learns within an hour of its last learning day.
    register_job("quality:calibrate", "supervisor.health.cli:calibrate_job", _calibrate_trigger,
                 name="quality: learn cameras' normal image range")
