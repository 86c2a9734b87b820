"""The admin area: police only, every page renders, the layout links to it for police."""
from __future__ import annotations

import pytest

PAGES = ("/admin/audit", "/admin/users", "/admin/maintenance", "/admin/users/new", "/admin/audit.csv")


def test_police_sees_every_admin_page_and_the_nav_link(as_user):
    client = as_user("police")
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:2000])
    assert 'href="/admin/audit"' in client.get("/devices/").get_data(as_text=True)


@pytest.mark.parametrize("who", ["alpha", "official"])
def test_others_get_403_and_no_link(as_user, who):
    client = as_user(who)
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    for url in ("/admin/maintenance", "/admin/users/new"):
        assert client.post(url, data={}).status_code in (400, 403)
    assert 'href="/admin/audit"' not in client.get("/reports/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(app):
    response = app.test_client().get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_pages_are_translated_and_say_the_time_zone(as_user):
    client = as_user("police")  # zh_CN is the default locale
    assert "审计日志" in client.get("/admin/audit").get_data(as_text=True)
    page = client.get("/admin/maintenance").get_data(as_text=True)
    assert "维护窗口" in page and "Asia/Shanghai" in page and "以 UTC 存储" in page
    assert "新建用户" in client.get("/admin/users").get_data(as_text=True)


def test_garbage_input_never_gives_a_server_error(as_user, world):
    from .conftest import csrf_from

    client = as_user("police")
    token = csrf_from(client.get("/admin/maintenance").get_data(as_text=True))
    junk = ["", "x", "0", "-1", "99999999999999999999", "2026-03-01T08:10", "\x00", "<script>", "é" * 400]
    for value in junk:
        for url, fields in (
                ("/admin/maintenance", ("target", "device", "community", "start", "end", "reason")),
                ("/admin/maintenance/1/shorten", ("end",)),
                ("/admin/maintenance/1/cancel", ()),
                ("/admin/users/new", ("username", "role", "contractor", "display_name")),
                ("/admin/users/1/active", ("active",))):
            response = client.post(url, data={"csrf_token": token, **{f: value for f in fields}})
            assert response.status_code < 500, (url, value)
            assert "<script>" not in response.get_data(as_text=True)
    for query in ("since=\x00", "older=9" * 50, "entity=%ff", "newer=" + "9" * 30 + "_1"):
        assert client.get("/admin/audit?" + query).status_code == 200, query
