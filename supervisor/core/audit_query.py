"""Reading the audit log: filters, keyset pages (newest first), field diffs, CSV rows.

Rows are already masked when written (audit.record), so nothing here unmasks or needs to
mask; `diff` only lays before/after side by side. Pages are keyset on (at, id) descending:
the cursor is the last row's `at` and id, so page 500 costs what page 1 does.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from supervisor.core.extensions import db
from supervisor.core.localtime import fmt_local, local_day_bounds
from supervisor.core.models import AuditEntry

PAGE_SIZE = 50
CSV_COLUMNS = ("id", "at_utc", "at_local", "actor", "action", "entity", "key", "changes",
               "note", "before", "after")


# The days a filter may name: wide enough for any real history, narrow enough that a day's
# local bounds (and a day after it) stay inside the calendar.
DATE_MIN, DATE_MAX = dt.date(1970, 1, 1), dt.date(2999, 12, 31)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except (TypeError, ValueError):
        return None


def _out_of_range(day: dt.date | None) -> bool:
    return day is not None and not DATE_MIN <= day <= DATE_MAX


@dataclass
class AuditFilters:
    """Validated filters; malformed values are dropped, never an error page.

    `since`/`until` are local calendar days, both inclusive."""

    actor: str | None = None
    entity: str | None = None
    action: str | None = None
    key: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    # Names of the filters whose date lies outside [DATE_MIN, DATE_MAX] (the page says so
    # with a 400 instead of guessing; the filter itself is dropped).
    out_of_range: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "AuditFilters":
        def text(name: str, limit: int) -> str | None:
            return (str(args.get(name) or "")).strip()[:limit] or None

        since, until = _date(args.get("since")), _date(args.get("until"))
        bad = tuple(name for name, day in (("since", since), ("until", until))
                    if _out_of_range(day))
        return cls(actor=text("actor", 80), entity=text("entity", 40), action=text("action", 40),
                   key=text("key", 200), since=None if "since" in bad else since,
                   until=None if "until" in bad else until, out_of_range=bad)

    def as_args(self) -> dict[str, str]:
        out = {k: getattr(self, k) for k in ("actor", "entity", "action", "key")}
        out["since"] = self.since.isoformat() if self.since else None
        out["until"] = self.until.isoformat() if self.until else None
        return {k: v for k, v in out.items() if v}

    def apply(self, stmt: Select) -> Select:
        a = AuditEntry
        if self.actor:
            stmt = stmt.where(func.lower(a.actor) == self.actor.lower())
        if self.entity:
            stmt = stmt.where(a.entity == self.entity)
        if self.action:
            stmt = stmt.where(a.action == self.action)
        if self.key:
            stmt = stmt.where(a.entity_key == self.key)
        if self.since:
            stmt = stmt.where(a.at >= local_day_bounds(self.since)[0])
        if self.until:
            stmt = stmt.where(a.at < local_day_bounds(self.until)[1])
        return stmt


def encode_cursor(entry: AuditEntry) -> str:
    return f"{entry.at.isoformat()}_{entry.id}"


def decode_cursor(value: Any) -> tuple[dt.datetime, int] | None:
    try:
        at, _, ident = str(value).rpartition("_")
        when, number = dt.datetime.fromisoformat(at), int(ident)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None or not 0 <= number < 2**62 \
            or not DATE_MIN <= when.date() <= DATE_MAX:
        return None  # a forged cursor: start from the newest page
    return when, number


@dataclass
class AuditPage:
    rows: list[AuditEntry]
    older: str | None      # cursor for the next (older) page
    newer: str | None      # cursor for the previous (newer) page
    first: bool


def page(filters: AuditFilters, older: Any = None, newer: Any = None,
         size: int = PAGE_SIZE) -> AuditPage:
    """One page newest first: rows older than `older`, or the page just newer than `newer`."""
    a = AuditEntry
    base = filters.apply(select(a))
    before_cursor, after_cursor = decode_cursor(older) if older else None, \
        decode_cursor(newer) if newer else None
    if after_cursor is not None:
        at, ident = after_cursor
        q = base.where(or_(a.at > at, and_(a.at == at, a.id > ident))) \
            .order_by(a.at.asc(), a.id.asc()).limit(size + 1)
        rows = list(db.session.scalars(q))
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return AuditPage(rows, encode_cursor(rows[-1]) if rows else None,
                         encode_cursor(rows[0]) if rows and more_newer else None,
                         first=not more_newer)
    q = base
    if before_cursor is not None:
        at, ident = before_cursor
        q = q.where(or_(a.at < at, and_(a.at == at, a.id < ident)))
    rows = list(db.session.scalars(q.order_by(a.at.desc(), a.id.desc()).limit(size + 1)))
    more_older = len(rows) > size
    rows = rows[:size]
    first = before_cursor is None
    return AuditPage(rows, encode_cursor(rows[-1]) if rows and more_older else None,
                     encode_cursor(rows[0]) if rows and not first else None, first=first)


def distinct_values(column: Any) -> list[str]:
    """The entities / actions present, for the filter dropdowns."""
    return [v for v in db.session.scalars(select(column).distinct().order_by(column)) if v]


# --------------------------------------------------------------------------- diffs

@dataclass(frozen=True)
class DiffLine:
    field: str
    before: str
    after: str
    kind: str  # added / removed / changed / same


def show(value: Any) -> str:
    """A JSON value as people read it: text as is, None as '—', structures as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[DiffLine]:
    """Field by field, in the order the row names them; changed fields first."""
    b, a = dict(before or {}), dict(after or {})
    fields = list(dict.fromkeys([*b.keys(), *a.keys()]))
    lines = []
    for name in fields:
        if name not in b:
            kind = "added"
        elif name not in a:
            kind = "removed"
        else:
            kind = "same" if b[name] == a[name] else "changed"
        lines.append(DiffLine(name, show(b.get(name)) if name in b else "",
                              show(a.get(name)) if name in a else "", kind))
    return sorted(lines, key=lambda line: line.kind == "same")


def changes_text(entry: AuditEntry) -> str:
    """One line for a CSV cell: `field: before → after; ...` (changed fields only)."""
    parts = []
    for line in diff(entry.before, entry.after):
        if line.kind == "same":
            continue
        parts.append(f"{line.field}: {line.before or '∅'} → {line.after or '∅'}")
    return "; ".join(parts)


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(filters: AuditFilters) -> Iterator[list[Any]]:
    """Every filtered row, newest first, as CSV cells (header first); streamed in chunks."""
    yield list(CSV_COLUMNS)
    a = AuditEntry
    q = filters.apply(select(a)).order_by(a.at.desc(), a.id.desc()) \
        .execution_options(yield_per=1000)
    for e in db.session.scalars(q):
        yield [_cell(v) for v in (
            e.id, e.at.isoformat(sep=" "), fmt_local(e.at, seconds=True), e.actor, e.action,
            e.entity, e.entity_key or "", changes_text(e), e.note or "",
            json.dumps(e.before, ensure_ascii=False) if e.before is not None else "",
            json.dumps(e.after, ensure_ascii=False) if e.after is not None else "")]
