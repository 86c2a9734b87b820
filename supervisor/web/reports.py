"""Report pages: the city dashboard, figures by any grouping, a community, a contract with its
ledger, the contractor scorecard, and the monthly PDF archive. Every table exports to CSV and
XLSX. Who sees what: police and officials read every report; a contractor's user reads only
its own contracts' devices (supervisor/core/scoping.py). Numbers come from reports/views.py,
the same functions as the CLI and the PDF."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from reports import exports, periods, views
from reports import ledger_store as ls
from reports import tickets as ticket_figs
from reports.figures import GROUPINGS
from supervisor.reporting.models import ReportArchive
from supervisor.core import audit, clock, localtime, scoping
from supervisor.reporting import context
from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.inventory.models import Community, Contract, Device
from supervisor.web.guards import police_only, roles_required

bp = Blueprint("reports", __name__, url_prefix="/reports")
readers = roles_required(Role.POLICE, Role.OFFICIAL, Role.CONTRACTOR)


# ------------------------------------------------------------------ scope

def _all_reports() -> bool:
    return current_user.role in (Role.POLICE, Role.OFFICIAL)


def scope_device_ids() -> list[int] | None:
    """None (every device) for police and officials, else the contractor's devices."""
    if _all_reports():
        return None
    return list(db.session.scalars(select(Device.id).where(scoping.device_clause(current_user))))


def visible_contracts() -> list[Contract]:
    q = select(Contract).order_by(Contract.code)
    if not _all_reports():
        q = q.where(scoping.contract_clause(current_user))
    return list(db.session.scalars(q))


def _contract_or_404(contract_id: int) -> Contract:
    q = select(Contract).where(Contract.id == contract_id)
    if not _all_reports():
        q = q.where(scoping.contract_clause(current_user))
    return db.session.scalar(q) or abort(404)


def _community_or_404(community_id: int) -> Community:
    q = select(Community).where(Community.id == community_id)
    if not _all_reports():
        q = q.where(scoping.community_clause(current_user))
    return db.session.scalar(q) or abort(404)


# ------------------------------------------------------------------ helpers

def _month_arg() -> periods.Period:
    text = request.args.get("month") or localtime.to_local(clock.now()).strftime("%Y-%m")
    try:
        p = periods.parse(text)
    except ValueError:
        abort(400)
    if p.kind != "month":
        abort(400)
    return p


def _period_arg() -> periods.Period:
    text = request.args.get("period") or localtime.to_local(clock.now()).strftime("%Y-%m")
    try:
        return periods.parse(text)
    except ValueError:
        abort(400)


def _profile() -> Any:
    return context.city_profile(current_app.extensions["settings"].SCHEDULER_PROFILE)


def figure_columns() -> list[tuple[str, str]]:
    return [("group", _("Group")), ("devices", _("Devices")),
            ("measured_h", _("Denominator (h)")), ("online_rate", _("Online rate")),
            ("online_rate_target", _("Target")), ("online_rate_met", _("Met")),
            ("intact_rate", _("Intact rate")), ("intact_rate_target", _("Target")),
            ("unplanned_outage_h", _("Unplanned outage (h)")),
            ("planned_outage_h", _("Planned outage (h)")),
            ("measured_s", _("Denominator (s)")), ("online_s", _("Online (s)")),
            ("ok_s", _("Intact (s)")), ("unplanned_outage_s", _("Unplanned outage (s)")),
            ("upstream_outage_s", _("of which upstream (s)")),
            ("planned_outage_s", _("Planned outage (s)")), ("unknown_s", _("Not measured (s)")),
            ("in_service_s", _("In service (s)")), ("clock_accuracy", _("Clock accuracy")),
            ("clock_checks", _("Clock checks")), ("coverage", _("Coverage")),
            ("coverage_filled_slot_h", _("Slot hours filled")),
            ("coverage_required_slot_h", _("Slot hours required"))]


