"""Executors: who runs the probes of a sweep. The sweep only sees a plain iterator.

Protocol (what the sweep pipeline calls, and what the Celery executor implements too):

    executor.name -> str
    executor.iter_results(targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                          deadline_s: float | None) -> Iterator[ProbeResult]

Every target yields exactly one result (a device the executor could not probe yields a
result carrying an error), in completion order, and the iterator may be closed early.
Frames keep their `jpeg` bytes when probed in-process (the sweep stores evidence from
them); an executor that crosses a process boundary may drop them.

`LocalExecutor` runs `probes.runner.run_batch` in one probing process per core, an event
loop each (`supervisor.sweeps.probe_processes`), or for a small batch (fewer than
`min_for_processes` targets: spawning would cost more than it saves) on one loop in a
helper thread; either way results come over a bounded queue, so the calling thread (which
owns the database session and the Flask app context) is the one writer and writes
batches while probes continue.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Iterator, Optional, Protocol

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget, ProbeResult
from supervisor.sweeps.probe_processes import default_processes

_DONE = object()


class Executor(Protocol):
    name: str

    def iter_results(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                     deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        ...


class LocalExecutor:
    """Probes on this machine: one probing process per core, each with its own event loop
    (supervisor.sweeps.probe_processes); with ``processes=1`` on one event loop in a
    helper thread of this process. Results come back over a bounded queue to the calling
    thread, the one writer."""

    name = "local"

    # Results waiting for the writer: enough to keep the writer busy, few enough that
    # frames (JPEG bytes ride along) never add up to the batch's size.
    def __init__(self, queue_size: int = 256, processes: Optional[int] = None,
                 min_for_processes: int = 64) -> None:
        self.queue_size = queue_size
        self.min_for_processes = min_for_processes
        self.processes = processes if processes is not None else default_processes()
        self.stats: Any = None        # the last in-thread batch's probes.runner.BatchStats
        self._procs: Any = None

    def platform_load(self) -> Optional[dict[str, Any]]:
        """The probing loops' lag and overload figures of the last run (see BatchStats)."""
        if self._procs is not None:
            return self._procs.load
        return batch_load(self.stats)

    def iter_results(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                     deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        if self.processes > 1 and len(targets) >= max(2, self.min_for_processes):
            from supervisor.sweeps.probe_processes import ProcessProbes
            self._procs = ProcessProbes(self.processes, self.queue_size)
            return self._procs.iter_results(targets, tier, limits, deadline_s)
        self._procs = None
        return self._in_thread(targets, tier, limits, deadline_s)

    def _in_thread(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                   deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        from probes.runner import BatchStats, run_batch

        q: queue.Queue[Any] = queue.Queue(maxsize=self.queue_size)
        self.stats = stats = BatchStats()
        stop = threading.Event()

        async def produce() -> None:
            agen = run_batch(targets, tier, limits=limits, deadline_s=deadline_s, stats=stats)
            try:
                async for res in agen:
                    while not stop.is_set():
                        try:
                            q.put_nowait(res)
                            break
                        except queue.Full:  # the writer is behind: wait without blocking the loop
                            await asyncio.sleep(0.01)
                    if stop.is_set():
                        break
            finally:
                await agen.aclose()

        def thread_main() -> None:
            try:
                asyncio.run(produce())
            except BaseException as exc:  # surfaced to the consumer, never lost
                q.put(exc)
            finally:
                q.put(_DONE)

        worker = threading.Thread(target=thread_main, name="probe-loop", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            # Drain so a producer blocked on put() can finish, then wait for it.
            while worker.is_alive():
                try:
                    q.get(timeout=0.1)
                except queue.Empty:
                    pass
            worker.join(timeout=5)


def batch_load(stats: Any) -> Optional[dict[str, Any]]:
    """Plain figures of a BatchStats's overload accounting, for SweepRun.platform."""
    if stats is None:
        return None
    return {"lag": dict(stats.lag or {}), "overload_retries": int(stats.overload_retries),
            "not_measured": dict(stats.not_measured), "lowest_in_flight": stats.limit_lowest}


def get_executor(name: str, settings: Any = None) -> Executor:
    """The executor named by the PROBE_EXECUTOR setting: `local` (default) or `celery`."""
    if name in (None, "", "local"):
        return LocalExecutor(processes=default_processes(getattr(settings, "PROBE_PROCESSES", None)))
    if name == "celery":
        from supervisor.sweeps.celery_executor import CeleryExecutor

        return CeleryExecutor(settings=settings)
    raise ValueError(f"unknown probe executor {name!r}; known: local, celery")
