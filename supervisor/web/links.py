"""What a page may say about a device's links (upstream) for the current user.

A thin layer over supervisor/inventory/links.py: it knows the current user and the
page's language. `scoped_reasons(reasons)` is a template global; views call
`prime(reason_lists)` first so a page of a thousand rows costs one query.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, g
from flask_babel import gettext as _
from flask_login import current_user

from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.core.scoping import devices_for
from supervisor.inventory import links

_CACHE = "_link_visibility"


def _police() -> bool:
    return getattr(current_user, "role", None) == Role.POLICE


def prime(reason_lists: Iterable[Iterable[Any] | None]) -> None:
    """Learns in one query which serials named by these reasons the user may not see."""
    if _police():
        return
    known: dict[str, bool] = g.setdefault(_CACHE, {})
    wanted = links.referenced_serials(reason_lists) - set(known)
    if not wanted:
        return
    hidden = links.hidden_serials(db.session, devices_for(current_user), wanted)
    for serial in wanted:
        known[serial] = serial in hidden


def scoped_reasons(reasons: Iterable[Any] | None) -> list[Any]:
    """`reasons` as this user may read them (a copy; the stored row is untouched)."""
    reasons = list(reasons or [])
    if _police():
        return reasons
    prime([reasons])
    known: dict[str, bool] = g.get(_CACHE, {})
    hidden = {serial for serial, is_hidden in known.items() if is_hidden}
    out = links.redact_reasons(reasons, hidden)
    text = _("its upstream device, outside your contract, is down")
    return [dict(r, text=text) if isinstance(r, dict) and r.get("outside_scope") else r
            for r in out]


def upstream_outside(device: Any) -> bool:
    """True when the device has an upstream the current user may not see."""
    if device.upstream_id is None or _police():
        return False
    return links.visible_upstream_id(db.session, devices_for(current_user), device) is None


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(scoped_reasons=scoped_reasons)
