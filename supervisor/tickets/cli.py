"""`flask tickets ...`: list and show tickets with their clocks (table or JSON), run the
ticket job (scan health, refresh clocks, deliver notifications), add calendar days."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from supervisor.core import clock, localtime
from supervisor.core.extensions import db
from supervisor.inventory.models import Contract, Device
from supervisor.tickets import opening, service
from supervisor.tickets.models import Ticket, TicketDevice, TicketState

tickets_cli = AppGroup("tickets", help="Work orders and their SLA clocks.")


def _hours(seconds: Optional[float]) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.2f}h"


def ticket_dict(ticket: Ticket, now: dt.datetime, full: bool = False) -> dict[str, Any]:
    """A ticket with its clocks recomputed from events at `now` (never the cache)."""
    tc = service.recompute(db.session, ticket, now)
    device = db.session.get(Device, ticket.device_id)
    contract = db.session.get(Contract, ticket.contract_id) if ticket.contract_id else None
    out = {"id": ticket.id, "state": ticket.state, "severity": ticket.severity,
           "family": ticket.family, "source": ticket.source, "title": ticket.title,
           "device": device.serial if device else None,
           "contract": contract.code if contract else None,
           "opened_at": ticket.opened_at.isoformat(), "closed_at": tc.closed_at.isoformat() if tc.closed_at else None,
           "outcome": tc.outcome, "clock": tc.to_dict()}
    if full:
        out["devices"] = [{"serial": s, "relation": r} for s, r in db.session.execute(
            select(Device.serial, TicketDevice.relation).join(TicketDevice, TicketDevice.device_id == Device.id)
            .where(TicketDevice.ticket_id == ticket.id).order_by(Device.serial))]
        out["events"] = [{"seq": e.seq, "kind": e.kind, "at": e.at.isoformat(), "data": e.data}
                         for e in service.events_of(db.session, ticket)]
        out["evidence"] = ticket.evidence
    return out


@tickets_cli.command("list")
@click.option("--state", type=click.Choice(list(TicketState.ALL) + ["active"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(state: Optional[str], fmt: str) -> None:
    """Tickets with their clocks (deadlines, time used, holds, breaches), recomputed now."""
    now = clock.now()
    q = select(Ticket).order_by(Ticket.id)
    if state == "active":
        q = q.where(Ticket.state.in_(TicketState.ACTIVE))
    elif state:
        q = q.where(Ticket.state == state)
    rows = [ticket_dict(t, now) for t in db.session.scalars(q)]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    head = ("id", "state", "sev", "device", "contract", "opened", "resp due", "resp used",
            "repair due", "repair used", "holds", "breaches")
    lines = [head]
    for r in rows:
        cur = r["clock"]["cycles"][-1]
        lines.append((str(r["id"]), r["state"], r["severity"], r["device"] or "", r["contract"] or "",
                      localtime.fmt_local(dt.datetime.fromisoformat(r["opened_at"])),
                      _fmt_iso(cur["response"]["due_at"]), _hours(cur["response"]["used_s"]),
                      _fmt_iso(cur["repair"]["due_at"]), _hours(cur["repair"]["used_s"]),
                      str(len(cur["holds"])), str(len(r["clock"]["breaches"]))))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())


def _fmt_iso(value: Optional[str]) -> str:
    return localtime.fmt_local(dt.datetime.fromisoformat(value)) if value else "—"


@tickets_cli.command("show")
@click.argument("ticket_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show_command(ticket_id: int, fmt: str) -> None:
    """One ticket: clocks per cycle, holds, breaches, devices and its full history."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise click.ClickException(f"no ticket {ticket_id}")
    data = ticket_dict(ticket, clock.now(), full=True)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(f"#{data['id']} {data['title']}  [{data['state']}/{data['severity']}]  {data['device']}  {data['contract']}")
    for c in data["clock"]["cycles"]:
        click.echo(f"cycle {c['index']}: {c['severity']} {c['policy']} calendar v{c['calendar']} "
                   f"({c['schedule']}) from {_fmt_iso(c['start'])}")
        for name in ("response", "repair"):
            t = c[name]
            click.echo(f"  {name}: due {_fmt_iso(t['due_at'])}  used {_hours(t['used_s'])} of "
                       f"{_hours(t['target_s'])}  stopped {_fmt_iso(t['stopped_at'])}"
                       f"{'  BREACHED at ' + _fmt_iso(t['breach_at']) if t['breached'] else ''}"
                       f"{'  paused' if t['paused'] else ''}")
        for h in c["holds"]:
            click.echo(f"  hold {h['reason']}: {_fmt_iso(h['start'])} – {_fmt_iso(h['end'])} "
                       f"(−{_hours(h['subtracted_s'])})")
    for d in data["devices"]:
        click.echo(f"device {d['serial']} ({d['relation']})")
    for e in data["events"]:
        click.echo(f"{e['seq']:>3} {_fmt_iso(e['at'])} {e['kind']} {json.dumps(e['data'], ensure_ascii=False)}")


