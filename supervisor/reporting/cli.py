"""`flask report figures|monthly`, `flask evidence`, `flask history backfill`: thin commands
over reports/ (figures, ledger, PDF, evidence, history)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from supervisor.core import clock, localtime
from supervisor.core.extensions import db

report_cli = AppGroup("report", help="Figures and the monthly report.")

TABLE_COLUMNS = (("group", "group", 24), ("devices", "devices", 7),
                 ("measured_h", "measured h", 11), ("online_rate", "online %", 9),
                 ("intact_rate", "intact %", 9), ("unplanned_outage_h", "unplanned h", 11),
                 ("planned_outage_h", "planned h", 10), ("online_rate_target", "target %", 9),
                 ("online_rate_met", "met", 4), ("clock_accuracy", "clock %", 9),
                 ("coverage", "coverage %", 10))


def parse_now(value: str | None) -> dt.datetime:
    """`--now` in local time (tests, regenerating a month as of a date); default: the clock."""
    if not value:
        return clock.now()
    parsed = localtime.parse_local(value)
    if parsed is None:
        raise click.BadParameter(f"not a local time: {value!r}", param_hint="--now")
    return localtime.local_to_utc(parsed)


def pct(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.4f}"


def _cell(key: str, value: Any) -> str:
    if key.endswith("_rate") or key.endswith("_target") or key in ("clock_accuracy", "coverage"):
        return pct(value)
    if key.endswith("_rate_met"):
        return "—" if value is None else ("yes" if value else "no")
    return str(value)


def month_figures(period: Any, by: str, now: dt.datetime, device_ids: Any = None,
                  hours: str | None = None) -> list[dict[str, Any]]:
    from supervisor.reporting.context import figures_for
    return figures_for(db.session, period, by, now, device_ids, hours=hours)


@report_cli.command("figures")
@click.option("--period", "period_text", required=True,
              help="YYYY-MM, YYYY-MM-DD, YYYY-Qn, YYYY, FIRST..AFTER (local days) or "
                   "contract:CODE (the contract's whole term).")
@click.option("--by", default="city", show_default=True,
              type=click.Choice(["city", "district", "community", "contract", "contractor",
                                 "vendor", "role", "kind", "device"]))
@click.option("--format", "fmt", default="table", show_default=True,
              type=click.Choice(["table", "json", "csv"]))
@click.option("--now", "now_text", default=None, help="Local time to compute as of.")
@click.option("--what", default="devices", show_default=True,
              type=click.Choice(["devices", "tickets"]),
              help="devices: online/intact/clock figures from state intervals; tickets: "
                   "opened, closed, overdue, SLA compliance by severity, MTTR.")
@click.option("--hours", default=None, metavar="SCHEDULE",
              help="Count only the working time of this calendar schedule of the profile "
                   "(e.g. working_hours: office hours on working days, holidays observed).")
def figures_command(period_text: str, by: str, fmt: str, now_text: str | None,
                    what: str = "devices", hours: str | None = None) -> None:
    """Print the period's figures per group (exact, from state intervals, or the tickets'
    stored SLA clocks with --what tickets)."""
    from reports import periods

    try:
        if period_text.startswith("contract:"):
            import sqlalchemy as sa

            from supervisor.models import Contract
            contract = db.session.scalar(sa.select(Contract).where(
                Contract.code == period_text.split(":", 1)[1]))
            if contract is None:
                raise ValueError(f"no contract {period_text.split(':', 1)[1]!r}")
            period = periods.contract_life(contract)
        else:
            period = periods.parse(period_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period")
    if what == "tickets":
        _ticket_figures(period, by, parse_now(now_text), fmt)
        return
    try:
        rows = month_figures(period, by, parse_now(now_text), hours=hours)
    except ValueError as exc:
        if hours is None:
            raise
        raise click.BadParameter(str(exc), param_hint="--hours")
    if fmt == "json":
        click.echo(json.dumps({"period": period.label, "by": by, "hours": hours or "24x7",
                               "time_zone": localtime.zone_name(), "rows": rows},
                              ensure_ascii=False, indent=1, default=str))
        return
    if fmt == "csv":
        buf = io.StringIO()
        keys = [k for k in rows[0] if k != "faults_s"] if rows else ["group"]
        w = csv.writer(buf)
        w.writerow(keys)
        for r in rows:
            w.writerow([r[k] for k in keys])
        click.echo(buf.getvalue(), nl=False)
        return
    click.echo(f"{period.label} ({localtime.zone_name()}), by {by}"
               + (f", {hours} only" if hours else "")
               + "; denominator = seconds in service, known state, outside maintenance")
    click.echo(" ".join(title.ljust(w) for _, title, w in TABLE_COLUMNS))
    for r in rows:
        click.echo(" ".join(_cell(k, r.get(k)).ljust(w) for k, _, w in TABLE_COLUMNS))


TICKET_TABLE = (("group", "group", 24), ("tickets_opened", "opened", 7),
                ("tickets_closed", "closed", 7), ("tickets_overdue", "overdue", 8),
                ("response_met", "resp ok", 8), ("response_missed", "resp late", 9),
                ("response_rate", "resp %", 9), ("repair_met", "rep ok", 7),
                ("repair_missed", "rep late", 8), ("repair_rate", "rep %", 9),
                ("mttr_h", "MTTR h", 8), ("mttr_sla_h", "MTTR SLA h", 10))


def _ticket_figures(period: Any, by: str, now: dt.datetime, fmt: str) -> None:
    from reports.tickets import SEVERITIES, sla_hours_of, ticket_figures
    from supervisor.reporting.context import city_profile

    rows = ticket_figures(db.session, period.lo, period.hi, now, by,
                          sla_hours=sla_hours_of(city_profile()))
    if fmt == "json":
        click.echo(json.dumps({"period": period.label, "by": by, "what": "tickets",
                               "time_zone": localtime.zone_name(), "rows": rows},
                              ensure_ascii=False, indent=1, default=str))
        return
    if fmt == "csv":
        buf = io.StringIO()
        keys = list(rows[0]) if rows else ["group"]
        w = csv.writer(buf)
        w.writerow(keys)
        for r in rows:
            w.writerow([r.get(k) for k in keys])
        click.echo(buf.getvalue(), nl=False)
        return
    click.echo(f"{period.label} ({localtime.zone_name()}), tickets by {by}; a response or repair "
               "counts in the period it was decided; SLA hours from each ticket's clock")

    def cell(key: str, v: Any) -> str:
        if v is None:
            return "—"
        if key.startswith("response_rate") or key.startswith("repair_rate"):
            return pct(v)
        return f"{v:.2f}" if isinstance(v, float) else str(v)
    cols = list(TICKET_TABLE) + [(f"{k}_rate_{s}", f"{k[:4]} {s[:4]} %", 10)
                                 for k in ("response", "repair") for s in SEVERITIES]
    click.echo(" ".join(title.ljust(w) for _, title, w in cols))
    for r in rows:
        click.echo(" ".join(cell(k, r.get(k)).ljust(w) for k, _, w in cols))


@report_cli.command("monthly")
@click.option("--month", "month_text", required=True, help="YYYY-MM (local).")
@click.option("--contract", "contract_code", default=None, help="Only this contract.")
@click.option("--pdf", "pdf_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the PDF.")
@click.option("--now", "now_text", default=None, help="Local time to compute as of.")
def monthly_command(month_text: str, contract_code: str | None, pdf_path: str,
                    now_text: str | None) -> None:
    """Build the monthly PDF for officials (progress on stderr)."""
    import hashlib
    import time

    from reports import monthly, periods
    from supervisor.reporting import context
    from supervisor.profiles.loader import profile_for

    try:
        month = periods.parse(month_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month")
    if month.kind != "month":
        raise click.BadParameter("a month: YYYY-MM", param_hint="--month")
    started = time.monotonic()

    def progress(pct: int, step: str) -> None:
        click.echo(f"[{pct:3d}%] {step} ({time.monotonic() - started:.1f} s)", err=True)

    settings = current_app.extensions["settings"]
    try:
        pdf, _ = monthly.build_pdf(db.session, month, parse_now(now_text),
                                   context.city_profile(settings.SCHEDULER_PROFILE), profile_for,
                                   contract_code, progress)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    with open(pdf_path, "wb") as fh:
        fh.write(pdf)
    click.echo(f"{pdf_path}: {len(pdf)} bytes, sha256 {hashlib.sha256(pdf).hexdigest()}")


@report_cli.command("ledger")
@click.option("--contract", "code", required=True, help="Contract code.")
@click.option("--close", "close_month", default=None,
              help="Close this month (YYYY-MM): freeze it with its content hash.")
@click.option("--by", "actor", default="cli", show_default=True, help="Who closes (audited).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--now", "now_text", default=None, help="Local time to compute as of.")
def ledger_command(code: str, close_month: str | None, actor: str, fmt: str,
                   now_text: str | None) -> None:
    """Print a contract's 60-month ledger; optionally close an ended month first."""
    import sqlalchemy as sa

    from reports import ledger_store as ls
    from reports import periods
    from supervisor.core import audit
    from supervisor.models import Contract
    from supervisor.profiles.loader import profile_for

    contract = db.session.scalar(sa.select(Contract).where(Contract.code == code))
    if contract is None:
        raise click.ClickException(f"no contract {code!r}")
    now = parse_now(now_text)
    profile = profile_for(contract)
    if close_month:
        try:
            m = periods.parse(close_month)
            index = ls.month_index(contract, m.first)
            row = ls.close_month(db.session, contract, index, now, profile, actor)
        except (ValueError, ls.LedgerError) as exc:
            db.session.rollback()
            raise click.ClickException(str(exc))
        audit.record(actor, "close", "ledger_month", f"{contract.code}/{index}",
                     after={"payable": str(row.payable), "sha256": row.content_sha256})
        db.session.commit()
        click.echo(f"closed {close_month}: payable {row.payable}, sha256 {row.content_sha256}",
                   err=True)
    rows = ls.ledger(db.session, contract, now, profile)
    if fmt == "json":
        click.echo(json.dumps({"contract": code, "summary": ls.summary(contract, rows),
                               "rows": [{k: v for k, v in vars(r).items() if k != "result"}
                                        for r in rows]}, ensure_ascii=False, indent=1,
                              default=str))
        return
    click.echo(f"{'no':>3} {'month':<8} {'status':<12} {'instalment':>13} {'score':>7} "
               f"{'coef':>5} {'earned':>13} {'withheld':>12} {'adjust':>10} {'cumulative':>15}")
    for r in rows:
        click.echo(f"{r.index:>3} {r.month:<8} {r.status:<12} {r.instalment:>13,} "
                   f"{'' if r.score is None else r.score:>7} "
                   f"{'' if r.coefficient is None else r.coefficient:>5} {r.earned:>13,} "
                   f"{r.withheld:>12,} {r.carried:>10,} {r.cumulative:>15,}")
    s = ls.summary(contract, rows)
    click.echo(f"recovered {s['recovered']:,} of {s['investment']:,}; "
               f"{s['months_closed']} closed, {s['months_remaining']} remaining")


