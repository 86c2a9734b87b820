"""Fixtures for health tests: a small inventory."""
from __future__ import annotations

import pytest

from supervisor.extensions import db
from supervisor.models import Community, Device


@pytest.fixture
def inventory(app):
    """A switch with two cameras behind it, one independent camera; returns serial → id."""
    c = Community(name="Test community", district="D1", type="open")
    db.session.add(c)
    db.session.flush()
    sw = Device(serial="SW1", name="switch", kind="switch", ip="127.30.0.1", community_id=c.id)
    db.session.add(sw)
    db.session.flush()
    devs = [sw]
    for i, (serial, up) in enumerate([("CAM1", sw.id), ("CAM2", sw.id), ("CAM3", None)], start=2):
        d = Device(serial=serial, name=serial, kind="camera", role="entrance",
                   ip=f"127.30.0.{i}", onvif_port=8080, community_id=c.id, upstream_id=up)
        db.session.add(d)
        devs.append(d)
    db.session.commit()
    return {d.serial: d.id for d in devs}


