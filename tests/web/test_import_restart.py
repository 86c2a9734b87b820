"""An import job survives its web process: kill -9 the server while it applies a file, start
another, and the job finishes (or says it failed) -- never silently lost."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from supervisor.core.extensions import db
from supervisor.inventory import jobs
from supervisor.inventory.models import ImportJob

from .conftest import PASSWORDS, TEST_CONFIG

ROOT = Path(__file__).resolve().parents[2]
HEADER = "community,district,community_type,name,kind,role,serial,ip,onvif_port,username,password,contract"
ROWS = 3000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db_path: Path, uploads: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
           "FLASK_IMPORT_UPLOAD_DIR": str(uploads), "FLASK_SECRET_KEY": "restart-test",
           "FLASK_DEVICE_SECRET_KEY": TEST_CONFIG["DEVICE_SECRET_KEY"],
           "FLASK_IMPORT_FIRST_WAIT_S": "0", "FLASK_RATELIMIT_ENABLED": "false",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app:create_app", "run",
                             "--no-reload", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)  # waiting for the server to listen, bounded
    raise AssertionError("server did not start")


def _login(base: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = s.post(f"{base}/login", data={"username": "police", "password": PASSWORDS["police"],
                                      "csrf_token": token}, allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:500]
    return s


def _job_row(db_path: Path, token: str) -> tuple:
    with sqlite3.connect(db_path, timeout=30) as con:
        return con.execute("select state, attempts, error from import_jobs where token = ?",
                           (token,)).fetchone()


def _count(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=30) as con:
        return con.execute("select count(*) from devices where serial like 'RST-%'").fetchone()[0]


def test_job_killed_mid_apply_is_resumed_by_the_next_process(tmp_path, db_template):
    db_path = tmp_path / "live.db"
    shutil.copyfile(db_template, db_path)
    uploads = tmp_path / "uploads"
    log = tmp_path / "server.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    lines = [HEADER] + [f"阳光小区,东城区,open,cam {i},camera,road,RST-{i:05d},"
                        f"127.1.{i // 250}.{i % 250 + 1},80,admin,Secret-{i:05d}-pw,CT-ALPHA"
                        for i in range(ROWS)]
    first = _serve(db_path, uploads, port, log)
    try:
        s = _login(base)
        page = s.get(f"{base}/import/", timeout=30).text
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        preview = s.post(f"{base}/import/", data={"csrf_token": csrf},
                         files={"file": ("big.csv", ("\n".join(lines) + "\n").encode())}, timeout=120)
        assert preview.status_code == 200, preview.text[-2000:]
        token = re.search(r'name="token" type="hidden" value="(\w+)"', preview.text).group(1)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', preview.text).group(1)
        confirm = s.post(f"{base}/import/confirm", data={"csrf_token": csrf, "token": token},
                         allow_redirects=False, timeout=30)
        assert confirm.status_code == 302
    finally:
        first.send_signal(signal.SIGKILL)  # no clean shutdown: the process just dies
        first.wait()
    state, attempts, _ = _job_row(db_path, token)
    assert state == "running", state  # it was still working when killed
    assert _count(db_path) == 0                   # one transaction: nothing half-written
    assert list(uploads.glob("*.bin"))            # the encrypted file waits for the resume

    second = _serve(db_path, uploads, port, log)
    try:
        s = _login(base)  # the first request of the new process looks for orphaned jobs
        deadline = time.monotonic() + 120
        while _job_row(db_path, token)[0] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)  # polling the resumed job, bounded by the deadline
        state, attempts, error = _job_row(db_path, token)
        assert state == "done", (state, error, log.read_text()[-3000:])
        assert attempts == 2
        page = s.get(f"{base}/import/jobs/{token}", timeout=30).text
        assert f'data-count="created">{ROWS}<' in page
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert _count(db_path) == ROWS
    assert not list(uploads.glob("*"))  # the file is gone once the job is done


def test_a_job_whose_process_died_too_often_or_lost_its_file_fails_with_a_reason(app, world,
                                                                                   tmp_path):
    now = dt.datetime(2026, 3, 1, 12, 0)
    folder = jobs.upload_dir(tmp_path / "up")
    dead = f"{socket.gethostname()[:80]}:999999999:dead"
    exhausted = jobs.store_upload(db.session, folder, user_id=None, filename="a.csv", data=b"x",
                                  create_contracts=False, now=now)
    lost = jobs.store_upload(db.session, folder, user_id=None, filename="b.csv", data=b"y",
                             create_contracts=False, now=now)
    retry = jobs.store_upload(db.session, folder, user_id=None, filename="c.csv", data=b"z",
                              create_contracts=False, now=now)
    for job, attempts in ((exhausted, jobs.MAX_ATTEMPTS), (lost, 1), (retry, 1)):
        job.state, job.owner, job.attempts, job.heartbeat_at = "running", dead, attempts, now
    jobs.discard_upload(folder, lost)
    db.session.commit()
    out = jobs.housekeep(db.session, folder, now, max_preview_age_s=3600, stale_after_s=3600)
    assert out.requeued == [retry.id] and out.failed == 2
    db.session.expire_all()
    got = {j.filename: (j.state, j.error) for j in db.session.query(ImportJob)}
    assert got == {"a.csv": ("failed", jobs.ERR_ABANDONED), "b.csv": ("failed", jobs.ERR_FILE_GONE),
                   "c.csv": ("queued", None)}
    # A live owner (this process) is left alone.
    retry.state, retry.owner = "running", jobs.owner_id()
    db.session.commit()
    assert jobs.housekeep(db.session, folder, now, max_preview_age_s=3600,
                          stale_after_s=3600).requeued == []
