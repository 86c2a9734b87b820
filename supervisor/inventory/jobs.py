"""Inventory import jobs: an upload becomes a row in `import_jobs`, its file an encrypted
blob, and applying it a step that survives the web process.

Life of a job (states):

    preview ──confirm──► queued ──claim──► running ──► done | failed
       │
       └──► cancelled (the user), rejected (the file has errors), expired (never confirmed)

- The uploaded file may hold device passwords and SNMP keys, so it is never stored in
  clear: `store_upload` writes it as a Fernet token (the device secret key,
  core/secretbox.py) into IMPORT_UPLOAD_DIR (mode 0700) as `<token>.bin` (mode 0600).
  It is deleted as soon as the job leaves preview/queued/running, and `housekeep` deletes
  it after `max_preview_age_s` whoever visits the site (the scheduler's housekeeping job
  calls it), along with any file that no live job claims.
- `claim` moves a job from queued to running in one conditional UPDATE, so two processes
  never run the same job. The row records who runs it (`owner` = host:pid:process token).
- `housekeep` finds jobs left `running` by a process that is gone (same host: its pid is
  not alive; another host: no heartbeat for `stale_after_s`) and queues them again
  (applying is one transaction and idempotent: a rerun of a file already applied finds
  its rows unchanged) up to MAX_ATTEMPTS, after which the job fails with the reason. A job
  is never silently lost.

Needs an app context for `run` (the importer writes through db.session); everything else
takes the session explicitly.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supervisor.core import secretbox
from supervisor.inventory.models import ImportJob

log = logging.getLogger(__name__)

PREVIEW, QUEUED, RUNNING, DONE, FAILED = "preview", "queued", "running", "done", "failed"
CANCELLED, REJECTED, EXPIRED = "cancelled", "rejected", "expired"
LIVE = (PREVIEW, QUEUED, RUNNING)          # states whose file is still needed
MAX_ATTEMPTS = 3
HEARTBEAT_EVERY_S = 10.0          # progress/heartbeat writes of a running job (not SQLite)
UNCLAIMED_S = 60.0                 # a queued job nobody claimed for this long is picked up
SUFFIX = ".bin"
_PROCESS_TOKEN = secrets.token_hex(4)

# Failure reasons kept on the row (shown translated by the page).
ERR_INVALID = "invalid"          # the file no longer validates against the database
ERR_CRASHED = "crashed"          # an unexpected error; details in the log
ERR_ABANDONED = "abandoned"      # the process running it stopped, attempts exhausted
ERR_FILE_GONE = "file_gone"      # the encrypted upload is missing (deleted, other host)


def owner_id() -> str:
    """Who runs a job: this host, this process id and a token unique to this process."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{_PROCESS_TOKEN}"


def owner_is_gone(owner: str | None, heartbeat_at: dt.datetime | None, now: dt.datetime,
                  stale_after_s: float) -> bool:
    """True when the process named by `owner` can no longer be running the job."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host == socket.gethostname()[:80]:
        try:
            pid = int(pid_text)
        except ValueError:
            return True
        if pid == os.getpid():
            return token != _PROCESS_TOKEN  # same pid, another process before a restart
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return heartbeat_at is None or (now - heartbeat_at).total_seconds() > stale_after_s


# ---------------------------------------------------------------- files

def upload_dir(path: Path | str) -> Path:
    """The folder of encrypted uploads, created readable by this user only."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def _file(folder: Path | str, job: ImportJob) -> Path:
    return Path(folder) / f"{job.token}{SUFFIX}"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def read_upload(folder: Path | str, job: ImportJob) -> bytes | None:
    """The plaintext of the job's upload, or None when it is gone."""
    try:
        return secretbox.decrypt_bytes(_file(folder, job).read_bytes())
    except (OSError, RuntimeError):
        return None


def discard_upload(folder: Path | str, job: ImportJob) -> None:
    _file(folder, job).unlink(missing_ok=True)


