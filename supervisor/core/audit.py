"""The audit log: one row per change to inventory, users or profiles, secrets masked.

Public API (used by inventory import, auth/users and pages)::

    from supervisor.core import audit
    audit.record(actor, action, entity, key, before=None, after=None, note=None) -> AuditEntry

- ``actor``: a ``User`` (its id and username are stored), or a string such as
  ``"cli:root"`` / ``"system"``; ``None`` is stored as ``"system"``.
- ``action``: a short verb: ``create``, ``update``, ``delete``, ``import``, ``login``, ...
- ``entity``: what kind of thing: ``device``, ``community``, ``contract``, ``user``, ``profile``.
- ``key``: which one (a device serial, a username, ``"default@1"``); stored as text.
- ``before`` / ``after``: mappings of field -> value (or None). Values are made JSON-safe
  (dates as ISO strings, Decimals as strings). Every field named in ``SECRET_FIELDS`` is
  replaced by ``"***"``; when a secret changed, ``after`` holds ``"*** (changed)"`` so
  the log shows *that* it changed without showing either value.

``record`` only adds the row to the current ``db.session``: it is written by the caller's
commit, in the same transaction as the change itself (so a rolled-back import leaves no
audit rows either). It never commits and never logs the values it is given.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from supervisor.core.choices import DEVICE_SECRET_FIELDS
from supervisor.core.extensions import db
from supervisor.core.models import AuditEntry

# Field names whose values never reach the audit log (nor any log).
SECRET_FIELDS: frozenset[str] = frozenset({
    *DEVICE_SECRET_FIELDS, "password_hash", "secret", "secret_key", "token", "api_key",
    "auth_key", "priv_key",
})
MASK = "***"
MASK_CHANGED = "*** (changed)"


def is_secret(field: str) -> bool:
    """True for a field whose value must be masked (by name, case-insensitive)."""
    name = field.lower()
    return name in SECRET_FIELDS or name.endswith("_password") or name.endswith("_secret")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)


def mask(before: Mapping[str, Any] | None,
         after: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """JSON-safe copies of before/after with every secret value replaced by a mask."""
    b = None if before is None else {str(k): _jsonable(v) for k, v in before.items()}
    a = None if after is None else {str(k): _jsonable(v) for k, v in after.items()}
    for side in (b, a):
        for field in list(side or ()):
            if is_secret(field) and side[field] not in (None, ""):
                side[field] = MASK
    if before is not None and after is not None:
        for field in a or ():
            if is_secret(field) and field in before and before[field] != after[field] \
                    and after[field] not in (None, ""):
                a[field] = MASK_CHANGED
    return b, a


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor[:80]
    user_id = getattr(actor, "id", None)
    name = getattr(actor, "username", None) or str(actor)
    return user_id, str(name)[:80]


def record(actor: Any, action: str, entity: str, key: Any,
           before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
           note: str | None = None) -> AuditEntry:
    """Adds one audit row (secrets masked) to the current session; the caller commits."""
    user_id, actor_name = _actor_fields(actor)
    b, a = mask(before, after)
    entry = AuditEntry(user_id=user_id, actor=actor_name, action=action[:40],
                       entity=entity[:40], entity_key=None if key is None else str(key)[:200],
                       before=b, after=a, note=note)
    db.session.add(entry)
    return entry


def cli_actor() -> str:
    """The actor name for changes made from the shell: ``cli:<os user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "cli:unknown"
