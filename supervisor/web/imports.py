"""Inventory import through the pages: upload -> preview (errors beside their rows) -> confirm
-> counts. Police only.

The uploaded file is kept in instance/imports/ (config IMPORT_UPLOAD_DIR) under a random token bound to the user's
session; confirming parses it again (the database may have changed since the preview) and
applies it with inventory.apply_plan in one transaction. Applying runs in a worker thread so
a big file shows a progress page (refreshing every second) instead of a hung request; a small
file finishes within the first wait and goes straight to its counts.

Jobs are kept in this process's memory: enough for one web process (the demo and a small
deployment); a multi-process deployment would move them to the database or Redis.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from flask import (Blueprint, abort, current_app, redirect, render_template, session,
                   url_for)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField

from supervisor.web.guards import police_only
from supervisor.core.extensions import db
from supervisor.people.models import User

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
FIRST_WAIT_S = 2.0  # how long confirm waits before showing the progress page
_jobs: dict[str, dict[str, Any]] = {}
_jobs_lock = threading.Lock()


class UploadForm(FlaskForm):
    file = FileField(_l("Inventory file (CSV or XLSX)"),
                     validators=[FileRequired(), FileAllowed(ALLOWED, _l("CSV or XLSX only."))])
    create_contracts = BooleanField(_l("Create unknown contracts (for the contractor named in the file)"))


class ConfirmForm(FlaskForm):
    token = HiddenField()


UPLOAD_MAX_AGE_S = 24 * 3600  # previews never confirmed are deleted after a day
JOB_MAX_AGE_S = 3600           # finished jobs are forgotten after an hour


def _upload_dir() -> Path:
    path = Path(current_app.config.get("IMPORT_UPLOAD_DIR") or Path(current_app.instance_path) / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prune(now: float) -> None:
    """Abandoned uploads (they may hold device passwords) and old finished jobs go away."""
    for stale in _upload_dir().iterdir():
        try:
            if now - stale.stat().st_mtime > UPLOAD_MAX_AGE_S:
                stale.unlink()
        except OSError:
            pass
    with _jobs_lock:
        for job_id in [j for j, job in _jobs.items()
                       if job.get("finished") and now - job["finished"] > JOB_MAX_AGE_S]:
            del _jobs[job_id]


def _stored(token: str) -> Path | None:
    """The stored upload for `token`, only if it is this session's."""
    if not token or session.get("import_token") != token or not token.isalnum():
        return None
    matches = [p for p in _upload_dir().glob(f"{token}.*") if p.suffix[1:] in ALLOWED]
    return matches[0] if matches else None


def _original_name(path: Path) -> str:
    return session.get("import_filename") or path.name


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
    """The counts as an ordered dict: the known keys first (whether the object is a dataclass,
    a mapping or a plain object with class-level defaults), then anything else it carries."""
    if dataclasses.is_dataclass(counts):
        raw = dataclasses.asdict(counts)
    elif isinstance(counts, dict):
        raw = dict(counts)
    else:
        raw = {k: getattr(counts, k) for k in COUNT_LABELS if hasattr(counts, k)}
        raw.update({k: v for k, v in vars(counts).items() if not k.startswith("_")})
    ordered = {k: raw[k] for k in COUNT_LABELS if k in raw}
    ordered.update({k: v for k, v in raw.items() if k not in ordered})
    return ordered


def _preview(path: Path):
    from supervisor.inventory import importer as inventory

    plan = inventory.parse_upload(_original_name(path), path.read_bytes(),
                                  create_contracts=bool(session.get("import_create_contracts")))
    errors = _errors_by_row(plan)
    return render_template("imports/preview.html", plan=plan, errors=errors,
                           cells=_row_cells(plan), rows=len(getattr(plan, "rows", []) or []),
                           predicted=_counts_dict(plan.counts) if getattr(plan, "counts", None) else {},
                           sample=(getattr(plan, "rows", []) or [])[:PREVIEW_ROWS],
                           count_labels=COUNT_LABELS,
                           filename=_original_name(path), form=ConfirmForm(token=path.stem),
                           can_apply=not errors), (200 if not errors else 422)


@bp.route("/", methods=["GET", "POST"])
@police_only
def index():
    form = UploadForm()
    if form.validate_on_submit():
        _prune(time.time())
        upload = form.file.data
        filename = Path(upload.filename or "upload").name
        ext = filename.rsplit(".", 1)[-1].lower()
        token = secrets.token_hex(16)
        path = _upload_dir() / f"{token}.{ext}"
        upload.save(path)
        session["import_token"] = token
        session["import_filename"] = filename
        session["import_create_contracts"] = bool(form.create_contracts.data)
        return _preview(path)
    return render_template("imports/upload.html", form=form), (400 if form.errors else 200)


def _run(app, job_id: str, path: Path, filename: str, user_id: int, create_contracts: bool) -> None:
    from supervisor.inventory import importer as inventory

    job = _jobs[job_id]

    def progress(stage: str, done: int, total: int) -> None:
        job.update(stage=stage, done=done, total=total)

    with app.app_context():
        try:
            actor = db.session.get(User, user_id)
            plan = inventory.parse_upload(filename, path.read_bytes(), create_contracts=create_contracts,
                                          progress=progress)
            if getattr(plan, "errors", None):
                job.update(state="failed", error="the file no longer validates; upload it again")
                return
            job["rows"] = len(getattr(plan, "rows", []) or [])
            job["state"] = "applying"
            counts = inventory.apply_plan(plan, actor, progress=progress)
            db.session.commit()
            job.update(state="done", counts=_counts_dict(counts))
        except inventory.ImportRejected:
            db.session.rollback()
            job.update(state="failed", error="the database changed since the preview and the file "
                                             "no longer validates; nothing was changed. Upload it again.")
        except Exception:  # the job page must say it failed; the details go to the log
            db.session.rollback()
            log.exception("import job %s failed", job_id)
            job.update(state="failed", error="the import failed; nothing was changed")
        finally:
            job["finished"] = time.time()
            path.unlink(missing_ok=True)


@bp.post("/confirm")
@police_only
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    path = _stored(form.token.data or "")
    if path is None:
        return redirect(url_for("imports.index"))
    job_id = secrets.token_hex(8)
    with _jobs_lock:
        _jobs[job_id] = {"state": "parsing", "user_id": current_user.id, "filename": _original_name(path),
                         "started": time.time(), "rows": None, "counts": None, "error": None,
                         "stage": "parsing", "done": 0, "total": 0}
    session.pop("import_token", None)
    worker = threading.Thread(target=_run, name=f"import-{job_id}", daemon=True,
                              args=(current_app._get_current_object(), job_id, path,
                                    _original_name(path), current_user.id,
                                    bool(session.get("import_create_contracts"))))
    worker.start()
    worker.join(FIRST_WAIT_S)
    return redirect(url_for("imports.job", job_id=job_id))


@bp.get("/jobs/<job_id>")
@police_only
def job(job_id: str):
    job = _jobs.get(job_id)
    if job is None or job["user_id"] != current_user.id:
        abort(404)
    elapsed = (job.get("finished") or time.time()) - job["started"]
    return render_template("imports/job.html", job=job, job_id=job_id, elapsed=elapsed,
                           count_labels=COUNT_LABELS, stage_labels=STAGE_LABELS)
