"""`flask health ...`: thin commands over the health store and the housekeeping job;
`flask quality calibrate`: per-camera calibration (and the scheduler job that learns)."""
from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Optional

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from supervisor.core.clock import naive_utc
from supervisor.core.extensions import db


def _parse_time(value: Optional[str], name: str) -> Optional[dt.datetime]:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=name)
    return naive_utc(t)  # naive input is taken as UTC


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
    from supervisor.health.housekeeping import housekeeping

    try:
        out = housekeeping(settings=current_app.extensions["settings"])
    except ProfileError as exc:
        raise click.ClickException(str(exc))
    click.echo(" ".join(f"{k}={v}" for k, v in out.items()))


quality_group = AppGroup("quality", help="Image quality: per-camera calibration.")


def _learning_summary(session, device, now, tz) -> str:
    from supervisor.health.calibration import baseline

    b = baseline(session, device, now, tz)
    if b is None:
        return f"{device.serial}: not a camera, no calibration"
    if b.kind == "reference":
        return f"{device.serial}: judged against its acceptance reference of {b.reference_at:%Y-%m-%d %H:%M}Z"
    if b.kind == "learned":
        c = b.calibration
        return (f"{device.serial}: learned normal of {c.learned_at:%Y-%m-%d %H:%M}Z from "
                f"{c.frames_day} day and {c.frames_night} night frames over {c.clean_days} clean days")
    p = b.plan
    return (f"{device.serial}: still learning: {p.clean_days} of {p.rule.learn_days} clean days, "
            f"day {p.frames_day} of {p.rule.min_frames} frames, night {p.frames_night} of "
            f"{p.rule.min_frames}")


@quality_group.command("calibrate")
@click.option("--device", "serial", default=None, help="A camera serial (default: every camera learning).")
@click.option("--relearn", is_flag=True, help="Supersede the camera's calibration and learn it again.")
@click.option("--reason", type=click.Choice(["requested", "view_changed"]), default="requested",
              show_default=True, help="Why it is learned again (with --relearn).")
def calibrate_command(serial: Optional[str], relearn: bool, reason: str) -> None:
    """Learn the normal image range of cameras without an acceptance reference whose first
    clean days are over; with --device, say where that camera stands; with --relearn, start
    its learning again (audited)."""
    import sqlalchemy as sa

    from supervisor.core import audit
    from supervisor.core.clock import now as clock_now
    from supervisor.health.calibration import learn_due
    from supervisor.health.calibration import relearn as start_again
    from supervisor.inventory.models import Device

    now = clock_now()
    tz = current_app.extensions["settings"].LOCAL_TIMEZONE
    if relearn and not serial:
        raise click.UsageError("--relearn needs --device")
    device = None
    if serial:
        device = db.session.scalar(sa.select(Device).where(Device.serial == serial))
        if device is None:
            raise click.ClickException(f"no device with serial {serial!r}")
        if device.kind != "camera":
            raise click.ClickException(f"{serial} is a {device.kind}: only cameras learn a calibration")
    if relearn:
        old = start_again(db.session, device, now, audit.cli_actor(), reason)
        db.session.commit()
        click.echo(f"{serial}: calibration {old.id} superseded ({reason}); learning again"
                   if old is not None else f"{serial}: learning started again ({reason})")
        return
    counts = learn_due(db.session, now, tz, [device.id] if device is not None else None)
    db.session.commit()
    if device is not None:
        click.echo(_learning_summary(db.session, device, now, tz))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


def calibrate_job(app: Flask) -> dict:
    """The scheduler's `quality:calibrate` job: learn every camera that is ready."""
    from supervisor.core.clock import now as clock_now
    from supervisor.health.calibration import learn_due

    counts = learn_due(db.session, clock_now(), app.extensions["settings"].LOCAL_TIMEZONE)
    db.session.commit()
    return counts


def init_app(app: Flask) -> None:
    app.cli.add_command(health_group)
    app.cli.add_command(quality_group)
