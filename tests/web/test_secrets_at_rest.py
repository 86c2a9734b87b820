"""No device secret at rest outside the encrypted columns.

Secrets are planted through every import path (page preview confirmed, cancelled, rejected,
abandoned and expired by housekeeping; CSV and XLSX; the CLI), then every byte under the
test's instance-like folder (database, its journals, uploads, evidence) is searched for
them, in UTF-8 and UTF-16 spellings. The files the platform creates are private."""
from __future__ import annotations

import datetime as dt
import io
import re
import stat
from pathlib import Path

import openpyxl
from sqlalchemy import select

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.inventory.models import Device, ImportJob

from .conftest import csrf_from

HEADER = ["community", "district", "community_type", "name", "kind", "role", "serial", "ip",
          "onvif_port", "username", "password", "snmp_community", "snmp_version", "snmp_user",
          "snmp_auth_protocol", "snmp_auth_key", "snmp_priv_protocol", "snmp_priv_key",
          "contract"]


def _secrets(tag: str) -> dict[str, str]:
    return {k: f"PLANT-{tag}-{k}-q7Zx" for k in ("password", "snmp_community", "snmp_auth_key",
                                                 "snmp_priv_key")}


def _row(tag: str, n: int, bad: bool = False) -> list[str]:
    s = _secrets(tag)
    return ["阳光小区", "东城区", "open", f"{tag} cam {n}", "camera", "road" if not bad else "toaster",
            f"SEC-{tag}-{n}", f"127.0.77.{n + 1}", "80", "admin", s["password"], s["snmp_community"],
            "3", "snmpuser", "SHA", s["snmp_auth_key"], "AES", s["snmp_priv_key"], "CT-ALPHA"]


def _csv(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in [HEADER] + rows) + "\n").encode()


def _xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for r in [HEADER] + rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, data: bytes, filename: str):
    page = client.get("/import/").get_data(as_text=True)
    return client.post("/import/", data={"csrf_token": csrf_from(page),
                                         "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _token(html: str) -> str:
    return re.search(r'name="token" type="hidden" value="(\w+)"', html).group(1)


def _needles(tags: list[str]) -> list[bytes]:
    out = []
    for tag in tags:
        for value in _secrets(tag).values():
            out += [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]
    return out


def test_planted_secrets_are_found_nowhere_on_disk(app, as_user, world, runner, tmp_path):
    police = as_user("police")
    tags = []
    # 1. CSV preview, confirmed.
    html = _upload(police, _csv([_row("CONF", 1)]), "conf.csv").get_data(as_text=True)
    police.post("/import/confirm", data={"csrf_token": csrf_from(html), "token": _token(html)})
    tags.append("CONF")
    # 2. XLSX preview, confirmed.
    html = _upload(police, _xlsx([_row("XCONF", 2)]), "conf.xlsx").get_data(as_text=True)
    police.post("/import/confirm", data={"csrf_token": csrf_from(html), "token": _token(html)})
    tags.append("XCONF")
    # 3. CSV and XLSX previews, cancelled.
    for tag, data, name in (("CANC", _csv([_row("CANC", 3)]), "c.csv"),
                            ("XCANC", _xlsx([_row("XCANC", 4)]), "c.xlsx")):
        html = _upload(police, data, name).get_data(as_text=True)
        police.post("/import/cancel", data={"csrf_token": csrf_from(html), "token": _token(html)})
        tags.append(tag)
    # 4. Rejected files (a bad row beside a good one).
    for tag, data, name in (("REJ", _csv([_row("REJ", 5), _row("REJ", 6, bad=True)]), "r.csv"),
                            ("XREJ", _xlsx([_row("XREJ", 7, bad=True)]), "r.xlsx")):
        assert _upload(police, data, name).status_code == 422
        tags.append(tag)
    # 5. Previews never confirmed: expired by the housekeeping timer.
    for tag, data, name in (("ABAN", _csv([_row("ABAN", 8)]), "a.csv"),
                            ("XABAN", _xlsx([_row("XABAN", 9)]), "a.xlsx")):
        assert _upload(police, data, name).status_code == 200
        tags.append(tag)
    # 6. The CLI (the operator's own file lives outside the instance folder).
    outside = tmp_path.parent / f"{tmp_path.name}-operator"
    outside.mkdir()
    (outside / "cli.csv").write_bytes(_csv([_row("CLI", 10)]))
    result = runner.invoke(args=["inventory", "import", str(outside / "cli.csv"), "-q"])
    assert result.exit_code == 0, result.output
    tags.append("CLI")

    db.session.expire_all()
    stored = db.session.scalar(select(Device).where(Device.serial == "SEC-CONF-1"))
    assert stored.password == _secrets("CONF")["password"]  # really imported, decryptable
    assert db.session.scalar(select(Device).where(Device.serial == "SEC-CLI-10")) is not None

    folder = Path(app.config["IMPORT_UPLOAD_DIR"])
    waiting = list(folder.glob("*.bin"))
    assert len(waiting) == 2  # the two abandoned previews wait for their confirm, encrypted
    for path in waiting:
        assert all(n not in path.read_bytes() for n in _needles(["ABAN", "XABAN"]))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for job in db.session.scalars(select(ImportJob).where(ImportJob.state == "preview")):
        job.created_at = clock.now() - dt.timedelta(days=1)
    db.session.commit()
    from supervisor.sweeps.scheduler import _import_housekeeping

    assert _import_housekeeping(app)["import_previews_expired"] == 2
    assert not list(folder.iterdir())

    db.session.remove()
    db.engine.dispose()  # flush SQLite's journal into the file before reading it
    needles = _needles(tags)
    searched = 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            searched += 1
            for needle in needles:
                assert needle not in data, (path, needle)
    assert searched >= 1 and (tmp_path / "test.db").exists()


def test_files_the_platform_creates_are_private(tmp_path):
    from app import create_app
    from flask_migrate import upgrade

    from .conftest import TEST_CONFIG

    instance_db = tmp_path / "fresh" / "supervisor.db"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_db}",
                      "IMPORT_UPLOAD_DIR": str(tmp_path / "fresh" / "imports")})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    mode = stat.S_IMODE(instance_db.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert stat.S_IMODE(Path(app.instance_path).stat().st_mode) == 0o700
    from supervisor.inventory import jobs

    folder = jobs.upload_dir(tmp_path / "fresh" / "imports")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