@report_cli.command("event")
@click.option("--contract", "code", required=True, help="Contract code.")
@click.option("--rule", required=True,
              help="A per-event deduction rule of the contract's profile (missed_inspection, "
                   "falsified_report ...).")
@click.option("--at", "at_text", required=True, help="When it happened, local time.")
@click.option("--reason", required=True, help="Why (kept with the event).")
@click.option("--community", "community_name", default=None, help="Where (a community name).")
@click.option("--device", "serial", default=None, help="The device concerned (serial).")
@click.option("--by", "actor", default=None, help="Who records it (audited; default cli:<user>).")
@click.option("--now", "now_text", default=None, help="Local time to record as of.")
def event_command(code: str, rule: str, at_text: str, reason: str, community_name: str | None,
                  serial: str | None, actor: str | None, now_text: str | None) -> None:
    """Record a contract event a payment rule deducts for (audited; a closed month gets an
    adjustment in the next open month)."""
    import sqlalchemy as sa

    from supervisor.core import audit
    from supervisor.models import Community, Contract
    from supervisor.profiles.loader import profile_for
    from supervisor.reporting import events

    contract = db.session.scalar(sa.select(Contract).where(Contract.code == code))
    if contract is None:
        raise click.BadParameter(f"no contract {code!r}", param_hint="--contract")
    parsed = localtime.parse_local(at_text)
    community_id = None
    if community_name:
        community_id = db.session.scalar(sa.select(Community.id).where(
            Community.name == community_name))
        if community_id is None:
            raise click.BadParameter(f"no community {community_name!r}", param_hint="--community")
    try:
        row, adj = events.record_event(
            db.session, contract, profile_for(contract), rule=rule,
            occurred_at=localtime.local_to_utc(parsed) if parsed else None, reason=reason,
            actor=actor or audit.cli_actor(), now=parse_now(now_text),
            community_id=community_id, device_serial=serial)
    except events.EventError as exc:
        db.session.rollback()
        for p in exc.problems:
            click.echo(f"--{p.field.replace('occurred_at', 'at')}: {p.message}", err=True)
        raise SystemExit(2)
    db.session.commit()
    click.echo(f"event {row.id} recorded: {rule} at {localtime.fmt_local(row.occurred_at)} "
               f"on {code}" + (f"; adjustment {adj.amount} booked in {adj.month:%Y-%m}"
                               if adj is not None else ""))


