"""A simulated installation of two communities, imported with a few deliberate inventory
disagreements, for the acceptance and discovery tests.

Own loopback range and ports (tests/acceptance: 127.150.0.0/16, ports 19500-19599).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

BASE = "127.150.1.1"
CONTROL = 19501
SNMP_PORT, ONVIF_PORT, WSD_PORT = 19561, 19562, 19570


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from simulator.testing import FleetProcess

    with FleetProcess(devices=30, seed=9, communities=2, base_address=BASE,
                      control_port=CONTROL, snmp_port=SNMP_PORT, onvif_port=ONVIF_PORT,
                      truth=False, extra_args=["--wsdiscovery-port", str(WSD_PORT)],
                      tmp_dir=tmp_path_factory.mktemp("fleet-acc"), start_timeout=60) as fleet:
        yield fleet


def by_role(devices: list[dict], community: int, kind: str, role: str = "") -> list[dict]:
    return [d for d in devices if d["community_index"] == community and d["kind"] == kind
            and (not role or d["role"] == role)]


def import_rows(rows: list[dict], fieldnames: list[str]) -> None:
    from supervisor.inventory.importer import apply_plan, parse_upload
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames)
    w.writeheader()
    w.writerows(rows)
    plan = parse_upload("fleet.csv", buf.getvalue().encode("utf-8"), create_contracts=True,
                        contractor="Test contractor")
    assert plan.ok, plan.error_lines()
    apply_plan(plan, "test")


def read_inventory(fleet) -> tuple[list[dict], list[str]]:
    text = Path(fleet.inventory_path).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    return list(reader), list(reader.fieldnames or [])
