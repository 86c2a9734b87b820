"""Fixtures for the web tests: two contractors with a contract, communities and devices each,
one user per role, and a login helper that goes through the real form (CSRF included)."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import db_helpers
import pytest
from db_helpers import clear_g_per_request
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.models import Community, Contract, Contractor, Device
from supervisor.people.accounts import create_user

PASSWORDS = {"police": "police-pass-123", "alpha": "alpha-pass-123", "beta": "beta-pass-123",
             "official": "official-pass-123"}
# Secrets planted in the fixture devices: no page, API answer, export or log may contain them.
DEVICE_PASSWORD = "Sekr1t-cam-pw-7731"
SNMP_COMMUNITY = "snmp-comm-x9q2"

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'type="hidden" name="csrf_token" value="([^"]+)"|'
                   r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf token in the page"
    return next(g for g in match.groups() if g)


@dataclass
class World:
    alpha_devices: list[int]
    beta_devices: list[int]
    alpha_community: int
    beta_community: int
    alpha_contract: int
    beta_contract: int


def _build_world() -> None:
    alpha = Contractor(name="Alpha Security Ltd")
    beta = Contractor(name="Beta Networks Ltd")
    start = dt.date(2026, 1, 1)
    ca = Contract(code="CT-ALPHA", contractor=alpha, start_month=start)
    cb = Contract(code="CT-BETA", contractor=beta, start_month=start)
    com_a = Community(name="阳光小区", district="东城区", type="open", street="北街")
    com_b = Community(name="Riverside Estate", district="西城区", type="closed")
    ca.communities.append(com_a)
    cb.communities.append(com_b)
    db.session.add_all([alpha, beta, ca, cb, com_a, com_b])
    db.session.flush()
    ids: dict[str, list[int]] = {"a": [], "b": []}
    for tag, contract, community, base in (("a", ca, com_a, 10), ("b", cb, com_b, 20)):
        switch = Device(serial=f"SW-{tag.upper()}-1", name=f"{tag}-switch", kind="switch",
                        ip=f"127.0.{base}.1", community=community, contract=contract,
                        snmp_community=SNMP_COMMUNITY, snmp_port=1161)
        db.session.add(switch)
        db.session.flush()
        ids[tag].append(switch.id)
        for i in range(3):
            cam = Device(serial=f"CAM-{tag.upper()}-{i}", name=f"{tag}-camera-{i}", kind="camera",
                         role="entrance" if i == 0 else "road", vendor="Hik", model=f"DS-{tag}{i}",
                         ip=f"127.0.{base}.{10 + i}", onvif_port=8000 + i, username="admin",
                         password=DEVICE_PASSWORD, community=community, contract=contract,
                         upstream=switch)
            db.session.add(cam)
            db.session.flush()
            ids[tag].append(cam.id)
    db.session.commit()


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4=",
    "WTF_CSRF_ENABLED": True,
    "RATELIMIT_ENABLED": True,
}


def _cheap_hasher():
    """argon2id with the library defaults costs ~0.35 s a hash on this 2-core machine; the
    tests hash dozens of times, so they use the same algorithm with small parameters
    (test_auth checks the default parameters separately)."""
    from argon2 import PasswordHasher
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _seed_users() -> None:
    alpha = db.session.scalar(select(Contractor).where(Contractor.name == "Alpha Security Ltd"))
    beta = db.session.scalar(select(Contractor).where(Contractor.name == "Beta Networks Ltd"))
    create_user("police", PASSWORDS["police"], "police", actor="test")
    create_user("alpha", PASSWORDS["alpha"], "contractor", contractor=alpha, actor="test")
    create_user("beta", PASSWORDS["beta"], "contractor", contractor=beta, actor="test")
    create_user("official", PASSWORDS["official"], "official", actor="test")
    db.session.commit()


def build_world_template() -> None:
    _build_world()
    _seed_users()


def database_template(tmp_path_factory, name: str, builder) -> Path:
    """A prepared database (tests/db_helpers.py) whose users hash with cheap argon2 settings."""
    from supervisor.people import accounts

    saved, accounts._hasher = accounts._hasher, _cheap_hasher()
    try:
        return db_helpers.database_template(tmp_path_factory, name, builder, TEST_CONFIG)
    finally:
        accounts._hasher = saved


@pytest.fixture
def db_template(tmp_path_factory) -> Path:
    """Which prepared database a test starts from (a module may override this fixture)."""
    return database_template(tmp_path_factory, "world", build_world_template)


@pytest.fixture
def app(tmp_path: Path, db_template: Path):
    """Like the shared `app` fixture, but on a copy of a prepared database (see above)."""
    from app import create_app

    target = tmp_path / "test.db"
    shutil.copyfile(db_template, target)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                      "EVIDENCE_DIR": str(tmp_path / "evidence"),
                      "IMPORT_UPLOAD_DIR": str(tmp_path / "imports")})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    from supervisor.people import accounts as auth
    monkeypatch.setattr(auth, "_hasher", _cheap_hasher())


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """The `app` fixture keeps one app context pushed for the whole test, so every
    request would share one `g` -- and with it Flask-Login's cached user and Flask-WTF's
    cached CSRF token. In production each request has its own `g`; make tests do the same,
    so two clients really are two users."""
    clear_g_per_request(app)
    yield


@pytest.fixture
def world(app) -> World:
    """The ids of the two-contractor world already in the test's database copy."""
    def ids(prefix: str) -> list[int]:
        return list(db.session.scalars(select(Device.id).where(
            Device.serial.like(f"%-{prefix}-%"), Device.serial.not_like("BULK-%")).order_by(Device.id)))

    contracts = {c.code: c for c in db.session.scalars(select(Contract))}
    communities = {c.name: c.id for c in db.session.scalars(select(Community))}
    return World(ids("A"), ids("B"), communities["阳光小区"], communities["Riverside Estate"],
                 contracts["CT-ALPHA"].id, contracts["CT-BETA"].id)


def login(client, username: str, password: str | None = None):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username,
                                       "password": password or PASSWORDS[username],
                                       "csrf_token": token})


@pytest.fixture
def as_user(app, world):
    """as_user('alpha') -> a logged-in test client."""
    def make(username: str):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return make


@pytest.fixture
def as_en(as_user):
    """A logged-in client reading the pages in English (the default locale is zh_CN)."""
    def make(username: str):
        client = as_user(username)
        client.get("/lang/en")
        return client
    return make
