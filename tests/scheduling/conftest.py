"""Fixtures for the scheduling tests: a scheduler service that is always shut down."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from supervisor.sweeps import scheduler as scheduling
from supervisor.sweeps.celery_executor import CeleryExecutor


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


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def celery_queue(tmp_path_factory):
    """Two worker processes (--pool solo each) on a queue of their own; killed at the end."""
    url = os.environ.get("FSP_TEST_REDIS_URL")
    if not url:
        pytest.skip("FSP_TEST_REDIS_URL not set (make test starts Redis)")
    from cryptography.fernet import Fernet

    queue = f"probes-test-{uuid.uuid4().hex[:8]}"
    key = Fernet.generate_key().decode()
    env = dict(os.environ, FLASK_CELERY_BROKER_URL=url, FLASK_CELERY_QUEUE=queue,
               FLASK_CELERY_SECRET_KEY=key, PYTHONUNBUFFERED="1")
    logs = tmp_path_factory.mktemp("celery")
    workers = []
    for i in (1, 2):
        log = (logs / f"w{i}.log").open("wb")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "supervisor.sweeps.celery_worker", "worker",
             "--pool", "solo", "-Q", queue, "-n", f"w{i}-{queue}@localhost", "-l", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    executor = CeleryExecutor(broker_url=url, queue=queue, chunk_size=10, grace_s=5,
                              secret_key=key)
    try:
        deadline = time.monotonic() + 40
        names = {f"w{i}-{queue}@localhost" for i in (1, 2)}
        while time.monotonic() < deadline:
            answered = executor.celery.control.ping(destination=list(names), timeout=0.5)
            if {k for d in answered for k in d} >= names:
                break
            assert all(w.poll() is None for w in workers), (logs / "w1.log").read_text()
        else:
            pytest.fail("celery workers did not answer a ping in 40 s")
        yield {"url": url, "queue": queue, "executor": executor, "logs": logs, "key": key}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.kill()


