"""Every page and API endpoint renders for the police role (a broad smoke check)."""
def test_pages(as_user, world):
    c = as_user("police")
    for url in ["/devices/", f"/devices/{world.alpha_devices[1]}", "/communities/", f"/communities/{world.alpha_community}",
                f"/devices/{world.alpha_devices[1]}/edit", "/import/", "/reports/", "/api/v1/devices", "/devices/export.csv", "/devices/export.xlsx",
                f"/api/v1/devices/{world.alpha_devices[1]}", "/api/v1/communities"]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[-3000:])


def test_device_detail_shows_state_cause_and_reasons(app, as_user, world):
    from sqlalchemy import insert

    from supervisor.core.extensions import db
    from supervisor.health.models import DeviceStatus

    db.session.execute(insert(DeviceStatus), [{
        "device_id": world.alpha_devices[1], "state": "degraded", "cause": "frame_failed",
        "flapping": False, "candidate_count": 0,
        "reasons": [{"check": "frame", "code": "frame_failed", "kind": "unsupported",
                     "message": "no snapshot or stream URI known"}, "plain text reason"]}])
    db.session.commit()
    html = as_user("alpha").get(f"/devices/{world.alpha_devices[1]}").get_data(as_text=True)
    assert 'class="state s-degraded"' in html and "frame_failed" in html
    assert "no snapshot or stream URI known" in html and "frame:frame_failed" in html
    assert "plain text reason" in html and "{&#39;check&#39;" not in html
