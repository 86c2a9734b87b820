"""`flask scheduler run` as real processes on one database: the second copy is refused with
a clear message, and a SIGKILLed owner's lease is taken over once it has run out."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from supervisor.core.extensions import db
from supervisor.sweeps.lease import Lease
from supervisor.sweeps.scheduler import EXIT_REFUSED, LEASE_NAME

ROOT = Path(__file__).resolve().parents[2]
TTL_S = 2


def scheduler_env(app) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "FLASK_APP": "app:create_app",
        "FLASK_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "FLASK_SECRET_KEY": "test-secret",
        "FLASK_DEVICE_SECRET_KEY": app.config["DEVICE_SECRET_KEY"],
        "FLASK_SCHEDULER_TIERS": json.dumps({"fast": {"interval_s": 60}}),
        "FLASK_SCHEDULER_LEASE_TTL_S": str(TTL_S),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def spawn(app, log: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "scheduler", "run", *extra], cwd=ROOT,
                            env=scheduler_env(app), stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def test_second_scheduler_refused_then_standby_takes_over_after_sigkill(app, tmp_path, wait_for):
    first_log, second_log, third_log = (tmp_path / f"{n}.log" for n in ("a", "b", "c"))
    first = spawn(app, first_log)
    third = None
    try:
        assert wait_for(lambda: b"running as" in first_log.read_bytes(), timeout=30), \
            first_log.read_text()
        lease = Lease(db.engine, LEASE_NAME, 1)
        owner = lease.holder().owner
        assert f":{first.pid}:" in owner

        second = spawn(app, second_log)
        assert second.wait(timeout=30) == EXIT_REFUSED
        message = second_log.read_text()
        assert "scheduler refused" in message and owner in message and "UTC" in message

        third = spawn(app, third_log, "--wait")  # a standby
        assert wait_for(lambda: b"scheduler waiting" in third_log.read_bytes(), timeout=30), \
            third_log.read_text()
        assert third.poll() is None and lease.holder().owner == owner

        first.send_signal(signal.SIGKILL)  # no clean-up: the lease is left behind
        first.wait(timeout=10)
        held_until = lease.holder().expires_at
        # Once the dead owner's lease has run out, the standby takes over.
        assert wait_for(lambda: b"running as" in third_log.read_bytes(), timeout=TTL_S * 10), \
            third_log.read_text()
        assert f":{third.pid}:" in lease.holder().owner
        assert dt.datetime.utcnow() >= held_until

        third.send_signal(signal.SIGTERM)  # a clean stop gives the lease back
        assert third.wait(timeout=30) == 0
        assert lease.holder() is None
    finally:
        for proc in (first, third):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def test_status_reports_the_owner(app, runner):
    result = runner.invoke(args=["scheduler", "status"])
    assert result.exit_code == 0 and "no live scheduler" in result.output
    Lease(db.engine, LEASE_NAME, 60, owner="box:42:cafe").acquire(dt.datetime.utcnow())
    result = runner.invoke(args=["scheduler", "status"])
    assert "box:42:cafe" in result.output
