"""People: password hashing (argon2), creating users, passwords and activation.

Roles (supervisor.core.choices.Role):
- ``police``: everything;
- ``contractor``: bound to one contractor; sees only its contracts' communities and devices
  (the restriction is applied where queries are built, in supervisor/core/scoping.py);
- ``official``: reports only; device and community pages answer 403.

The login/logout routes live in supervisor/web/auth.py, the route guards in
supervisor/web/guards.py; users are managed from the shell with ``flask users ...``
(supervisor/people/cli.py).
"""
from __future__ import annotations

import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.inventory.models import Contractor
from supervisor.people.models import User

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
    from supervisor.core import audit

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


def set_password(user: User, password: str, *, actor: Any = None,
                 keep_session: str | None = None) -> None:
    """A new password; every other open session of the user ends (all of them for a reset
    by someone else: `keep_session` is the token of the session that changed it)."""
    from supervisor.core import audit
    from supervisor.core import clock
    from supervisor.people import sessions

    problem = password_problem(password)
    if problem:
        raise ValueError(f"password: {problem}")
    user.password_hash = hash_password(password)
    # Secret fields are masked by audit.record: the row says the password changed, no more.
    audit.record(actor, "set-password", "user", user.username,
                 before={"password": "old"}, after={"password": "new"})
    if user.id is not None:
        sessions.end_all(db.session, user.id, clock.now(), sessions.PASSWORD,
                         keep_token=keep_session)


def set_active(user: User, active: bool, *, actor: Any = None) -> bool:
    """Allow or refuse a user's logins (users are never deleted: the audit log names them).

    Audited; returns False when nothing changed (no row written). The caller commits.
    """
    from supervisor.core import audit

    if user.active == active:
        return False
    audit.record(actor, "update", "user", user.username,
                 before={"active": user.active}, after={"active": active})
    user.active = active
    if not active and user.id is not None:
        from supervisor.core import clock
        from supervisor.people import sessions

        sessions.end_all(db.session, user.id, clock.now(), sessions.DEACTIVATED)
    return True
