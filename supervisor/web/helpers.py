"""Template helpers: links that keep the current filters, labels for the shared vocabulary."""
from __future__ import annotations

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
from supervisor.core.scoping import devices_for

# Display labels for the vocabulary (values stay English in the database, URLs and exports).
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


def label(value: Any) -> Any:
    if value is None or value == "":
        return "—"
    return LABELS.get(value, value)


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


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        label=label, url_with=url_with, has_endpoint=has_endpoint,
        DeviceKind=DeviceKind, CameraRole=CameraRole, DeviceState=DeviceState,
        Lifecycle=Lifecycle, CommunityType=CommunityType, Role=Role,
    )

    @app.context_processor
    def _nav():
        role = getattr(current_user, "role", None) if current_user.is_authenticated else None
        return {"can_operate": role in (Role.POLICE, Role.CONTRACTOR),
                "is_police": role == Role.POLICE}
