"""Route guards: who may open a page, and how Flask-Login finds the user of a session."""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, abort, current_app, g, session
from flask_login import current_user, login_required

from supervisor.core.choices import Role
from supervisor.core.extensions import db, login_manager
from supervisor.people.models import User


SESSION_KEY = "sid"  # the cookie's key for the server-side session token


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of this request, only while its server-side session is open (logout, a
    password change or reset, a deactivation, idle or absolute expiry end it)."""
    from supervisor.core import clock
    from supervisor.people import sessions as server_sessions

    try:
        uid = int(user_id)
        user = db.session.get(User, uid)
    except (TypeError, ValueError, OverflowError):
        return None
    # A deactivated user's open session ends at their next request, not at its expiry.
    if user is None or not user.active:
        return None
    settings = current_app.extensions["settings"]
    row = server_sessions.current(db.session, session.get(SESSION_KEY), uid, clock.now(),
                                  idle_s=settings.SESSION_IDLE_S,
                                  absolute_s=settings.SESSION_ABSOLUTE_S)
    if db.session.dirty:
        db.session.commit()  # last_seen_at, or the end of an expired session
    if row is None:
        session.pop(SESSION_KEY, None)
        return None
    g.user_session_id = row.id
    return user


def roles_required(*roles: str) -> Callable:
    """Login required, and the user's role among `roles`; otherwise 403."""
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if getattr(current_user, "role", None) not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


# Pages about devices, communities and imports: everyone except officials.
operators_only = roles_required(Role.POLICE, Role.CONTRACTOR)
police_only = roles_required(Role.POLICE)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page says why on its own
    login_manager.session_protection = "strong"
