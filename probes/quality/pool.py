"""Pixels off the event loop: a process pool that asyncio callers can await.

Diagnosis is CPU work (tens of ms a frame); run on the probes' event loop it would stall
every network probe in flight. Workers read the thresholds once, at start-up, and keep
the acceptance references they have prepared (``probes.quality.reference``, a budget in
bytes per worker): a camera's next frame judged by the same worker reuses its reference.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any, Mapping, Optional

from probes.quality.diagnose import diagnose
from probes.quality.frame import FrameLike
from probes.quality.reference import set_reference_cache
from probes.quality.thresholds import Thresholds

_WORKER_THRESHOLDS: Optional[Thresholds] = None

# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 64 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Let this process keep the heap memory it frees for its next frames (glibc only;
    True when set).

    Judging a frame allocates and frees arrays of a few MB. glibc gives the top of its heap
    back to the system once more than a threshold is free there (a threshold it moves with
    the sizes freed so far), and the next frame's arrays then fault their pages in again:
    on 1080p frames with burned-in text up to ~7,000 page faults a frame, ~15 ms of CPU,
    depending on what the process allocated before. A worker keeps up to
    ``KEEP_FREED_BYTES`` of freed heap instead, and takes arrays under half that from it."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES)) and \
            bool(libc.mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES // 2))
    except (OSError, AttributeError):  # not glibc: its own allocator's policy stands
        return False


def _init_worker(section: Optional[Mapping[str, Any]], reference_bytes: Optional[int] = None) -> None:
    global _WORKER_THRESHOLDS
    keep_freed_memory()
    if reference_bytes is not None:
        set_reference_cache(reference_bytes)
    _WORKER_THRESHOLDS = Thresholds.from_mapping(section) if section is not None else Thresholds.default()
    # each worker is one core's worth: keep OpenCV and BLAS from spawning threads on top
    from probes.quality.cores import hold_to_one_core
    hold_to_one_core()


def _work(frame: FrameLike, previous: Optional[FrameLike], reference: Optional[FrameLike],
          captured_at: Optional[datetime], overrides: Optional[Mapping[str, Any]],
          section: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    th = _WORKER_THRESHOLDS or Thresholds.default()
    if overrides:
        th = Thresholds.from_mapping(section, overrides) if section is not None \
            else Thresholds.from_yaml(overrides=overrides)
    return diagnose(frame, previous, reference, th, captured_at).as_dict()


class QualityPool:
    """``await pool.diagnose(frame, ...)`` -> ``Diagnosis.as_dict()`` (plain data, picklable).

    Frames may be encoded bytes (cheapest to send) or paths; a corrupt frame raises
    ``FrameError`` in the awaiting caller. Use as a context manager or call ``close()``.
    """

    def __init__(self, workers: Optional[int] = None,
                 section: Optional[Mapping[str, Any]] = None,
                 reference_bytes: Optional[int] = None) -> None:
        """``reference_bytes``: each worker's budget for prepared references (default
        ``probes.quality.reference.DEFAULT_MAX_BYTES``)."""
        self.workers = max(1, workers or (os.cpu_count() or 1))
        self._section = dict(section) if section is not None else None
        if section is not None:
            Thresholds.from_mapping(section)  # refuse a bad section here, not in a worker
        # spawn, not fork: a child forked after OpenCV started its thread pool can deadlock
        # on its first cv2 call (and the caller may be a threaded asyncio service)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker,
                                         initargs=(self._section, reference_bytes),
                                         mp_context=multiprocessing.get_context("spawn"))

    def submit(self, frame: FrameLike, previous: Optional[FrameLike] = None,
               reference: Optional[FrameLike] = None, captured_at: Optional[datetime] = None,
               overrides: Optional[Mapping[str, Any]] = None) -> Future:
        return self._pool.submit(_work, frame, previous, reference, captured_at,
                                 dict(overrides) if overrides else None, self._section)

    async def diagnose(self, frame: FrameLike, previous: Optional[FrameLike] = None,
                       reference: Optional[FrameLike] = None,
                       captured_at: Optional[datetime] = None,
                       overrides: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        fut = self.submit(frame, previous, reference, captured_at, overrides)
        return await asyncio.wrap_future(fut)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "QualityPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "QualityPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
