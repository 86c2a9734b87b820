"""The scheduler lease: one owner per database, taken over only once it has run out.
Checked on the test SQLite database and on the real PostgreSQL server."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from supervisor.sweeps.lease import Lease, LeaseHeld
from supervisor.sweeps.models import SchedulerLease

T0 = dt.datetime(2026, 3, 1, 8, 0, 0)  # time pinned: the lease takes `now` from the caller


def check_lease_rules(engine: sa.Engine) -> None:
    a = Lease(engine, "scheduler", ttl_s=30, owner="host-a:1:aa")
    b = Lease(engine, "scheduler", ttl_s=30, owner="host-b:2:bb")
    assert a.acquire(T0)
    assert not b.acquire(T0 + dt.timedelta(seconds=1))
    with pytest.raises(LeaseHeld) as refused:
        b.acquire_or_raise(T0 + dt.timedelta(seconds=2))
    assert "host-a:1:aa" in str(refused.value) and "2026-03-01 08:00:30" in str(refused.value)
    assert a.acquire(T0 + dt.timedelta(seconds=5))       # re-acquire by the owner is a renewal
    assert a.renew(T0 + dt.timedelta(seconds=20))        # now runs until 08:00:50
    assert not b.acquire(T0 + dt.timedelta(seconds=49))
    assert not b.renew(T0 + dt.timedelta(seconds=49))    # renewing needs ownership
    assert not b.release()
    # The owner went silent: once the lease has run out, b takes over ...
    assert b.acquire(T0 + dt.timedelta(seconds=50))
    assert a.holder().owner == "host-b:2:bb"
    # ... and the old owner finds out on its next renewal, and cannot delete b's row.
    assert not a.renew(T0 + dt.timedelta(seconds=51))
    assert not a.release()
    assert b.release()
    assert a.holder() is None
    assert a.acquire(T0 + dt.timedelta(seconds=52))      # free again
    # Different names are different locks.
    assert Lease(engine, "other", ttl_s=5, owner="c").acquire(T0)


def race(engine: sa.Engine, n: int = 8) -> list[bool]:
    """n contenders try to take an expired lease at the same instant."""
    Lease(engine, "race", ttl_s=1, owner="dead").acquire(T0)
    barrier = threading.Barrier(n)
    results: list[bool] = [False] * n

    def contend(i: int) -> None:
        lease = Lease(engine, "race", ttl_s=60, owner=f"c{i}")
        barrier.wait(5)
        results[i] = lease.acquire(T0 + dt.timedelta(seconds=10))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results


def test_lease_rules_on_sqlite(app):
    from supervisor.core.extensions import db

    check_lease_rules(db.engine)


def test_ttl_must_be_positive(app):
    from supervisor.core.extensions import db

    with pytest.raises(ValueError):
        Lease(db.engine, "x", ttl_s=0)


@pytest.fixture
def pg_engine(pg_database):
    engine = sa.create_engine(pg_database, pool_size=10)
    SchedulerLease.__table__.create(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_lease_rules_on_postgresql(pg_engine):
    check_lease_rules(pg_engine)


@pytest.mark.postgres
def test_exactly_one_winner_when_racing_for_an_expired_lease(pg_engine):
    results = race(pg_engine)
    assert results.count(True) == 1, results


def test_exactly_one_winner_on_sqlite(app):
    from supervisor.core.extensions import db

    results = race(db.engine)
    assert results.count(True) == 1, results
