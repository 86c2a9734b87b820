"""`flask sweep` and `flask health ...`: thin commands over supervisor.sweep / health_store."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from typing import Optional

import click
from flask import Flask
from flask.cli import AppGroup

from supervisor.core.extensions import db


def _parse_time(value: Optional[str], name: str) -> Optional[dt.datetime]:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=name)
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t  # naive input is taken as UTC


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
        summary = run_sweep(tier, serials, progress=progress, deadline_s=deadline, trigger="cli")
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


health_group = AppGroup("health", help="Device health: state intervals, rollups, retention.")


@health_group.command("intervals")
@click.option("--since", default=None, help="ISO time (UTC unless it has an offset).")
@click.option("--until", default=None, help="ISO time (UTC unless it has an offset).")
@click.option("--device", default=None, help="A device serial.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
def intervals_command(since: Optional[str], until: Optional[str], device: Optional[str],
                      fmt: str) -> None:
    """Print stored state intervals [start, end) as CSV or JSON lines (UTC, ISO-8601)."""
    import sqlalchemy as sa

    from supervisor.health.store import intervals
    from supervisor.inventory.models import Device

    lo, hi = _parse_time(since, "--since"), _parse_time(until, "--until")
    device_id = None
    if device:
        device_id = db.session.scalar(sa.select(Device.id).where(Device.serial == device))
        if device_id is None:
            raise click.ClickException(f"no device with serial {device!r}")
    rows = intervals(db.session, lo, hi, device_id)
    fields = ["serial", "state", "cause", "start", "end", "flapping", "reasons"]
    out = click.get_text_stream("stdout")
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(fields)
    for r in rows:
        rec = {"serial": r.serial, "state": r.state, "cause": r.cause,
               "start": r.start_at.isoformat() + "Z", "end": r.end_at.isoformat() + "Z" if r.end_at else None,
               "flapping": bool(r.flapping), "reasons": r.reasons or []}
        if writer:
            writer.writerow([rec["serial"], rec["state"], rec["cause"] or "", rec["start"],
                             rec["end"] or "", int(rec["flapping"]),
                             json.dumps(rec["reasons"], ensure_ascii=False)])
        else:
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


@health_group.command("housekeeping")
def housekeeping_command() -> None:
    """Roll up yesterday and today, drop expired samples, prune evidence frames."""
    from supervisor.profiles.loader import ProfileError
    from supervisor.sweeps.pipeline import housekeeping

    try:
        out = housekeeping()
    except ProfileError as exc:
        raise click.ClickException(str(exc))
    click.echo(" ".join(f"{k}={v}" for k, v in out.items()))


def init_app(app: Flask) -> None:
    app.cli.add_command(sweep_command)
    app.cli.add_command(health_group)
