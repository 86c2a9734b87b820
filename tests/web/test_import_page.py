"""Import through the pages: upload -> preview -> confirm -> counts; bad files rejected whole."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.inventory.models import Device

from .conftest import csrf_from

HEADER = ("community,district,community_type,name,kind,role,vendor,model,serial,mac,ip,onvif_port,"
          "snmp_port,snmp_community,username,password,upstream,contract,installed_on")
GOOD = HEADER + """
阳光小区,东城区,open,new switch,switch,,H3C,S5120,NEW-SW-1,,127.0.30.1,,161,pub-xyz,,,,CT-ALPHA,2026-02-01
阳光小区,东城区,open,new camera,camera,entrance,Hik,DS-1,NEW-CAM-1,,127.0.30.2,80,,,admin,Up-load-pw-881,NEW-SW-1,CT-ALPHA,2026-02-01
"""
BAD = HEADER + """
阳光小区,东城区,open,bad kind,toaster,,H3C,S5120,BAD-1,,127.0.30.1,,161,,,,,CT-ALPHA,2026-02-01
阳光小区,东城区,open,bad ip,camera,road,Hik,DS-1,BAD-2,,300.1.1.1,80,,,,,,CT-ALPHA,2026-02-01
阳光小区,东城区,open,fine row,camera,road,Hik,DS-1,BAD-3,,127.0.30.3,80,,,,,NOPE-9,CT-ALPHA,2026-02-01
"""


def _upload(client, content: str, filename: str = "inv.csv"):
    page = client.get("/import/").get_data(as_text=True)
    return client.post("/import/", data={"csrf_token": csrf_from(page),
                                         "file": (io.BytesIO(content.encode("utf-8")), filename)},
                       content_type="multipart/form-data")


def _devices() -> int:
    return db.session.scalar(select(func.count(Device.id)))


def test_good_file_preview_confirm_counts(as_user, world):
    police = as_user("police")
    before = _devices()
    preview = _upload(police, GOOD)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html[-2000:]
    assert 'id="confirm-import"' in html and "Up-load-pw-881" not in html
    # Predicted counts: every kind of count is shown, zeros included.
    assert 'data-predicted="created">2<' in html and 'data-predicted="unchanged">0<' in html
    assert 'data-predicted="communities_created">0<' in html
    assert _devices() == before  # nothing written by the preview
    token = re.search(r'name="token" type="hidden" value="(\w+)"', html) or \
        re.search(r'id="token" name="token" type="hidden" value="(\w+)"', html)
    confirm = police.post("/import/confirm", data={"csrf_token": csrf_from(html), "token": token.group(1)})
    assert confirm.status_code == 302
    job = police.get(confirm.headers["Location"])
    job_html = job.get_data(as_text=True)
    assert 'data-count="created">2<' in job_html, job_html[-1500:]
    db.session.expire_all()
    assert _devices() == before + 2
    camera = db.session.scalar(select(Device).where(Device.serial == "NEW-CAM-1"))
    assert camera.password == "Up-load-pw-881" and camera.upstream.serial == "NEW-SW-1"


def test_bad_file_is_rejected_whole_with_errors_beside_rows(as_user, world):
    police = as_user("police")
    before = _devices()
    response = _upload(police, BAD)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "confirm-import" not in html
    rows = dict(re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', html, re.S))
    assert {"2", "3", "4"} <= set(rows), rows.keys()
    assert "kind" in rows["2"] and "ip" in rows["3"] and "upstream" in rows["4"]
    assert _devices() == before


def test_confirm_needs_this_sessions_token(as_user, world):
    police = as_user("police")
    html = _upload(police, GOOD).get_data(as_text=True)
    other = as_user("police")  # another session cannot confirm someone else's upload
    page = other.get("/import/").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="(\w+)"', html).group(1)
    response = other.post("/import/confirm", data={"csrf_token": csrf_from(page), "token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/import/")
    assert db.session.scalar(select(Device).where(Device.serial == "NEW-CAM-1")) is None


def test_wrong_file_type_is_refused_beside_the_field(as_user, world):
    police = as_user("police")
    response = _upload(police, "hello", filename="inventory.txt")
    assert response.status_code == 400
    assert re.search(r'has-error.*?<span class="error">', response.get_data(as_text=True), re.S)


def test_bigger_file_reports_progress_and_counts(app, as_user, world):
    """1,500 rows: the job page reports its stage while it works, then the counts."""
    import time

    from supervisor.inventory.models import ImportJob

    lines = [HEADER] + [
        f"阳光小区,东城区,open,bulk {i},camera,road,Hik,DS-1,BIG-{i:05d},,127.0.{40 + i // 250}.{i % 250 + 1},"
        f"80,,,admin,Pw-{i:05d}-long,,CT-ALPHA,2026-02-01" for i in range(1500)]
    police = as_user("police")
    html = _upload(police, "\n".join(lines) + "\n").get_data(as_text=True)
    assert "1500" in html and 'id="confirm-import"' in html
    token = re.search(r'name="token" type="hidden" value="(\w+)"', html).group(1)
    app.config["IMPORT_FIRST_WAIT_S"] = 0.0  # show the progress page at once
    location = police.post("/import/confirm", data={"csrf_token": csrf_from(html), "token": token}).headers["Location"]

    def state() -> str:
        db.session.expire_all()
        return db.session.scalar(select(ImportJob.state).where(ImportJob.token == token))

    deadline = time.monotonic() + 60
    seen_progress = False
    while state() not in ("done", "failed") and time.monotonic() < deadline:
        page = police.get(location).get_data(as_text=True)
        seen_progress |= 'http-equiv="refresh"' in page
        time.sleep(0.2)  # polling a worker thread, bounded by the deadline
    assert state() == "done"
    assert seen_progress
    job = db.session.scalar(select(ImportJob).where(ImportJob.token == token))
    assert job.rows == 1500 and job.counts["created"] == 1500 and job.attempts == 1
    final = police.get(location).get_data(as_text=True)
    assert 'data-count="created">1500<' in final and 'http-equiv="refresh"' not in final
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Device.id)).where(Device.serial.like("BIG-%"))) == 1500


def test_running_job_page_shows_progress_and_refreshes(as_user, world):
    import datetime as dt

    from supervisor.inventory import jobs
    from supervisor.inventory.models import ImportJob
    from supervisor.people.accounts import find_user

    police = as_user("police")
    job = ImportJob(token="feedbeef", user_id=find_user("police").id, filename="big.xlsx",
                    state="running", stage="write", created_at=dt.datetime.utcnow(),
                    started_at=dt.datetime.utcnow(), owner=jobs.owner_id(), done=0, total=0,
                    attempts=1)
    db.session.add(job)
    db.session.commit()
    jobs._running[job.id] = jobs.Progress("write", 500, 1500)
    try:
        html = police.get("/import/jobs/feedbeef").get_data(as_text=True)
        assert '<meta http-equiv="refresh" content="1">' in html
        assert '<progress max="1500" value="500">' in html and "正在写入" in html
        # Another user's job is not visible.
        assert as_user("alpha").get("/import/jobs/feedbeef").status_code == 403
        assert as_user("police").get("/import/jobs/feedbeef").status_code == 200
        job.user_id = None
        db.session.commit()
        assert police.get("/import/jobs/feedbeef").status_code == 404
    finally:
        jobs._running.pop(job.id, None)


def test_unconfirmed_previews_are_deleted_by_housekeeping(app, as_user, world):
    import datetime as dt
    from pathlib import Path

    from supervisor.core import clock
    from supervisor.inventory.models import ImportJob
    from supervisor.sweeps.scheduler import _import_housekeeping

    folder = Path(app.config["IMPORT_UPLOAD_DIR"])
    _upload(as_user("police"), GOOD)
    (stray := folder / "0123abcd.csv").write_text("old upload in clear")
    files = list(folder.glob("*.bin"))
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert b"Up-load-pw-881" not in files[0].read_bytes()
    # Within the hour it stays for its confirm; the scheduler's housekeeping removes strays.
    out = _import_housekeeping(app)
    assert out["import_files_removed"] == 1 and not stray.exists() and files[0].exists()
    job = db.session.scalar(select(ImportJob))
    job.created_at = clock.now() - dt.timedelta(hours=2)
    db.session.commit()
    out = _import_housekeeping(app)
    assert out["import_previews_expired"] == 1 and not files[0].exists()
    db.session.expire_all()
    assert db.session.scalar(select(ImportJob.state)) == "expired"


def test_cancel_and_reject_delete_the_upload(app, as_user, world):
    from pathlib import Path

    from supervisor.inventory.models import ImportJob

    folder = Path(app.config["IMPORT_UPLOAD_DIR"])
    police = as_user("police")
    assert _upload(police, BAD).status_code == 422
    assert not list(folder.glob("*.bin"))
    html = _upload(police, GOOD).get_data(as_text=True)
    assert len(list(folder.glob("*.bin"))) == 1
    token = re.search(r'name="token" type="hidden" value="(\w+)"', html).group(1)
    response = police.post("/import/cancel", data={"csrf_token": csrf_from(html), "token": token})
    assert response.status_code == 302
    assert not list(folder.glob("*.bin"))
    db.session.expire_all()
    assert sorted(db.session.scalars(select(ImportJob.state))) == ["cancelled", "rejected"]
    # A cancelled preview cannot be confirmed.
    police.post("/import/confirm", data={"csrf_token": csrf_from(html), "token": token})
    assert db.session.scalar(select(Device).where(Device.serial == "NEW-CAM-1")) is None


def test_header_only_file_is_not_offered_for_import(as_user, world):
    response = _upload(as_user("police"), HEADER + "\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "confirm-import" not in html
    assert "no device rows" in html
