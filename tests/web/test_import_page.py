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
    """1,500 rows: the job page reports its stage and rows while it works, then the counts."""
    import time

    from supervisor.web import imports

    lines = [HEADER] + [
        f"阳光小区,东城区,open,bulk {i},camera,road,Hik,DS-1,BIG-{i:05d},,127.0.{40 + i // 250}.{i % 250 + 1},"
        f"80,,,admin,Pw-{i:05d}-long,,CT-ALPHA,2026-02-01" for i in range(1500)]
    police = as_user("police")
    html = _upload(police, "\n".join(lines) + "\n").get_data(as_text=True)
    assert "1500" in html and 'id="confirm-import"' in html
    token = re.search(r'name="token" type="hidden" value="(\w+)"', html).group(1)
    location = police.post("/import/confirm", data={"csrf_token": csrf_from(html), "token": token}).headers["Location"]
    job_id = location.rstrip("/").rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while imports._jobs[job_id]["state"] not in ("done", "failed") and time.monotonic() < deadline:
        page = police.get(location).get_data(as_text=True)
        assert 'http-equiv="refresh"' in page or imports._jobs[job_id]["state"] in ("done", "failed")
        time.sleep(0.2)  # polling a worker thread, bounded by the deadline
    job = imports._jobs[job_id]
    assert job["state"] == "done", job
    assert job["stage"] == "write" and job["done"] == job["total"] == 1500
    final = police.get(location).get_data(as_text=True)
    assert 'data-count="created">1500<' in final and 'http-equiv="refresh"' not in final
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Device.id)).where(Device.serial.like("BIG-%"))) == 1500


def test_running_job_page_shows_progress_and_refreshes(as_user, world):
    import time

    from supervisor.people.accounts import find_user
    from supervisor.web import imports

    police = as_user("police")
    imports._jobs["feedbeef"] = {"state": "applying", "user_id": find_user("police").id,
                                 "filename": "big.xlsx", "started": time.time() - 3, "rows": 1500,
                                 "counts": None, "error": None, "stage": "write", "done": 500, "total": 1500}
    try:
        html = police.get("/import/jobs/feedbeef").get_data(as_text=True)
        assert '<meta http-equiv="refresh" content="1">' in html
        assert '<progress max="1500" value="500">' in html and "正在写入" in html
        # Another user's job is not visible.
        assert as_user("alpha").get("/import/jobs/feedbeef").status_code == 403
        imports._jobs["feedbeef"]["user_id"] = -1
        assert police.get("/import/jobs/feedbeef").status_code == 404
    finally:
        imports._jobs.pop("feedbeef", None)


def test_abandoned_uploads_and_old_jobs_are_pruned(app, as_user, world):
    import os
    import time
    from pathlib import Path

    from supervisor.web import imports

    folder = Path(app.config["IMPORT_UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / "0123abcd.csv"
    stale.write_text("old upload")
    old = time.time() - imports.UPLOAD_MAX_AGE_S - 10
    os.utime(stale, (old, old))
    imports._jobs["0ldj0b"] = {"state": "done", "finished": time.time() - imports.JOB_MAX_AGE_S - 10}
    _upload(as_user("police"), GOOD)
    assert not stale.exists() and "0ldj0b" not in imports._jobs
    assert any(folder.glob("*.csv"))  # the fresh upload stays for its confirm
