"""Scale-out: real `celery worker` processes on the test Redis run the probes; the platform
judges and stores. Devices are real TCP listeners on 127.40.x.x (reach tier) and
addresses nobody listens on (refused)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from db_helpers import set_settings
from flask import current_app

from probes.config import Limits, TierSpec
from probes.model import DeviceTarget
from supervisor.sweeps.celery_executor import CeleryExecutor

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]
PORT = 19150


@pytest.fixture
def fleet():
    """20 listening devices and 10 refusing ones, on their own loopback addresses."""
    socks = []
    up, down = [], []
    for i in range(20):
        host = f"127.40.1.{i + 1}"
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, PORT))
        s.listen(64)
        socks.append(s)
        up.append(DeviceTarget(serial=f"UP{i:03d}", host=host, onvif_port=PORT))
    for i in range(10):
        down.append(DeviceTarget(serial=f"DN{i:03d}", host=f"127.40.2.{i + 1}", onvif_port=PORT))
    yield up, down
    for s in socks:
        s.close()


FAST = TierSpec("fast", ["reach"], timeouts={"reach": 2.0}, retries={"reach": 0})


def test_workers_probe_every_target_once(celery_queue, fleet):
    up, down = fleet
    results = list(celery_queue["executor"].iter_results(up + down, FAST, Limits(), 20))
    by_serial = {r.serial: r for r in results}
    assert len(results) == 30 and len(by_serial) == 30
    assert all(by_serial[t.serial].reach.ok for t in up)
    assert all(by_serial[t.serial].reach.ok is False for t in down)
    assert {k for t in down for k in by_serial[t.serial].error_kinds()} <= {"refused", "unreachable"}
    # both workers took chunks (3 chunks of 10 over two solo workers)
    logs = [(celery_queue["logs"] / f"w{i}.log").read_text() for i in (1, 2)]
    assert all("supervisor.probe_batch" in text and "succeeded" in text for text in logs), logs


def test_no_worker_means_not_measured_results_not_silence(celery_queue, fleet):
    up, _ = fleet
    lonely = CeleryExecutor(broker_url=celery_queue["url"], queue=f"nobody-{uuid.uuid4().hex[:6]}",
                            chunk_size=5, grace_s=0.5)
    started = time.monotonic()
    results = list(lonely.iter_results(up[:12], FAST, Limits(), 0.5))
    assert len(results) == 12 and {r.serial for r in results} == {t.serial for t in up[:12]}
    # No worker in time is the platform's shortfall: not measured, never the device's timeout.
    assert all(r.error_kinds() == {"not_measured"} for r in results)
    assert time.monotonic() - started < 30


def test_a_sweep_through_celery_judges_and_stores(app, celery_queue, fleet):
    """FLASK_PROBE_EXECUTOR=celery: the platform's sweep, probes on the workers."""
    from supervisor.core.extensions import db
    from supervisor.health.models import ProbeSample
    from supervisor.inventory.models import Community, Device
    from supervisor.sweeps import pipeline as sweep
    from supervisor.sweeps.models import SweepRun

    up, down = fleet
    community = Community(name="Test community", district="D1", type="open")
    db.session.add(community)
    db.session.flush()
    for t in up + down:
        db.session.add(Device(serial=t.serial, name=t.serial, kind="camera", role="road",
                              ip=t.host, onvif_port=PORT, community_id=community.id,
                              lifecycle="accepted", password="s3cret"))
    db.session.commit()
    set_settings(app, PROBE_EXECUTOR="celery", CELERY_BROKER_URL=celery_queue["url"],
                      CELERY_QUEUE=celery_queue["queue"], CELERY_CHUNK_SIZE=8,
                      CELERY_SECRET_KEY=celery_queue["key"])
    summary = sweep.run_sweep("fast", trigger="scheduler", settings=current_app.extensions["settings"])
    assert summary.executor == "celery" and summary.devices == 30
    run = db.session.get(SweepRun, summary.sweep_id)
    assert run.status == "done" and run.executor == "celery"
    observed = dict(db.session.execute(
        sa.select(Device.serial, ProbeSample.observed).join(Device)).all())
    assert len(observed) == 30
    assert {observed[t.serial] for t in up} == {"ok"}
    assert {observed[t.serial] for t in down} == {"offline"}
    # the device credentials went to the workers but never into their logs
    logs = [(celery_queue["logs"] / f"w{i}.log").read_text() for i in (1, 2)]
    assert all("s3cret" not in text for text in logs)


def test_worker_module_imports_no_flask_and_no_database():
    """Workers run the probes code only: importing the worker app must not pull in the
    platform (Flask, the models, SQLAlchemy)."""
    code = ("import sys, supervisor.sweeps.celery_worker; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'flask_sqlalchemy', 'sqlalchemy') or m in ('supervisor.models', 'app')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_credentials_cross_the_broker_encrypted(celery_queue):
    """What sits in Redis while a chunk waits for a worker holds no credential in clear."""
    import redis

    queue = f"sealed-{uuid.uuid4().hex[:6]}"
    sender = CeleryExecutor(broker_url=celery_queue["url"], queue=queue, grace_s=0.3,
                            secret_key=celery_queue["key"])
    target = DeviceTarget(serial="SEAL1", host="127.40.3.1", onvif_port=PORT, username="admin",
                          password="pw-Plain-4711", snmp_community="comm-Plain-99")
    client = redis.Redis.from_url(celery_queue["url"])
    try:
        results = list(sender.iter_results([target], FAST, Limits(), 0.2))
        assert [r.error_kinds() for r in results] == [{"not_measured"}]  # nobody consumed it
        raw = b"".join(client.lrange(queue, 0, -1))
        assert raw, "the message should still be queued"
        import base64
        import json
        body = base64.b64decode(json.loads(raw)["body"])
        assert b"pw-Plain-4711" not in raw + body and b"comm-Plain-99" not in raw + body
        assert b"fernet:" in body
    finally:
        client.delete(queue)
        client.close()


def test_a_worker_without_the_key_fails_every_target_quietly(monkeypatch):
    from cryptography.fernet import Fernet

    from supervisor.sweeps.celery_worker import open_targets, probe_chunk, seal_targets

    key = Fernet.generate_key()
    sealed = seal_targets([DeviceTarget(serial="K1", host="127.40.3.2", password="x1").to_dict()],
                          key)
    assert open_targets(sealed, key)[0]["password"] == "x1"
    monkeypatch.delenv("FLASK_CELERY_SECRET_KEY", raising=False)
    monkeypatch.delenv("CELERY_SECRET_KEY", raising=False)
    out = probe_chunk(sealed, FAST.to_dict(), Limits().to_dict(), None)
    assert len(out) == 1 and out[0]["result"]["serial"] == "K1"
    assert out[0]["result"]["error"]["kind"] == "internal"
    assert "FLASK_CELERY_SECRET_KEY" in out[0]["result"]["error"]["message"]
    assert "x1" not in json.dumps(out)