def ticket_columns(severities=ticket_figs.SEVERITIES) -> list[tuple[str, str]]:
    """The ticket figures' columns (reports/tickets.py), counts beside every rate."""
    from supervisor.web.vocabulary import term

    cols = [("group", _("Group")), ("tickets_opened", _("Tickets opened")),
            ("tickets_closed", _("Tickets closed")), ("tickets_open_end", _("Open at the end")),
            ("tickets_overdue", _("Overdue at the end")),
            ("response_met", _("Responses in time")), ("response_missed", _("Responses late")),
            ("response_rate", _("Response within target"))]
    cols += [(f"response_rate_{s}", f"{_('Response within target')} · {term(s, 'severity')}")
             for s in severities]
    cols += [("repair_met", _("Repairs in time")), ("repair_missed", _("Repairs late")),
             ("repair_rate", _("Repair within target"))]
    cols += [(f"repair_rate_{s}", f"{_('Repair within target')} · {term(s, 'severity')}")
             for s in severities]
    cols += [("repaired", _("Repaired and verified")), ("mttr_h", _("MTTR (hours)")),
             ("mttr_sla_h", _("MTTR in SLA hours")), ("tickets_invalid", _("Closed as invalid"))]
    return cols


def ticket_rows(period: periods.Period, by: str) -> list[dict[str, Any]]:
    """The period's ticket figures for the reader's scope: the ticket's root device among the
    reader's devices and, for a contractor, the ticket's contract among its contracts."""
    contract_ids = None if _all_reports() else [c.id for c in visible_contracts()]
    rows = ticket_figs.ticket_figures(db.session, period.lo, period.hi, clock.now(), by,
                                      scope_device_ids(), contract_ids,
                                      ticket_figs.sla_hours_of(_profile()))
    for r in rows:
        for k in ("mttr_h", "mttr_sla_h"):
            r[k] = None if r[k] is None else round(r[k], 2)
    return rows


def ledger_columns() -> list[tuple[str, str]]:
    return [("index", _("No.")), ("month", _("Month")), ("status", _("Status")),
            ("instalment", _("Instalment")), ("score", _("Score")),
            ("coefficient", _("Coefficient")), ("earned", _("Earned")),
            ("withheld", _("Withheld")), ("carried", _("Adjustments")),
            ("payable", _("Payable")), ("cumulative", _("Cumulative")),
            ("sha256", _("Snapshot hash"))]


def _translated(spec: dict[str, Any], title: str) -> dict[str, Any]:
    """A chart spec with its title and series names in the reader's language."""
    names = {"online": _("Online rate"), "intact": _("Intact rate"), "target": _("Target"),
             "cumulative": _("Cumulative"), "investment": _("Investment")}
    out = dict(spec, title=title)
    out["series"] = [dict(s, name=names.get(s["name"], s["name"])) for s in spec["series"]]
    return out