@tickets_cli.command("run")
@click.option("--deliver/--no-deliver", default=True, help="Also deliver due notifications.")
def run_command(deliver: bool) -> None:
    """One pass of the ticket job: open/verify/close from health, refresh clocks, deliver."""
    counts = run_job(current_app, deliver=deliver)
    click.echo(json.dumps(counts, ensure_ascii=False))


def run_job(app: Flask, now: Optional[dt.datetime] = None, deliver: bool = True) -> dict[str, Any]:
    from supervisor.notifications.delivery import deliver_due
    now = now or clock.now()
    settings = app.extensions["settings"]
    tz = settings.LOCAL_TIMEZONE
    counts: dict[str, Any] = {"scan": opening.scan(db.session, now, tz, app.config.get("EVIDENCE_DIR"))}
    counts["refreshed"] = opening.refresh_all(db.session, now)
    db.session.commit()
    if deliver:
        from supervisor.profiles.loader import load_profile
        rules = getattr(load_profile(), "notifications", None)   # the latest default profile
        backoff = (list(rules.retry_backoff_s) if rules is not None else
                   [float(x) for x in settings.NOTIFY_RETRY_BACKOFF_S.split(",") if x.strip()])
        counts["delivery"] = deliver_due(db.session, now, settings, backoff, tz,
                                         default_quiet=rules.quiet_hours if rules is not None else None)
        db.session.commit()
    return counts


@tickets_cli.command("calendar-day")
@click.argument("day")
@click.argument("kind", type=click.Choice(["work", "off", "ordinary"]))
@click.option("--note", required=True, help="Why (e.g. the State Council notice).")
def calendar_day_command(day: str, kind: str, note: str) -> None:
    """Add or override one day (a new calendar version, effective now)."""
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter("not a date YYYY-MM-DD", param_hint="DAY")
    now = clock.now()
    row = service.add_calendar_days(db.session, {date: None if kind == "ordinary" else kind}, now,
                                    None, note, now, current_app.extensions["settings"].LOCAL_TIMEZONE)
    db.session.commit()
    click.echo(f"calendar version {row.id}: {date} {kind}")


@tickets_cli.command("recipient-add")
@click.argument("name")
@click.option("--channel", type=click.Choice(["email", "webhook"]), required=True)
@click.option("--address", required=True, help="E-mail address or webhook URL.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "wecom", "dingtalk"]), default=None,
              help="Message format (e-mail: text; webhook: json, wecom or dingtalk).")
@click.option("--contractor", default=None, help="Contractor name (none: a police recipient).")
@click.option("--quiet-hours", default=None, help='Local quiet hours, e.g. "22:00-07:00".')
def recipient_add_command(name: str, channel: str, address: str, fmt: Optional[str],
                          contractor: Optional[str], quiet_hours: Optional[str]) -> None:
    """Add a notification recipient: the police's, or one contractor's (it gets only the
    tickets of that contractor's contracts)."""
    from supervisor.inventory.models import Contractor
    from supervisor.notifications.delivery import parse_quiet
    from supervisor.notifications.models import Recipient
    cid = None
    if contractor:
        cid = db.session.scalar(select(Contractor.id).where(Contractor.name == contractor))
        if cid is None:
            raise click.BadParameter(f"no contractor named {contractor!r}", param_hint="--contractor")
    try:
        parse_quiet(quiet_hours)
    except ValueError:
        raise click.BadParameter("quiet hours are HH:MM-HH:MM", param_hint="--quiet-hours")
    row = Recipient(name=name, contractor_id=cid, channel=channel, address=address,
                    format=fmt or ("text" if channel == "email" else "json"),
                    quiet_hours=quiet_hours, active=True)
    db.session.add(row)
    db.session.commit()
    click.echo(f"recipient {row.id}: {name} ({channel} {row.format}) "
               f"{'police' if cid is None else 'contractor ' + contractor}")


def _scan_trigger(settings: Any) -> Any:
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(seconds=float(settings.TICKET_SCAN_INTERVAL_S), timezone=dt.timezone.utc)


def init_app(app: Flask) -> None:
    from supervisor.sweeps import scheduler

    app.cli.add_command(tickets_cli)
    # Opens tickets for faults that persisted, refreshes clocks (breach, near-breach
    # events), delivers notifications: the scheduler runs it while it runs.
    scheduler.register_job("tickets:run", "supervisor.tickets.cli:run_job", _scan_trigger,
                           name="tickets: open, clocks, notifications")
