"""Languages (zh_CN default, English switchable) and `flask users ...`."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry
from supervisor.people.accounts import check_password, find_user

CATALOG = Path(__file__).resolve().parents[2] / "supervisor" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"


def test_chinese_by_default_and_english_on_request(as_user):
    client = as_user("police")
    assert "设备" in client.get("/devices/").get_data(as_text=True)
    switched = client.get("/lang/en?next=/devices/")
    assert switched.headers["Location"].endswith("/devices/")
    english = client.get("/devices/").get_data(as_text=True)
    assert "matching devices" in english and "All districts" in english
    client.get("/lang/zh_CN")
    assert "全部区县" in client.get("/devices/").get_data(as_text=True)


def test_language_switch_is_not_an_open_redirect(app):
    client = app.test_client()
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        location = client.get("/lang/en", query_string={"next": target}).headers["Location"]
        assert "evil" not in location and "javascript" not in location


def test_compiled_catalog_matches_the_po_file():
    """CI uses the committed .mo: it must hold every translation of the .po."""
    po = read_po((CATALOG / "messages.po").open("rb"), locale="zh_CN")
    mo = read_mo((CATALOG / "messages.mo").open("rb"))
    po_map = {m.id: m.string for m in po if m.id and m.string}
    mo_map = {m.id: m.string for m in mo if m.id}
    assert po_map and po_map == mo_map
    untranslated = [m.id for m in po if m.id and not m.string]
    assert untranslated == []


def test_users_cli_create_list_set_password(runner, world):
    result = runner.invoke(args=["users", "create", "newcop", "--role", "police", "--generate-password"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    assert check_password(find_user("newcop"), password)
    result = runner.invoke(args=["users", "create", "gamma", "--role", "contractor"], input="x\nx\n")
    assert result.exit_code != 0 and "contractor" in result.output
    result = runner.invoke(args=["users", "create", "shorty", "--role", "official"], input="short\nshort\n")
    assert result.exit_code != 0 and "at least" in result.output and find_user("shorty") is None
    result = runner.invoke(args=["users", "create", "a2", "--role", "contractor",
                                 "--contractor", "Alpha Security Ltd"],
                           input="long-enough-pw\nlong-enough-pw\n")
    assert result.exit_code == 0, result.output
    assert find_user("a2").contractor.name == "Alpha Security Ltd"
    listing = runner.invoke(args=["users", "list"]).output
    assert "newcop" in listing and "Alpha Security Ltd" in listing and "long-enough-pw" not in listing
    result = runner.invoke(args=["users", "set-password", "a2"], input="another-long-pw\nanother-long-pw\n")
    assert result.exit_code == 0
    db.session.expire_all()
    assert check_password(find_user("a2"), "another-long-pw")
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "user",
                                                       AuditEntry.entity_key == "a2")).all()
    assert [r.action for r in rows] == ["create", "set-password"]
    assert rows[0].actor.startswith("cli:")
    assert "another-long-pw" not in repr([(r.before, r.after) for r in rows])