def _send(columns, rows, fmt: str, name: str) -> Response:
    if fmt == "csv":
        return Response(exports.to_csv(columns, rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(exports.to_xlsx(columns, rows, name), headers={
            "Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    abort(404)


def _pct(v: Any) -> str:
    return "—" if v is None else f"{v * 100:.4f}%"


def _ledger_dicts(rows) -> list[dict[str, Any]]:
    return [{"index": r.index, "month": r.month, "status": report_label("status_" + r.status),
             "instalment": r.instalment,
             "score": r.score, "coefficient": r.coefficient, "earned": r.earned,
             "withheld": r.withheld, "carried": r.carried, "payable": r.payable,
             "cumulative": r.cumulative, "sha256": r.sha256} for r in rows]


from flask_babel import lazy_gettext as _l

REPORT_LABELS = {
    # calendar schedules of the profile a figure may be limited to
    "hours_24x7": _l("the whole day"), "hours_working_hours": _l("working hours"),
    "by_city": _l("city"), "by_district": _l("district"), "by_community": _l("community"),
    "by_contract": _l("contract"), "by_contractor": _l("contractor"), "by_vendor": _l("vendor"),
    "by_role": _l("role"), "by_kind": _l("device kind"), "by_device": _l("device"),
    "payment_score": _l("100-point score with bands"),
    "payment_availability": _l("availability deductions"),
    "channel_fault_over_hours": _l("channel faulty over the hours limit"),
    "late_response": _l("late response"), "late_repair": _l("late repair"),
    "missed_inspection": _l("missed inspection"), "falsified_report": _l("falsified report"),
    "availability": _l("unavailability after the grace period"),
    "status_closed": _l("closed month"), "status_due": _l("ended, not closed"),
    "status_in_progress": _l("month in progress"), "status_projected": _l("projected"),
    "archive_building": _l("PDF building"), "archive_done": _l("PDF built"),
    "archive_failed": _l("PDF failed"),
}


def report_label(code: str) -> str:
    return str(REPORT_LABELS.get(code, code))


@bp.context_processor
def _report_helpers() -> dict[str, Any]:
    return {"rlabel": report_label}


@bp.app_template_filter("report_local")
def report_local_filter(v: Any) -> str:
    """Stored UTC (a datetime, or the ISO text a ledger snapshot keeps) in local time."""
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v)
        except ValueError:
            return v
    return localtime.fmt_local(v)


@bp.app_template_filter("pct")
def pct_filter(v: Any) -> str:
    return _pct(v)


@bp.app_template_filter("yuan")
def yuan_filter(v: Any) -> str:
    return "—" if v is None else f"{Decimal(v):,.2f}"


@bp.app_template_filter("hours")
def hours_filter(v: Any) -> str:
    return "—" if v is None else f"{v:,.2f}"


# ------------------------------------------------------------------ pages

@bp.get("/")
@readers
def index():
    month = _month_arg()
    profile = _profile()
    targets = context.targets_of(profile)
    now = clock.now()
    data = views.dashboard(db.session, month, now, targets, context.coverage_slots(profile),
                           scope_device_ids())
    tiles = current_app.extensions["settings"].REPORT_MAP_TILES
    archive = db.session.scalars(select(ReportArchive).where(ReportArchive.status == "done")
                                 .order_by(ReportArchive.month.desc()).limit(6)).all()
    city_tickets = ticket_rows(month, "city")
    return render_template(
        "reports/dashboard.html", d=data, month=month, targets=targets,
        ticket_city=city_tickets[0] if city_tickets else None,
        severities=ticket_figs.SEVERITIES, sla_hours=ticket_figs.sla_hours_of(profile),
        trend_fig=views.charts.to_plotly(_translated(data["trend_chart"],
                                                     _("Online / intact rate"))),
        map_fig=views.map_figure(data["map"], tiles) if data["map"] else None,
        contracts=visible_contracts(), archive=archive if _all_reports() else [],
        prev=periods.add_months(month.first, -1).strftime("%Y-%m"),
        next=periods.add_months(month.first, 1).strftime("%Y-%m"))


def _hours_arg() -> str | None:
    """`hours`: a calendar schedule of the profile (e.g. working_hours), or the whole day."""
    hours = request.args.get("hours") or None
    if hours is not None and hours not in context.hour_schedules():
        abort(400)
    return None if hours == "24x7" else hours


def _figures_rows(period: periods.Period, by: str, hours: str | None = None
                  ) -> list[dict[str, Any]]:
    return context.figures_for(db.session, period, by, clock.now(), scope_device_ids(),
                               hours=hours)


@bp.get("/figures")
@readers
def figures_page():
    period = _period_arg()
    by = request.args.get("by", "district")
    if by not in GROUPINGS:
        abort(400)
    hours = _hours_arg()
    rows = _figures_rows(period, by, hours)
    return render_template("reports/figures.html", period=period, by=by, rows=rows,
                           hours=hours or "24x7", schedules=context.hour_schedules(),
                           groupings=GROUPINGS, columns=figure_columns(),
                           ticket_rows=ticket_rows(period, by), ticket_columns=ticket_columns())


@bp.get("/figures.<fmt>")
@readers
def figures_export(fmt: str):
    period = _period_arg()
    by = request.args.get("by", "district")
    if by not in GROUPINGS:
        abort(400)
    if request.args.get("what") == "tickets":
        return _send(ticket_columns(), ticket_rows(period, by), fmt,
                     f"tickets-{period.label}-{by}")
    hours = _hours_arg()
    return _send(figure_columns(), _figures_rows(period, by, hours), fmt,
                 f"figures-{period.label}-{by}" + (f"-{hours}" if hours else ""))


@bp.get("/community/<int:community_id>")
@readers
def community(community_id: int):
    com = _community_or_404(community_id)
    month = _month_arg()
    ids = [d for d in db.session.scalars(select(Device.id).where(Device.community_id == com.id))]
    scope = scope_device_ids()
    if scope is not None:
        allowed = set(scope)
        ids = [d for d in ids if d in allowed]
    rows = context.figures_for(db.session, month, "device", clock.now(), ids)
    total = context.figures_for(db.session, month, "city", clock.now(), ids)
    if request.args.get("format") in ("csv", "xlsx"):
        return _send(figure_columns(), rows, request.args["format"], f"community-{com.id}-{month.label}")
    return render_template("reports/community.html", com=com, month=month, rows=rows,
                           total=total[0] if total else None, columns=figure_columns())


def _contract_ledger(c: Contract):
    from supervisor.profiles.loader import profile_for
    profile = profile_for(c)
    rows = ls.ledger(db.session, c, clock.now(), profile)
    return profile, rows


@bp.get("/contract/<int:contract_id>")
@readers
def contract(contract_id: int):
    from supervisor.profiles.schema import ProfileError

    c = _contract_or_404(contract_id)
    try:
        profile, rows = _contract_ledger(c)
    except ProfileError as exc:  # the contract's profile file is missing or invalid
        return render_template("error.html", code=500,
                               message=_("The contract's standard profile cannot be loaded: %(why)s",
                                         why=str(exc))), 500
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        return _send(ledger_columns(), _ledger_dicts(rows), fmt, f"ledger-{c.code}")
    current = next((r for r in rows if r.status in ("in_progress", "due")), None)
    pick = request.args.get("m", type=int)
    shown = next((r for r in rows if r.index == pick), None) if pick else None
    shown = shown or next((r for r in reversed(rows) if r.status in ("closed", "due")), current)
    detail = shown.result if shown is not None else None
    if detail is not None and not isinstance(detail, dict):
        detail = detail.to_json()
    return render_template(
        "reports/contract.html", c=c, rows=rows, summary=ls.summary(c, rows), profile=profile,
        chart=views.charts.to_plotly(_translated(views.ledger_chart(rows, c.investment, ""),
                                                 _("Cumulative payable against the investment"))),
        shown=shown, detail=detail, columns=ledger_columns(),
        can_police=current_user.role == Role.POLICE)


@bp.post("/contract/<int:contract_id>/waive")
@police_only
def waive(contract_id: int):
    c = _contract_or_404(contract_id)
    from supervisor.profiles.loader import profile_for
    index = request.form.get("index", type=int) or 0
    if not 1 <= index <= c.term_months:
        abort(400)
    key, reason = request.form.get("line_key", ""), request.form.get("reason", "")
    try:
        w, adj = ls.waive(db.session, c, index, key, reason, current_user.username, clock.now(),
                          profile_for(c))
    except ls.LedgerError as exc:
        db.session.rollback()
        flash(_("Not waived: %(why)s", why=str(exc)))
        return redirect(url_for("reports.contract", contract_id=c.id, m=index))
    audit.record(current_user, "waive", "ledger_line", f"{c.code}/{index}/{key}",
                 after={"reason": w.reason, "adjustment": str(adj.amount) if adj else None})
    db.session.commit()
    flash(_("Deduction waived."))
    return redirect(url_for("reports.contract", contract_id=c.id, m=index))


@bp.post("/contract/<int:contract_id>/close")
@police_only
def close(contract_id: int):
    c = _contract_or_404(contract_id)
    from supervisor.profiles.loader import profile_for
    index = request.form.get("index", type=int) or 0
    if not 1 <= index <= c.term_months:
        abort(400)
    try:
        row = ls.close_month(db.session, c, index, clock.now(), profile_for(c), current_user.username)
    except ls.LedgerError as exc:
        db.session.rollback()
        flash(_("Not closed: %(why)s", why=str(exc)))
        return redirect(url_for("reports.contract", contract_id=c.id, m=index))
    audit.record(current_user, "close", "ledger_month", f"{c.code}/{index}",
                 after={"payable": str(row.payable), "sha256": row.content_sha256})
    db.session.commit()
    flash(_("Month closed."))
    return redirect(url_for("reports.contract", contract_id=c.id, m=index))


SCORECARD_TICKETS = ("tickets_opened", "tickets_overdue", "response_rate", "repair_rate",
                     "mttr_h", "mttr_sla_h")


# ------------------------------------------------------------------ contract events

EVENT_PROBLEMS = {
    "rule_unknown": _l("Choose one of the rules this contract's profile deducts for per event."),
    "time_missing": _l("A local time, e.g. 2026-03-05 09:50."),
    "time_future": _l("The event cannot be in the future."),
    "time_before_contract": _l("The event is before the contract's first month."),
    "reason_missing": _l("Say why: the reason is kept with the event."),
    "reason_long": _l("At most 2000 characters."),
    "community_not_on_contract": _l("Not a community of this contract."),
    "device_not_on_contract": _l("No device with this serial on this contract."),
    "device_not_in_community": _l("The device is not in the chosen community."),
}


def _events_page(c: Contract, form: dict[str, str], errors: dict[str, str], status: int = 200):
    from supervisor.profiles.loader import profile_for
    from supervisor.reporting import events as contract_events

    try:
        rules = sorted(contract_events.event_rules(profile_for(c)))
    except Exception:  # a missing profile: the list still shows, no rule to record under
        rules = []
    items = contract_events.events_of(db.session, c)
    names = {d.id: d.serial for d in db.session.scalars(select(Device).where(
        Device.id.in_({e.device_id for e in items if e.device_id})))} if items else {}
    places = {m.id: m.name for m in c.communities}
    return render_template("reports/events.html", c=c, rules=rules, items=items, form=form,
                           errors=errors, devices=names, places=places,
                           communities=sorted(c.communities, key=lambda m: m.name),
                           can_police=current_user.role == Role.POLICE), status


@bp.get("/contract/<int:contract_id>/events")
@readers
def contract_events_page(contract_id: int):
    """The events recorded against a contract (a contractor sees its own contracts' only);
    police record one here."""
    c = _contract_or_404(contract_id)
    return _events_page(c, {}, {})


@bp.post("/contract/<int:contract_id>/events")
@police_only
def record_contract_event(contract_id: int):
    from supervisor.core.ids import parse_id
    from supervisor.profiles.loader import profile_for
    from supervisor.reporting import events as contract_events

    c = _contract_or_404(contract_id)
    form = {k: request.form.get(k, "") for k in ("rule", "occurred_at", "community", "device",
                                                  "reason")}
    errors: dict[str, str] = {}
    local = localtime.parse_local(form["occurred_at"])
    community_id = None
    if form["community"]:
        community_id = parse_id(form["community"])
        if community_id is None:
            errors["community"] = str(EVENT_PROBLEMS["community_not_on_contract"])
    try:
        row, adj = contract_events.record_event(
            db.session, c, profile_for(c), rule=form["rule"],
            occurred_at=localtime.local_to_utc(local) if local else None, reason=form["reason"],
            actor=current_user, now=clock.now(), community_id=community_id,
            device_serial=form["device"] or None)
    except contract_events.EventError as exc:
        db.session.rollback()
        for p in exc.problems:
            errors.setdefault(p.field, str(EVENT_PROBLEMS.get(p.code, p.message)))
        return _events_page(c, form, errors, 400)
    if errors:
        db.session.rollback()
        return _events_page(c, form, errors, 400)
    db.session.commit()
    flash(_("Event recorded; the ledger deducts for it in its month.") if adj is None else
          _("Event recorded; its month was closed, so the change is an adjustment in the next "
            "open month."))
    return redirect(url_for("reports.contract_events_page", contract_id=c.id))


@bp.get("/scorecard")
@readers
def scorecard():
    month = _month_arg()
    figs = {r["group"]: r for r in context.figures_for(db.session, month, "contractor",
                                                       clock.now(), scope_device_ids())}
    cards = []
    for c in visible_contracts():
        try:
            profile, rows = _contract_ledger(c)
        except Exception:  # a contract without a loadable profile: figures only
            profile, rows = None, []
        this = next((r for r in rows if r.month == month.label), None)
        cards.append({"contract": c, "contractor": c.contractor.name, "row": this,
                      "figures": figs.get(c.contractor.name)})
    tix = {r["group"]: r for r in ticket_rows(month, "contract")}
    rows = [{"contract": k["contract"].code, "contractor": k["contractor"],
             "online_rate": (k["figures"] or {}).get("online_rate"),
             "intact_rate": (k["figures"] or {}).get("intact_rate"),
             **{key: tix.get(k["contract"].code, {}).get(key) for key in SCORECARD_TICKETS},
             "score": k["row"].score if k["row"] else None,
             "earned": k["row"].earned if k["row"] else None,
             "withheld": k["row"].withheld if k["row"] else None} for k in cards]
    columns = [("contract", _("Contract")), ("contractor", _("Contractor")),
               ("online_rate", _("Online rate")), ("intact_rate", _("Intact rate")),
               ("tickets_opened", _("Tickets opened")), ("tickets_overdue", _("Overdue at the end")),
               ("response_rate", _("Response within target")),
               ("repair_rate", _("Repair within target")), ("mttr_h", _("MTTR (hours)")),
               ("mttr_sla_h", _("MTTR in SLA hours")),
               ("score", _("Score")), ("earned", _("Earned")), ("withheld", _("Withheld"))]
    if request.args.get("format") in ("csv", "xlsx"):
        return _send(columns, rows, request.args["format"], f"scorecard-{month.label}")
    return render_template("reports/scorecard.html", month=month, rows=rows, columns=columns)


# ------------------------------------------------------------------ archive

@bp.get("/archive")
@roles_required(Role.POLICE, Role.OFFICIAL)
def archive():
    items = db.session.scalars(select(ReportArchive).order_by(ReportArchive.month.desc(),
                                                              ReportArchive.id.desc())).all()
    return render_template("reports/archive.html", items=items)


@bp.get("/archive/<int:item_id>.json")
@roles_required(Role.POLICE, Role.OFFICIAL)
def archive_status(item_id: int):
    item = db.session.get(ReportArchive, item_id) or abort(404)
    return {"status": item.status, "progress": item.progress, "step": item.step,
            "sha256": item.sha256, "error": item.error}


@bp.get("/archive/<int:item_id>/download")
@roles_required(Role.POLICE, Role.OFFICIAL)
def archive_download(item_id: int):
    item = db.session.get(ReportArchive, item_id) or abort(404)
    if item.status != "done" or not item.path:
        abort(404)
    base = Path(current_app.extensions["settings"].REPORT_DIR)
    path = (base / item.path).resolve()
    if base.resolve() not in path.parents or not path.exists():
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=path.name)


@bp.post("/archive/build")
@police_only
def archive_build():
    import threading

    from supervisor.reporting import archive as monthly
    text = request.form.get("month", "")
    try:
        month = periods.parse(text)
        assert month.kind == "month"
    except (ValueError, AssertionError):
        flash(_("Choose a month (YYYY-MM)."))
        return redirect(url_for("reports.archive"))
    item = monthly.start_archive(db.session, month, None, clock.now())
    db.session.commit()
    app = current_app._get_current_object()
    threading.Thread(target=monthly.build_archived, args=(app, item.id), daemon=True).start()
    return redirect(url_for("reports.archive", building=item.id))


# ------------------------------------------------------------------ evidence

@bp.route("/evidence", methods=["GET"])
@police_only
def evidence():
    """Which cameras saw a point (a street corner) — or every camera of a community — in a
    time window, and were they working; with a map of the cameras found."""
    from supervisor.core.ids import parse_id

    from reports.evidence import lookup, lookup_community

    args = request.args
    errors: dict[str, str] = {}
    found = None
    form = {k: args.get(k, "") for k in ("lat", "lon", "radius", "start", "end", "community")}
    communities = list(db.session.execute(select(Community.id, Community.name)
                                          .order_by(Community.name)))
    point = None
    if any(form.values()):
        community_id = None
        if form["community"]:
            community_id = parse_id(form["community"])
            if community_id is None or db.session.get(Community, community_id) is None:
                errors["community"] = _("Choose a community from the list.")
        elif form["lat"] or form["lon"]:
            try:
                lat, lon = float(form["lat"]), float(form["lon"])
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise ValueError
                point = (lat, lon)
            except ValueError:
                errors["lat"] = _("Latitude and longitude in degrees.")
        else:
            errors["lat"] = _("A point (latitude and longitude) or a community.")
        try:
            radius = float(form["radius"] or 20)
            if not 0 <= radius <= 5000:
                raise ValueError
        except ValueError:
            errors["radius"] = _("A radius from 0 to 5000 metres.")
        start, end = localtime.parse_local(form["start"]), localtime.parse_local(form["end"])
        if start is None:
            errors["start"] = _("A local time, e.g. 2026-03-05 09:50.")
        if end is None:
            errors["end"] = _("A local time, e.g. 2026-03-05 10:10.")
        elif start is not None and end <= start:
            errors["end"] = _("The end must be after the start.")
        if not errors:
            lo, hi = localtime.local_to_utc(start), localtime.local_to_utc(end)
            if community_id is not None:
                found = lookup_community(db.session, community_id, lo, hi, clock.now())
            else:
                found = lookup(db.session, point[0], point[1], radius, lo, hi, clock.now())
    fig = None
    if found:
        fig = views.evidence_map(found, point, current_app.extensions["settings"].REPORT_MAP_TILES,
                                 {"ok": _("online, clear and recording"),
                                  "bad": _("not working in the window"),
                                  "unknown": _("not measured"), "point": _("the point")})
    return render_template("reports/evidence.html", form=form, errors=errors, found=found,
                           communities=communities, map_fig=fig)