def parse_point(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.replace("，", ",").split(","))
    except ValueError:
        raise click.BadParameter(f"LAT,LON expected, got {text!r}", param_hint="--at")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise click.BadParameter("latitude within ±90, longitude within ±180", param_hint="--at")
    return lat, lon


def _local_arg(text: str, name: str) -> dt.datetime:
    parsed = localtime.parse_local(text)
    if parsed is None:
        raise click.BadParameter(f"a local time like 2026-03-05T10:00, got {text!r}",
                                 param_hint=name)
    return localtime.local_to_utc(parsed)


@click.command("evidence")
@click.option("--at", "at_text", default=None, help="LAT,LON (WGS-84 degrees).")
@click.option("--community", "community_name", default=None,
              help="Instead of a point: every camera of this community.")
@click.option("--radius", type=click.FloatRange(0, 5000), default=20, show_default=True,
              help="Metres around the point.")
@click.option("--from", "from_text", required=True, help="Local time, e.g. 2026-03-05T09:50.")
@click.option("--to", "to_text", required=True, help="Local time, e.g. 2026-03-05T10:10.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def evidence_command(at_text: str | None, community_name: str | None, radius: float,
                     from_text: str, to_text: str, fmt: str) -> None:
    """Which cameras saw a point (or a community) in a time window, and were they working?"""
    import sqlalchemy as sa

    from reports.evidence import lookup, lookup_community
    from supervisor.models import Community

    if (at_text is None) == (community_name is None):
        raise click.UsageError("give --at LAT,LON or --community NAME")
    lo, hi = _local_arg(from_text, "--from"), _local_arg(to_text, "--to")
    if hi <= lo:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    if community_name is not None:
        cid = db.session.scalar(sa.select(Community.id).where(Community.name == community_name))
        if cid is None:
            raise click.ClickException(f"no community {community_name!r}")
        found = lookup_community(db.session, cid, lo, hi, clock.now())
        lat = lon = None
    else:
        lat, lon = parse_point(at_text)
        found = lookup(db.session, lat, lon, radius, lo, hi, clock.now())
    if fmt == "json":
        click.echo(json.dumps([{**vars(f), "frame_at": localtime.fmt_local(f.frame_at, True)
                                if f.frame_at else None} for f in found],
                              ensure_ascii=False, indent=1, default=str))
        return
    where = f"{lat},{lon} ±{radius:g} m" if lat is not None else community_name
    click.echo(f"{len(found)} camera(s) within view of {where}, "
               f"{localtime.fmt_local(lo)} – {localtime.fmt_local(hi)} ({localtime.zone_name()})")
    yn = {True: "yes", False: "NO", None: "?"}
    for f in found:
        frame = (f"frame #{f.frame_id} at {localtime.fmt_local(f.frame_at, True)}"
                 if f.frame_id else "no kept frame")
        click.echo(f"{f.serial:<14} {f.community:<16} {f.distance_m:7.1f} m  online={yn[f.online]} "
                   f"clear={yn[f.clear]} recording={yn[f.recording]}"
                   f"{'' if f.view_known else ' (view not recorded)'}  {frame}")


