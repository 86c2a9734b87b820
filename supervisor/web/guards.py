"""Route guards: who may open a page, and how Flask-Login finds the user of a session."""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, abort
from flask_login import current_user, login_required

from supervisor.core.choices import Role
from supervisor.core.extensions import db, login_manager
from supervisor.people.models import User


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    # A deactivated user's open session ends at their next request, not at its expiry.
    return user if user is not None and user.active else None


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
