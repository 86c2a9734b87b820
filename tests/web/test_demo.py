"""`make demo` (supervisor/demo/cli.py): sample import, two tenants, seeded users, and the real
command serving pages on 127.0.0.1 and stopping on SIGTERM."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.inventory.models import Device

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_template(tmp_path_factory):
    """An empty, migrated database: the demo builds everything itself."""
    from .conftest import database_template
    return database_template(tmp_path_factory, "empty", lambda: None)


def test_sample_inventory_two_tenants_and_users(app):
    from supervisor.core import scoping
    from supervisor.demo import cli as demo
    from supervisor.people.accounts import check_password, find_user

    assert demo.import_inventory(demo.SAMPLE)
    demo.share_contracts()
    users = demo.seed_users()
    assert [u[0] for u in users] == ["police", "official", "contractor1", "contractor2"]
    total = db.session.scalar(select(func.count(Device.id)))
    assert total == 24  # docs/sample-inventory.csv: two communities of the demo's fleet
    seen = []
    for username, role, contractor, password in users:
        user = find_user(username)
        assert check_password(user, password) and user.role == role
        seen.append({d.serial for d in db.session.scalars(scoping.devices_for(user))})
    police, official, c1, c2 = seen
    assert len(police) == total and official == set()
    assert c1 and c2 and not (c1 & c2) and c1 | c2 == police
    # Run again: passwords change, nothing is duplicated.
    again = demo.seed_users()
    assert all(a[3] != b[3] for a, b in zip(users, again))
    assert not check_password(find_user("police"), users[0][3])


def test_demo_command_serves_and_stops(tmp_path):
    port = 15095
    env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.db'}",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app:create_app", "demo",
                             "--no-fleet", "--no-scheduler",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "serving at" in line:
                break
        output = "".join(lines)
        assert f"serving at http://127.0.0.1:{port}" in output, output
        assert re.search(r"^\s+contractor2\s+contractor\s+\S+\s+\S{12,}$", output, re.M), output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
            assert response.status == 200 and "登录" in response.read().decode("utf-8")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_demo_scenario_puts_each_kind_of_live_fault_on_the_demo_fleet():
    """The shipped scenario is valid for the demo's fleet (300 devices, seed 1) and every
    event finds its devices: a switch, covered/dark/blurred cameras, drifted clocks, an NVR."""
    from simulator.fleet import generate
    from simulator.scenario import build_timeline, load_scenario
    from supervisor.demo import cli as demo

    specs = generate(300, 1)
    data = load_scenario(str(demo.SCENARIO))
    actions = build_timeline(data, specs, 1)
    kind_of = {s.serial: s.kind for s in specs}
    fixed = [a for a in actions if a.set and a.at <= 300]
    faults = {(kind_of[a.serial], f) for a in fixed for f in a.faults}
    assert {("switch", "offline"), ("camera", "occlusion"), ("camera", "signal_loss"),
            ("camera", "clock_drift"), ("camera", "blur"), ("nvr", "recording_loss"),
            ("camera", "offline")} <= faults
    # The camera that comes back on its own is cleared again.
    assert any(not a.set and "offline" in a.faults for a in actions)
