"""Ticket pages: the contractor's queue and actions, police actions, photos, and tenancy with
two contractors by list, URL, comment, attachment URL, export and API."""
import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.tickets import opening, service
from supervisor.tickets.models import Ticket, TicketAttachment
from tests.tickets.ticket_helpers import offline
from tests.web.conftest import csrf_from

T0 = dt.datetime(2026, 3, 2, 1, 0)   # Monday 09:00 Shanghai


@pytest.fixture
def two_tickets(web, world):
    web.config["TICKET_VERIFY_PROBE"] = "off"
    offline(world.alpha_devices[0], T0)
    offline(world.beta_devices[0], T0)
    opening.scan(db.session, T0 + dt.timedelta(minutes=20))
    db.session.commit()
    by_device = {t.device_id: t.id for t in db.session.scalars(select(Ticket))}
    return by_device[world.alpha_devices[0]], by_device[world.beta_devices[0]]


def client_for(app, who):
    from tests.web.conftest import login
    c = app.test_client()
    assert login(c, who).status_code in (302, 303)
    return c


def post_action(c, ticket_id, kind, **fields):
    page = c.get(f"/tickets/{ticket_id}")
    token = csrf_from(page.get_data(as_text=True))
    return c.post(f"/tickets/{ticket_id}/act", data={"csrf_token": token, "kind": kind, **fields})


def jpeg(size=(64, 48), color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def test_contractor_queue_and_actions(web, world, two_tickets):
    mine, theirs = two_tickets
    alpha = client_for(web, "alpha")
    with clock.pinned(T0 + dt.timedelta(hours=1)):
        html = alpha.get("/tickets/").get_data(as_text=True)
        assert f"#{mine} " in html and f"#{theirs} " not in html
        assert "23:20" in html                        # 23 h 20 min left of the 24 h repair target
        assert post_action(alpha, mine, "acknowledged").status_code == 302
        assert post_action(alpha, mine, "hold_requested", reason="road_works", text="路面施工").status_code == 302
        assert post_action(alpha, mine, "hold_approved").status_code == 403     # police only
    police = client_for(web, "police")
    with clock.pinned(T0 + dt.timedelta(hours=2)):
        assert post_action(police, mine, "hold_approved").status_code == 302
    with clock.pinned(T0 + dt.timedelta(hours=5)):
        page = alpha.get(f"/tickets/{mine}").get_data(as_text=True)
        assert "road works" in page or "道路施工" in page or "路面施工" in page
        assert post_action(alpha, mine, "hold_ended").status_code == 302
        assert post_action(alpha, mine, "repair_marked").status_code == 302
    t = db.session.get(Ticket, mine)
    db.session.refresh(t)
    assert t.state == "verifying"
    tc = service.recompute(db.session, t, T0 + dt.timedelta(hours=6))
    assert tc.current.holds[0].subtracted_s == 3 * 3600
    assert tc.current.repair.used_s == (5 * 60 - 20 - 180) * 60
    assert service.verify_cache(db.session, t) == []


def test_police_open_by_hand_close_invalid_and_errors_beside_fields(web, world, two_tickets):
    police = client_for(web, "police")
    page = police.get("/tickets/new")
    token = csrf_from(page.get_data(as_text=True))
    bad = police.post("/tickets/new", data={"csrf_token": token, "device": "NOPE", "family": "offline",
                                            "description": ""})
    assert bad.status_code == 400
    assert bad.get_data(as_text=True).count('class="error"') == 2
    ok = police.post("/tickets/new", data={"csrf_token": token, "device": "CAM-B-1", "family": "blur",
                                           "severity": "", "description": "市民反映画面模糊"})
    assert ok.status_code == 302
    tid = int(ok.headers["Location"].rstrip("/").split("/")[-1])
    t = db.session.get(Ticket, tid)
    assert (t.source, t.family, t.severity) == ("manual", "blur", "minor")
    r = post_action(police, tid, "closed_invalid", text="")
    assert db.session.get(Ticket, tid).closed_at is None
    r = post_action(police, tid, "closed_invalid", text="重复报告")
    db.session.expire_all()
    assert db.session.get(Ticket, tid).outcome == "invalid"
    from supervisor.core.models import AuditEntry
    actions = [a.action for a in db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "ticket"))]
    assert actions == ["ticket.open", "ticket.closed_invalid"]


