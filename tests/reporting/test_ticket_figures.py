"""Ticket figures (reports/tickets.py) worked out by hand, over tickets made through the ticket
service (so their stored SLA clocks are the ones supervisor/tickets/clock.py wrote).

Two contractors (tests/web world, profile default@2: critical 2 h / 24 h and major 4 h / 48 h,
both 24x7). Local time is UTC+8; March 2026 is [02-28 16:00, 03-31 16:00) UTC.

alpha (CT-ALPHA)
  a  SW-A-1 offline, critical, opened T0 = 03-02 01:00; acknowledged T0+3 h (response
     breached at T0+2 h); repair marked T0+30 h (repair breached at T0+24 h); verified
     T0+30.5 h. Wall 30 h, SLA 30 h.
  b  CAM-A-0 offline, critical, opened T0; acknowledged T0+1 h (met); hold approved T0+2 h
     to T0+12 h; repair marked T0+30 h (20 SLA hours used: met), verified T0+31 h. Wall 30 h.
  d  CAM-A-1 offline, major, opened 03-25 00:00, never answered; its cache is left as of the
     opening: response missed at 03-25 04:00, repair at 03-27 00:00; overdue at March's end
     (03-31 16:00) by 112 h.
beta (CT-BETA)
  c  CAM-B-1 offline, major, opened 03-31 12:00 (20:00 local, March); acknowledged 03-31 17:00
     (April 01:00 local): response breached at 03-31 16:00 = April's first instant; repair
     marked 04-02 00:00 (36 h), verified 04-02 01:00: met in April. Wall 36 h, SLA 36 h.
  e  CAM-B-2 offline, opened 03-10 00:00, closed invalid 03-10 01:00.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from reports import periods
from reports import tickets as tf
from supervisor.core.extensions import db
from supervisor.inventory.models import Contract, Device
from supervisor.tickets import service
from tests.web.conftest import (  # noqa: F401  (the two-contractor world and its fixtures)
    app, cheap_argon2, db_template, fresh_g_per_request, world,
)

T0 = dt.datetime(2026, 3, 2, 1)
NOW = dt.datetime(2026, 4, 5)
MARCH, APRIL = periods.month(2026, 3), periods.month(2026, 4)


def h(x: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=x)


@pytest.fixture
def tickets(app, world):
    for c in db.session.scalars(select(Contract)):
        c.profile_version = 2
    db.session.commit()
    dev = {d.serial: d for d in db.session.scalars(select(Device))}
    a = service.open_ticket(db.session, dev["SW-A-1"], "offline", h(0))
    service.act(db.session, a, "acknowledged", h(3))
    service.act(db.session, a, "repair_marked", h(30))
    service.system_event(db.session, a, "verified", h(30.5))
    b = service.open_ticket(db.session, dev["CAM-A-0"], "offline", h(0))
    service.act(db.session, b, "acknowledged", h(1))
    service.act(db.session, b, "hold_requested", h(2), reason="power_company")
    service.act(db.session, b, "hold_approved", h(2))
    service.act(db.session, b, "hold_ended", h(12))
    service.act(db.session, b, "repair_marked", h(30))
    service.system_event(db.session, b, "verified", h(31))
    d = service.open_ticket(db.session, dev["CAM-A-1"], "offline", dt.datetime(2026, 3, 25))
    c = service.open_ticket(db.session, dev["CAM-B-1"], "offline", dt.datetime(2026, 3, 31, 12))
    service.act(db.session, c, "acknowledged", dt.datetime(2026, 3, 31, 17))
    service.act(db.session, c, "repair_marked", dt.datetime(2026, 4, 2))
    service.system_event(db.session, c, "verified", dt.datetime(2026, 4, 2, 1))
    e = service.open_ticket(db.session, dev["CAM-B-2"], "offline", dt.datetime(2026, 3, 10))
    service.act(db.session, e, "closed_invalid", dt.datetime(2026, 3, 10, 1), reason="duplicate")
    db.session.commit()
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "e": e.id}


def _by(rows):
    return {r["group"]: r for r in rows}


def test_severities_and_clock_as_stored(tickets):
    got = {t.id: t for t in tf.load_tickets(db.session, MARCH.lo, APRIL.hi, NOW)}
    a, b, c, d = (got[tickets[k]] for k in "abcd")
    assert (a.severity, b.severity, c.severity, d.severity) == ("critical", "critical", "major", "major")
    assert (a.response_missed_at, a.repair_missed_at) == (h(2), h(24))
    assert (b.response_met_at, b.repair_met_at, b.repair_missed_at) == (h(1), h(31), None)
    assert b.repair_sla_s == 20 * 3600 and b.repair_wall_s == 30 * 3600   # the hold is left out
    assert c.response_missed_at == dt.datetime(2026, 3, 31, 16)
    assert c.repair_met_at == dt.datetime(2026, 4, 2, 1)
    # d's stored clock is as of its opening: the deadlines it stored are where the clock
    # puts the breaches when recomputed now.
    assert (d.response_missed_at, d.repair_missed_at) == (dt.datetime(2026, 3, 25, 4),
                                                          dt.datetime(2026, 3, 27))
    fresh = service.recompute(db.session, db.session.get(service.Ticket, tickets["d"]), NOW)
    assert sorted((x.target, x.at) for x in fresh.breaches) == [
        ("repair", dt.datetime(2026, 3, 27)), ("response", dt.datetime(2026, 3, 25, 4))]


def test_march_by_contractor(tickets):
    rows = _by(tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW, by="contractor"))
    alpha, beta = rows["Alpha Security Ltd"], rows["Beta Networks Ltd"]
    assert (alpha["tickets_opened"], alpha["tickets_closed"], alpha["tickets_open_end"],
            alpha["tickets_overdue"]) == (3, 2, 1, 1)
    assert (alpha["response_met_critical"], alpha["response_missed_critical"]) == (1, 1)
    assert (alpha["response_met_major"], alpha["response_missed_major"]) == (0, 1)
    assert alpha["response_rate_critical"] == 0.5 and alpha["response_rate_major"] == 0.0
    assert alpha["response_rate"] == pytest.approx(1 / 3)
    assert (alpha["repair_met_critical"], alpha["repair_missed_critical"]) == (1, 1)
    assert alpha["repair_rate_major"] == 0.0 and alpha["repair_rate"] == pytest.approx(1 / 3)
    assert alpha["repaired"] == 2
    assert alpha["mttr_h"] == 30.0                        # (30 + 30) / 2 wall hours
    assert alpha["mttr_sla_h"] == 25.0                    # (30 + 20) / 2: the hold left out
    # beta: c is opened in March but nothing of it is decided before April; e is invalid.
    assert (beta["tickets_opened"], beta["tickets_invalid"], beta["tickets_closed"],
            beta["tickets_open_end"], beta["tickets_overdue"]) == (2, 1, 1, 1, 0)
    assert beta["response_rate"] is None and beta["repair_rate"] is None and beta["mttr_h"] is None


def test_april_takes_what_crossed_the_boundary(tickets):
    rows = _by(tf.ticket_figures(db.session, APRIL.lo, APRIL.hi, NOW, by="contract"))
    beta = rows["CT-BETA"]
    assert (beta["tickets_opened"], beta["tickets_closed"]) == (0, 1)
    assert (beta["response_missed_major"], beta["repair_met_major"]) == (1, 1)
    assert beta["mttr_h"] == 36.0 and beta["mttr_sla_h"] == 36.0
    alpha = rows["CT-ALPHA"]                               # d: still open and overdue at now
    assert (alpha["tickets_opened"], alpha["tickets_open_end"], alpha["tickets_overdue"]) == (0, 1, 1)
    assert alpha["response_missed"] == 0                   # decided in March, not again


def test_city_is_the_sum_and_the_overdue_list(tickets):
    city = tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW)
    assert len(city) == 1
    by = tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW, by="device")
    for key in ("tickets_opened", "tickets_closed", "tickets_overdue", "response_met",
                "response_missed", "repair_met", "repair_missed", "repaired"):
        assert city[0][key] == sum(r[key] for r in by), key
    (late,) = tf.overdue_list(db.session, MARCH.lo, MARCH.hi, NOW)
    assert (late["id"], late["device"], late["severity"], late["deadline"]) == (
        tickets["d"], "CAM-A-1", "major", dt.datetime(2026, 3, 27))
    assert late["overdue_h"] == 112.0                      # 03-27 00:00 → 03-31 16:00


def test_scope_keeps_other_contractors_out(tickets, world):
    rows = tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW, by="contractor",
                             device_ids=world.alpha_devices)
    assert [r["group"] for r in rows] == ["Alpha Security Ltd"]
    rows = tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW, by="contract",
                             contract_ids=[world.beta_contract])
    assert [r["group"] for r in rows] == ["CT-BETA"]
    assert tf.overdue_list(db.session, MARCH.lo, MARCH.hi, NOW,
                           contract_ids=[world.beta_contract]) == []


def test_a_closed_month_does_not_move(tickets):
    """Computed later, March reads the same: every decision falls in one period."""
    first = tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW, by="contract")
    later = tf.ticket_figures(db.session, MARCH.lo, MARCH.hi, NOW + dt.timedelta(days=40),
                              by="contract")
    assert first == later


# ------------------------------------------------------------------ surfaces

def test_cli_what_tickets(tickets, runner):
    import json

    out = runner.invoke(args=["report", "figures", "--period", "2026-03", "--by", "contractor",
                              "--what", "tickets", "--format", "json", "--now", "2026-04-05T08:00"])
    assert out.exit_code == 0, out.output
    rows = {r["group"]: r for r in json.loads(out.output)["rows"]}
    assert rows["Alpha Security Ltd"]["tickets_overdue"] == 1
    assert rows["Alpha Security Ltd"]["mttr_sla_h"] == 25.0
    assert rows["Alpha Security Ltd"]["response_target_h_critical"] == 2.0
    table = runner.invoke(args=["report", "figures", "--period", "2026-03", "--by", "contractor",
                                "--what", "tickets", "--now", "2026-04-05T08:00"]).output
    line = next(x for x in table.splitlines() if x.startswith("Alpha"))
    assert line.split()[3:6] == ["3", "2", "1"]          # opened, closed, overdue


def test_pages_show_ticket_figures_scoped(tickets, app, world):
    import re

    from supervisor.core import clock
    from tests.web.conftest import login

    with clock.pinned(NOW):
        police = app.test_client()
        login(police, "police")
        police.get("/lang/en")
        html = police.get("/reports/figures?period=2026-03&by=contractor").get_data(as_text=True)
        part = html.split('id="ticket-figures"')[1].split("</table>")[0]
        assert "Alpha Security Ltd" in part and "Beta Networks Ltd" in part
        assert "Response within target · critical" in html
        alpha_row = next(r for r in part.split("<tr>") if "Alpha Security Ltd" in r)
        cells = re.findall(r'<td class="num">([^<]*)</td>', alpha_row)
        # opened, closed, open at the end, overdue, responses in time, late, rate …
        assert cells[:7] == ["3", "2", "1", "1", "1", "2", "33.3333%"], cells
        csv_text = police.get("/reports/figures.csv?period=2026-03&by=contract&what=tickets"
                              ).data.decode("utf-8-sig")
        assert "CT-ALPHA" in csv_text and "CT-BETA" in csv_text
        dash = police.get("/reports/?month=2026-03").get_data(as_text=True)
        assert re.search(r'id="tickets-overdue">1<', dash)
        assert re.search(r'id="tickets-opened">5<', dash)
        card = police.get("/reports/scorecard?month=2026-03&format=csv").data.decode("utf-8-sig")
        alpha_line = next(x for x in card.splitlines() if x.startswith("CT-ALPHA"))
        assert ",3,1," in alpha_line                      # opened 3, overdue 1

        alpha = app.test_client()
        login(alpha, "alpha")
        alpha.get("/lang/en")
        html = alpha.get("/reports/figures?period=2026-03&by=contractor").get_data(as_text=True)
        part = html.split('id="ticket-figures"')[1]
        assert "Alpha Security Ltd" in part and "Beta Networks Ltd" not in part
        csv_text = alpha.get("/reports/figures.csv?period=2026-03&by=contract&what=tickets"
                             ).data.decode("utf-8-sig")
        assert "CT-ALPHA" in csv_text and "CT-BETA" not in csv_text
        dash = alpha.get("/reports/?month=2026-03").get_data(as_text=True)
        assert re.search(r'id="tickets-opened">3<', dash)
        summary = alpha.get("/tickets/summary?month=2026-03").get_data(as_text=True)
        assert "Alpha Security Ltd" in summary and "Beta Networks Ltd" not in summary

        beta = app.test_client()
        login(beta, "beta")
        dash = beta.get("/reports/?month=2026-03").get_data(as_text=True)
        assert re.search(r'id="tickets-overdue">0<', dash)
        zh = beta.get("/reports/figures?period=2026-03&by=contract").get_data(as_text=True)
        assert "响应达标率" in zh or "按时响应" in zh


def test_pdf_lists_the_overdue_tickets(tickets, runner, tmp_path):
    import subprocess

    out = tmp_path / "m.pdf"
    res = runner.invoke(args=["report", "monthly", "--month", "2026-03", "--pdf", str(out),
                              "--now", "2026-04-05T08:00"])
    assert res.exit_code == 0, res.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    section = text.split("超期工单（截至")[1].split("六、")[0]
    line = next(x for x in section.splitlines() if "CAM-A-1" in x)
    assert "112.00" in line and "重要" in line and "CT-ALPHA" in line
    assert "CAM-B-1" not in section                        # open at the end, not overdue
    assert "工单模块尚未接入" not in text
    only_beta = tmp_path / "b.pdf"
    res = runner.invoke(args=["report", "monthly", "--month", "2026-03", "--contract", "CT-BETA",
                              "--pdf", str(only_beta), "--now", "2026-04-05T08:00"])
    assert res.exit_code == 0, res.output
    text = subprocess.run(["pdftotext", "-layout", str(only_beta), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "CAM-A-1" not in text and "本月末没有超期工单" in text
