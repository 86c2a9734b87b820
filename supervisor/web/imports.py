"""Inventory import through the pages: upload -> preview (errors beside their rows) -> confirm
-> counts. Police only.

The pages are thin over supervisor/inventory/jobs.py: an upload becomes an `import_jobs`
row in preview with its file stored encrypted (IMPORT_UPLOAD_DIR, mode 0600), bound to the
user and this session's token. A preview with errors is rejected and its file deleted at
once; cancelling deletes it too. Confirming queues the job, claims it and applies it in a
worker thread (the database may have changed since the preview: the file is parsed
again); a small file finishes within the first wait and goes straight to its counts, a
big one shows a progress page refreshing every second. Because the job is a row, any web
worker shows it, and a job left running by a process that died is resumed by the next
process that starts serving (or by the scheduler's housekeeping), or reported failed.
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from flask import (Blueprint, Flask, abort, current_app, redirect, render_template, session,
                   url_for)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, HiddenField

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.inventory import jobs
from supervisor.inventory.models import ImportJob
from supervisor.people.models import User
from supervisor.web.guards import police_only

bp = Blueprint("imports", __name__, url_prefix="/import")
log = logging.getLogger(__name__)

ALLOWED = ("csv", "xlsx")
PREVIEW_ROWS = 200
COUNT_LABELS = {"created": _l("devices created"), "updated": _l("devices updated"),
                "unchanged": _l("devices unchanged"), "communities_created": _l("communities created"),
                "communities_updated": _l("communities updated"),
                "contracts_created": _l("contracts created")}
STAGE_LABELS = {"parsing": _l("starting"), "read": _l("reading the file"),
                "validate": _l("checking rows"), "write": _l("writing")}
ERROR_TEXT = {
    jobs.ERR_INVALID: _l("The database changed since the preview and the file no longer "
                         "validates; nothing was changed. Upload it again."),
    jobs.ERR_CRASHED: _l("The import failed; nothing was changed."),
    jobs.ERR_ABANDONED: _l("The process running the import stopped several times; the import "
                           "was given up. Upload the file again."),
    jobs.ERR_FILE_GONE: _l("The uploaded file is no longer available; upload it again."),
}
FIRST_WAIT_S = 2.0  # how long confirm waits before showing the progress page


class UploadForm(FlaskForm):
    file = FileField(_l("Inventory file (CSV or XLSX)"),
                     validators=[FileRequired(), FileAllowed(ALLOWED, _l("CSV or XLSX only."))])
    create_contracts = BooleanField(_l("Create unknown contracts (for the contractor named in the file)"))


class ConfirmForm(FlaskForm):
    token = HiddenField()


def _upload_dir() -> Path:
    return jobs.upload_dir(current_app.config.get("IMPORT_UPLOAD_DIR")
                           or Path(current_app.instance_path) / "imports")


def _settings_float(name: str, default: float) -> float:
    return float(current_app.config.get(name) or default)


def _own_preview(token: str) -> ImportJob | None:
    """The job for `token`, only if it is this session's preview."""
    if not token or session.get("import_token") != token or not token.isalnum():
        return None
    job = db.session.scalar(select(ImportJob).where(ImportJob.token == token))
    if job is None or job.user_id != current_user.id or job.state != jobs.PREVIEW:
        return None
    return job


def _errors_by_row(plan: Any) -> dict[int, list[tuple[str, str]]]:
    grouped: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row, column, message in getattr(plan, "errors", []) or []:
        grouped[row if isinstance(row, int) else 0].append((column or "", str(message)))
    return dict(sorted(grouped.items()))


def _row_cells(plan: Any) -> dict[int, dict[str, Any]]:
    """The parsed values of each plan row by spreadsheet row number (secrets already masked
    as "***" by the inventory module)."""
    cells: dict[int, dict[str, Any]] = {}
    for item in getattr(plan, "rows", []) or []:
        number = getattr(item, "row", None)
        values = getattr(item, "values", None)
        if isinstance(number, int) and isinstance(values, dict):
            cells[number] = values
    return cells


def _counts_dict(counts: Any) -> dict[str, Any]:
    """The counts as an ordered dict: the known keys first, then anything else."""
    raw = jobs.counts_dict(counts)
    ordered = {k: raw[k] for k in COUNT_LABELS if k in raw}
    ordered.update({k: v for k, v in raw.items() if k not in ordered})
    return ordered


def _preview(job: ImportJob, data: bytes):
    from supervisor.inventory import importer as inventory

    plan = inventory.parse_upload(job.filename, data, create_contracts=job.create_contracts)
    errors = _errors_by_row(plan)
    if errors:  # rejected: the file (it may hold passwords) goes now, not at expiry
        jobs.end_preview(db.session, _upload_dir(), job, jobs.REJECTED, clock.now())
        session.pop("import_token", None)
    db.session.commit()
    return render_template("imports/preview.html", plan=plan, errors=errors,
                           cells=_row_cells(plan), rows=len(getattr(plan, "rows", []) or []),
                           predicted=_counts_dict(plan.counts) if getattr(plan, "counts", None) else {},
                           sample=(getattr(plan, "rows", []) or [])[:PREVIEW_ROWS],
                           count_labels=COUNT_LABELS,
                           filename=job.filename, form=ConfirmForm(token=job.token),
                           can_apply=not errors), (200 if not errors else 422)