def test_photos_images_only_size_capped_checksummed(web, world, two_tickets, tmp_path):
    mine, theirs = two_tickets
    web.config["TICKET_ATTACHMENT_DIR"] = str(tmp_path / "att")
    web.config["TICKET_ATTACHMENT_MAX_BYTES"] = 200_000
    alpha = client_for(web, "alpha")

    def upload(data, name):
        token = csrf_from(alpha.get(f"/tickets/{mine}").get_data(as_text=True))
        return alpha.post(f"/tickets/{mine}/photos", data={"csrf_token": token,
                          "photo": (io.BytesIO(data), name)}, content_type="multipart/form-data")

    assert upload(b"%PDF-1.4 not an image", "x.jpg").status_code == 302
    assert upload(Image.new("RGB", (1, 1)).tobytes() * 10, "raw.png").status_code == 302
    assert upload(b"\xff" * 300_000, "big.jpg").status_code == 302
    assert db.session.scalar(select(db.func.count(TicketAttachment.id))) == 0
    data = jpeg()
    assert upload(data, "现场.jpg").status_code == 302
    (att,) = db.session.scalars(select(TicketAttachment)).all()
    import hashlib
    assert att.sha256 == hashlib.sha256(data).hexdigest() and att.width == 64
    full = alpha.get(f"/tickets/{mine}/photos/{att.id}")
    assert full.status_code == 200 and full.data == data
    thumb = alpha.get(f"/tickets/{mine}/photos/{att.id}/thumb")
    assert thumb.status_code == 200 and thumb.data[:2] == b"\xff\xd8"
    page = alpha.get(f"/tickets/{mine}").get_data(as_text=True)
    assert f"/tickets/{mine}/photos/{att.id}/thumb" in page


def test_tenancy_two_contractors(web, world, two_tickets, tmp_path):
    mine, theirs = two_tickets
    web.config["TICKET_ATTACHMENT_DIR"] = str(tmp_path / "att")
    beta = client_for(web, "beta")
    token = csrf_from(beta.get(f"/tickets/{theirs}").get_data(as_text=True))
    beta.post(f"/tickets/{theirs}/photos", data={"csrf_token": token, "photo": (io.BytesIO(jpeg()), "b.jpg")},
              content_type="multipart/form-data")
    beta_photo = db.session.scalars(select(TicketAttachment)).one().id
    alpha = client_for(web, "alpha")
    # list
    html = alpha.get("/tickets/?state=all").get_data(as_text=True)
    assert f"#{theirs} " not in html and "SW-B-1" not in html
    # URL, comment, attachment URL
    assert alpha.get(f"/tickets/{theirs}").status_code == 404
    token = csrf_from(alpha.get(f"/tickets/{mine}").get_data(as_text=True))
    assert alpha.post(f"/tickets/{theirs}/act", data={"csrf_token": token, "kind": "comment",
                                                      "text": "x"}).status_code == 404
    assert alpha.get(f"/tickets/{theirs}/photos/{beta_photo}").status_code == 404
    assert alpha.get(f"/tickets/{mine}/photos/{beta_photo}").status_code == 404
    assert alpha.get(f"/tickets/{theirs}/photos/{beta_photo}/thumb").status_code == 404
    # a device filter naming another tenant's device finds nothing
    assert 'class="card' not in alpha.get("/tickets/?state=all&device=SW-B-1").get_data(as_text=True)
    assert f"#{mine} " in alpha.get("/tickets/?state=all&device=SW-A-1").get_data(as_text=True)
    # export
    csv_text = alpha.get("/tickets/export.csv?state=all").get_data(as_text=True)
    assert "SW-A-1" in csv_text and "SW-B-1" not in csv_text
    # API
    rows = alpha.get("/api/v1/tickets?state=all").get_json()
    assert [r["id"] for r in rows] == [mine]
    assert alpha.get(f"/api/v1/tickets/{theirs}").status_code == 404
    assert web.test_client().get("/api/v1/tickets").status_code == 401
    # summary
    summary = alpha.get("/tickets/summary?month=2026-03").get_data(as_text=True)
    assert "Alpha Security Ltd" in summary and "Beta Networks Ltd" not in summary
    # police see both; officials none
    police = client_for(web, "police")
    assert {r["id"] for r in police.get("/api/v1/tickets?state=all").get_json()} == {mine, theirs}
    official = client_for(web, "official")
    assert official.get(f"/tickets/{mine}").status_code == 403
    assert official.get("/api/v1/tickets").status_code == 403
    # police-only pages
    assert alpha.get("/tickets/deliveries").status_code == 403
    assert alpha.get("/tickets/calendar").status_code == 403
    assert alpha.get("/tickets/new").status_code == 403


