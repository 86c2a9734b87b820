"""The monthly PDF archive: the scheduler's trigger, the job building the month before once,
the file's checksum, and the download page."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.reporting.models import ReportArchive
from tests.reporting.world import build


def test_trigger_is_the_first_of_the_month_local(app):
    from types import SimpleNamespace

    from supervisor.reporting.cli import monthly_report_trigger
    from supervisor.core import localtime
    from supervisor.sweeps.scheduler import _REGISTERED

    assert _REGISTERED["report:monthly"].target == "supervisor.reporting.archive:run_monthly_job"
    trig = monthly_report_trigger(SimpleNamespace(REPORT_MONTHLY_DAY=1, REPORT_MONTHLY_HOUR=2))
    now = dt.datetime(2026, 3, 15, 12, tzinfo=localtime.zone())
    nxt = trig.get_next_fire_time(None, now)
    assert (nxt.year, nxt.month, nxt.day, nxt.hour) == (2026, 4, 1, 2)
    assert nxt.utcoffset() == dt.timedelta(hours=8)


def test_job_builds_the_month_before_once(app):
    from supervisor.reporting.archive import run_monthly_job

    build()
    with clock.pinned(dt.datetime(2026, 3, 31, 18, 30)):  # 04-01 02:30 local
        item_id = run_monthly_job(app)
        assert run_monthly_job(app) is None  # already archived: not built twice
    item = db.session.get(ReportArchive, item_id)
    assert item.status == "done", item.error
    assert item.progress == 100
    assert item.month == dt.date(2026, 3, 1)
    path = Path(app.extensions["settings"].REPORT_DIR) / item.path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == item.sha256
    assert db.session.query(ReportArchive).count() == 1
