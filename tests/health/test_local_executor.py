"""The local executor over real loopback sockets: a listening device is ok, a closed port
is offline, and the sweep run records failures by reason."""
from __future__ import annotations

import socket
import threading

import sqlalchemy as sa
from flask import current_app

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory.models import Community, Device
from supervisor.sweeps.models import SweepRun
from supervisor.sweeps.pipeline import run_sweep


def _listener(host: str):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(64)
    stop = threading.Event()

    def loop():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except OSError:
                pass
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return srv, stop, t


def test_local_executor_real_sockets(app):
    srv, stop, t = _listener("127.30.1.1")
    port = srv.getsockname()[1]
    try:
        c = Community(name="loop", district="D", type="open")
        db.session.add(c)
        db.session.flush()
        db.session.add_all([
            Device(serial="UP", name="up", kind="camera", ip="127.30.1.1", onvif_port=port,
                   community_id=c.id),
            Device(serial="DOWN", name="down", kind="camera", ip="127.30.1.2", onvif_port=port,
                   community_id=c.id),
        ])
        db.session.commit()
        for _ in range(3):
            s = run_sweep("fast", deadline_s=20, settings=current_app.extensions["settings"])
        assert s.executor == "local" and s.devices == 2
        states = dict(db.session.execute(sa.select(Device.serial, DeviceStatus.state).join(
            DeviceStatus, DeviceStatus.device_id == Device.id)).all())
        assert states == {"UP": "ok", "DOWN": "offline"}
        run = db.session.scalars(sa.select(SweepRun).order_by(SweepRun.id.desc())).first()
        assert run.status == "done" and run.failed == 1
        assert list(run.failures_by_reason) == ["reach:refused"]
        assert run.devices_per_s > 0
        res = app.test_cli_runner().invoke(args=["sweep", "--tier", "fast", "--devices", "UP,DOWN"])
        assert res.exit_code == 0, res.output
        assert "2 devices" in res.output and "ok=1" in res.output and "offline=1" in res.output
        assert "reach:refused=1" in res.output
        bad = app.test_cli_runner().invoke(args=["sweep", "--devices", "NOPE"])
        assert bad.exit_code != 0 and "NOPE" in bad.output
    finally:
        stop.set()
        t.join(2)
        srv.close()
