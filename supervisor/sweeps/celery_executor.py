"""The Celery executor: the same sweep, with the probing done by Celery workers.

Selected with `FLASK_PROBE_EXECUTOR=celery` (supervisor/executors.get_executor). It
implements the executor protocol of supervisor/sweeps/executors.py:

    iter_results(targets, tier, limits, deadline_s) -> Iterator[ProbeResult]

The targets are cut into chunks; each chunk is one `supervisor.probe_batch` task
(supervisor/sweeps/celery_worker.py). Results are read back as chunks finish (one Redis MGET per
poll over every pending chunk) and handed to the sweep, which judges and stores them:
workers never touch the database. Every target yields exactly one result: a chunk that
fails, or does not come back before the batch deadline (plus a grace for the round
trip), yields results carrying an `internal` or `not_measured` error — never silence: no
worker in time is the platform's shortfall, never the device's (the local runner records
a batch deadline the same way). Chunks
still pending when the iterator is closed or times out are revoked.

Config (Flask, from FLASK_* env): CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_QUEUE,
CELERY_SECRET_KEY (Fernet key shared with the workers: credentials travel encrypted),
CELERY_CHUNK_SIZE (devices per task, default 100), CELERY_FRAME_CHUNK_SIZE (default 20,
for tiers that grab frames: their JPEGs travel back), CELERY_GRACE_S (default 15).
"""
from __future__ import annotations

import base64
import logging
import time
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget, ProbeError, ProbeResult

from supervisor.sweeps.celery_worker import TASK_NAME, make_celery, seal_targets

log = logging.getLogger(__name__)

_APPS: dict[tuple[str | None, str | None, str | None], Celery] = {}


def _celery_for(broker: str | None, backend: str | None, queue: str | None) -> Celery:
    """One Celery client per broker/backend/queue in this process (connection pools)."""
    key = (broker, backend, queue)
    if key not in _APPS:
        _APPS[key] = make_celery(broker, backend, queue)
    return _APPS[key]


def _error_result(target: DeviceTarget, tier: str, kind: str, message: str) -> ProbeResult:
    now = datetime.now(timezone.utc)
    return ProbeResult(target.serial, tier, now, now, error=ProbeError(kind, message))


def decode_item(item: dict[str, Any]) -> ProbeResult:
    """One worker answer back into a ProbeResult, with its frame JPEG restored."""
    res = ProbeResult.from_dict(item["result"])
    jpeg = item.get("jpeg")
    if jpeg and res.frame is not None:
        res.frame.jpeg = base64.b64decode(jpeg)
    return res


class CeleryExecutor:
    """Probes on Celery workers; results in completion order of their chunks."""

    name = "celery"

    def __init__(self, broker_url: str | None = None, backend_url: str | None = None,
                 queue: str | None = None, chunk_size: int | None = None,
                 frame_chunk_size: int | None = None, grace_s: float | None = None,
                 poll_s: float = 0.05, secret_key: str | bytes | None = None,
                 settings: Any = None):
        # Explicit arguments win; then the platform's settings; then the worker's defaults.
        cfg = settings.model_dump() if settings is not None else {}
        self.broker_url = broker_url or cfg.get("CELERY_BROKER_URL")
        self.backend_url = backend_url or cfg.get("CELERY_RESULT_BACKEND")
        self.queue = queue or cfg.get("CELERY_QUEUE")
        self.chunk_size = max(1, int(chunk_size or cfg.get("CELERY_CHUNK_SIZE", 100)))
        self.frame_chunk_size = max(1, int(frame_chunk_size or cfg.get("CELERY_FRAME_CHUNK_SIZE", 20)))
        self.grace_s = float(grace_s if grace_s is not None else cfg.get("CELERY_GRACE_S", 15))
        self.poll_s = poll_s
        self.secret_key = secret_key or cfg.get("CELERY_SECRET_KEY")
        self.celery = _celery_for(self.broker_url, self.backend_url, self.queue)

    def _chunks(self, targets: list[DeviceTarget], tier: TierSpec) -> list[list[DeviceTarget]]:
        size = self.frame_chunk_size if "frame" in tier.checks else self.chunk_size
        return [targets[i:i + size] for i in range(0, len(targets), size)]

    def iter_results(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                     deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        if not targets:
            return
        deadline_at = time.time() + deadline_s if deadline_s else None
        tier_d, limits_d = tier.to_dict(), limits.to_dict()
        pending: dict[str, list[DeviceTarget]] = {}
        for chunk in self._chunks(list(targets), tier):
            sent = self.celery.send_task(
                TASK_NAME, args=[seal_targets([t.to_dict() for t in chunk], self.secret_key),
                                 tier_d, limits_d, deadline_at],
                # a chunk nobody picked up before the deadline is dropped by the workers
                expires=(datetime.fromtimestamp(deadline_at, timezone.utc)
                         if deadline_at else None))
            pending[sent.id] = chunk
        backend = self.celery.backend
        timeout = (deadline_s + self.grace_s) if deadline_s else None
        try:
            try:
                for task_id, meta in backend.get_many(set(pending), timeout=timeout,
                                                      interval=self.poll_s):
                    chunk = pending.pop(task_id, None)
                    if chunk is None:
                        continue
                    yield from self._chunk_results(chunk, tier.name, meta)
                    backend.forget(task_id)
            except CeleryTimeout:
                log.warning("celery sweep: %d chunk(s) did not come back before the deadline",
                            len(pending))
                for task_id, chunk in list(pending.items()):
                    pending.pop(task_id)
                    for target in chunk:
                        yield _error_result(target, tier.name, "not_measured",
                                            f"no worker answered within {timeout:g}s")
        finally:
            if pending:  # closed early or timed out: don't leave work queued for nobody
                try:
                    self.celery.control.revoke(list(pending))
                except Exception:  # the broker is gone; the tasks expire on their own
                    log.exception("could not revoke %d pending chunk(s)", len(pending))

    def _chunk_results(self, chunk: list[DeviceTarget], tier: str,
                       meta: dict[str, Any]) -> Iterator[ProbeResult]:
        answered: set[str] = set()
        if meta.get("status") == "SUCCESS" and isinstance(meta.get("result"), list):
            wanted = {t.serial for t in chunk}
            for item in meta["result"]:
                try:
                    res = decode_item(item)
                except Exception as exc:  # a malformed answer is a failure of that chunk
                    log.warning("celery sweep: undecodable worker answer: %s", exc)
                    continue
                if res.serial not in wanted or res.serial in answered:
                    continue  # never trust a foreign or repeated serial
                answered.add(res.serial)
                yield res
            reason = "worker answered without this device"
        else:
            reason = f"worker task {meta.get('status', '?')}: {str(meta.get('result'))[:200]}"
        for target in chunk:
            if target.serial not in answered:
                yield _error_result(target, tier, "internal", reason)
