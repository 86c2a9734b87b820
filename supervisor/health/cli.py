"""`flask health ...`: thin commands over the health store and the housekeeping job."""
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


def init_app(app: Flask) -> None:
    app.cli.add_command(health_group)