def store_upload(session: Session, folder: Path | str, *, user_id: int | None, filename: str,
                 data: bytes, create_contracts: bool, now: dt.datetime) -> ImportJob:
    """A new job in preview with its file stored encrypted (flushed, not committed)."""
    job = ImportJob(token=secrets.token_hex(16), user_id=user_id, filename=filename[:255],
                    create_contracts=create_contracts, state=PREVIEW, created_at=now,
                    done=0, total=0, attempts=0)
    _write_private(_file(upload_dir(folder), job), secretbox.encrypt_bytes(data))
    session.add(job)
    session.flush()
    return job


# ---------------------------------------------------------------- transitions

def end_preview(session: Session, folder: Path | str, job: ImportJob, state: str,
                now: dt.datetime) -> None:
    """preview → cancelled | rejected | expired; the file goes at once."""
    if job.state == PREVIEW:
        job.state, job.finished_at = state, now
    discard_upload(folder, job)


def queue(job: ImportJob, now: dt.datetime) -> bool:
    if job.state != PREVIEW:
        return False
    job.state, job.stage, job.heartbeat_at = QUEUED, "parsing", now
    return True


def claim(session: Session, job_id: int, now: dt.datetime, owner: str | None = None) -> bool:
    """queued → running for this process, atomically (committed)."""
    result = session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.state == QUEUED)
        .values(state=RUNNING, owner=owner or owner_id(), started_at=now, heartbeat_at=now,
                attempts=ImportJob.attempts + 1))
    session.commit()
    return result.rowcount == 1


@dataclass
class Progress:
    """Live progress of the job this process runs (applying is one transaction, so the row
    only learns the stage boundaries; the page of the same process shows the counts)."""

    stage: str = "parsing"
    done: int = 0
    total: int = 0


_running: dict[int, Progress] = {}


def live_progress(job_id: int) -> Progress | None:
    return _running.get(job_id)


def run(session: Session, folder: Path | str, job_id: int, *, actor: Any,
        now: Callable[[], dt.datetime]) -> str:
    """Applies a claimed (running) job; returns its final state. Never raises for a bad
    file or a failed write: the row says what happened."""
    from supervisor.inventory import importer

    job = session.get(ImportJob, job_id)
    if job is None or job.state != RUNNING:
        return job.state if job else FAILED
    progress = _running.setdefault(job_id, Progress())
    beat = _heartbeat(session, job_id, now)

    def step(stage: str, done: int, total: int) -> None:
        progress.stage, progress.done, progress.total = stage, done, total
        beat(progress)

    try:
        data = read_upload(folder, job)
        if data is None:
            return _finish(session, folder, job_id, FAILED, now(), error=ERR_FILE_GONE)
        plan = importer.parse_upload(job.filename, data, create_contracts=job.create_contracts,
                                     progress=step)
        rows = len(plan.rows)
        if plan.errors:
            return _finish(session, folder, job_id, FAILED, now(), error=ERR_INVALID, rows=rows)
        counts = importer.apply_plan(plan, actor, progress=step)
        return _finish(session, folder, job_id, DONE, now(), rows=rows,
                       counts=counts_dict(counts))
    except importer.ImportRejected:
        session.rollback()
        return _finish(session, folder, job_id, FAILED, now(), error=ERR_INVALID)
    except Exception:  # the row must say it failed; the details go to the log
        session.rollback()
        log.exception("import job %s failed", job_id)
        return _finish(session, folder, job_id, FAILED, now(), error=ERR_CRASHED)
    finally:
        _running.pop(job_id, None)


def _heartbeat(session: Session, job_id: int,
               now: Callable[[], dt.datetime]) -> Callable[[Progress], None]:
    """Progress and a sign of life written to the row on a connection of its own, at most
    every HEARTBEAT_EVERY_S, so other workers (and hosts) see the job advancing while its
    one apply transaction is open. Not on SQLite: a second writer would wait for the
    apply's lock; there one host runs everything and the pid check judges liveness."""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        return lambda progress: None
    last = [float("-inf")]

    def beat(progress: Progress) -> None:
        t = time.monotonic()
        if t - last[0] < HEARTBEAT_EVERY_S:
            return
        last[0] = t
        try:
            with engine.begin() as conn:
                conn.execute(update(ImportJob)
                             .where(ImportJob.id == job_id, ImportJob.state == RUNNING)
                             .values(heartbeat_at=now(), stage=progress.stage,
                                     done=progress.done, total=progress.total))
        except Exception:  # a missed beat is not a failed import
            log.warning("import job %s: heartbeat not written", job_id, exc_info=True)

    return beat


