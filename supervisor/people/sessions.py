"""Server-side login sessions: the server can end a login, not just the browser.

The session cookie carries a random token (`start` returns it); the `user_sessions` row
holds only its SHA-256. A request is logged in only while its row is open, used within
`idle_s` and younger than `absolute_s` (settings SESSION_IDLE_S / SESSION_ABSOLUTE_S):
a cookie copied before logout, before a password change or reset, or before the user was
deactivated no longer works. Pure over an explicit session and `now`; the caller commits.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supervisor.people.models import UserSession

TOUCH_EVERY_S = 60.0  # last_seen_at is written at most this often (not on every request)

# end_reason values
LOGOUT, IDLE, EXPIRED, PASSWORD, DEACTIVATED, ENDED_BY_USER = (
    "logout", "idle", "expired", "password-changed", "deactivated", "ended-by-user")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user_id: int, now: dt.datetime, *, remote_addr: str | None = None,
          user_agent: str | None = None) -> str:
    """A new open session for the user; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=digest(token), user_id=user_id, created_at=now,
                            last_seen_at=now, remote_addr=(remote_addr or "")[:45] or None,
                            user_agent=(user_agent or "")[:200] or None))
    return token


def _expired_reason(row: UserSession, now: dt.datetime, idle_s: float,
                    absolute_s: float) -> str | None:
    if (now - row.created_at).total_seconds() >= absolute_s:
        return EXPIRED
    if (now - row.last_seen_at).total_seconds() >= idle_s:
        return IDLE
    return None


def current(session: Session, token: str | None, user_id: int, now: dt.datetime, *,
            idle_s: float, absolute_s: float) -> UserSession | None:
    """The open session for `token` if it belongs to `user_id` and is still valid; an
    expired one is ended on the way. Touches last_seen_at (at most once a minute)."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    reason = _expired_reason(row, now, idle_s, absolute_s)
    if reason:
        row.ended_at, row.end_reason = now, reason
        return None
    if (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
        row.last_seen_at = now
    return row


def end(row: UserSession, now: dt.datetime, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = now, reason


def end_token(session: Session, token: str | None, now: dt.datetime, reason: str) -> None:
    if token:
        row = session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))
        if row is not None:
            end(row, now, reason)


def end_all(session: Session, user_id: int, now: dt.datetime, reason: str, *,
            keep_token: str | None = None) -> int:
    """Ends every open session of the user except the one of `keep_token`; how many."""
    stmt = (update(UserSession).where(UserSession.user_id == user_id,
                                      UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason))
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != digest(keep_token))
    return session.execute(stmt).rowcount or 0


def open_sessions(session: Session, user_id: int, now: dt.datetime, *, idle_s: float,
                  absolute_s: float) -> list[UserSession]:
    """The user's sessions still valid now, newest first."""
    rows = session.scalars(select(UserSession).where(UserSession.user_id == user_id,
                                                     UserSession.ended_at.is_(None))
                           .order_by(UserSession.last_seen_at.desc())).all()
    return [r for r in rows if _expired_reason(r, now, idle_s, absolute_s) is None]
