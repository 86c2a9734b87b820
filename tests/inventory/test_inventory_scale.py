"""A 20,000-device file through the CLI: everything created and linked, then all unchanged."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import Community, Device

from bench.inventory import make_rows, seed_contracts, to_csv


@pytest.mark.scale
def test_twenty_thousand_rows(app, runner, tmp_path):
    seed_contracts()
    path = tmp_path / "big.csv"
    path.write_bytes(to_csv(make_rows(20_000)))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 20000, updated 0, unchanged 0" in result.output
    assert db.session.scalar(select(func.count()).select_from(Device)) == 20_000
    assert db.session.scalar(select(func.count()).select_from(Community)) == 1_000
    cam = db.session.scalar(select(Device).where(Device.serial == "CAM-019997"))
    assert cam.upstream.serial == "NVR-00999" and cam.upstream.upstream.serial == "SW-00999"
    assert cam.password.startswith("pw-")
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) >= 21_000
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert "created 0, updated 0, unchanged 20000" in result.output, result.output


def test_a_thousand_rows_link_in_bulk(app, runner, tmp_path):
    """The bulk paths (insert, then upstream ids) on a file of many communities."""
    seed_contracts()
    path = tmp_path / "mid.csv"
    path.write_bytes(to_csv(make_rows(1_000)))
    result = runner.invoke(args=["inventory", "import", str(path)])
    assert result.exit_code == 0, result.output
    orphans = db.session.scalar(select(func.count()).select_from(Device).where(
        Device.kind != "switch", Device.upstream_id.is_(None)))
    assert orphans == 0
    assert db.session.scalar(select(func.count()).select_from(Device)) == 1_000
