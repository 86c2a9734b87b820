"""`flask accept COMMUNITY` and `flask discover`: thin commands over run.py / discovery.py."""
from __future__ import annotations

import json
import sys
from typing import Any, Optional

import click
import sqlalchemy as sa
from flask import Flask, current_app

from supervisor.core.extensions import db


def _community(name: str):
    from supervisor.inventory.models import Community
    c = db.session.scalars(sa.select(Community).where(Community.name == name.strip())).first()
    if c is None and name.strip().isdigit():
        c = db.session.get(Community, int(name.strip()))
    if c is None:
        raise click.ClickException(f"no community named {name!r}")
    return c


def device_objects(run) -> list[dict]:
    """The JSON contract: one object per device."""
    return [{"serial": r.serial, "verdict": r.verdict,
             "checks": [{k: c[k] for k in ("check", "verdict", "measured", "required", "clause")}
                        for c in r.checks]} for r in run.results]


def _table(run) -> str:
    lines = []
    for r in run.results:
        lines.append(f"{r.serial}  {r.verdict.upper()}")
        for c in r.checks:
            lines.append(f"  {c['check']:<12} {c['verdict']:<5} {c['measured']}"
                         + (f"   [required {c['required']}]" if c["verdict"] == "fail" else ""))
    cov = run.coverage or {}
    lines.append(f"coverage: {cov.get('filled', 0)}/{cov.get('required', 0)} role slots")
    for s in cov.get("slots", []):
        if s["missing"]:
            lines.append(f"  missing {s['missing']} × {s['role']} (≥{s['min_resolution']})")
    lines.append(f"community verdict: {(run.verdict or '?').upper()} (run {run.id})")
    return "\n".join(lines)


@click.command("accept")
@click.argument("community")
@click.option("--devices", default=None, help="Comma-separated serials (default: every device "
              "of the community).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--actor", default="cli", help="Name recorded as who ran the acceptance.")
@click.option("--concurrency", type=int, default=32, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def accept_command(community: str, devices: Optional[str], fmt: str, actor: str,
                   concurrency: int, quiet: bool) -> None:
    """Accept a community's devices remotely against its contract's standard profile."""
    from supervisor.acceptance.run import AcceptanceError, run_acceptance
    from supervisor.profiles.loader import ProfileError

    c = _community(community)

    def progress(done: int, total: int, serial: str) -> None:
        if not quiet:
            click.echo(f"\r[{done}/{total}] {serial}        ", nl=False, err=True)

    try:
        run = run_acceptance(db.session, c, actor=actor,
                             evidence_dir=current_app.config["EVIDENCE_DIR"],
                             serials=devices.split(",") if devices else None,
                             progress=progress, concurrency=concurrency)
    except (AcceptanceError, ProfileError) as exc:
        raise click.ClickException(str(exc))
    if not quiet:
        click.echo("", err=True)
    if fmt == "json":
        click.echo(json.dumps(device_objects(run), ensure_ascii=False, indent=1))
        cov = run.coverage or {}
        click.echo(f"community verdict: {run.verdict} (run {run.id}); coverage "
                   f"{cov.get('filled', 0)}/{cov.get('required', 0)}", err=True)
    else:
        click.echo(_table(run))
    sys.exit(0 if run.verdict == "pass" else 1)


@click.command("discover")
@click.option("--community", "community_name", default=None,
              help="Compare with this community's devices (default: the whole inventory).")
@click.option("--range", "cidr", default=None, help="Unicast probe every address of this "
              "range (CIDR); default: the community's device addresses.")
@click.option("--port", type=int, default=None, show_default="WSDISCOVERY_PORT, 3702")
@click.option("--multicast/--no-multicast", default=False, show_default=True,
              help="Also send a multicast probe (same network segment only).")
@click.option("--timeout", type=float, default=None, show_default="WSDISCOVERY_TIMEOUT_S, 2")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def discover_command(community_name: Optional[str], cidr: Optional[str], port: Optional[int],
                     multicast: bool, timeout: Optional[float], fmt: str) -> None:
    """Find ONVIF devices by WS-Discovery and compare them with the inventory."""
    from supervisor.acceptance.discovery import DiscoveryError, discover

    settings = current_app.extensions["settings"]
    port = settings.WSDISCOVERY_PORT if port is None else port
    timeout = settings.WSDISCOVERY_TIMEOUT_S if timeout is None else timeout
    c = _community(community_name) if community_name else None
    try:
        report = discover(db.session, community=c, cidr=cidr, port=port, timeout=timeout,
                          multicast=multicast,
                          progress=lambda msg: click.echo(msg, err=True))
    except DiscoveryError as exc:
        raise click.ClickException(str(exc))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return
    click.echo(f"probed {report.probed} addresses; {len(report.found)} answered")
    for f in report.new:
        click.echo(f"  NEW       {f['address']:<16} {f.get('name') or '?'} {f.get('hardware') or '?'} "
                   f"mac {f.get('mac') or '?'}")
    for m in report.silent:
        click.echo(f"  SILENT    {m['ip']:<16} {m['serial']} {m['name']}")
    for m in report.mismatches:
        click.echo(f"  MISMATCH  {m['serial']}: {m['what']}")
    for m in report.matched:
        click.echo(f"  ok        {m['ip']:<16} {m['serial']}")


def record_all_coverage(app: Flask, community_name: Optional[str] = None) -> list[tuple[str, Any]]:
    """Records the role-slot coverage of every community (or one) now; the scheduler runs
    this daily so the reports have coverage over time."""
    from supervisor.acceptance.run import record_coverage
    from supervisor.core.clock import now
    from supervisor.inventory.models import Community

    communities = ([_community(community_name)] if community_name else
                   db.session.scalars(sa.select(Community).order_by(Community.name)).all())
    at = now()
    out = [(c.name, record_coverage(db.session, c, at)) for c in communities]
    db.session.commit()
    return out


@click.command("coverage")
@click.option("--community", "community_name", default=None, help="One community (default: all).")
def coverage_command(community_name: Optional[str]) -> None:
    """Record every community's role-slot coverage now (the scheduler does it daily)."""
    from flask import current_app

    for name, snap in record_all_coverage(current_app, community_name):
        click.echo(f"{name}: {snap.filled}/{snap.required}"
                   + (f" ({snap.figure:.0%})" if snap.figure is not None else ""))


def _daily_trigger(settings: Any) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    from supervisor.core import localtime
    return CronTrigger(hour=int(settings.COVERAGE_SNAPSHOT_HOUR), minute=15, timezone=localtime.zone())


def init_app(app: Flask) -> None:
    app.cli.add_command(accept_command)
    app.cli.add_command(discover_command)
    app.cli.add_command(coverage_command)
    from supervisor.sweeps import scheduler

    scheduler.register_job("acceptance:coverage", "supervisor.acceptance.cli:record_all_coverage",
                           _daily_trigger, name="coverage snapshot (daily)")