@report_cli.command("clock-rollup")
@click.option("--from", "first_text", default=None,
              help="First local day (YYYY-MM-DD); default: the oldest raw sample kept.")
@click.option("--now", "now_text", default=None, help="Local time to roll up as of.")
def clock_rollup_command(first_text: str | None, now_text: str | None) -> None:
    """Roll the clock checks of ended local days up into clock_day_rollups (from the raw
    samples still kept), so clock accuracy outlives the raw retention."""
    from supervisor.reporting.clockdays import roll_up
    from supervisor.reporting.context import city_profile, targets_of

    first = None
    if first_text:
        try:
            first = dt.date.fromisoformat(first_text)
        except ValueError:
            raise click.BadParameter(f"YYYY-MM-DD expected, got {first_text!r}",
                                     param_hint="--from")
    tol = targets_of(city_profile()).clock_tolerance_s
    n = roll_up(db.session, parse_now(now_text), tol, first)
    db.session.commit()
    click.echo(f"{n} device-day row(s) rolled up at tolerance {tol:g} s ({localtime.zone_name()})")


def hourly_trigger(settings: Any) -> Any:
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(hours=1, timezone=dt.timezone.utc)


def monthly_report_trigger(settings: Any) -> Any:
    """Day REPORT_MONTHLY_DAY of each month at REPORT_MONTHLY_HOUR, local time."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(day=int(settings.REPORT_MONTHLY_DAY), hour=int(settings.REPORT_MONTHLY_HOUR),
                       minute=0, timezone=localtime.zone())


def init_app(app: Flask) -> None:
    from supervisor.sweeps import scheduler

    app.cli.add_command(report_cli)
    app.cli.add_command(evidence_command)
    # The monthly PDF of the month before, archived once (reports/monthly.py).
    scheduler.register_job("report:monthly", "supervisor.reporting.archive:run_monthly_job",
                           monthly_report_trigger, name="monthly report PDF")
    # Clock checks per local day, before the raw samples they come from are pruned.
    scheduler.register_job("report:clock_rollup", "supervisor.reporting.clockdays:run_clock_job",
                           hourly_trigger, name="clock checks per local day")
