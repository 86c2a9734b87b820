"""The device page says what a camera's picture is judged against (acceptance reference,
learned normal, still learning), in zh_CN and English; the re-learn button is police-only,
CSRF-protected and scoped; a contractor sees only its own devices' calibration."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.health import evidence
from supervisor.health.models import CalibrationFrame, QualityCalibration

from .conftest import csrf_from

T = dt.datetime(2026, 3, 1, 0, 0)


def _learned(device_id: int, day: int, night: int, structure: bool = False) -> int:
    # a day half that learned where the view shows detail (a 2 x 2 block map will do here)
    normal = {"frames": day, "cast": [[0, 0]] * 3, "cast_spread": 1.0, "ranges": {},
              "structure": {"shape": [2, 2], "detail": "AAAAAA==", "mean": "AAAAAA==", "noise": 1.0}}
    row = QualityCalibration(device_id=device_id, learned_at=T, first_frame_at=T - dt.timedelta(days=7),
                             last_frame_at=T, frames_day=day, frames_night=night, clean_days=7,
                             data={"version": 1, "day": normal if structure else None, "night": None})
    db.session.add(row)
    db.session.commit()
    return row.id


def _learning(device_id: int, n: int) -> None:
    for i in range(n):
        db.session.add(CalibrationFrame(device_id=device_id, at=T + dt.timedelta(hours=i),
                                        night=False, faults=[], measures={"brightness": 100.0}))
    db.session.commit()


def test_baseline_shown_in_both_languages_and_only_for_own_devices(as_user, as_en, world):
    a_learned, a_learning, a_ref = world.alpha_devices[1:4]
    b_cam = world.beta_devices[1]
    learned_id = _learned(a_learned, 140, 97, structure=True)
    _learned(b_cam, 555, 444)
    _learning(a_learning, 5)
    evidence.save_frame(db.session, current_app.config["EVIDENCE_DIR"], a_ref, "reference",
                        b"\xff\xd8\xff\xd9", T)
    db.session.commit()

    alpha = as_en("alpha")
    html = alpha.get(f"/devices/{a_learned}").get_data(as_text=True)
    assert 'id="image-baseline"' in html
    assert "Judged against its learned normal range" in html and "140 day and 97 night frames" in html
    assert "relearn" not in html                       # the button is police-only
    assert "By day a cover at the lens is judged against where its view normally shows detail." in html
    # one learned before the view's detail map existed says covers are not judged against it
    row = db.session.get(QualityCalibration, learned_id)
    row.data = {**row.data, "day": None}
    db.session.commit()
    html = alpha.get(f"/devices/{a_learned}").get_data(as_text=True)
    assert "Covers are judged by the fixed figures only" in html and "By day a cover" not in html
    html = alpha.get(f"/devices/{a_learning}").get_data(as_text=True)
    assert "Still learning its normal range" in html
    assert "day frames 5 of 12, night frames 0 of 12" in html and "1 of 7 clean days" in html
    html = alpha.get(f"/devices/{a_ref}").get_data(as_text=True)
    assert "Judged against its acceptance reference frame" in html
    # another contractor's camera and its calibration: not there at all
    response = alpha.get(f"/devices/{b_cam}")
    assert response.status_code == 404 and "555" not in response.get_data(as_text=True)
    beta = as_en("beta")
    assert "555 day and 444 night frames" in beta.get(f"/devices/{b_cam}").get_data(as_text=True)
    assert beta.get(f"/devices/{a_learned}").status_code == 404
    # a switch has no image baseline
    assert 'id="image-baseline"' not in alpha.get(f"/devices/{world.alpha_devices[0]}").get_data(as_text=True)

    zh = as_user("alpha")                              # zh_CN by default
    html = zh.get(f"/devices/{a_learned}").get_data(as_text=True)
    assert "图像基准" in html and "以自学习的正常范围为准判断" in html and "140 帧白天画面" in html
    assert "遮挡仅按固定阈值判断" in html
    assert "仍在学习正常范围" in zh.get(f"/devices/{a_learning}").get_data(as_text=True)


def test_relearn_is_police_only_csrf_protected_and_audited(as_user, as_en, world):
    cam, b_cam = world.alpha_devices[1], world.beta_devices[1]
    row_id = _learned(cam, 30, 20)
    police = as_en("police")
    page = police.get(f"/devices/{cam}").get_data(as_text=True)
    assert 'id="relearn-form"' in page and "Learn the normal range again" in page
    token = csrf_from(page)
    url = f"/devices/{cam}/calibration"

    assert police.post(url, data={"reason": "view_changed"}).status_code == 400   # no CSRF token
    alpha = as_user("alpha")
    alpha_token = csrf_from(alpha.get(f"/devices/{cam}").get_data(as_text=True))
    assert alpha.post(url, data={"reason": "requested", "csrf_token": alpha_token}).status_code == 403
    official = as_user("official")
    assert official.post(url, data={"reason": "requested"}).status_code in (400, 403)
    assert police.post(url, data={"reason": "because", "csrf_token": token}).status_code == 400
    assert police.post(f"/devices/{world.alpha_devices[0]}/calibration",
                       data={"reason": "requested", "csrf_token": token}).status_code == 400  # a switch
    assert police.post("/devices/999999/calibration",
                       data={"reason": "requested", "csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(QualityCalibration, row_id).superseded_at is None     # nothing changed

    response = police.post(url, data={"reason": "view_changed", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/devices/{cam}")
    db.session.expire_all()
    row = db.session.get(QualityCalibration, row_id)
    assert row.superseded_at is not None and row.superseded_reason == "view_changed"
    assert row.superseded_by == "police"
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "calibration_relearn")).one()
    assert entry.actor == "police" and entry.after["reason"] == "view_changed"
    html = police.get(f"/devices/{cam}").get_data(as_text=True)
    assert "Still learning its normal range" in html
    # the other contractor's camera was not touched by any of this
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QualityCalibration)
                             .where(QualityCalibration.superseded_at.is_not(None))) == 1
    assert police.post(f"/devices/{b_cam}/calibration",
                       data={"reason": "requested", "csrf_token": token}).status_code == 302
