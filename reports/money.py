"""Money: `Decimal` yuan to the fen, with ONE rounding rule.

The rule: every amount the ledger shows (an instalment, a deduction line, an earned amount, a
cap, an adjustment) is rounded once, when it is computed, to 0.01 yuan with ROUND_HALF_UP
(四舍五入); totals are sums of those rounded amounts, so every total adds up to the fen.
Where rounding would make a plan's instalments miss its total, the last instalment absorbs
the difference. Rates and coefficients enter as the decimal text of the profile's number.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Any) -> Decimal:
    """Round to the fen, half up (the one rounding rule)."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    """A profile number (float/int/str) as the Decimal its text says: 0.95 → Decimal('0.95')."""
    return value if isinstance(value, Decimal) else Decimal(str(value))