def test_police_pages_render(web, world, two_tickets):
    police = client_for(web, "police")
    for url in ("/tickets/", "/tickets/deliveries", "/tickets/calendar", "/tickets/summary",
                f"/tickets/{two_tickets[0]}"):
        assert police.get(url).status_code == 200, url
    page = police.get("/tickets/calendar").get_data(as_text=True)
    token = csrf_from(page)
    r = police.post("/tickets/calendar", data={"csrf_token": token, "day": "2026-03-03", "kind": "off",
                                               "note": "台风停工"})
    assert r.status_code == 302
    from supervisor.tickets.models import WorkCalendarVersion
    v = db.session.scalars(select(WorkCalendarVersion).order_by(WorkCalendarVersion.id.desc())).first()
    assert v.days["2026-03-03"] == "off" and v.id == 2
    from supervisor.core.models import AuditEntry
    actions = {a.action for a in db.session.scalars(select(AuditEntry))}
    assert "calendar.day" in actions


def test_a_root_cause_on_one_contract_never_names_another_contracts_devices(web, world):
    """Beta's switch is the root cause of a ticket on Beta's contract, and Alpha's camera is
    behind it: Beta's engineer sees one device outside its contract, never its serial or name,
    and cannot find the ticket by that serial; police see both devices."""
    from supervisor.inventory.models import Device

    web.config["TICKET_VERIFY_PROBE"] = "off"
    switch = db.session.get(Device, world.beta_devices[0])
    alpha_cam = db.session.get(Device, world.alpha_devices[0])
    with clock.pinned(T0):
        ticket = service.open_ticket(db.session, switch, "offline", T0, behind=[alpha_cam])
    db.session.commit()
    beta = client_for(web, "beta").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert switch.serial in beta
    assert alpha_cam.serial not in beta and alpha_cam.name not in beta
    assert "1 device(s) outside your contract" in beta or "另有 1 台设备不在您的合同内" in beta
    found = client_for(web, "beta").get(f"/tickets/?state=all&device={alpha_cam.serial}")
    assert f"/tickets/{ticket.id}\"" not in found.get_data(as_text=True)
    police = client_for(web, "police").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert alpha_cam.serial in police and switch.serial in police


def test_ticket_states_read_as_ticket_states_in_chinese(web, world, two_tickets):
    """"open" and "closed" name community types too (开放式/封闭式); a ticket's state has its
    own words."""
    alpha = client_for(web, "alpha")
    with clock.pinned(T0 + dt.timedelta(hours=1)):
        html = alpha.get("/tickets/").get_data(as_text=True)
    assert "待受理" in html and "开放式" not in html
