"""Template helpers: links that keep the current filters, labels for the shared vocabulary."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask, abort, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from supervisor.core.choices import (
    CameraRole,
    CommunityType,
    DeviceKind,
    DeviceState,
    Lifecycle,
    Role,
)
from supervisor.core.extensions import db
from supervisor.inventory.models import Device
from supervisor.core import localtime
from supervisor.core.scoping import devices_for
from supervisor.web import vocabulary
from supervisor.web.vocabulary import term

# Form choices' labels (the full vocabulary, every code a person sees, is in vocabulary.py).
LABELS: dict[str, Any] = {
    DeviceKind.CAMERA: _l("camera"), DeviceKind.NVR: _l("NVR"), DeviceKind.SWITCH: _l("switch"),
    DeviceKind.SPEAKER: _l("speaker"),
    CameraRole.ENTRANCE: _l("entrance"), CameraRole.ROAD: _l("road"),
    CameraRole.PERIMETER: _l("perimeter"), CameraRole.HIGH_ALTITUDE: _l("high-altitude"),
    CameraRole.FIRE_LANE: _l("fire lane"), CameraRole.INTERIOR: _l("interior"),
    DeviceState.OK: _l("ok"), DeviceState.DEGRADED: _l("degraded"),
    DeviceState.OFFLINE: _l("offline"), DeviceState.UNKNOWN: _l("unknown"),
    DeviceState.MAINTENANCE: _l("maintenance"),
    CommunityType.OPEN: _l("open"), CommunityType.CLOSED: _l("closed"),
    CommunityType.SINGLE_BUILDING: _l("single building"),
    Lifecycle.PLANNED: _l("planned"), Lifecycle.INSTALLED: _l("installed"),
    Lifecycle.ACCEPTED: _l("accepted"), Lifecycle.RETIRED: _l("retired"),
    Role.POLICE: _l("police"), Role.CONTRACTOR: _l("contractor"), Role.OFFICIAL: _l("official"),
}


def scoped_device_or_404(device_id: int) -> Device:
    """The device if the current user may see it; otherwise 404 (not 403: don't confirm that
    another tenant's device exists)."""
    device = db.session.scalar(devices_for(current_user).where(Device.id == device_id))
    if device is None:
        abort(404)
    return device


def label(value: Any, domain: str | None = None) -> Any:
    """The translated label of a code: supervisor/web/vocabulary.py holds them all."""
    return term(value, domain)


def invalid_filters(args: Any, parsed: Any, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, value) of each query parameter given but dropped by the page's filter parser
    (`parsed.<name>` is None/empty although the query had a value): the page names them."""
    out = []
    for name in names:
        raw = (args.get(name) or "").strip()
        if raw and getattr(parsed, name, None) in (None, ""):
            out.append((name, raw[:60]))
    return out


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading quote; labels become text."""
    if value is None:
        return ""
    if not isinstance(value, (int, float)):
        value = str(value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def download_name(what: str, cause: Any, ext: str, now_utc: Any) -> str:
    """A Content-Disposition value: `<what>[-<cause>]-<local date>.<ext>`, in the page's
    language (RFC 5987 filename*), with an ASCII fallback for old clients."""
    from urllib.parse import quote

    day = local_date(now_utc)
    parts = [str(what)] + ([str(cause)] if cause else []) + [day]
    name = "-".join(p.replace("/", "_").replace(" ", "_") for p in parts) + f".{ext}"
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_"
                         for ch in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


_MAC_FORMS = (
    re.compile(r"^[0-9a-f]{2}([-:.])[0-9a-f]{2}(?:\1[0-9a-f]{2}){0,4}$"),  # aa:bb… aa-bb… aa.bb…
    re.compile(r"^[0-9a-f]{4}(?:\.[0-9a-f]{4}){1,2}$"),                    # aabb.ccdd.eeff (Cisco)
    re.compile(r"^(?=.*[a-f])[0-9a-f]{12}$"),   # aabbccddeeff (with a letter: not a serial's digits)
)


def mac_query(text: str | None) -> str | None:
    """A search text written as a (part of a) MAC address in any common form, as the
    inventory stores MACs (`aa:bb:cc:dd:ee:ff`); None when it is not MAC-like."""
    value = (text or "").strip().lower()
    if not any(p.match(value) for p in _MAC_FORMS):
        return None
    if "." in value and not re.search(r"[a-f]", value) and len(re.sub(r"\.", "", value)) < 12:
        return None  # digits and dots, shorter than a MAC: an IP address (part), not a MAC
    hexes = re.sub(r"[-:. ]", "", value)
    if len(hexes) % 2:
        return None
    return ":".join(hexes[i:i + 2] for i in range(0, len(hexes), 2))


def url_with(endpoint: str | None = None, **changes: Any) -> str:
    """The current URL's query with `changes` applied (None removes a key)."""
    args = {k: v for k, v in request.args.items()}
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(endpoint or request.endpoint, **(request.view_args or {}), **args)


def has_endpoint(name: str) -> bool:
    """Lets the shared layout link to pages other areas add (e.g. health.faults) only if present."""
    from flask import current_app
    return name in current_app.view_functions


def local_time(utc_naive: Any, seconds: bool = False) -> str:
    """A stored naive-UTC time as reporting-zone wall-clock text ('—' for None)."""
    return localtime.fmt_local(utc_naive, seconds=seconds)


def local_date(utc_naive: Any) -> str:
    local = localtime.to_local(utc_naive)
    return local.strftime("%Y-%m-%d") if local is not None else "—"


def iso_local(text: Any, seconds: bool = True) -> str:
    """A naive-UTC ISO string (the JSON twins' form) as reporting-zone wall-clock text."""
    import datetime as dt

    try:
        return localtime.fmt_local(dt.datetime.fromisoformat(str(text)), seconds=seconds)
    except (TypeError, ValueError):
        return "—" if not text else str(text)


def register_template_helpers(app: Flask) -> None:
    vocabulary.register(app)

    # Browsers ask for /favicon.ico whatever the page links: answer with the icon.
    @app.get("/favicon.ico")
    def favicon():
        from flask import redirect

        return redirect(url_for("static", filename="favicon.svg"), code=301)

    app.jinja_env.filters.update(local=local_time, local_date=local_date, iso_local=iso_local)
    app.jinja_env.globals.update(
        local_time=local_time, input_value=localtime.input_value,
        label=label, url_with=url_with, has_endpoint=has_endpoint,
        DeviceKind=DeviceKind, CameraRole=CameraRole, DeviceState=DeviceState,
        Lifecycle=Lifecycle, CommunityType=CommunityType, Role=Role,
    )

    @app.context_processor
    def _nav():
        role = getattr(current_user, "role", None) if current_user.is_authenticated else None
        return {"can_operate": role in (Role.POLICE, Role.CONTRACTOR),
                "is_police": role == Role.POLICE, "zone_name": localtime.zone_name()}
