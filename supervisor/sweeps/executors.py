"""Executors: who runs the probes of a sweep. The sweep only sees a plain iterator.

Protocol (what `supervisor.sweep` calls, and what the Celery executor implements too):

    executor.name -> str
    executor.iter_results(targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                          deadline_s: float | None) -> Iterator[ProbeResult]

Every target yields exactly one result (a device the executor could not probe yields a
result carrying an error), in completion order, and the iterator may be closed early.
Frames keep their `jpeg` bytes when probed in-process (the sweep stores evidence from
them); an executor that crosses a process boundary may drop them.

`LocalExecutor` runs `probes.runner.run_batch` on an asyncio loop in a helper thread and
hands results over a bounded queue, so the calling thread (which owns the database
session and the Flask app context) writes batches while probes continue.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Iterator, Optional, Protocol

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget, ProbeResult

_DONE = object()


class Executor(Protocol):
    name: str

    def iter_results(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                     deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        ...


class LocalExecutor:
    """Probes in this process on one event loop (probes.runner), results via a queue."""

    name = "local"

    def __init__(self, queue_size: int = 2000) -> None:
        self.queue_size = queue_size

    def iter_results(self, targets: list[DeviceTarget], tier: TierSpec, limits: Limits,
                     deadline_s: Optional[float]) -> Iterator[ProbeResult]:
        from probes.runner import run_batch

        q: queue.Queue[Any] = queue.Queue(maxsize=self.queue_size)
        stop = threading.Event()

        async def produce() -> None:
            agen = run_batch(targets, tier, limits=limits, deadline_s=deadline_s)
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


def get_executor(name: str, settings: Any = None) -> Executor:
    """The executor named by the PROBE_EXECUTOR setting: `local` (default) or `celery`."""
    if name in (None, "", "local"):
        return LocalExecutor()
    if name == "celery":
        from supervisor.sweeps.celery_executor import CeleryExecutor

        return CeleryExecutor(settings=settings)
    raise ValueError(f"unknown probe executor {name!r}; known: local, celery")