def _housekeep() -> jobs.Housekept:
    return jobs.housekeep(db.session, _upload_dir(), clock.now(),
                          max_preview_age_s=_settings_float("IMPORT_PREVIEW_MAX_AGE_S", 3600),
                          stale_after_s=_settings_float("IMPORT_JOB_STALE_S", 3600))


@bp.route("/", methods=["GET", "POST"])
@police_only
def index():
    form = UploadForm()
    if form.validate_on_submit():
        _housekeep()
        upload = form.file.data
        filename = Path(upload.filename or "upload").name
        job = jobs.store_upload(db.session, _upload_dir(), user_id=current_user.id,
                                filename=filename, data=upload.read(),
                                create_contracts=bool(form.create_contracts.data), now=clock.now())
        db.session.commit()
        session["import_token"] = job.token
        data = jobs.read_upload(_upload_dir(), job)
        return _preview(job, data or b"")
    return render_template("imports/upload.html", form=form), (400 if form.errors else 200)


def _actor_of(job: ImportJob) -> User | None:
    return db.session.get(User, job.user_id) if job.user_id else None


def _run_in_thread(app: Flask, job_ids: list[int], *, claimed: bool = False) -> threading.Thread:
    def work() -> None:
        with app.app_context():
            try:
                if claimed:
                    for job_id in job_ids:
                        job = db.session.get(ImportJob, job_id)
                        jobs.run(db.session, _upload_dir(), job_id, actor=_actor_of(job),
                                 now=clock.now)
                else:
                    jobs.resume(db.session, _upload_dir(), job_ids, now=clock.now,
                                actor_of=_actor_of)
            finally:
                db.session.remove()

    worker = threading.Thread(target=work, name=f"import-{job_ids}", daemon=True)
    worker.start()
    return worker


@bp.post("/confirm")
@police_only
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    job = _own_preview(form.token.data or "")
    if job is None:
        return redirect(url_for("imports.index"))
    jobs.queue(job, clock.now())
    db.session.commit()
    session.pop("import_token", None)
    # Claimed here, before the answer: from now on the row names this process as its owner,
    # so if the process dies the next one resumes the job.
    if not jobs.claim(db.session, job.id, clock.now()):
        return redirect(url_for("imports.job", token=job.token))
    worker = _run_in_thread(current_app._get_current_object(), [job.id], claimed=True)
    worker.join(float(current_app.config.get("IMPORT_FIRST_WAIT_S", FIRST_WAIT_S)))
    return redirect(url_for("imports.job", token=job.token))


@bp.post("/cancel")
@police_only
def cancel():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    job = _own_preview(form.token.data or "")
    if job is not None:
        jobs.end_preview(db.session, _upload_dir(), job, jobs.CANCELLED, clock.now())
        db.session.commit()
    session.pop("import_token", None)
    return redirect(url_for("imports.index"))


def _job_view(job: ImportJob) -> dict[str, Any]:
    """What the page shows: live progress if this process runs the job."""
    live = jobs.live_progress(job.id)
    working = job.state in (jobs.QUEUED, jobs.RUNNING)
    stage = (live.stage if live else job.stage) or "parsing"
    return {"state": ("parsing" if stage == "parsing" else "applying") if working else job.state,
            "filename": job.filename, "stage": stage,
            "done": live.done if live else job.done, "total": live.total if live else job.total,
            "counts": _counts_dict(job.counts), "rows": job.rows,
            "error": ERROR_TEXT.get(job.error or "", job.error) if job.state != jobs.DONE else None}


@bp.get("/jobs/<token>")
@police_only
def job(token: str):
    if not token.isalnum() or len(token) > 32:
        abort(404)
    row = db.session.scalar(select(ImportJob).where(ImportJob.token == token))
    if row is None or row.user_id != current_user.id or row.state == jobs.PREVIEW:
        abort(404)
    end = row.finished_at or clock.now()
    elapsed = (end - (row.started_at or row.created_at)).total_seconds()
    return render_template("imports/job.html", job=_job_view(row), job_id=row.token,
                           elapsed=max(0.0, elapsed), count_labels=COUNT_LABELS,
                           stage_labels=STAGE_LABELS)


def recover(app: Flask) -> threading.Thread | None:
    """Jobs left by a process that died: resumed in a thread of this one (or failed)."""
    with app.app_context():
        try:
            result = _housekeep()
        finally:
            db.session.remove()
    if result.requeued:
        log.warning("import jobs %s were left unfinished by a stopped process: resuming",
                    result.requeued)
        return _run_in_thread(app, result.requeued)
    return None


def init_app(app: Flask) -> None:
    """A web process, at its first request, picks up jobs a dead process left behind."""
    state = {"done": False}
    lock = threading.Lock()

    @app.before_request
    def _recover_once() -> None:
        if state["done"]:
            return
        with lock:
            if state["done"]:
                return
            state["done"] = True
        try:
            recover(app)
        except Exception:  # recovery must never break a page; housekeeping retries
            log.exception("import job recovery failed")
