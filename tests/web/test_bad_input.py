"""Bad input is a clear 4xx, never a server error: ids past 64 bits, dates at the calendar's
ends, forged cursors; the API answers JSON with a stable code."""
from __future__ import annotations

from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry

from .conftest import csrf_from

BIG = str(2**64)


def test_ids_past_64_bits_are_404(app, as_user, world):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    police = as_user("police")
    for path in (f"/devices/{BIG}", f"/devices/{BIG}/edit", f"/communities/{BIG}",
                 f"/health/devices/{BIG}", f"/health/frames/{BIG}.jpg",
                 f"/devices/?community={BIG}&after={BIG}", f"/health/faults?community={BIG}",
                 f"/admin/audit?older=2026-01-01T00:00:00_{BIG}"):
        assert police.get(path).status_code in (200, 404), path
    token = csrf_from(police.get("/admin/users").get_data(as_text=True))
    for path in (f"/admin/users/{BIG}/active", f"/admin/maintenance/{BIG}/cancel",
                 f"/admin/users/{BIG}/reset-password", f"/account/sessions/{BIG}/end"):
        assert police.post(path, data={"csrf_token": token, "active": "1"}).status_code == 404


def test_api_errors_are_json_with_a_stable_code(app, as_user, world, client):
    assert client.get("/api/v1/devices").get_json()["code"] == "login_required"
    police = as_user("police")
    for path, status, code in ((f"/api/v1/devices/{BIG}", 404, "not_found"),
                               ("/api/v1/devices/1/nothing", 404, "not_found"),
                               ("/api/v1/nothing", 404, "not_found")):
        response = police.get(path)
        assert response.status_code == status and response.is_json, path
        assert response.get_json()["code"] == code
    response = police.post("/api/v1/devices")
    assert response.status_code in (400, 405) and response.get_json()["code"] in (
        "method_not_allowed", "csrf")
    assert as_user("official").get("/api/v1/devices").get_json()["code"] == "forbidden"


def test_audit_dates_at_the_calendar_ends_are_a_400_in_the_pages_language(app, as_user, world):
    police = as_user("police")  # the default language is Chinese
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    for query in ("since=9999-12-31", "until=9999-12-31", "since=0001-01-01",
                  "until=0001-01-01&since=2026-01-01"):
        page = police.get(f"/admin/audit?{query}")
        assert page.status_code == 400, query
        assert "日期" in page.get_data(as_text=True)
        export = police.get(f"/admin/audit.csv?{query}")
        assert export.status_code == 400, query
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before  # no export row
    assert police.get("/admin/audit?since=2026-01-01&until=2999-12-31").status_code == 200
    assert police.get("/admin/audit.csv?since=1970-01-01").status_code == 200


def test_maintenance_window_at_the_calendar_ends_is_a_field_error(app, as_user, world):
    police = as_user("police")
    page = police.get("/admin/maintenance").get_data(as_text=True)
    for start, end in (("0001-01-01 00:00", "0001-01-01 02:00"),
                       ("9999-12-31 22:00", "9999-12-31 23:59")):
        response = police.post("/admin/maintenance", data={
            "csrf_token": csrf_from(page), "target": "device", "device": "CAM-A-0",
            "start": start, "end": end, "reason": "fuzz"})
        assert response.status_code == 400
