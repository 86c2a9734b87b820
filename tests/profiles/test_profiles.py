"""Standard profiles: the default loads and cites its sources; bad files are named precisely;
a version in use by a contract can't be edited, only superseded."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from supervisor.profiles import loader as profiles
from supervisor.profiles.loader import ProfileError, ProfileInUseError, load_profile

DEFAULT = Path(profiles.DEFAULT_DIR) / "default-v1.yaml"


def _doc() -> dict:
    return yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))


def _write(folder: Path, doc: dict, name: str | None = None) -> Path:
    path = folder / (name or f"{doc['name']}-v{doc['version']}.yaml")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rules(node, path=""):
    """Every mapping that has a `clause` key, with its key path."""
    if isinstance(node, dict):
        if "clause" in node:
            yield path, node
        for k, v in node.items():
            yield from _rules(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _rules(v, f"{path}[{i}]")


def test_default_profile_loads_and_every_section_cites_its_source():
    p = load_profile("default", 1, directory=profiles.DEFAULT_DIR, check_in_use=False)
    assert (p.name, p.version) == ("default", 1) and len(p.sha256) == 64
    assert p.clock.tolerance_s == 1.0 and "GB/T 28181-2016" in p.clock.clause
    assert p.nvr.retention_days == 30 and p.targets.intact_rate.value == 0.98
    assert p.sla["critical"].repair_h == 24 and p.sla["critical"].response_h == 2
    assert p.probe_tiers.get("fast").checks == ["reach"]
    assert p.payment.coefficients.coefficient_for(100) == 1.0
    assert p.payment.coefficients.coefficient_for(0) == p.payment.coefficients.bands[-1].coefficient
    assert p.required_slots("open")["high_altitude"].min_resolution.admits(2560, 1440)
    assert not p.required_slots("open")["high_altitude"].min_resolution.admits(1920, 1080)
    doc = _doc()
    for section in ("probe_tiers", "hysteresis", "clock", "retention", "nvr", "coverage", "sla",
                    "targets", "payment"):
        found = list(_rules(doc[section]))
        assert found, f"{section} has no rule with a clause"
        for path, rule in found:
            assert len(rule["clause"]) > 10, path
            assert rule.get("default") is True, f"{section}.{path} should be marked default"


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["clock"].update(tolerance=1), "default-v1.yaml: clock.tolerance: unknown key"),
    (lambda d: d["clock"].update(tolerance_s=-1),
     "default-v1.yaml: clock.tolerance_s: Input should be greater than 0"),
    (lambda d: d["clock"].pop("clause"), "default-v1.yaml: clock.clause: required key missing"),
    (lambda d: d.pop("sla"), "default-v1.yaml: sla: required key missing"),
    (lambda d: d["sla"]["critical"].update(repair_h="soon"),
     "default-v1.yaml: sla.critical.repair_h: Input should be a valid number"),
    (lambda d: d["probe_tiers"]["fast"].update(checks=["reach", "ping"]),
     "default-v1.yaml: probe_tiers.fast.checks.1: Input should be 'reach', 'onvif', 'snmp' or 'frame'"),
    (lambda d: d["probe_tiers"]["full"]["timeouts_s"].pop("onvif"),
     "default-v1.yaml: probe_tiers.full: timeouts_s lacks a timeout for check(s) ['onvif']"),
    (lambda d: d["coverage"]["open"]["roles"].update(lobby={"count": 1, "min_resolution": "1x1"}),
     "default-v1.yaml: coverage.open.roles: unknown role(s) ['lobby']"),
    (lambda d: d["coverage"]["open"]["roles"]["road"].update(min_resolution="HD"),
     "default-v1.yaml: coverage.open.roles.road.min_resolution: resolution 'HD' is not WIDTHxHEIGHT"),
    (lambda d: d["coverage"].update(gated=d["coverage"]["open"]),
     "default-v1.yaml: coverage: unknown community type(s) ['gated']"),
    (lambda d: d["payment"]["coefficients"]["bands"].reverse(),
     "default-v1.yaml: payment.coefficients: bands must be listed from the highest min"),
    (lambda d: d["targets"]["online_rate"].update(value=98),
     "default-v1.yaml: targets.online_rate.value: Input should be less than or equal to 1"),
])
def test_schema_errors_name_file_key_and_problem(tmp_path, edit, expected):
    doc = _doc()
    edit(doc)
    _write(tmp_path, doc)
    with pytest.raises(ProfileError) as exc:
        load_profile("default", 1, directory=tmp_path, check_in_use=False)
    assert expected in str(exc.value)


def test_yaml_syntax_and_file_name_errors(tmp_path):
    bad = tmp_path / "default-v1.yaml"
    bad.write_text("name: default\nversion: 1\nclock: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"default-v1.yaml: line \d+, column \d+: YAML syntax"):
        load_profile("default", 1, directory=tmp_path, check_in_use=False)
    bad.unlink()
    doc = _doc()
    doc["version"] = 2
    _write(tmp_path, doc, name="default-v1.yaml")
    with pytest.raises(ProfileError, match="must be named default-v2.yaml"):
        load_profile("default", 1, directory=tmp_path, check_in_use=False)
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile("default", 7, directory=tmp_path, check_in_use=False)
    with pytest.raises(ProfileError, match="no profile named 'city'"):
        load_profile("city", directory=tmp_path, check_in_use=False)


def test_image_quality_section_is_checked_by_its_owner(tmp_path):
    pytest.importorskip("probes.quality")
    from probes.quality import Thresholds  # noqa: F401  (the owner's validator exists)

    doc = _doc()
    doc["image_quality"] = {"rules": {"blur": "very"}}
    _write(tmp_path, doc)
    with pytest.raises(ProfileError, match="default-v1.yaml: image_quality: "):
        load_profile("default", 1, directory=tmp_path, check_in_use=False)


def test_latest_version_and_supersedes(tmp_path):
    shutil.copy(DEFAULT, tmp_path / "default-v1.yaml")
    doc = _doc()
    doc.update(version=2, supersedes="default@1")
    doc["clock"]["tolerance_s"] = 2.0
    _write(tmp_path, doc)
    assert load_profile("default", directory=tmp_path, check_in_use=False).version == 2
    assert load_profile("default", 1, directory=tmp_path, check_in_use=False).clock.tolerance_s == 1.0
    names = [(i.name, i.version, i.supersedes) for i in profiles.list_profiles(tmp_path)]
    assert names == [("default", 1, None), ("default", 2, "default@1")]
    assert profiles.check_profiles(tmp_path) == []
    doc.update(version=3, supersedes="default@9")
    _write(tmp_path, doc)
    assert profiles.check_profiles(tmp_path) == ["default-v3.yaml: supersedes: no profile default@9"]


def _use_folder(folder: Path) -> None:
    """As if the operator's PROFILE_DIR setting named `folder` (and nothing shipped existed)."""
    from supervisor.core.extensions import db

    profiles.configure([folder], db.engine)


