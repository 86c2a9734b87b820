"""The README's five-minute tour, step by step, on `make demo`'s set-up: the demo's own
simulated fleet (300 devices, seed 1), its inventory imported without the sample's
devices, two contractors and the seeded users. Each step requests what the README tells a
person to click, and checks what it says they will see.

The fleet listens where the demo's does (127.10.0.x, ports 8080/1161); run this file in a
private network namespace on a shared machine:
    unshare -n bash -c 'ip link set lo up && .venv/bin/python -m pytest -q tests/web/test_tour.py'
"""
from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from supervisor.core.extensions import db
from supervisor.inventory.models import Device

from .conftest import csrf_from

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONTROL_PORT = 18897  # not the demo's 8899: the fleet is the same, its control port is free


@pytest.fixture
def db_template(tmp_path_factory):
    from .conftest import database_template
    return database_template(tmp_path_factory, "empty", lambda: None)


@pytest.fixture
def demo(app, tmp_path):
    """What `flask demo` does before it serves: fleet, inventory, contracts, users."""
    import socket

    from supervisor.demo import cli

    probe = socket.socket()
    try:
        probe.bind(("127.10.0.1", 8080))
    except OSError:
        pytest.skip("127.10.0.1:8080 is taken (a demo running on this machine?): run this test "
                    "in a network namespace, see the module docstring")
    finally:
        probe.close()
    args = SimpleNamespace(no_fleet=False, devices=300, control_port=CONTROL_PORT,
                           fleet_timeout=150.0)
    fleet = cli.start_fleet(args, tmp_path / "demo-fleet.csv")
    if fleet is None:
        pytest.fail("the demo's fleet did not start")
    try:
        initial = cli.without_sample(tmp_path / "demo-fleet.csv", tmp_path / "demo-initial.csv")
        assert cli.import_inventory(initial)
        cli.share_contracts()
        users = {u[0]: u[3] for u in cli.seed_users()}
        yield SimpleNamespace(users=users, control=f"http://127.0.0.1:{CONTROL_PORT}",
                              fleet_csv=tmp_path / "demo-fleet.csv")
    finally:
        cli.stop_fleet(fleet)


def _login(app, username: str, password: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_from(page)})
    assert response.status_code == 302, (username, response.get_data(as_text=True)[-500:])
    return client


def _count() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count(Device.id))))


