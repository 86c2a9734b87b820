"""Fixtures for health tests: a small inventory."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helper modules beside this file (health_helpers, accuracy) import by plain name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from db_helpers import TEST_CONFIG, migrated_app, set_settings

from supervisor.core.extensions import db
from supervisor.inventory.models import Community, Device


@pytest.fixture
def inventory(request):
    app = request.getfixturevalue("pg_app" if "pg_app" in request.fixturenames else "app")
    set_settings(app, HEALTH_FAST_SAMPLE_EVERY_S=0)  # keep every sample: counts easy to check
    return _inventory()


def _inventory():
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




@pytest.fixture
def pg_app(pg_database, tmp_path):
    """An app on a fresh PostgreSQL database built by the migrations (dropped after)."""
    with migrated_app(pg_database, {**TEST_CONFIG, "EVIDENCE_DIR": str(tmp_path / "evidence")}) as app:
        yield app
