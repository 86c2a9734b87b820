"""A named lock with a lease, kept in the `scheduler_leases` table.

Only one process may own a role (e.g. "scheduler") on a database at a time. The owner
renews the lease well before it expires; if the owner dies (SIGKILL, power loss) the
lease simply runs out and another process may take it over. Every step is a single
compare-and-set statement whose row count says whether it won, so two processes racing
on SQLite or PostgreSQL can never both believe they hold the lease.

Times are naive UTC like the rest of the schema; callers pass `now` (STYLE.md).
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from supervisor.sweeps.models import SchedulerLease

_T = SchedulerLease.__table__


def make_owner() -> str:
    """host:pid:random — readable in the refusal message, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Holder:
    """Who holds a lease and until when (naive UTC)."""

    owner: str
    expires_at: dt.datetime
    acquired_at: dt.datetime | None


class LeaseHeld(RuntimeError):
    """Raised when another live process owns the lease."""

    def __init__(self, name: str, holder: Holder | None):
        self.name = name
        self.holder = holder
        if holder is None:
            text = f"the {name!r} lease is held by another process"
        else:
            text = (f"another {name} ({holder.owner}) owns this database; its lease runs "
                    f"until {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC unless it renews it")
        super().__init__(text)


class Lease:
    """Compare-and-set lease on one row of `scheduler_leases`.

    `acquire(now)` wins if the row is absent, expired, or already ours; `renew(now)` only
    if it is still ours; `release()` deletes it only if it is ours. Each returns a bool and
    never raises on a lost race.
    """

    def __init__(self, engine: Engine, name: str, ttl_s: float, owner: str | None = None):
        if ttl_s <= 0:
            raise ValueError("lease ttl_s must be positive")
        self.engine = engine
        self.name = name
        self.ttl = dt.timedelta(seconds=ttl_s)
        self.owner = owner or make_owner()

    def acquire(self, now: dt.datetime) -> bool:
        expires = now + self.ttl
        with self.engine.begin() as conn:
            won = conn.execute(
                update(_T)
                .where(_T.c.name == self.name)
                .where((_T.c.owner == self.owner) | (_T.c.expires_at <= now))
                .values(owner=self.owner, acquired_at=now, expires_at=expires)
            ).rowcount == 1
        if won:
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_T).values(
                    name=self.name, owner=self.owner, acquired_at=now, expires_at=expires))
            return True
        except IntegrityError:  # the row exists and is someone else's live lease
            return False

    def renew(self, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                update(_T)
                .where(_T.c.name == self.name, _T.c.owner == self.owner)
                .values(expires_at=now + self.ttl)
            ).rowcount == 1

    def release(self) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                delete(_T).where(_T.c.name == self.name, _T.c.owner == self.owner)
            ).rowcount == 1

    def holder(self) -> Holder | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_T.c.owner, _T.c.expires_at, _T.c.acquired_at).where(_T.c.name == self.name)
            ).first()
        return Holder(row.owner, row.expires_at, row.acquired_at) if row else None

    def acquire_or_raise(self, now: dt.datetime) -> None:
        if not self.acquire(now):
            raise LeaseHeld(self.name, self.holder())
