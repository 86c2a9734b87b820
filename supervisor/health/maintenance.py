"""Approved maintenance windows: create, cancel, shorten; every change audited.

A window is a `MaintenanceWindow` row [start_at, end_at) in naive UTC for one device or a
whole community. The health engine reads these rows on every sweep
(`health.store.maintenance_lookup`, community windows fan out to the community's devices) and
puts a covered device in `maintenance`, which the contract's figures exclude. So the rules
here protect the figures:

- a window must still be ahead of us: its end after `now`, its start no earlier than
  `now - START_GRACE` (a form takes a moment to fill in). A window typed into the past
  would relabel downtime the sweeps have already judged; the engine would not apply it
  anyway (it never rewrites stored intervals);
- it lasts at most `MAX_LENGTH`, and has a reason;
- only a window that has not ended can be changed: an upcoming one is cancelled by deleting
  it (the audit row keeps what it was), a running one is cancelled by ending it now, and
  either may be shortened to an end in the future. Windows are never lengthened here:
  that is a new approval (a new window).

Functions take `now` (naive UTC) and add to the session; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from supervisor.core import audit
from supervisor.core.extensions import db
from supervisor.health.models import MaintenanceWindow
from supervisor.inventory.models import Community, Device

START_GRACE = dt.timedelta(minutes=10)
MAX_LENGTH = dt.timedelta(days=31)
REASON_MAX = 300

CURRENT, UPCOMING, PAST = "current", "upcoming", "past"


class WindowError(ValueError):
    """A refused change: `code` (pages translate it), `field` (the form field it belongs
    beside, or None) and an English message."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def phase(window: MaintenanceWindow, now: dt.datetime) -> str:
    if window.end_at <= now:
        return PAST
    if window.start_at > now:
        return UPCOMING
    return CURRENT


def audit_fields(window: MaintenanceWindow) -> dict[str, Any]:
    device = db.session.get(Device, window.device_id) if window.device_id else None
    community = db.session.get(Community, window.community_id) if window.community_id else None
    return {"device": device.serial if device else None,
            "community": community.name if community else None,
            "start_at": window.start_at, "end_at": window.end_at, "reason": window.reason,
            "approved_by": window.approved_by}


def _check_span(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    if end <= start:
        raise WindowError("end_before_start", "The end must be after the start.", "end")
    if start < now - START_GRACE:
        raise WindowError("start_past",
                          "The start is in the past: windows cannot be approved afterwards.",
                          "start")
    if end - start > MAX_LENGTH:
        raise WindowError("too_long", f"A window lasts at most {MAX_LENGTH.days} days.", "end")


def create_window(*, start: dt.datetime, end: dt.datetime, reason: str, actor: Any,
                  now: dt.datetime, device: Device | None = None,
                  community: Community | None = None) -> MaintenanceWindow:
    """Validates and adds a window for exactly one device or one community (audited)."""
    if (device is None) == (community is None):
        raise WindowError("target", "Choose one device or one community.", "target")
    reason = (reason or "").strip()
    if not reason:
        raise WindowError("reason_blank", "Say why (the reason is kept with the window).", "reason")
    if len(reason) > REASON_MAX:
        raise WindowError("reason_long", f"At most {REASON_MAX} characters.", "reason")
    _check_span(start, end, now)
    window = MaintenanceWindow(device_id=device.id if device else None,
                               community_id=community.id if community else None,
                               start_at=start, end_at=end, reason=reason,
                               approved_by=getattr(actor, "username", None) or str(actor)[:80],
                               created_at=now)
    db.session.add(window)
    db.session.flush()
    audit.record(actor, "create", "maintenance_window", window.id, after=audit_fields(window))
    return window


def cancel_window(window: MaintenanceWindow, *, actor: Any, now: dt.datetime) -> str:
    """Upcoming: deleted. Running: ended at `now`. Past: refused. Returns what was done."""
    current = phase(window, now)
    if current == PAST:
        raise WindowError("ended", "This window has already ended.")
    before = audit_fields(window)
    if current == UPCOMING:
        audit.record(actor, "cancel", "maintenance_window", window.id, before=before)
        db.session.delete(window)
        return "deleted"
    window.end_at = now
    audit.record(actor, "cancel", "maintenance_window", window.id, before=before,
                 after=audit_fields(window))
    return "ended"


def shorten_window(window: MaintenanceWindow, new_end: dt.datetime, *, actor: Any,
                   now: dt.datetime) -> None:
    """Moves the end earlier, to a moment still ahead of `now` and after the start."""
    if phase(window, now) == PAST:
        raise WindowError("ended", "This window has already ended.", "end")
    if new_end >= window.end_at:
        raise WindowError("not_earlier", "The new end must be earlier than the current end "
                          "(a longer window is a new approval).", "end")
    if new_end <= now:
        raise WindowError("end_past",
                          "The new end must be in the future (use Cancel to end it now).", "end")
    if new_end <= window.start_at:
        raise WindowError("end_before_start", "The new end must be after the start.", "end")
    before = audit_fields(window)
    window.end_at = new_end
    audit.record(actor, "shorten", "maintenance_window", window.id, before=before,
                 after=audit_fields(window))


def windows_by_phase(now: dt.datetime, past_limit: int = 100) -> dict[str, list[MaintenanceWindow]]:
    """Current and upcoming windows (all, soonest first) and the latest `past_limit` past ones."""
    mw = MaintenanceWindow
    live = db.session.scalars(select(mw).where(mw.end_at > now)
                              .order_by(mw.start_at, mw.id)).all()
    past = db.session.scalars(select(mw).where(mw.end_at <= now)
                              .order_by(mw.end_at.desc(), mw.id.desc()).limit(past_limit)).all()
    return {CURRENT: [w for w in live if w.start_at <= now],
            UPCOMING: [w for w in live if w.start_at > now], PAST: list(past)}
