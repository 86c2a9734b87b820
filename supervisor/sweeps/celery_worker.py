"""The Celery side of a sweep: workers that run the probes and return plain results.

A worker imports this module only (`celery -A supervisor.sweeps.celery_worker worker --pool solo
-Q probes`): no Flask app, no database. It receives device targets as JSON dicts, runs
`probes.runner.run_batch` on them and returns one JSON dict per target. Only the
platform (supervisor/sweeps/celery_executor.py) writes the database.

Configuration comes from the environment, the same variables the platform reads through
Flask's `FLASK_` prefix:
    FLASK_CELERY_BROKER_URL      broker (default redis://127.0.0.1:6379/0)
    FLASK_CELERY_RESULT_BACKEND  result backend (default: the broker URL)
    FLASK_CELERY_QUEUE           queue the probe tasks go to (default "probes")
    FLASK_CELERY_SECRET_KEY      a Fernet key shared by platform and workers: when set, the
                                 device credentials inside the targets travel encrypted
                                 ("fernet:<token>"), so a broker that persists its queues
                                 never holds them in clear

Message shape of the task `supervisor.probe_batch`:
    args   = [targets: list[DeviceTarget.to_dict()], tier: TierSpec.to_dict(),
              limits: Limits.to_dict(), deadline_at: float | None (epoch seconds)]
    result = list of {"result": ProbeResult.to_dict(), "jpeg": base64 str | None}
The frame's JPEG travels (base64) because the platform diagnoses the picture and keeps
evidence; the decoded image never does. Device credentials travel inside the targets,
which is why the task never logs its arguments and never fails with them (every error
becomes a result value).
"""
from __future__ import annotations

import asyncio
import base64
import os
import time
from typing import Any

from celery import Celery

from supervisor.core.choices import DEVICE_SECRET_FIELDS

TASK_NAME = "supervisor.probe_batch"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
SECRET_FIELDS = DEVICE_SECRET_FIELDS
_SEALED = "fernet:"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"FLASK_{name}") or os.environ.get(name) or default


def make_celery(broker_url: str | None = None, backend_url: str | None = None,
                queue: str | None = None) -> Celery:
    """A Celery app with our settings. The platform builds one per broker; workers use
    the module-level `celery` below, configured from the environment."""
    broker = broker_url or _env("CELERY_BROKER_URL", DEFAULT_BROKER)
    app = Celery("supervisor", broker=broker, backend=backend_url or _env("CELERY_RESULT_BACKEND") or broker,
                 set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=queue or _env("CELERY_QUEUE", "probes"),
        # Probes are reads: a task lost with its worker is simply probed again next sweep;
        # the platform turns an unanswered chunk into timeout results at the deadline.
        task_acks_late=False,
        worker_prefetch_multiplier=1,   # a busy worker does not hoard chunks
        result_expires=3600,            # results are read at once; never let them pile up
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_track_started=False,
        worker_send_task_events=False,
    )
    return app


celery = make_celery()


def seal_targets(targets: list[dict[str, Any]], key: str | bytes | None) -> list[dict[str, Any]]:
    """Encrypt the credential fields of target dicts for the trip through the broker."""
    if not key:
        return targets
    from cryptography.fernet import Fernet

    box = Fernet(key)
    out = []
    for t in targets:
        t = dict(t)
        for name in SECRET_FIELDS:
            if t.get(name):
                t[name] = _SEALED + box.encrypt(str(t[name]).encode("utf-8")).decode("ascii")
        out.append(t)
    return out


def open_targets(targets: list[dict[str, Any]], key: str | bytes | None) -> list[dict[str, Any]]:
    """Decrypt sealed credential fields; a sealed value without the key is an error."""
    sealed = any(isinstance(t.get(n), str) and t[n].startswith(_SEALED)
                 for t in targets for n in SECRET_FIELDS)
    if not sealed:
        return targets
    if not key:
        raise RuntimeError("credentials arrive encrypted but this worker has no "
                           "FLASK_CELERY_SECRET_KEY")
    from cryptography.fernet import Fernet

    box = Fernet(key)
    out = []
    for t in targets:
        t = dict(t)
        for name in SECRET_FIELDS:
            value = t.get(name)
            if isinstance(value, str) and value.startswith(_SEALED):
                t[name] = box.decrypt(value[len(_SEALED):].encode("ascii")).decode("utf-8")
        out.append(t)
    return out


async def _collect(targets: list[Any], tier: Any, limits: Any,
                   deadline_s: float | None) -> list[dict[str, Any]]:
    from probes.runner import run_batch

    out: list[dict[str, Any]] = []
    async for res in run_batch(targets, tier, limits=limits, deadline_s=deadline_s):
        jpeg = res.frame.jpeg if res.frame is not None else None
        out.append({"result": res.to_dict(),
                    "jpeg": base64.b64encode(jpeg).decode("ascii") if jpeg else None})
    return out


def probe_chunk(targets: list[dict[str, Any]], tier: dict[str, Any], limits: dict[str, Any],
                deadline_at: float | None) -> list[dict[str, Any]]:
    """What the task does, callable without Celery: probe the targets, one dict each."""
    from probes.config import Limits, TierSpec
    from probes.model import DeviceTarget, ProbeError, ProbeResult
    from datetime import datetime, timezone

    spec = TierSpec.from_dict(tier)
    try:
        parsed = [DeviceTarget.from_dict(t)
                  for t in open_targets(targets, _env("CELERY_SECRET_KEY"))]
    except Exception as exc:  # no key / wrong key: every target fails, nothing is logged
        now = datetime.now(timezone.utc)
        err = ProbeError("internal", f"worker: {type(exc).__name__}: {exc}"[:300])
        return [{"result": ProbeResult(str(t.get("serial")), spec.name, now, now,
                                       error=err).to_dict(), "jpeg": None} for t in targets]
    remaining = None if deadline_at is None else deadline_at - time.time()
    if remaining is not None and remaining <= 0:
        now = datetime.now(timezone.utc)
        return [{"result": ProbeResult(t.serial, spec.name, now, now, error=ProbeError(
            "timeout", "batch deadline passed before a worker took the chunk")).to_dict(),
            "jpeg": None} for t in parsed]
    try:
        return asyncio.run(_collect(parsed, spec, Limits.from_dict(limits), remaining))
    except Exception as exc:  # never raise: a failed task would log its (secret) arguments
        now = datetime.now(timezone.utc)
        err = ProbeError("internal", f"worker: {type(exc).__name__}: {exc}"[:300])
        return [{"result": ProbeResult(t.serial, spec.name, now, now, error=err).to_dict(),
                 "jpeg": None} for t in parsed]


@celery.task(name=TASK_NAME)
def probe_batch(targets: list[dict[str, Any]], tier: dict[str, Any], limits: dict[str, Any],
                deadline_at: float | None = None) -> list[dict[str, Any]]:
    return probe_chunk(targets, tier, limits, deadline_at)
