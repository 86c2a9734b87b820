"""Fixtures for the scheduling tests: a scheduler service that is always shut down."""
from __future__ import annotations

import threading
import time
from typing import Callable

import pytest

from supervisor import scheduling


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    """Poll until predicate() is true or the timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Recorder:
    """A sweep runner that records its calls (thread-safe) and can be made to block."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, list[str]]] = []
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.release = threading.Event()
        self.release.set()  # not blocking unless a test clears it

    def __call__(self, app, tier: str, serials: list[str]) -> None:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.calls.append((time.monotonic(), tier, list(serials)))
        try:
            self.release.wait(15)
        finally:
            with self.lock:
                self.running -= 1

    def count(self, tier: str | None = None) -> int:
        with self.lock:
            return sum(1 for c in self.calls if tier is None or c[1] == tier)


@pytest.fixture(name="wait_for")
def wait_for_fixture():
    return wait_for


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_service(app, recorder):
    """make_service(**options) -> a started SchedulerService; all are shut down at the end."""
    started: list[scheduling.SchedulerService] = []

    def make(**options) -> scheduling.SchedulerService:
        service = scheduling.SchedulerService(app, **options)
        service.start()
        started.append(service)
        return service

    yield make
    recorder.release.set()  # a blocked runner would hold shutdown(wait=True)
    for service in started:
        service.shutdown(wait=True)
