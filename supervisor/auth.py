"""People: password hashing (argon2), roles, and the guards routes use.

Roles (supervisor.choices.Role):
- ``police``: everything;
- ``contractor``: bound to one contractor; sees only its contracts' communities and devices
  (the restriction is applied where queries are built, in supervisor/scoping.py);
- ``official``: reports only; device and community pages answer 403.

The login/logout routes live in supervisor/web/auth.py; users are managed from the shell
with ``flask users ...`` (supervisor/users_cli.py).
"""
from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, abort
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .choices import Role
from .extensions import db, login_manager
from .models import Contractor, User

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_dummy: dict[PasswordHasher, str] = {}


def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a
    wrong password and response time does not reveal which usernames exist. Made on first
    use (not at import: every CLI command would pay for it)."""
    if _hasher not in _dummy:
        _dummy[_hasher] = _hasher.hash("not a real password")
    return _dummy[_hasher]

MIN_PASSWORD_LENGTH = 10


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    # A deactivated user's open session ends at their next request, not at its expiry.
    return user if user is not None and user.active else None


def hash_password(plain: str) -> str:
    return _hasher.hash(plain)


def check_password(user: User | None, plain: str) -> bool:
    """True when `plain` is the user's password; rehashes in place if parameters moved on."""
    if user is None or not user.password_hash:
        try:
            _hasher.verify(_dummy_hash(), plain)
        except VerificationError:
            pass
        return False
    try:
        _hasher.verify(user.password_hash, plain)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(plain)
    return True


def password_problem(plain: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(plain) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    return None


def generate_password() -> str:
    """A random password for a new user or a reset, shown once to whoever made it."""
    return secrets.token_urlsafe(12)  # 16 characters, ~96 bits


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def user_audit_fields(user: User) -> dict[str, Any]:
    """What the audit log keeps about a user (never the hash)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "contractor": user.contractor.name if user.contractor else None,
            "active": user.active}


def create_user(username: str, password: str, role: str, *, contractor: Contractor | None = None,
                display_name: str | None = None, actor: Any = None) -> User:
    """Validates, adds and audits a new user (the caller commits)."""
    from . import audit

    username = username.strip()
    if not username or len(username) > 80:
        raise ValueError("username must be 1-80 characters")
    if role not in Role.values():
        raise ValueError(f"role must be one of {', '.join(Role.values())}")
    if role == Role.CONTRACTOR and contractor is None:
        raise ValueError("a contractor user needs --contractor (the contractor's name)")
    if role != Role.CONTRACTOR and contractor is not None:
        raise ValueError("only contractor users are bound to a contractor")
    if find_user(username) is not None:
        raise ValueError(f"user {username!r} already exists")
    problem = password_problem(password)
    if problem:
        raise ValueError(f"password: {problem}")
    user = User(username=username, display_name=display_name, role=role,
                contractor=contractor, password_hash=hash_password(password), active=True)
    db.session.add(user)
    audit.record(actor, "create", "user", username, after=user_audit_fields(user))
    return user


def set_password(user: User, password: str, *, actor: Any = None) -> None:
    from . import audit

    problem = password_problem(password)
    if problem:
        raise ValueError(f"password: {problem}")
    user.password_hash = hash_password(password)
    # Secret fields are masked by audit.record: the row says the password changed, no more.
    audit.record(actor, "set-password", "user", user.username,
                 before={"password": "old"}, after={"password": "new"})


def set_active(user: User, active: bool, *, actor: Any = None) -> bool:
    """Allow or refuse a user's logins (users are never deleted: the audit log names them).

    Audited; returns False when nothing changed (no row written). The caller commits.
    """
    from . import audit

    if user.active == active:
        return False
    audit.record(actor, "update", "user", user.username,
                 before={"active": user.active}, after={"active": active})
    user.active = active
    return True


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