def _finish(session: Session, folder: Path | str, job_id: int, state: str, at: dt.datetime, *,
            error: str | None = None, rows: int | None = None,
            counts: dict[str, Any] | None = None) -> str:
    job = session.get(ImportJob, job_id)
    job.state, job.finished_at, job.heartbeat_at, job.error = state, at, at, error
    job.stage = None
    if rows is not None:
        job.rows = rows
    if counts is not None:
        job.counts = counts
    discard_upload(folder, job)
    session.commit()
    return state


COUNT_KEYS = ("created", "updated", "unchanged", "communities_created", "communities_updated",
              "contracts_created")


def counts_dict(counts: Any) -> dict[str, Any]:
    """ImportCounts (class-level defaults, so not all in vars()) as a plain dict."""
    if counts is None:
        return {}
    if isinstance(counts, dict):
        return dict(counts)
    out = {k: getattr(counts, k) for k in COUNT_KEYS if hasattr(counts, k)}
    out.update({k: v for k, v in vars(counts).items() if not k.startswith("_")})
    return out


# ---------------------------------------------------------------- housekeeping

@dataclass
class Housekept:
    expired: int = 0
    requeued: list[int] = field(default_factory=list)
    failed: int = 0
    files_removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"import_previews_expired": self.expired,
                "import_jobs_requeued": len(self.requeued),
                "import_jobs_failed": self.failed,
                "import_files_removed": self.files_removed}


def housekeep(session: Session, folder: Path | str, now: dt.datetime, *,
              max_preview_age_s: float, stale_after_s: float) -> Housekept:
    """Expire old previews, requeue (or fail) jobs whose process is gone, and delete every
    upload file that no live job claims. Commits."""
    out = Housekept()
    folder = upload_dir(folder)
    cutoff = now - dt.timedelta(seconds=max_preview_age_s)
    for job in session.scalars(select(ImportJob).where(ImportJob.state == PREVIEW,
                                                       ImportJob.created_at < cutoff)):
        end_preview(session, folder, job, EXPIRED, now)
        out.expired += 1
    for job in session.scalars(select(ImportJob).where(ImportJob.state.in_((RUNNING, QUEUED)))):
        if job.state == QUEUED:
            # Confirming claims at once: queued for a minute means that process died first.
            if job.heartbeat_at and (now - job.heartbeat_at).total_seconds() < UNCLAIMED_S:
                continue
        elif not owner_is_gone(job.owner, job.heartbeat_at, now, stale_after_s):
            continue
        if job.attempts >= MAX_ATTEMPTS or not _file(folder, job).exists():
            job.state, job.finished_at = FAILED, now
            job.error = ERR_ABANDONED if _file(folder, job).exists() else ERR_FILE_GONE
            discard_upload(folder, job)
            out.failed += 1
        else:
            job.state, job.owner, job.stage = QUEUED, None, "parsing"
            out.requeued.append(job.id)
    session.commit()
    live = {t for (t,) in session.execute(select(ImportJob.token)
                                          .where(ImportJob.state.in_(LIVE)))}
    for path in folder.iterdir():
        if path.is_file() and path.name.removesuffix(SUFFIX) not in live:
            path.unlink(missing_ok=True)
            out.files_removed += 1
    return out


def resume(session: Session, folder: Path | str, job_ids: list[int], *,
           now: Callable[[], dt.datetime], actor_of: Callable[[ImportJob], Any]) -> dict[int, str]:
    """Claims and runs each queued job in turn (in this thread); their final states."""
    out = {}
    for job_id in job_ids:
        if not claim(session, job_id, now()):
            continue
        job = session.get(ImportJob, job_id)
        out[job_id] = run(session, folder, job_id, actor=actor_of(job), now=now)
    return out
