"""Contract events police record (missed inspection, falsified report): the page form (CSRF,
every error beside its field, nothing written on error), the CLI, the audit entry, the ledger
line linked to its event, a closed month corrected by an adjustment, and who sees what.

World: tests/reporting/test_pages.py `history` (CT-ALPHA from 2026-01, 600,000.00 over 60
months = 10,000.00 a month; March: CAM-A-0 offline 10 h > 8 h, −1 point → 99 → band 1.00).
Profile default@2: missed_inspection −5 per event, falsified_report −3; bands ≥95 → 1.00,
≥90 → 0.95.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from reports import ledger_store as ls
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Contract
from supervisor.profiles.loader import profile_for
from supervisor.reporting.models import ContractEvent, LedgerAdjustment
from tests.reporting.test_pages import NOW, history  # noqa: F401
from tests.web.conftest import csrf_from, login
from tests.web.conftest import (  # noqa: F401  (the two-contractor world and its fixtures)
    app, cheap_argon2, db_template, fresh_g_per_request, world,
)


def _march(contract_id: int):
    c = db.session.get(Contract, contract_id)
    return ls.compute_month(db.session, c, 3, NOW, profile_for(c))


def test_police_record_an_event_and_the_ledger_deducts(client, history, world):
    login(client, "police")
    url = f"/reports/contract/{world.alpha_contract}/events"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    r = client.post(url, data={"csrf_token": token, "rule": "missed_inspection",
                               "occurred_at": "2026-03-12T10:00",
                               "community": str(world.alpha_community), "device": "CAM-A-1",
                               "reason": "3月12日未按计划巡检阳光小区"})
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    ev = db.session.scalars(select(ContractEvent)).one()
    assert ev.occurred_at == dt.datetime(2026, 3, 12, 2)           # 10:00 local = 02:00 UTC
    assert ev.recorded_by == "police"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "contract_event")).one()
    assert entry.actor == "police" and entry.after["rule"] == "missed_inspection"
    res = _march(world.alpha_contract)
    (line,) = [ln for ln in res.lines if ln.rule == "missed_inspection"]
    assert line.key == f"missed_inspection:event:{ev.id}" and line.events == [ev.id]
    assert line.points == Decimal("5")
    # 100 − 1 (CAM-A-0 over 8 h) − 5 = 94 → band ≥ 90 → 0.95 × 10,000.00
    assert res.score == Decimal("94") and res.earned == Decimal("9500.00")
    html = client.get(f"/reports/contract/{world.alpha_contract}?m=3").get_data(as_text=True)
    assert f"#event-{ev.id}" in html
    # The lines read in the reader's language and time zone (not the stored UTC).
    assert "2026-03-12 10:00" in html and "2026-03-12T02:00" not in html
    assert "故障 10.00 小时，超过 8 小时的限值" in html
    client.get("/lang/en")
    html = client.get(f"/reports/contract/{world.alpha_contract}?m=3").get_data(as_text=True)
    assert "faulty 10.00 h, over the 8 h limit" in html
    listing = client.get(url).get_data(as_text=True)
    assert "3月12日未按计划巡检阳光小区" in listing and "2026-03-12 10:00" in listing
    # beta's ledger is untouched
    assert not [ln for ln in _march(world.beta_contract).lines if ln.rule == "missed_inspection"]


def test_form_errors_all_at_once_beside_their_fields(client, history, world):
    login(client, "police")
    client.get("/lang/en")
    url = f"/reports/contract/{world.alpha_contract}/events"
    token = csrf_from(client.get(url).get_data(as_text=True))
    r = client.post(url, data={"csrf_token": token, "rule": "channel_fault_over_hours",
                               "occurred_at": "2027-01-01T00:00", "device": "CAM-B-1",
                               "reason": "  "})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    for field in ("rule", "occurred_at", "device", "reason"):
        assert f'id="error-{field}"' in html, field
    assert "No device with this serial on this contract." in html
    assert db.session.scalars(select(ContractEvent)).all() == []
    # without the CSRF token nothing is recorded either
    r = client.post(url, data={"rule": "missed_inspection", "occurred_at": "2026-03-12T10:00",
                               "reason": "x"})
    assert r.status_code == 400 and db.session.scalars(select(ContractEvent)).all() == []


def test_contractors_see_their_own_contracts_events_only(client, history, world, runner):
    out = runner.invoke(args=["report", "event", "--contract", "CT-ALPHA", "--rule",
                              "falsified_report", "--at", "2026-03-20T09:00", "--reason",
                              "巡检照片重复使用", "--now", "2026-04-05T10:00"])
    assert out.exit_code == 0, out.output
    login(client, "alpha")
    page = client.get(f"/reports/contract/{world.alpha_contract}/events")
    assert page.status_code == 200 and "巡检照片重复使用" in page.get_data(as_text=True)
    assert 'id="event-form"' not in page.get_data(as_text=True)   # contractors do not record
    assert client.get(f"/reports/contract/{world.beta_contract}/events").status_code == 404
    r = client.post(f"/reports/contract/{world.alpha_contract}/events",
                    data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                          "rule": "missed_inspection", "occurred_at": "2026-03-12T10:00",
                          "reason": "self"})
    assert r.status_code == 403
    beta = client.application.test_client()
    login(beta, "beta")
    assert beta.get(f"/reports/contract/{world.alpha_contract}/events").status_code == 404
    own = beta.get(f"/reports/contract/{world.beta_contract}/events").get_data(as_text=True)
    assert "巡检照片重复使用" not in own


def test_cli_event_in_a_closed_month_books_an_adjustment(history, world, runner):
    close = runner.invoke(args=["report", "ledger", "--contract", "CT-ALPHA", "--close",
                                "2026-03", "--now", "2026-04-05T10:00"])
    assert close.exit_code == 0, close.output
    bad = runner.invoke(args=["report", "event", "--contract", "CT-ALPHA", "--rule", "nope",
                              "--at", "2026-03-20T09:00", "--reason", "", "--now",
                              "2026-04-05T10:00"])
    assert bad.exit_code == 2 and "--rule" in bad.output and "--reason" in bad.output
    out = runner.invoke(args=["report", "event", "--contract", "CT-ALPHA", "--rule",
                              "falsified_report", "--at", "2026-03-20T09:00", "--reason",
                              "巡检照片重复使用", "--by", "police-officer-7", "--now",
                              "2026-04-05T10:00"])
    assert out.exit_code == 0, out.output
    # 99 → 96 points: still band ≥ 95, 1.00: nothing to adjust.
    assert "adjustment" not in out.output
    out = runner.invoke(args=["report", "event", "--contract", "CT-ALPHA", "--rule",
                              "missed_inspection", "--at", "2026-03-21T09:00", "--reason",
                              "未巡检", "--by", "police-officer-7", "--now", "2026-04-05T10:00"])
    assert out.exit_code == 0, out.output
    # 96 → 91 points: band ≥ 90, 0.95: earned 9,500.00 instead of 10,000.00 → −500.00 in April
    (adj,) = db.session.scalars(select(LedgerAdjustment)).all()
    assert adj.amount == Decimal("-500.00") and adj.month == dt.date(2026, 4, 1)
    assert adj.corrects_month == dt.date(2026, 3, 1)
    actors = {e.actor for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "contract_event"))}
    assert actors == {"police-officer-7"}
