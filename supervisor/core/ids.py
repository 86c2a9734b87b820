"""Database ids as they arrive from people: query strings, forms, URLs.

An id is a positive integer that fits a 64-bit signed column; anything else (text, a
negative number, a number past 2**63 - 1) names no row, so it reads as None and the caller
answers "not found" or drops the filter, never a server error.
"""
from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    """The id in `value`, or None when it cannot name a row."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None
