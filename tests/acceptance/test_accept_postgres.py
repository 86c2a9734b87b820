"""The acceptance run on PostgreSQL (the production database): same migrations, same code."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from db_helpers import TEST_CONFIG, migrated_app

from supervisor.core.extensions import db

from .conftest import by_role, import_rows, read_inventory

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(pg_database, tmp_path):
    with migrated_app(pg_database, {**TEST_CONFIG, "EVIDENCE_DIR": str(tmp_path / "evidence")}) as app:
        yield app


def test_acceptance_on_postgres(pg_app, fleet):
    from supervisor.acceptance.certificate import ensure_certificate
    from supervisor.acceptance.models import AcceptanceResult, CoverageSnapshot
    from supervisor.acceptance.run import run_acceptance
    from supervisor.inventory.models import Community, Device

    rows, fields = read_inventory(fleet)
    import_rows(rows, fields)
    sim = fleet.devices()
    nvr = by_role(sim, 1, "nvr")[0]
    cam = next(d for d in by_role(sim, 1, "camera") if d["role"] != "fire_lane")
    c = db.session.scalar(sa.select(Community).where(Community.name == nvr["community"]))
    run = run_acceptance(db.session, c, actor="police1", serials=[cam["serial"], nvr["serial"]],
                         evidence_dir=pg_app.config["EVIDENCE_DIR"])
    assert run.status == "done" and run.devices_done == 2
    got = {r.serial: r for r in db.session.scalars(sa.select(AcceptanceResult))}
    assert set(got) == {cam["serial"], nvr["serial"]}
    assert got[cam["serial"]].measures["width"] in (1920, 2688)
    assert db.session.scalar(sa.select(Device.lifecycle).where(Device.serial == cam["serial"])) == (
        "accepted" if got[cam["serial"]].verdict == "pass" else "installed")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CoverageSnapshot)) == 1
    _path, sha = ensure_certificate(db.session, run, pg_app.config["EVIDENCE_DIR"])
    assert len(sha) == 64
