"""No page offers a link its reader may not follow: every role walks the pages it can reach
from its start page and every internal link answers without 403, 404 or a server error."""
from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest

HREF = re.compile(r'href="(/[^"#]*)"')
# Links that act or download rather than show a page (they have their own tests).
SKIP = re.compile(r"^/(logout|static/|lang/)|/export|\.(csv|xlsx|pdf|png|jpe?g)(\?|$)|/download|/frame")


def _walk(client, start: str, limit: int) -> tuple[dict[str, int], dict[str, str]]:
    """Breadth-first over internal links, one page per route shape (ids folded)."""
    seen_shapes: set[str] = set()
    status: dict[str, int] = {}
    linked_from: dict[str, str] = {}
    queue = deque([start])
    while queue and len(status) < limit:
        url = queue.popleft()
        shape = re.sub(r"\d+", "N", urlsplit(url).path)
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        response = client.get(url, follow_redirects=True)
        # a redirect to the login page is a refusal too
        landed = response.request.path
        status[url] = 401 if landed == "/login" and url != "/login" else response.status_code
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        for href in HREF.findall(response.get_data(as_text=True)):
            href = href.replace("&amp;", "&")
            if not SKIP.search(href) and "?" not in href:
                linked_from.setdefault(href, url)
                queue.append(href)
    return status, linked_from


@pytest.mark.parametrize("role", ["police", "alpha", "official"])
def test_every_link_a_role_is_shown_leads_to_a_page_it_may_read(as_user, role):
    client = as_user(role)
    status, linked_from = _walk(client, "/", limit=80)
    assert len(status) > 5, status
    refused = {url: (code, linked_from.get(url)) for url, code in status.items()
               if code in (401, 403, 404) or code >= 500}
    assert refused == {}, refused