def test_in_use_profile_edited_is_refused(app, runner, tmp_path):
    from supervisor.core.extensions import db

    shutil.copy(DEFAULT, tmp_path / "default-v1.yaml")
    _use_folder(tmp_path)
    prof = load_profile("default", 1)
    profiles.record_use(prof, db.session, "tester")  # a contract starts using default@1
    db.session.commit()
    assert runner.invoke(args=["profiles", "list"]).output.startswith("default@1  in use")

    # Comments and layout are not content: a reworded comment is still the same version.
    text = DEFAULT.read_text(encoding="utf-8")
    (tmp_path / "default-v1.yaml").write_text("# reviewed 2026-03\n" + text, encoding="utf-8")
    assert load_profile("default", 1).sha256 == prof.sha256

    doc = _doc()
    doc["clock"]["tolerance_s"] = 5.0  # someone "just tweaks" the in-use version
    _write(tmp_path, doc)
    with pytest.raises(ProfileInUseError) as exc:
        load_profile("default", 1)
    msg = str(exc.value)
    assert msg.startswith("default-v1.yaml: (file): profile default@1 is in use by a contract")
    assert "default-v2.yaml with supersedes: default@1" in msg
    result = runner.invoke(args=["profiles", "check"])
    assert result.exit_code == 1
    assert "in use by a contract and edited after its first use" in result.output

    # The right way: restore v1, put the change in v2 which supersedes it.
    shutil.copy(DEFAULT, tmp_path / "default-v1.yaml")
    doc.update(version=2, supersedes="default@1")
    _write(tmp_path, doc)
    assert load_profile("default", 1).clock.tolerance_s == 1.0
    assert load_profile("default").clock.tolerance_s == 5.0
    result = runner.invoke(args=["profiles", "check"])
    assert result.exit_code == 0, result.output


def test_profile_for_a_contract(app):
    from types import SimpleNamespace

    p = profiles.profile_for(SimpleNamespace(profile_name="default", profile_version=1))
    assert p.key == "default@1"


def test_unused_profile_may_be_edited(app, tmp_path):
    shutil.copy(DEFAULT, tmp_path / "default-v1.yaml")
    _use_folder(tmp_path)
    assert load_profile("default", 1).clock.tolerance_s == 1.0
    doc = _doc()
    doc["clock"]["tolerance_s"] = 3.0
    _write(tmp_path, doc)
    assert load_profile("default", 1).clock.tolerance_s == 3.0  # cache follows the file


def test_check_reports_contracts_without_a_profile_file(app, runner):
    import datetime as dt

    from supervisor.core.extensions import db
    from supervisor.inventory.models import Contract, Contractor

    c = Contractor(name="Acme")
    db.session.add(c)
    db.session.flush()
    db.session.add(Contract(code="C-9", contractor_id=c.id, start_month=dt.date(2026, 1, 1),
                            profile_name="default", profile_version=42))
    db.session.commit()
    result = runner.invoke(args=["profiles", "check"])
    assert result.exit_code == 1
    assert "contract C-9: profile default@42 has no file" in result.output
