"""The monthly PDF archive: build a report_archive row's PDF with progress, write it under
REPORT_DIR with its sha256, and the scheduler's job (the month before, once)."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports import periods
from reports.monthly import build_pdf
from supervisor.core import clock, localtime
from supervisor.reporting.models import ReportArchive


def start_archive(session: Session, month: periods.Period, contract_code: str | None,
                  now: dt.datetime) -> ReportArchive:
    item = ReportArchive(month=month.first, contract_code=contract_code, status="building",
                         progress=0, step="queued", started_at=now)
    session.add(item)
    session.flush()
    return item


def build_archived(app: Any, item_id: int) -> int | None:
    """Build an archive row's PDF inside `app`'s context (the page's thread, the scheduler's
    job, the CLI), updating its progress as it goes. Returns the row's id (None: no row)."""
    from supervisor.core.extensions import db
    from supervisor.profiles.loader import profile_for
    from supervisor.reporting.context import city_profile

    with app.app_context():
        item = db.session.get(ReportArchive, item_id)
        if item is None:
            return None
        month = periods.month(item.month.year, item.month.month)
        settings = app.extensions["settings"]

        def progress(pct: int, step: str) -> None:
            item.progress, item.step = pct, step
            db.session.commit()

        try:
            pdf, _ = build_pdf(db.session, month, clock.now(), city_profile(settings.SCHEDULER_PROFILE),
                               profile_for, item.contract_code, progress)
            name = f"monthly-{month.label}{'-' + item.contract_code if item.contract_code else ''}-{item.id}.pdf"
            base = Path(settings.REPORT_DIR)
            base.mkdir(parents=True, exist_ok=True)
            (base / name).write_bytes(pdf)
            item.path, item.bytes = name, len(pdf)
            item.sha256 = hashlib.sha256(pdf).hexdigest()
            item.status, item.progress, item.step = "done", 100, "done"
        except Exception as exc:  # the failure is shown on the archive page, never lost
            db.session.rollback()
            item = db.session.get(ReportArchive, item_id)
            item.status, item.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        item.finished_at = clock.now()
        db.session.commit()
        return item_id


def previous_month(now: dt.datetime) -> periods.Period:
    local = localtime.to_local(now).date()
    first = periods.add_months(local.replace(day=1), -1)
    return periods.month(first.year, first.month)


def run_monthly_job(app: Any) -> int | None:
    """The scheduler's job: the month before, once (an archived done build is not repeated).
    Returns the archive row's id, None when there was nothing to do."""
    from supervisor.core.extensions import db

    with app.app_context():
        month = previous_month(clock.now())
        done = db.session.scalar(sa.select(ReportArchive.id).where(
            ReportArchive.month == month.first, ReportArchive.contract_code.is_(None),
            ReportArchive.status == "done"))
        if done:
            return None
        item = start_archive(db.session, month, None, clock.now())
        db.session.commit()
        item_id = item.id
    return build_archived(app, item_id)
