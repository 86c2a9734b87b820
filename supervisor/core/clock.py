"""The platform's one clock.

Rules take `now` as an argument; jobs, CLI commands and pages read it once per operation
from `clock.now()`. Tests pin it with `clock.pinned(...)` (or `clock.set_source`), so
everything that reads the time in one operation sees the same instant.

All stored times are naive UTC (the database columns are `DateTime` without a zone).
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator


def _system_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


_source: Callable[[], dt.datetime] = _system_now


def now() -> dt.datetime:
    """The current time as naive UTC, from the injected source (the system clock by default)."""
    return _source()


def utcnow() -> dt.datetime:
    """Column default: same as `now()`; named for what it returns."""
    return _source()


def naive_utc(value: dt.datetime) -> dt.datetime:
    """A datetime as naive UTC: aware values are converted, naive ones are taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def set_source(source: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock (None restores the system clock)."""
    global _source
    _source = source or _system_now


@contextlib.contextmanager
def pinned(at: dt.datetime) -> Iterator[None]:
    """Within the block, `now()` returns `at` (naive UTC)."""
    previous = _source
    fixed = naive_utc(at)
    set_source(lambda: fixed)
    try:
        yield
    finally:
        set_source(previous)
