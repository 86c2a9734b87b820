"""Reference frames, the certificate PDF and discovery against the simulated installation."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from supervisor.core.extensions import db
from supervisor.inventory.models import Community, Device

from .conftest import WSD_PORT
from .test_accept_fleet import WRONG_SERIAL, installed, scenario  # noqa: F401  (fixtures)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _community(name: str) -> Community:
    return db.session.scalar(sa.select(Community).where(Community.name == name))


def test_reference_confirm_reject_and_renewal(app, fleet, installed, scenario):
    from supervisor.acceptance.models import ReferenceCandidate
    from supervisor.acceptance.references import ReferenceError, confirm, reject
    from supervisor.acceptance.run import run_acceptance
    from supervisor.health import evidence
    from supervisor.health.models import EvidenceFrame

    a = scenario["a"]
    healthy = next(s for s, d in scenario["sim"].items() if d["community_index"] == 0
                   and d["kind"] == "camera" and d["role"] == "entrance"
                   and s not in (a["default_password"]["serial"], a["blur"]["serial"]))
    blurred = a["blur"]["serial"]
    c = _community(installed[0])
    ev = app.config["EVIDENCE_DIR"]
    run_acceptance(db.session, c, actor="police1", evidence_dir=ev, serials=[healthy, blurred])
    cand = {db.session.get(Device, x.device_id).serial: x for x in
            db.session.scalars(sa.select(ReferenceCandidate))}
    assert set(cand) == {healthy, blurred}
    # a blurred frame cannot become the reference
    with pytest.raises(ReferenceError):
        confirm(db.session, cand[blurred], ev, "police1")
    reject(db.session, cand[blurred], "police1")
    assert cand[blurred].status == "rejected"
    first = confirm(db.session, cand[healthy], ev, "police1")
    dev_id = cand[healthy].device_id
    # the sweep's diagnosis now judges scene_change against this file
    assert evidence.latest_paths(db.session, ev, [dev_id])[dev_id]["reference"].name == Path(first.path).name
    # re-acceptance after a repair renews it; the old one stays in the history
    run_acceptance(db.session, c, actor="police1", evidence_dir=ev, serials=[healthy])
    newer = db.session.scalars(sa.select(ReferenceCandidate).where(
        ReferenceCandidate.device_id == dev_id, ReferenceCandidate.status == "candidate")).one()
    second = confirm(db.session, newer, ev, "police2")
    assert evidence.latest_paths(db.session, ev, [dev_id])[dev_id]["reference"].name == Path(second.path).name
    statuses = sorted(db.session.scalars(sa.select(ReferenceCandidate.status).where(
        ReferenceCandidate.device_id == dev_id)))
    assert statuses == ["confirmed", "superseded"]
    refs = db.session.scalars(sa.select(EvidenceFrame.path).where(
        EvidenceFrame.device_id == dev_id, EvidenceFrame.kind == "reference")).all()
    assert len(refs) == 2 and all((Path(ev) / p).exists() for p in refs)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) missing")
def test_certificate_pdf_text_png_and_same_bytes_again(app, fleet, installed, scenario, tmp_path):
    from supervisor.acceptance.certificate import ensure_certificate
    from supervisor.acceptance.models import ReferenceCandidate
    from supervisor.acceptance.references import confirm
    from supervisor.acceptance.run import run_acceptance

    ev = app.config["EVIDENCE_DIR"]
    name = installed[1]
    run = run_acceptance(db.session, _community(name), actor="警员张三", evidence_dir=ev)
    ok_cam = next(r for r in run.results if r.verdict == "pass" and r.frame_path)
    confirm(db.session, db.session.scalars(sa.select(ReferenceCandidate).where(
        ReferenceCandidate.run_id == run.id, ReferenceCandidate.device_id == ok_cam.device_id)).one(),
        ev, "警员李四")
    path, sha = ensure_certificate(db.session, run, ev)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == sha
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "远程验收证书" in text and name in flat
    for r in run.results:
        assert r.serial in text
        dev = db.session.get(Device, r.device_id)
        assert re.sub(r"\s+", "", dev.name) in flat, dev.name
    assert "不合格" in text and "合格" in text and "fail" in text and "pass" in text
    for clause in ("GB/T 28181-2016", "GB 50198-2011", "GA 38-2015"):
        assert clause in text
    assert "警员张三" in text and "警员李四" in text
    assert run.profile_sha256 in flat
    assert "\ufffd" not in text               # no glyph pdftotext could not map
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts   # embedded
    # regenerating gives the same bytes
    _p2, sha2 = ensure_certificate(db.session, run, ev, regenerate=True)
    assert sha2 == sha
    # one page as a picture, to be looked at (and committed under docs/ once)
    png = tmp_path / "certificate"
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "3", "-l", "3", str(path), str(png)],
                   check=True)
    out = next(tmp_path.glob("certificate*.png"))
    assert out.stat().st_size > 20_000
    import cv2
    img = cv2.imread(str(out))
    assert img is not None and img.std() > 10      # not a blank page
    if not (DOCS / "acceptance-certificate.png").exists():
        shutil.copy(out, DOCS / "acceptance-certificate.png")


def test_discover_command_json(app, fleet, installed, scenario, runner):
    import json
    res = runner.invoke(args=["discover", "--community", installed[0], "--port", str(WSD_PORT),
                              "--timeout", "1.5", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"probed", "found", "new", "silent", "mismatches", "matched"}
    assert [d["serial"] for d in out["silent"]] == [scenario["a"]["poe_fault"]["serial"]]
    res = runner.invoke(args=["discover", "--range", "10.0.0.0/8", "--port", str(WSD_PORT)])
    assert res.exit_code != 0 and "at most" in res.output


def test_discover_command_takes_port_and_timeout_from_settings(app, fleet, installed, scenario,
                                                              runner):
    import json

    from db_helpers import set_settings
    before = app.extensions["settings"]
    set_settings(app, WSDISCOVERY_PORT=WSD_PORT, WSDISCOVERY_TIMEOUT_S=1.5)
    try:
        res = runner.invoke(args=["discover", "--community", installed[0], "--format", "json"])
    finally:
        app.extensions["settings"] = before
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # The simulator answers only on its own port: found devices prove the setting was used.
    assert out["matched"] and [d["serial"] for d in out["silent"]] == [
        scenario["a"]["poe_fault"]["serial"]]


def test_discovery_compares_answers_with_the_inventory(app, fleet, installed, scenario):
    from supervisor.acceptance.discovery import discover

    a, b = scenario["a"], scenario["b"]
    # community B: one camera was left out of the inventory; move another one's address
    moved = next(s for s, d in scenario["sim"].items() if d["community_index"] == 1
                 and d["kind"] == "camera" and s not in (b["not_in_inventory"]["serial"],))
    dev = db.session.scalar(sa.select(Device).where(Device.serial == moved))
    real_ip = dev.ip
    dev.ip = "127.150.9.9"
    db.session.commit()
    rep = discover(db.session, community=_community(installed[1]), port=WSD_PORT, timeout=1.5,
                   cidr=None)
    # only the inventory's addresses were probed: the moved camera's listed address is silent
    assert rep.new == [] and rep.mismatches == []
    assert [d["serial"] for d in rep.silent] == [moved]
    # probing the community's whole range finds it elsewhere, and the camera not in the inventory
    rep = discover(db.session, community=_community(installed[1]), port=WSD_PORT, timeout=1.5,
                   cidr="127.150.1.0/27")
    assert [f["address"] for f in rep.new] == [b["not_in_inventory"]["ip"]]
    assert rep.new[0]["mac"] == b["not_in_inventory"]["mac"]
    assert rep.new[0]["hardware"] == b["not_in_inventory"]["model"]
    assert [m["serial"] for m in rep.mismatches] == [moved]
    assert rep.mismatches[0]["what"] == f"answers at {real_ip}, inventory says 127.150.9.9"
    assert rep.silent == []
    assert rep.probed == 30
    # community A: the camera whose PoE port is cut does not answer
    rep = discover(db.session, community=_community(installed[0]), port=WSD_PORT, timeout=1.5)
    assert [s["serial"] for s in rep.silent] == [a["poe_fault"]["serial"]]
    assert rep.new == [] and rep.mismatches == []


def test_found_device_is_added_through_the_import_validation(app, fleet, installed, scenario):
    from supervisor.acceptance.discovery import add_found, discover

    b = scenario["b"]
    c = _community(installed[1])
    rep = discover(db.session, community=c, port=WSD_PORT, timeout=1.5, cidr="127.150.1.0/27")
    found = rep.new[0]
    contract = db.session.scalar(sa.select(Device.contract_id).where(Device.community_id == c.id))
    from supervisor.inventory.models import Contract
    code = db.session.get(Contract, contract).code
    fields = {"ip": found["address"], "mac": found["mac"], "vendor": found["name"],
              "model": found["hardware"], "onvif_port": str(found["port"]), "kind": "camera",
              "role": "perimeter", "name": "", "serial": "", "username": "admin",
              "password": b["not_in_inventory"]["password"], "contract": code}
    added, problems = add_found(c, fields, "police1")
    assert not added and problems
    assert any("name" in p or "名称" in p for p in problems) and any("serial" in p or "序列号" in p for p in problems)
    assert db.session.scalar(sa.select(Device).where(Device.ip == found["address"])) is None
    fields.update(name="补录摄像机", serial=b["not_in_inventory"]["serial"])
    added, problems = add_found(c, fields, "police1")
    assert added, problems
    dev = db.session.scalar(sa.select(Device).where(Device.serial == b["not_in_inventory"]["serial"]))
    assert (dev.ip, dev.mac, dev.onvif_port, dev.lifecycle) == (
        found["address"], found["mac"], found["port"], "installed")
    assert dev.password == b["not_in_inventory"]["password"]
    rep = discover(db.session, community=c, port=WSD_PORT, timeout=1.5, cidr="127.150.1.0/27")
    assert rep.new == []
