"""The repayment ledger, every amount asserted to the fen (worked out by hand in comments).

World: tests/reporting/world.py (contract CT-1 from 2026-01, investment 1,200,000.00, equal
instalments of 20,000.00; local time UTC+8; March 2026 is month 3)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from reports import ledger_store as ls
from reports.ledger import EventFact, TicketFact, content_hash, instalments
from supervisor.reporting.models import LedgerClosing
from supervisor.core.extensions import db
from supervisor.inventory.models import Device
from supervisor.profiles.loader import load_profile
from tests.reporting.world import T, build, iv

NOW = dt.datetime(2026, 4, 5)
D = Decimal


def test_equal_instalments_last_absorbs_rounding():
    plan = instalments(D("1000000.00"), 60, {"kind": "equal"})
    # 1,000,000 / 60 = 16,666.666… → 16,666.67 × 59 = 983,333.53; last = 16,666.47
    assert plan[:59] == [D("16666.67")] * 59 and plan[59] == D("16666.47")
    assert sum(plan) == D("1000000.00")


def test_annuity_instalments():
    plan = instalments(D("1000000.00"), 60, {"kind": "annuity", "annual_rate": 0.048})
    # PMT = 1,000,000 × 0.004 / (1 − 1.004^−60) = 18,779.742… → 18,779.74
    assert plan[0] == plan[58] == D("18779.74")
    # The last clears the balance: principal parts add up to the investment exactly.
    balance = D("1000000.00")
    for pay in plan:
        balance = balance + (balance * D("0.004")).quantize(D("0.01"), "ROUND_HALF_UP") - pay
    assert balance == 0
    assert abs(plan[59] - D("18779.74")) < D("1.00")


def test_schedule_instalments_must_cover_the_term():
    assert instalments(D("30"), 3, {"kind": "schedule", "amounts": ["5", "10.005", 15]}) == [
        D("5.00"), D("10.01"), D("15.00")]
    with pytest.raises(ValueError):
        instalments(D("30"), 60, {"kind": "schedule", "amounts": [1, 2]})


@pytest.fixture
def world(app):
    w = build()
    # E: an entrance camera with three March outages (and a fourth of one second past a day).
    e = Device(serial="CAM-E", name="E", kind="camera", role="entrance", ip="10.0.0.99",
               community_id=w["a"].community_id, contract_id=w["contract"].id,
               accepted_on=dt.date(2026, 1, 1), lifecycle="accepted")
    f = Device(serial="CAM-F", name="F", kind="camera", role="road", ip="10.0.0.98",
               community_id=w["a"].community_id, contract_id=w["contract"].id,
               accepted_on=dt.date(2026, 1, 1), lifecycle="accepted")
    db.session.add_all([e, f])
    db.session.flush()
    iv(e, "ok", T(2026, 2, 28, 16), T(2026, 3, 2))
    w["e1"] = iv(e, "offline", T(2026, 3, 2), T(2026, 3, 4, 6), "unreachable")     # 54 h
    iv(e, "ok", T(2026, 3, 4, 6), T(2026, 3, 10))
    iv(e, "offline", T(2026, 3, 10), T(2026, 3, 11, 1), "unreachable")             # 25 h
    iv(e, "ok", T(2026, 3, 11, 1), T(2026, 3, 20))
    iv(e, "offline", T(2026, 3, 20), T(2026, 3, 20, 5), "unreachable")             # 5 h
    iv(e, "ok", T(2026, 3, 20, 5), T(2026, 3, 25))
    iv(e, "offline", T(2026, 3, 25), T(2026, 3, 26, 0, 0, 1), "unreachable")       # 24 h 1 s
    iv(e, "ok", T(2026, 3, 26, 0, 0, 1), None)
    # F: offline from 03-31 00:00 to 04-03 00:00 UTC, across the local month end (03-31 16:00).
    iv(f, "ok", T(2026, 2, 28, 16), T(2026, 3, 31))
    iv(f, "offline", T(2026, 3, 31), T(2026, 4, 3), "unreachable")
    iv(f, "ok", T(2026, 4, 3), None)
    db.session.commit()
    w["e"], w["f"] = e, f
    return w


def _profile(model="score", **avail):
    p = load_profile("default", 2, check_in_use=False)
    payment = p.payment.model_copy(update={
        "model": model,
        "availability": p.payment.availability.model_copy(update=avail)})
    return SimpleNamespace(targets=p.targets, payment=payment, sla=p.sla, key=p.key)


def test_score_month_with_event_and_tickets(world):
    c = world["contract"]
    events = [EventFact(1, "missed_inspection", T(2026, 3, 12), "未按时巡检")]

    def tickets(session, contract_id, lo, hi):
        return [
            # critical: respond within 2 h. Opened 03-03 00:00, answered 03:00 → late (3 h).
            TicketFact(7, world["e"].id, "critical", T(2026, 3, 3), T(2026, 3, 3, 3), T(2026, 3, 3, 20)),
            # same, but on hold 1 h 30 min: 1.5 h used → on time.
            TicketFact(8, world["e"].id, "critical", T(2026, 3, 5), T(2026, 3, 5, 3),
                       T(2026, 3, 5, 20), held_s=5400),
            # repair within 24 h: opened 03-06, repaired 03-08 → late repair (48 h).
            TicketFact(9, world["e"].id, "critical", T(2026, 3, 6), T(2026, 3, 6, 1), T(2026, 3, 8)),
        ]
    res = ls.compute_month(db.session, c, 3, NOW, _profile(), tickets, events)
    keys = {ln.key: ln for ln in res.lines}
    # E is faulty 54+25+5+24 h + 1 s > 8 h: −1; the others stay under 8 h. F: 15 h 59 m 59 s?
    # F's March part of its outage: 03-31 00:00 → 16:00 = 16 h > 8 h: −1.
    assert set(keys) == {"channel_fault_over_hours:CAM-E", "channel_fault_over_hours:CAM-F",
                         "late_response:ticket:7", "late_repair:ticket:9",
                         "missed_inspection:event:1"}
    assert keys["channel_fault_over_hours:CAM-E"].intervals[0] == world["e1"].id
    # 100 − 1 − 1 − 1 − 1 − 5 = 91 → band ≥ 90: 0.95 → 20,000.00 × 0.95 = 19,000.00
    assert res.score == D("91") and res.coefficient == D("0.95")
    assert res.instalment == D("20000.00")
    assert res.earned == D("19000.00") and res.withheld == D("1000.00")


def test_availability_month_grace_ratchet_cap(world):
    c = world["contract"]
    res = ls.compute_month(db.session, c, 3, NOW, _profile("availability"), lambda *a: [])
    by = {ln.subject: [] for ln in res.lines}
    for ln in res.lines:
        by[ln.subject].append(ln.amount)
    # E (entrance, weight 2), rate 0.0002 × 20,000.00 = 4.00 per period and weight unit:
    #  54 h − 24 h grace = 30 h → 2 periods × 2 × 4.00 × 1.0 = 16.00
    #  25 h → 1 h → 1 period × 2 × 4.00 × 1.5 (second failure) = 12.00
    #  5 h: within grace, no line (but it is the third failure)
    #  24 h 1 s → 1 s → 1 period × 2 × 4.00 × 2.0 (fourth failure, ratchet tops at 2.0) = 16.00
    assert by["CAM-E"] == [D("16.00"), D("12.00"), D("16.00")]
    # F's outage starts 03-31 00:00; its grace ends after the local month: nothing in March.
    assert "CAM-F" not in by
    assert res.deductions == D("44.00") and res.cap == D("2000.00")
    assert res.earned == D("19956.00")
    # April gets F's outage: 04-01 00:00 → 04-03 00:00 = 48 h = 2 periods × 1 × 4.00 = 8.00
    april = ls.compute_month(db.session, c, 4, dt.datetime(2026, 5, 2), _profile("availability"),
                             lambda *a: [])
    assert [(ln.subject, ln.amount) for ln in april.lines] == [("CAM-F", D("8.00"))]
    # A cap of 0.1 % = 20.00 holds March's 44.00 to 20.00.
    capped = ls.compute_month(db.session, c, 3, NOW, _profile("availability", cap=0.001),
                              lambda *a: [])
    assert capped.deductions == D("20.00") and capped.earned == D("19980.00")


def test_waiver_close_and_adjustment(world):
    c = world["contract"]
    p = _profile()
    none = lambda *a: []  # noqa: E731
    ev = [EventFact(1, "missed_inspection", T(2026, 3, 12), "未按时巡检")]
    res = ls.compute_month(db.session, c, 3, NOW, p, none, ev)
    # E −1, F −1, inspection −5: 93 → 0.95 → 19,000.00
    assert res.score == D("93") and res.earned == D("19000.00")
    # Before the month closes, a waiver just changes the month: 94, still 0.95.
    ls.waive(db.session, c, 3, "channel_fault_over_hours:CAM-E", "台风停电", "police", NOW, p,
             none, ev)
    with pytest.raises(ls.LedgerError):
        ls.waive(db.session, c, 3, "channel_fault_over_hours:CAM-F", "  ", "police", NOW, p, none, ev)
    closing = ls.close_month(db.session, c, 3, NOW, p, "police", none, ev)
    db.session.commit()
    assert D(closing.snapshot["score"]) == 94 and closing.payable == D("19000.00")
    waived = [ln for ln in closing.snapshot["lines"] if ln["waived"]]
    assert [(ln["key"], ln["waiver_reason"]) for ln in waived] == [
        ("channel_fault_over_hours:CAM-E", "台风停电")]
    assert content_hash(closing.snapshot) == closing.content_sha256
    with pytest.raises(ls.LedgerError):
        ls.close_month(db.session, c, 3, NOW, p, "police", none, ev)
    with pytest.raises(ls.LedgerError):
        ls.close_month(db.session, c, 4, NOW, p, "police", none, ev)  # April has not ended

    # Waiving F after closing: 95 → 1.00 → 20,000.00; +1,000.00 booked in April (next open).
    w, adj = ls.waive(db.session, c, 3, "channel_fault_over_hours:CAM-F", "上游光缆被挖断",
                      "police", NOW, p, none, ev)
    db.session.commit()
    assert adj.amount == D("1000.00") and adj.month == dt.date(2026, 4, 1)
    assert adj.corrects_month == dt.date(2026, 3, 1)
    assert ls.reconcile(db.session, c, 3, NOW, p, "again", "police", none, ev) is None
    rows = ls.ledger(db.session, c, NOW, p, none, ev)
    march, april = rows[2], rows[3]
    assert march.status == "closed" and march.payable == D("19000.00")  # frozen
    assert march.sha256 == closing.content_sha256
    assert april.status == "in_progress" and april.carried == D("1000.00")
    assert april.payable == april.earned + D("1000.00")
    s = ls.summary(c, rows)
    assert s["months_closed"] == 1 and s["months_remaining"] == 59
    assert s["recovered"] == D("19000.00") and s["withheld"] == D("1000.00")
    # Jan and Feb are due (ended, not closed): nothing over 8 h there → 20,000.00 each.
    assert [r.status for r in rows[:2]] == ["due", "due"]
    assert rows[0].earned == rows[1].earned == D("20000.00")
    # Projected months earn the average share of the ended months: (1 + 1 + 0.95) / 3.
    assert rows[10].status == "projected"
    assert rows[10].earned == (D("20000.00") * (D(1) + D(1) + D("0.95")) / 3).quantize(D("0.01"))


def test_correction_of_a_closed_month_is_an_adjustment(world):
    c = world["contract"]
    p = _profile()
    none = lambda *a: []  # noqa: E731
    ls.close_month(db.session, c, 3, NOW, p, "police", none)
    db.session.commit()
    # Later, a camera's outage in March is found (a recomputed interval): G, 10 h offline.
    g = Device(serial="CAM-G", name="G", kind="camera", role="road", ip="10.0.0.97",
               community_id=world["a"].community_id, contract_id=c.id,
               accepted_on=dt.date(2026, 1, 1), lifecycle="accepted")
    db.session.add(g)
    db.session.flush()
    iv(g, "offline", T(2026, 3, 3), T(2026, 3, 3, 10), "unreachable")
    iv(g, "ok", T(2026, 3, 3, 10), None)
    # and a second, plus another for H, to fall below 95: E, F, G, H, I → 95 still 1.00 …
    for serial in ("CAM-H", "CAM-I", "CAM-J"):
        d = Device(serial=serial, name=serial, kind="camera", role="road", ip="10.0.1.1",
                   community_id=world["a"].community_id, contract_id=c.id,
                   accepted_on=dt.date(2026, 1, 1), lifecycle="accepted")
        db.session.add(d)
        db.session.flush()
        iv(d, "offline", T(2026, 3, 3), T(2026, 3, 3, 10), "unreachable")
    db.session.commit()
    # Now 6 channels over 8 h: 100 − 6 = 94 → 0.95 → 19,000.00; closed said 20,000.00.
    adj = ls.reconcile(db.session, c, 3, NOW, p, "intervals corrected", "police", none)
    db.session.commit()
    assert adj.amount == D("-1000.00") and adj.month == dt.date(2026, 4, 1)
    assert adj.detail["closed_earned"] == "20000.00"
    assert ls.reconcile(db.session, c, 3, NOW, p, "again", "police", none) is None
    closing = db.session.query(LedgerClosing).one()
    assert closing.payable == D("20000.00")  # the snapshot itself is never rewritten


def test_cli_ledger_and_close(world, runner):
    out = runner.invoke(args=["report", "ledger", "--contract", "CT-1", "--close", "2026-03",
                              "--by", "police", "--now", "2026-04-05T08:00", "--format", "json"])
    assert out.exit_code == 0, out.output
    import json
    data = json.loads(out.stdout)
    march = data["rows"][2]
    # E and F over 8 h: 98 points → 1.00 → 20,000.00, closed with its hash.
    assert march["status"] == "closed" and march["payable"] == "20000.00" and march["sha256"]
    assert data["summary"]["months_closed"] == 1
    again = runner.invoke(args=["report", "ledger", "--contract", "CT-1", "--close", "2026-03",
                                "--now", "2026-04-05T08:00"])
    assert again.exit_code != 0 and "already closed" in again.output


def test_ticket_breaches_from_the_ticket_clock(world):
    """supervisor/tickets keeps each ticket's SLA clock (working calendar, holds) with its
    breaches; the ledger books a late-response / late-repair line in the breach's month."""
    from supervisor.models import Ticket, WorkCalendarVersion

    cal = WorkCalendarVersion(effective_from=T(2026, 1, 1), source="test", days={})
    db.session.add(cal)
    db.session.flush()

    def ticket(breaches, outcome=None, family="reach"):
        t = Ticket(device_id=world["e"].id, contract_id=world["contract"].id, family=family,
                   source="health", title="offline", severity="critical", policy="default@2",
                   calendar_id=cal.id, state="closed", outcome=outcome, opened_at=T(2026, 3, 2),
                   clock={"breaches": [{"cycle": 0, "target": k, "at": at.isoformat(),
                                        "policy": "default@2", "severity": "critical"}
                                       for k, at in breaches]})
        db.session.add(t)
        db.session.flush()
        return t
    t1 = ticket([("response", T(2026, 3, 2, 2)), ("repair", T(2026, 4, 1, 3))])  # repair: April
    ticket([("response", T(2026, 3, 9))], outcome="invalid", family="image")      # left out
    db.session.commit()
    res = ls.compute_month(db.session, world["contract"], 3, NOW, _profile())
    keys = {ln.key for ln in res.lines}
    assert f"late_response:ticket:{t1.id}" in keys
    assert not any(k.startswith("late_repair") for k in keys)
    # E, F over 8 h and one late response: 100 − 3 = 97 → 1.00
    assert res.score == D("97") and res.earned == D("20000.00")
    april = ls.compute_month(db.session, world["contract"], 4, dt.datetime(2026, 5, 2), _profile())
    assert f"late_repair:ticket:{t1.id}" in {ln.key for ln in april.lines}