def _probe_now(client, device_id: int) -> str:
    page = client.get(f"/devices/{device_id}").get_data(as_text=True)
    response = client.post(f"/health/devices/{device_id}/probe",
                           data={"csrf_token": csrf_from(page), "next": f"/devices/{device_id}"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    flash = re.search(r'<p class="flash">([^<]*)</p>', html)
    assert flash, html[-1500:]
    return flash.group(1)


def test_readme_tour_on_the_demo_setup(app, demo):
    from supervisor.core import audit  # noqa: F401  (the app's audit log is read below)

    tour = README.read_text(encoding="utf-8")
    fleet = {d["serial"]: d for d in httpx.get(f"{demo.control}/devices", timeout=10).json()}

    # The demo imported only devices that exist in the fleet, at their addresses.
    stored = {d.serial: d.ip for d in db.session.scalars(select(Device))}
    assert stored and all(fleet[s]["ip"] == ip for s, ip in stored.items())

    # 1. Log in as police; pages in Chinese, an English link.
    login_page = app.test_client().get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in login_page and ">English<" in login_page
    police = _login(app, "police", demo.users["police"])

    # 2. 设备 / Devices: every device with its state; summary above the list.
    devices = police.get("/devices/").get_data(as_text=True)
    assert "<h1>设备</h1>" in devices and f"{len(stored)}" in devices

    # 3. A device's page, with "probe now".
    cam = db.session.scalar(select(Device).where(Device.kind == "camera").order_by(Device.id))
    detail = police.get(f"/devices/{cam.id}").get_data(as_text=True)
    assert 'id="probe-now"' in detail and cam.serial in detail

    # 4. 小区 / Communities.
    assert police.get("/communities/").status_code == 200

    # 5. 导入 / Import docs/sample-inventory.csv as the README says: no box to tick.
    assert "docs/sample-inventory.csv" in tour
    sample = (ROOT / "docs" / "sample-inventory.csv").read_bytes()
    sample_rows = list(csv.DictReader(io.StringIO(sample.decode("utf-8-sig"))))
    assert all(fleet[r["serial"]]["ip"] == r["ip"] for r in sample_rows)  # real fleet devices
    page = police.get("/import/").get_data(as_text=True)
    preview = police.post("/import/", data={"csrf_token": csrf_from(page),
                                            "file": (io.BytesIO(sample), "sample-inventory.csv")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="confirm-import"' in html, html[-2000:]
    assert f'data-predicted="created">{len(sample_rows)}<' in html
    token = re.search(r'name="token" type="hidden" value="(\w+)"', html).group(1)
    location = police.post("/import/confirm", data={"csrf_token": csrf_from(html),
                                                     "token": token}).headers["Location"]
    job_id = location.rstrip("/").rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while _job_state(job_id) not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)  # the import's worker thread, bounded by the deadline
    final = police.get(location).get_data(as_text=True)
    assert f'data-count="created">{len(sample_rows)}<' in final, final[-1500:]
    assert _count() == len(stored) + len(sample_rows)

    # 6. contractor1 sees only its own devices; official sees reports only.
    c1 = _login(app, "contractor1", demo.users["contractor1"])
    from supervisor.core import scoping
    from supervisor.people.accounts import find_user
    own = {d.id for d in db.session.scalars(scoping.devices_for(find_user("contractor1")))}
    other = next(d.id for d in db.session.scalars(select(Device)) if d.id not in own)
    assert c1.get(f"/devices/{other}").status_code == 404
    official = _login(app, "official", demo.users["official"])
    assert official.get("/devices/").status_code == 403
    assert official.get("/reports/").status_code == 200

    # 8. 故障 / Faults.
    assert police.get("/health/faults").status_code == 200

    # 9. Break a camera and watch: the control API lists its fault names; "probe now".
    listed = httpx.get(f"{demo.control}/faults", timeout=10).json()["faults"]
    assert "offline" in listed["reach"] and "blur" in listed["picture"]
    own_cam = db.session.scalar(select(Device).where(Device.kind == "camera",
                                                     Device.id.in_(own)).order_by(Device.id))
    url = f"{demo.control}/devices/{own_cam.serial}/faults"
    assert httpx.post(url, json={"faults": ["offline"]}, timeout=10).status_code == 200
    said = _probe_now(c1, own_cam.id)  # a contractor on its own camera
    assert "立即探测" in said and "离线" in said, said
    assert c1.post(f"/health/devices/{other}/probe", data={}).status_code in (400, 404)
    assert httpx.delete(url, timeout=10).status_code == 200
    assert httpx.post(url, json={"faults": ["blur"]}, timeout=10).status_code == 200
    said = _probe_now(police, own_cam.id)
    assert "模糊" in said, said  # the frame probe saw the blur
    httpx.delete(url, timeout=10)

    # 10. The device's timeline.
    assert police.get(f"/health/devices/{own_cam.id}?span=day").status_code == 200
    # 11. Sweeps (police): the probe-now sweeps are there.
    sweeps = police.get("/health/sweeps").get_data(as_text=True)
    assert "页面" in sweeps  # trigger: page
    # 12. Admin: the audit log names the probes.
    assert "立即探测" in police.get("/admin/audit?action=probe").get_data(as_text=True)


def _job_state(token: str) -> str | None:
    """The import job's state as its row says (the job runs in the web process's thread)."""
    from sqlalchemy import select

    from supervisor.inventory.models import ImportJob

    db.session.expire_all()
    return db.session.scalar(select(ImportJob.state).where(ImportJob.token == token))
